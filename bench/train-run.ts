/**
 * `npm run bench -- train-run [--preset shakespeare-char-baby] [--corpus FILE] [--from-source]`
 *
 * The whole `muse train` run of a preset, as a user runs it — start-up,
 * tokenisation, every training step, every evaluation and checkpoint — timed
 * from outside (wall clock of the child process), on tinyshakespeare. Issue 4's
 * target for the baby preset: validation loss ≤ 1.89 at iteration 2000 in
 * ≤ 38 s of wall time (nanoGPT, same recipe, on this machine: 1.886 in 75–85 s).
 *
 * Runs the compiled CLI (`dist/`, built by `npm ci`) unless `--from-source`.
 * Prints one JSON line
 * `{"bench":"train-run","preset","wallSeconds","step","valLoss","bestValLoss","tokensPerSec"}`.
 */
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnSync } from 'node:child_process';

const here = dirname(fileURLToPath(import.meta.url));

function arg(args: string[], name: string, dflt: string): string {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1]! : dflt;
}

export default async function main(args: string[]): Promise<void> {
  const preset = arg(args, 'preset', 'shakespeare-char-baby');
  const corpus = arg(args, 'corpus', join(here, '../../shared/data/tinyshakespeare.txt'));
  if (!existsSync(corpus)) {
    console.log(JSON.stringify({ bench: 'train-run', preset, skipped: `corpus ${corpus} not found` }));
    return;
  }
  const out = mkdtempSync(join(tmpdir(), 'muse-train-run-'));
  const env = { ...process.env };
  if (args.includes('--from-source')) env.MUSE_FROM_SOURCE = '1';
  try {
    const t0 = performance.now();
    const res = spawnSync(
      process.execPath,
      [join(here, '../bin/muse.js'), 'train', '--config', join(here, `../configs/${preset}.json`), '--corpus', corpus, '--out', out, '--json', '--no-progress'],
      { encoding: 'utf8', env, maxBuffer: 64 << 20 },
    );
    const wallSeconds = (performance.now() - t0) / 1e3;
    if (res.status !== 0) {
      console.log(JSON.stringify({ bench: 'train-run', preset, error: (res.stderr || res.stdout).slice(-400) }));
      return;
    }
    const last = JSON.parse(res.stdout.trim().split('\n').pop()!) as Record<string, unknown>;
    console.log(
      JSON.stringify({
        bench: 'train-run',
        preset,
        wallSeconds: Number(wallSeconds.toFixed(2)),
        step: last.step,
        valLoss: last.valLoss,
        bestValLoss: last.bestValLoss,
        tokensPerSec: typeof last.tokensPerSec === 'number' ? Math.round(last.tokensPerSec) : null,
      }),
    );
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}
