import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const tiny = join(root, 'test', 'fixtures', 'bert', 'tiny-bert');

function muse(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [join(root, 'bin', 'muse.js'), 'fill-mask', ...args], { encoding: 'utf8', env: { ...process.env, MUSE_FROM_SOURCE: '1' } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('muse fill-mask --json prints HF fill-mask pipeline output: a list for one mask, a list of lists for several', () => {
  const one = muse(['--model', tiny, '床前明[MASK]光知', '--top-k', '3', '--json']);
  assert.equal(one.status, 0, one.stderr);
  const list = JSON.parse(one.stdout) as { score: number; token: number; token_str: string; sequence: string }[];
  assert.equal(list.length, 3);
  for (const c of list) assert.deepEqual(Object.keys(c), ['score', 'token', 'token_str', 'sequence']);
  assert.ok(list[0].score >= list[1].score && list[1].score >= list[2].score);
  const two = muse(['--model', tiny, '[MASK]前明[MASK]', '--json', '--top-k', '2']);
  assert.equal(two.status, 0, two.stderr);
  const lists = JSON.parse(two.stdout) as unknown[][];
  assert.equal(lists.length, 2);
  assert.equal(lists[0].length, 2);
});

test('muse fill-mask: text output, and errors name the problem', () => {
  const r = muse(['--model', tiny, '床前明[MASK]光']);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim().split('\n').length, 5);
  const noMask = muse(['--model', tiny, '床前明月光']);
  assert.equal(noMask.status, 1);
  assert.match(noMask.stderr, /no \[MASK\]/);
  const badDir = muse(['--model', join(root, 'no-such-dir'), '[MASK]']);
  assert.equal(badDir.status, 1);
  assert.match(badDir.stderr, /does not exist/);
});

test('muse fill-mask works out of the box with the bundled muse-bert-zh', (t) => {
  if (!existsSync(join(root, 'models', 'muse-bert-zh', 'model.safetensors'))) return t.skip('models/muse-bert-zh is not bundled yet');
  const r = muse(['床前明月[MASK]，疑是地上霜。', '--json']);
  assert.equal(r.status, 0, r.stderr);
  const list = JSON.parse(r.stdout) as { token_str: string; sequence: string }[];
  assert.equal(list.length, 5);
  assert.match(list[0].sequence, /^床前明月.，疑是地上霜。$/u);
});

test('muse fill-mask --tokenizer pairs a checkpoint saved without tokenizer files (real bert-tiniest + bert-base-uncased vocab.txt)', (t) => {
  const shared = join(root, '..', 'shared');
  if (!existsSync(join(shared, 'hf-checkpoints', 'lmbuddy-bert-tiniest'))) return t.skip('../shared is absent');
  const r = muse(['--model', join(shared, 'hf-checkpoints', 'lmbuddy-bert-tiniest'), '--tokenizer', join(shared, 'vocab', 'bert-base-uncased'), 'Paris is the [MASK] of France.', '--json', '--top-k', '2']);
  assert.equal(r.status, 0, r.stderr);
  const list = JSON.parse(r.stdout) as { sequence: string }[];
  assert.equal(list.length, 2);
  assert.match(list[0].sequence, /^paris is the ?.+ of france\.$/);
});
