/**
 * `npm run bench -- train-run [--preset shakespeare-char-baby] [--corpus FILE] [--seed N] [--from-source]`
 *
 * The whole `muse train` run of a preset, as a user runs it — start-up,
 * tokenisation, every training step, every evaluation and checkpoint — timed
 * from outside (wall clock of the child process), on tinyshakespeare. Issue 4's
 * target for the baby preset: validation loss ≤ 1.89 at iteration 2000 in
 * ≤ 38 s of wall time (nanoGPT, same recipe, on this machine: 1.886 in 75–85 s).
 *
 * Runs the compiled CLI (`dist/`, built by `npm ci`) unless `--from-source`.
 * Prints one JSON line
 * `{"bench":"train-run","preset","wallSeconds","step","valLoss","bestValLoss","tokensPerSec","valFullSplit"}`;
 * `valFullSplit` is the saved best model's mean loss over the whole
 * validation split (the last 10% of the corpus, every non-overlapping
 * block-size window), a figure without the sampling noise of the recipe's
 * 20-window estimate — `bench/torch_nanogpt_baby.py` prints the same two
 * figures for an independent PyTorch nanoGPT run.
 */
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { loadCausalLM } from '../src/models/registry.js';
import { GPT } from '../src/models/gpt2/model.js';
import { LlamaForCausalLM } from '../src/models/llama/model.js';
import { splitText } from '../src/data/index.js';
import { fromArray, noGrad } from '../src/tensor/index.js';

const here = dirname(fileURLToPath(import.meta.url));

function arg(args: string[], name: string, dflt: string): string {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1] : dflt;
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
      [join(here, '../bin/muse.js'), 'train', '--config', join(here, `../configs/${preset}.json`), '--corpus', corpus, '--out', out, '--json', '--no-progress', ...(args.includes('--seed') ? [`--seed=${arg(args, 'seed', '1337')}`] : [])],
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
        ...(args.includes('--seed') ? { seed: Number(arg(args, 'seed', '1337')) } : {}),
        wallSeconds: Number(wallSeconds.toFixed(2)),
        step: last.step,
        valLoss: last.valLoss,
        bestValLoss: last.bestValLoss,
        tokensPerSec: typeof last.tokensPerSec === 'number' ? Math.round(last.tokensPerSec) : null,
        valFullSplit: Number(fullSplitLoss(join(out, 'best'), readFileSync(corpus, 'utf8')).toFixed(4)),
      }),
    );
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

/**
 * Mean next-token loss of the checkpoint in `dir` over the validation split
 * of `text` (its last 10%), cut into non-overlapping windows of the model's
 * context: window i predicts tokens i·T+1 … i·T+T from i·T … i·T+T−1.
 */
function fullSplitLoss(dir: string, text: string): number {
  const { model, tokenizer } = loadCausalLM(dir);
  if (!(model instanceof GPT || model instanceof LlamaForCausalLM)) throw new Error(`${dir}: train-run scores GPT-2 and Llama-family checkpoints`);
  model.eval();
  const ids = Int32Array.from(tokenizer.encode(splitText(text, 0.9).val, { addSpecialTokens: false }).ids);
  const T = model.maxPositions;
  const windows = Math.floor((ids.length - 1) / T);
  let total = 0;
  noGrad(() => {
    for (let w0 = 0; w0 < windows; w0 += 64) {
      const b = Math.min(64, windows - w0);
      const x = ids.subarray(w0 * T, (w0 + b) * T);
      const y = ids.subarray(w0 * T + 1, (w0 + b) * T + 1);
      const { loss } = model.forward(fromArray(x.slice(), [b, T], 'int32'), { targets: fromArray(y.slice(), [b, T], 'int32') });
      total += loss!.item() * b;
    }
  });
  return total / windows;
}
