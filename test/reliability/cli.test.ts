import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { muse, ROOT } from './helpers.js';

test('output into a closed pipe ends quietly (no EPIPE stack trace)', () => {
  const r = spawnSync('bash', ['-c', `"${process.execPath}" bin/muse.js generate --model models/muse-story-en --max-new-tokens 3000 --min-new-tokens 3000 --seed 1 Once 2>"$ERR" | head -c 5 >/dev/null; echo "\${PIPESTATUS[0]}"; cat "$ERR"`], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, MUSE_FROM_SOURCE: '1', OMP_NUM_THREADS: '1', ERR: join(tmpdir(), `muse-epipe-${process.pid}.txt`) },
    timeout: 60_000,
  });
  const [status, ...err] = r.stdout.split('\n');
  assert.equal(status, '0', r.stdout);
  assert.doesNotMatch(err.join('\n'), /EPIPE|Error|at /);
});

test('the prompt is read from stdin when none is given; --form implies the poetry model; an empty answer is explained', () => {
  const piped = muse(['generate', '--max-new-tokens', '3', '--seed', '1'], { input: '床前明月光，\n' });
  assert.equal(piped.status, 0, piped.stderr);
  assert.match(piped.stdout, /^床前明月光，/);
  const form = muse(['generate', '--form', '5x4', '--seed', '2', '--max-new-tokens', '30', '']);
  assert.equal(form.status, 0, form.stderr);
  assert.match(form.stdout, /^[\u4e00-\u9fff]{5}[，。]/);
  // The poetry model ends Chinese prose at once (greedy, without its default minimum length): the empty answer says why and what to use.
  const prose = muse(['generate', '--model', 'models/muse-poet-zh', '--greedy', '--min-new-tokens', '0', '--max-new-tokens', '20', '一天，小明发现了一只神秘的龙。']);
  assert.equal(prose.status, 0, prose.stderr);
  assert.equal(prose.stdout.trim(), '一天，小明发现了一只神秘的龙。');
  assert.match(prose.stderr, /muse-poet-zh generated nothing: it ended the text at once .*does not write prose/);
});

test('--tokenizer lends tokenizer files to a model directory without them', () => {
  const dir = mkdtempSync(join(tmpdir(), 'muse-notok-'));
  try {
    for (const f of ['config.json', 'model.safetensors', 'generation_config.json']) cpSync(join(ROOT, 'models', 'muse-story-en', f), join(dir, f));
    const without = muse(['generate', '--model', dir, '--max-new-tokens', '2', 'The']);
    assert.notEqual(without.status, 0);
    const r = muse(['generate', '--model', dir, '--tokenizer', join(ROOT, 'models', 'muse-story-en'), '--max-new-tokens', '2', '--seed', '1', 'The']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^The/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
