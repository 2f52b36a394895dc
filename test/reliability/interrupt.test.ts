import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { ROOT } from './helpers.js';

/** Start `muse train` on a tiny recipe, send `sig` once it has logged a step, and collect the outcome. */
async function trainAndSignal(sig: NodeJS.Signals): Promise<{ code: number | null; stdout: string; stderr: string; run: string; dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'muse-sig-'));
  const recipe = {
    model: { model_type: 'gpt2', n_layer: 1, n_head: 2, n_embd: 16, n_positions: 16 },
    tokenizer: { type: 'char' },
    data: { separator: 'eos', valFraction: 0.2 },
    training: { batchSize: 2, blockSize: 8, maxIters: 1_000_000, learningRate: 0.01, evalInterval: 1_000_000, evalIters: 1, warmupIters: 1, logInterval: 1, seed: 1 },
  };
  writeFileSync(join(dir, 'r.json'), JSON.stringify(recipe));
  writeFileSync(join(dir, 'c.txt'), 'the quick brown fox jumps over the lazy dog\n'.repeat(40));
  const run = join(dir, 'run');
  const child = spawn(process.execPath, [join(ROOT, 'bin', 'muse.js'), 'train', '--config', join(dir, 'r.json'), '--corpus', join(dir, 'c.txt'), '--out', run, '--json'], {
    env: { ...process.env, MUSE_FROM_SOURCE: '1', OMP_NUM_THREADS: '1' },
  });
  let stdout = '';
  let stderr = '';
  let sent = false;
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
    if (!sent && /"step"/.test(stdout)) {
      sent = true;
      child.kill(sig);
    }
  });
  const code = await new Promise<number | null>((res) => child.on('exit', (c) => res(c)));
  return { code, stdout, stderr, run, dir };
}

for (const [sig, code] of [['SIGTERM', 143], ['SIGINT', 130]] as const) {
  test(`muse train on ${sig}: saves last/, says it was interrupted and exits ${code}`, { timeout: 120_000 }, async () => {
    const r = await trainAndSignal(sig);
    try {
      assert.equal(r.code, code, r.stderr);
      assert.ok(existsSync(join(r.run, 'last', 'trainer_state.json')), 'last/ saved');
      assert.match(r.stderr, sig === 'SIGTERM' ? /SIGTERM received; saving last\// : /interrupted \(Ctrl-C\)/);
      const summary = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { interrupted?: string };
      assert.equal(summary.interrupted, sig);
    } finally {
      rmSync(r.dir, { recursive: true, force: true });
    }
  });
}
