/**
 * `npm run bench -- lora [--layers N] [--vocab V] [--batch B] [--seq T] [--r R] [--steps S] [--bases f32,q8_0] [--gradient-checkpointing] [--no-torch]`:
 * LoRA training steps (r 16 on q/k/v/o + MLP; forward, backward, AdamW on the
 * adapters) on a Qwen2.5-0.5B-shaped model with random weights (hidden 896,
 * MLP 4864, 14 query / 2 key-value heads, tied embeddings; 24 layers and
 * vocabulary 151,936 by default), batch 4 × 256, with a float32 and a Q8_0
 * frozen base, and with activation checkpointing per layer in both engines
 * when asked (muse `gradientCheckpointing`, torch.utils.checkpoint); each in its own process (muse: `_lora-child.ts`; PyTorch:
 * `torch_lora.py`, a hand-written LoRA on the same shapes, Debian
 * python3-torch, skipped when absent). One JSON line per engine and base:
 * `{"bench":"lora","engine","base","msPerStep","tokS","peakRssMB",…}`.
 * On a small machine pass a reduced shape (fewer --layers, a smaller --vocab);
 * the line records the shape it ran.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

function arg(args: string[], name: string, dflt: string): string {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1] : dflt;
}

export default async function main(args: string[]): Promise<void> {
  const shape = {
    layers: Number(arg(args, 'layers', '24')),
    vocab: Number(arg(args, 'vocab', '151936')),
    batch: Number(arg(args, 'batch', '4')),
    seq: Number(arg(args, 'seq', '256')),
    r: Number(arg(args, 'r', '16')),
    steps: Number(arg(args, 'steps', '2')),
    gradientCheckpointing: args.includes('--gradient-checkpointing'),
  };
  const bases = arg(args, 'bases', 'f32,q8_0').split(',') as ('f32' | 'q8_0')[];
  const py = '/usr/bin/python3';
  const torch = !args.includes('--no-torch') && existsSync(py) && spawnSync(py, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0;
  for (const base of bases) {
    const runs: [string, string, string[]][] = [['muse', process.execPath, ['--import', 'tsx', join(here, '_lora-child.ts'), JSON.stringify({ base, ...shape })]]];
    if (torch) runs.push(['pytorch', py, [join(here, 'torch_lora.py'), JSON.stringify({ base, ...shape })]]);
    else if (!args.includes('--no-torch')) console.log(JSON.stringify({ bench: 'lora', engine: 'pytorch', base, skipped: 'python3-torch not installed' }));
    for (const [engine, cmd, cargs] of runs) {
      const r = spawnSync(cmd, cargs, { encoding: 'utf8', maxBuffer: 1 << 24 });
      const last = r.stdout.trim().split('\n').pop() ?? '';
      if (r.status !== 0 || !last.startsWith('{')) {
        console.log(JSON.stringify({ bench: 'lora', engine, base, ...shape, error: (r.stderr || r.stdout).trim().split('\n').slice(-3).join(' | ') }));
        continue;
      }
      const m = JSON.parse(last) as Record<string, number>;
      console.log(JSON.stringify({ bench: 'lora', engine, base, msPerStep: Math.round(m.msPerStep), tokS: Math.round(m.tokS * 10) / 10, peakRssMB: Math.round(m.peakRssMB), ...shape, trainable: m.trainable, total: m.total }));
    }
  }
}
