import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, FileFormatError } from '../../src/errors.js';
import { readCorpus } from '../../src/data/corpus.js';
import {
  collateExamples,
  fablesToPairs,
  pairsToFinetuneExamples,
  readPairs,
  splitSentences,
  type StoryPair,
} from '../../src/data/pairs.js';

const DATA = '/work/shared/data';
const skip = existsSync(join(DATA, 'seed-story-pairs.jsonl')) ? false : `${DATA} not found`;

test("reads the brief's seed story pairs", { skip }, () => {
  const pairs = readPairs(join(DATA, 'seed-story-pairs.jsonl'));
  assert.deepEqual(pairs, [
    { beginning: '一天，小明发现了一只神秘的龙。', ending: '他跑回家，找到了一本关于龙的书来学习。' },
    { beginning: '在森林里，一只狼遇到了一个熊。', ending: '他们决定一起去寻找食物。' },
  ]);
  // joined back into stories, the sentence splitter cuts them where they were cut
  assert.deepEqual(fablesToPairs(pairs.map((p) => p.beginning + p.ending)), pairs);
});

test('readPairs errors name the line and the fields present', () => {
  const dir = mkdtempSync(join(tmpdir(), 'muse-pairs-'));
  try {
    const is = (re: RegExp) => (e: unknown) => e instanceof FileFormatError && re.test(e.message);
    writeFileSync(join(dir, 'p.jsonl'), '{"beginning": "a", "ending": "b"}\n{"prompt": "a", "completion": "b"}\n');
    assert.throws(() => readPairs(join(dir, 'p.jsonl')), is(/p\.jsonl line 2: no field "beginning"; this line has "prompt", "completion"/));
    assert.throws(() => readPairs(join(dir, 'p.jsonl'), { beginningField: 'prompt', endingField: 'completion' }), is(/line 1: no field "prompt"/));
    writeFileSync(join(dir, 'q.jsonl'), '{"beginning": "a", "ending": 3}\n');
    assert.throws(() => readPairs(join(dir, 'q.jsonl')), is(/q\.jsonl line 1: field "ending" is a number, expected text/));
    writeFileSync(join(dir, 'r.jsonl'), '{"beginning": "a" "ending": "b"}\n');
    assert.throws(() => readPairs(join(dir, 'r.jsonl')), is(/r\.jsonl line 1: invalid JSON at column 19/));
    assert.throws(() => readPairs(join(dir, 'none.jsonl')), is(/none\.jsonl: file not found/));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('sentence splitting keeps quotes with their sentence', () => {
  assert.deepEqual(splitSentences('"Big, was he!" said the old Frog, puffing herself up. "Was he as big as this?" "Oh, much bigger!" they cried.'), [
    '"Big, was he!" said the old Frog, puffing herself up.',
    '"Was he as big as this?"',
    '"Oh, much bigger!" they cried.',
  ]);
  assert.deepEqual(splitSentences('他说：“你好！”然后走了。她问：“去哪？”'), ['他说：“你好！”', '然后走了。', '她问：“去哪？”']);
  assert.deepEqual(splitSentences('「快跑！」狐狸叫道。狼没有动……'), ['「快跑！」', '狐狸叫道。', '狼没有动……']);
  assert.deepEqual(splitSentences('Mr. Fox met Dr. Owl at 3.30 p.m. on St. George Street. It rained. Then?! Nothing.'), [
    'Mr. Fox met Dr. Owl at 3.30 p.m. on St. George Street.',
    'It rained.',
    'Then?!',
    'Nothing.',
  ]);
  assert.deepEqual(splitSentences('No terminator at all'), ['No terminator at all']);
  assert.deepEqual(splitSentences(''), []);
});

test("Aesop's fables become (opening sentence, rest) pairs", { skip }, () => {
  const fables = readCorpus(join(DATA, 'aesop-fables.jsonl'));
  const pairs = fablesToPairs(fables);
  assert.equal(pairs.length, 146);
  assert.deepEqual(pairs[0].beginning, 'An Ox came down to a reedy pool to drink.');
  assert.ok(pairs[0].ending.startsWith('As he splashed heavily into the water'));
  pairs.forEach((p, i) => assert.equal(`${p.beginning} ${p.ending}`, fables[i].trim().replace(/(?<=[.!?"”'’])\s+/, ' ')));
  const two = fablesToPairs(fables, { openingSentences: 2 });
  assert.equal(two[0].beginning, 'An Ox came down to a reedy pool to drink. As he splashed heavily into the water, he crushed a young Frog into the mud.');
  assert.ok(fablesToPairs(['One sentence only.']).length === 0);
  assert.throws(() => fablesToPairs(fables, { openingSentences: 0 }), ConfigError);
});

/** Character-level encoder for the tests: one id per UTF-16 unit. */
const encode = (s: string): number[] => Array.from(s, (c) => c.charCodeAt(0));

/**
 * The Hugging Face formulation, written out independently: input_ids = s,
 * labels = s with the prompt masked, and the model's internal shift: logits
 * at t are scored against labels[t + 1].
 */
function hfLossTargets(prompt: number[], completion: number[]): { inputs: number[]; targets: number[] } {
  const s = [...prompt, ...completion];
  const hfLabels = s.map((id, i) => (i < prompt.length ? -100 : id));
  return { inputs: s.slice(0, -1), targets: hfLabels.slice(1) };
}

test('fine-tuning examples put the loss on the ending only, as HF does after its shift', () => {
  const pairs: StoryPair[] = [
    { beginning: '一天，小明发现了一只神秘的龙。', ending: '他跑回家。' },
    { beginning: 'The fox ran.', ending: 'The end.' },
  ];
  const [zh, en] = pairsToFinetuneExamples(pairs, encode, { eosId: 0, maxLength: 64 });
  const refZh = hfLossTargets(encode(pairs[0].beginning), [...encode('他跑回家。'), 0]);
  assert.deepEqual([...zh.inputIds], refZh.inputs);
  assert.deepEqual([...zh.labels], refZh.targets);
  assert.equal(zh.truncated, false);
  // English: a space goes in front of the ending, as in running text
  const refEn = hfLossTargets(encode('The fox ran.'), [...encode(' The end.'), 0]);
  assert.deepEqual([...en.inputIds], refEn.inputs);
  assert.deepEqual([...en.labels], refEn.targets);
  // the first target is the ending's first token, predicted from the beginning's last
  const first = en.labels.findIndex((l) => l !== -100);
  assert.equal(first, 'The fox ran.'.length - 1);
  assert.equal(en.labels[first], ' '.charCodeAt(0));
  const withBos = pairsToFinetuneExamples([pairs[1]], encode, { eosId: 0, bosId: 1, maxLength: 64, separator: '' })[0];
  assert.deepEqual([...withBos.inputIds.slice(0, 2)], [1, 'T'.charCodeAt(0)]);
  assert.equal(withBos.labels.filter((l) => l !== -100).length, 'The end.'.length + 1);
});

test('too long: the beginning is cut from the left, then the ending from the right', () => {
  const pair = { beginning: 'abcdefgh', ending: 'XYZ' };
  const [ex] = pairsToFinetuneExamples([pair], encode, { eosId: 0, maxLength: 6, separator: '' });
  // s = "fgh" + "XYZ" + eos → inputs "fghXYZ" (6), labels: -, -, X, Y, Z, eos
  assert.equal(String.fromCharCode(...ex.inputIds), 'fghXYZ');
  assert.deepEqual([...ex.labels], [-100, -100, ...encode('XYZ'), 0]);
  assert.equal(ex.truncated, true);
  const [long] = pairsToFinetuneExamples([{ beginning: 'ab', ending: 'LONGENDING' }], encode, { eosId: 0, maxLength: 4, separator: '' });
  assert.equal(String.fromCharCode(...long.inputIds), 'bLON');
  assert.deepEqual([...long.labels], encode('LONG'));
  assert.throws(() => pairsToFinetuneExamples([pair], encode, { eosId: 0, maxLength: 1 }), ConfigError);
});

test('collate right-pads with padId, -100 labels and a 0 attention mask', () => {
  const ex = pairsToFinetuneExamples([{ beginning: 'ab', ending: 'c' }, { beginning: 'abcd', ending: 'ef' }], encode, { eosId: 0, maxLength: 16, separator: '' });
  const b = collateExamples(ex, 9);
  assert.equal(b.batchSize, 2);
  assert.equal(b.seqLen, 6);
  assert.deepEqual([...b.inputIds.slice(0, 6)], [...encode('abc'), 9, 9, 9]);
  assert.deepEqual([...b.labels.slice(0, 6)], [-100, 99, 0, -100, -100, -100]);
  assert.deepEqual([...b.attentionMask], [1, 1, 1, 0, 0, 0, 1, 1, 1, 1, 1, 1]);
});
