/**
 * Creative constraints (acrostic 藏头诗 and fixed poem forms) on a random toy
 * LM with a character tokenizer: whatever the model prefers, the text must
 * have the form. Checked with regular expressions written from the form's
 * definition, for sampling, greedy and beam search.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError } from '../../src/errors.js';
import { generate, type GenerationConfig } from '../../src/generate/index.js';
import { randomTables, ToyLM } from './fake-lm.js';
import { byteTokenizer, charTokenizer } from './test-tokenizers.js';

const HAN_CHARS = '春夏秋冬床前明月光疑是地上霜舉頭望低思故鄉白日依山盡黃河入海流欲窮千里目更一層樓花落知多少夜來風雨聲';
const tok = charTokenizer(`${HAN_CHARS}，。！？\nab `, { eos: true });
const V = tok.vocabSize;
const lm = (): ToyLM => new ToyLM(randomTables(V, 128, 11));
const quiet = { onWarning: (): void => {} };
const H = '\\p{Script=Han}';

function formRegex(form: string): RegExp {
  const [n, l] = form.split('x').map(Number);
  const couplet = `${H}{${n}}，${H}{${n}}。`;
  return new RegExp(`^(?:${couplet}){${l / 2}}$`, 'u');
}

function run(prompt: string, cfg: GenerationConfig): { text: string; reason: string } {
  const ids = prompt ? tok.encode(prompt, { addSpecialTokens: false }).ids : [];
  const out = generate(lm(), [ids], { maxNewTokens: 100, ...cfg }, { ...quiet, tokenizer: tok });
  return { text: tok.decode(out.sequences[0]), reason: out.finishReasons[0] };
}

test('form: 5x4, 7x4, 5x8, 7x8 give lines of 5/7 characters closed by ，and 。, then stop', () => {
  for (const form of ['5x4', '7x4', '5x8', '7x8'] as const) {
    for (const seed of [1, 2, 3]) {
      const { text, reason } = run('', { form, doSample: true, temperature: 1.2, topK: 0, seed });
      assert.match(text, formRegex(form), `${form} seed ${seed}: ${text}`);
      assert.equal(reason, 'stop');
    }
  }
  const greedy = run('', { form: '5x4' });
  assert.match(greedy.text, formRegex('5x4'));
  const beam = run('', { form: '7x4', numBeams: 3 });
  assert.match(beam.text, formRegex('7x4'));
});

test('form continues a poem begun in the prompt', () => {
  const { text } = run('故鄉\n床前明月光，', { form: '5x4', doSample: true, seed: 5 });
  assert.match(`床前明月光，${text}`, formRegex('5x4'), text);
  const mid = run('床前明月', { form: '5x4', doSample: true, seed: 6 });
  assert.match(`床前明月${mid.text}`, formRegex('5x4'), mid.text);
});

test('acrostic with a form: verse i starts with the i-th character', () => {
  for (const seed of [1, 2, 3, 4]) {
    const { text } = run('', { form: '7x4', acrostic: '春夏秋冬', doSample: true, topK: 0, seed });
    assert.match(text, formRegex('7x4'));
    const verses = text.split(/[，。]/u).filter((v) => v.length > 0);
    assert.deepEqual(verses.map((v) => v[0]), ['春', '夏', '秋', '冬'], text);
  }
  const partial = run('', { form: '5x8', acrostic: '明月', seed: 1, doSample: true });
  const verses = partial.text.split(/[，。]/u).filter((v) => v.length > 0);
  assert.equal(verses.length, 8);
  assert.deepEqual(verses.slice(0, 2).map((v) => v[0]), ['明', '月']);
});

test('acrostic without a form: each line (after a newline or 。！？) starts with the next character; EOS waits', () => {
  for (const seed of [1, 2, 3]) {
    const out = generate(lm(), [tok.encode('ab\n', { addSpecialTokens: false }).ids], { maxNewTokens: 400, acrostic: '春夏秋', doSample: true, topK: 0, seed }, { ...quiet, tokenizer: tok });
    const text = tok.decode(out.sequences[0]);
    assert.ok(!out.sequences[0].includes(tok.eosTokenId as number), 'EOS before the acrostic is complete');
    assert.equal(out.finishReasons[0], 'stop', text);
    const lines = text.split(/[\n。！？]+/u);
    assert.equal(lines.at(-1), '', 'ends on a line break');
    assert.deepEqual(lines.slice(0, -1).map((l) => l[0]), ['春', '夏', '秋'], JSON.stringify(text));
  }
});

test('characters that are not single tokens give a clear ConfigError', () => {
  const bpe = byteTokenizer();
  const model = new ToyLM(randomTables(bpe.vocabSize, 64, 3));
  assert.throws(
    () => generate(model, [[1]], { maxNewTokens: 5, acrostic: '春夏' }, { ...quiet, tokenizer: bpe }),
    (e: unknown) => e instanceof ConfigError && /"春" is not a single token/.test((e as Error).message) && /3 tokens/.test((e as Error).message),
  );
  assert.throws(
    () => generate(model, [[1]], { maxNewTokens: 5, form: '5x4' }, { ...quiet, tokenizer: bpe }),
    (e: unknown) => e instanceof ConfigError && /form/.test((e as Error).message) && /，/.test((e as Error).message),
  );
});
