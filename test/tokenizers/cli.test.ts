/**
 * The CLI: `muse tokenize` (one text, --json, standard input line by line with
 * invalid UTF-8) and `muse tokenizer train` for each type.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadTokenizer } from '../../src/tokenizers/index.js';
import { REPO_ROOT, SHARED_VOCAB, skipNoVocab, tempDir } from './helpers.js';

function muse(args: string[], input?: Buffer | string): { stdout: string; stderr: string; status: number | null } {
  const r = spawnSync(process.execPath, [join(REPO_ROOT, 'bin', 'muse.js'), ...args], {
    input,
    env: { ...process.env, MUSE_FROM_SOURCE: '1' },
    encoding: 'utf8',
  });
  return { stdout: r.stdout, stderr: r.stderr, status: r.status };
}

test('muse tokenize: --json for one text; standard input line by line as "ids TAB tokens", invalid UTF-8 read as U+FFFD', { skip: skipNoVocab }, () => {
  const gpt2 = join(SHARED_VOCAB, 'gpt2');
  const r = muse(['tokenize', '--tokenizer', gpt2, '--json', 'Hello world']);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, '{"ids":[15496,995],"tokens":["Hello","Ġworld"]}\n');
  const input = Buffer.concat([Buffer.from('Hello\n'), Buffer.from([0xff, 0x41, 0x0a]), Buffer.from('你好\n')]);
  const lines = muse(['tokenize', '--tokenizer', join(SHARED_VOCAB, 'bert-base-chinese')], input);
  assert.equal(lines.status, 0, lines.stderr);
  const t = loadTokenizer(join(SHARED_VOCAB, 'bert-base-chinese'));
  const expected = ['Hello', '\ufffdA', '你好'].map((s) => {
    const e = t.encode(s);
    return `${e.ids.join(' ')}\t${JSON.stringify(e.tokens)}`;
  });
  assert.equal(lines.stdout, expected.join('\n') + '\n');
});

test('muse tokenizer train on a JSON Lines corpus saves a loadable tokenizer; bad flags are reported', () => {
  const dir = tempDir();
  const corpus = join(dir, 'poems.jsonl');
  const poems = ['床前明月光，疑是地上霜。', '舉頭望明月，低頭思故鄉。', 'The moon is bright tonight.'];
  writeFileSync(corpus, poems.map((text) => JSON.stringify({ title: 't', text })).join('\n') + '\n');
  const out = join(dir, 'bpe');
  const r = muse(['tokenizer', 'train', '--corpus', corpus, '--type', 'bpe', '--vocab-size', '300', '--min-frequency', '1', '--out', out]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /trained a bpe tokenizer with 300 ids on 3 documents/);
  const t = loadTokenizer(out);
  assert.equal(t.decode(t.encode(poems[0]).ids), poems[0]);
  assert.equal(t.vocabSize, 300);
  const bad = muse(['tokenizer', 'train', '--corpus', corpus, '--type', 'wordpiece', '--out', join(dir, 'x')]);
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /--vocab-size is required/);
});
