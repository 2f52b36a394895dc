import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { recoverInterruptedSaves } from '../../src/io/recover.js';
import { assertFreshRunDir } from '../../src/pipelines/runs.js';
import { muse, ROOT } from './helpers.js';

const MODEL = join(ROOT, 'models', 'muse-story-en');

/** A run folder whose last/ save was killed between its two renames, and whose first best/ save was killed after staging. */
function interruptedRun(): string {
  const run = mkdtempSync(join(tmpdir(), 'muse-swap-'));
  cpSync(MODEL, join(run, '.last.muse-previous'), { recursive: true });
  cpSync(MODEL, join(run, '.last.muse-ready'), { recursive: true });
  cpSync(MODEL, join(run, '.best.muse-ready'), { recursive: true });
  return run;
}

test('recoverInterruptedSaves finishes a swap killed between its renames, in a run folder and in a model directory', () => {
  const run = interruptedRun();
  try {
    const done = recoverInterruptedSaves(run);
    assert.equal(done.length, 3, done.join('\n'));
    assert.deepEqual(readdirSync(run).sort(), ['best', 'last']);
    assert.ok(existsSync(join(run, 'last', 'model.safetensors')));
    // Nothing left to do, and a path with no save leftovers is never touched.
    assert.deepEqual(recoverInterruptedSaves(run), []);
    assert.deepEqual(recoverInterruptedSaves(join(run, 'no-such-dir')), []);
    // Given the model directory itself.
    rmSync(join(run, 'last'), { recursive: true });
    cpSync(MODEL, join(run, '.last.muse-previous'), { recursive: true });
    assert.equal(recoverInterruptedSaves(join(run, 'last')).length, 1);
    assert.ok(existsSync(join(run, 'last', 'config.json')));
  } finally {
    rmSync(run, { recursive: true, force: true });
  }
});

test('a training command (assertFreshRunDir) sees the run that a killed swap left, so --resume finds last/', () => {
  const run = interruptedRun();
  try {
    assert.throws(() => assertFreshRunDir(run, {}), /already holds a run/);
    assert.ok(existsSync(join(run, 'last', 'config.json')));
  } finally {
    rmSync(run, { recursive: true, force: true });
  }
});

test('muse generate --model RUN/last recovers the interrupted swap first instead of "does not exist"', () => {
  const run = interruptedRun();
  try {
    const r = muse(['generate', '--model', join(run, 'last'), '--max-new-tokens', '2', '--greedy', 'Once']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /completed interrupted save/);
    assert.match(r.stdout, /^Once/);
    assert.deepEqual(readdirSync(run).sort(), ['best', 'last']);
  } finally {
    rmSync(run, { recursive: true, force: true });
  }
});

test('a process killed between the swap renames (MUSE_CRASH_POINT) leaves a run that muse generate opens by name', async () => {
  const { spawnSync } = await import('node:child_process');
  // The saver's swaps: 1 = last/ (first save), 2 = best/ (first save), 3 = last/ again (an old version exists).
  for (const n of [1, 3]) {
    const out = mkdtempSync(join(tmpdir(), 'muse-crash-'));
    try {
      const r = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'scripts', 'probes', 'saver.ts'), out], {
        env: { ...process.env, MUSE_CRASH_POINT: `swap:${n}` },
        encoding: 'utf8',
        timeout: 60_000,
      });
      assert.equal(r.signal, 'SIGKILL');
      // First save: only .last.muse-ready; a later one: .last.muse-previous and .last.muse-ready, no last/.
      assert.ok(!existsSync(join(out, 'last')));
      assert.ok(existsSync(join(out, '.last.muse-ready')));
      if (n === 3) assert.ok(existsSync(join(out, '.last.muse-previous')));
      const g = muse(['generate', '--model', join(out, 'last'), '--max-new-tokens', '2', '--seed', '1', 'Once']);
      assert.equal(g.status, 0, g.stderr);
      assert.match(g.stderr, /completed interrupted save/);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }
});
