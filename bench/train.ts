/**
 * `npm run bench -- train [--preset shakespeare-char-baby|shakespeare-char|shakespeare-char-llama] [--iters N] [--backend js|native] [--no-torch]`
 *
 * Times muse's training step (forward, backward, clipping, AdamW) on a preset's
 * model and batch shape with real tinyshakespeare batches, and in the same run
 * a PyTorch implementation of the same model and recipe (`bench/torch_train.py`,
 * Debian's python3-torch; skipped when absent). Prints JSON lines
 * `{"bench":"train","preset","backend","iters","msPerIter","tokensPerSec","mfu"}`,
 * with model FLOP utilisation against the fp32 FMA peak measured in the same run.
 * A Llama-family preset (`shakespeare-char-llama`) trains through autograd; its
 * PyTorch counterpart is not run (`torch_train.py` is GPT-2).
 */
import { readFileSync, existsSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnSync } from 'node:child_process';
import { Generator, fromArray } from '../src/tensor/index.js';
import { GPT } from '../src/models/gpt2/model.js';
import { LlamaForCausalLM } from '../src/models/llama/model.js';
import { LLAMA_MODEL_TYPES, type LlamaModelType } from '../src/models/llama/config.js';
import { AdamW, clipGradNorm } from '../src/train/index.js';
import { getBackend, setBackend } from '../src/backend/index.js';
import { loadRecipe } from '../src/pipelines/recipe.js';
import { estimateTraining } from '../src/pipelines/estimate.js';
import { fmaPeakGflops } from './_peak.js';

const here = dirname(fileURLToPath(import.meta.url));

function arg(args: string[], name: string, dflt: string): string {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1] : dflt;
}

export default async function main(args: string[]): Promise<void> {
  const presets = args.includes('--preset') ? [arg(args, 'preset', '')] : ['shakespeare-char-baby', 'shakespeare-char'];
  const backendName = arg(args, 'backend', '');
  if (backendName === 'js' || backendName === 'native') setBackend(backendName);
  const corpusPath = join(here, '../../shared/data/tinyshakespeare.txt');
  const text = existsSync(corpusPath) ? readFileSync(corpusPath, 'utf8') : 'To be, or not to be: that is the question.\n'.repeat(5000);
  const chars = [...new Set(text)].sort();
  const stoi = new Map(chars.map((c, i) => [c, i]));
  const data = Int32Array.from(text, (c) => stoi.get(c)!);
  const peak = fmaPeakGflops();
  if (peak) console.log(JSON.stringify({ bench: 'fma-peak', gflops: Number(peak.toFixed(1)) }));

  for (const preset of presets) {
    const recipe = loadRecipe(join(here, `../configs/${preset}.json`));
    const tr = recipe.training;
    const defaultIters = preset.endsWith('baby') || preset.endsWith('llama') ? 100 : 3;
    const iters = Number(arg(args, 'iters', String(defaultIters)));
    const B = tr.batchSize;
    const T = tr.blockSize;
    const llama = LLAMA_MODEL_TYPES.includes(recipe.model.model_type as LlamaModelType);
    const model = llama
      ? new LlamaForCausalLM({ ...(recipe.model as Record<string, unknown>), vocab_size: chars.length, max_position_embeddings: T }, { seed: 1337 })
      : new GPT({ ...recipe.model, vocab_size: chars.length, n_positions: T }, { seed: 1337 });
    model.train();
    const opt = new AdamW(model.namedParameters(), { beta1: tr.beta1, beta2: tr.beta2, weightDecay: tr.weightDecay });
    const gen = new Generator(1);
    const batch = () => {
      const x = new Int32Array(B * T);
      const y = new Int32Array(B * T);
      for (let b = 0; b < B; b++) {
        const s = gen.randint(0, data.length - T - 1);
        x.set(data.subarray(s, s + T), b * T);
        y.set(data.subarray(s + 1, s + T + 1), b * T);
      }
      return { x: fromArray(x, [B, T], 'int32'), y: fromArray(y, [B, T], 'int32') };
    };
    const step = () => {
      const { x, y } = batch();
      const { loss } = model.forward(x, { targets: y });
      loss!.backward();
      const { scale } = clipGradNorm(model.parameters(), tr.gradClip ?? 1);
      opt.step(tr.learningRate, scale);
      model.zeroGrad({ setToNone: false });
      return loss!.item();
    };
    const warm = Math.min(3, iters);
    for (let i = 0; i < warm; i++) step();
    const t0 = performance.now();
    let loss = 0;
    for (let i = 0; i < iters; i++) loss = step();
    const ms = (performance.now() - t0) / iters;
    const est = estimateTraining({ ...recipe, model: { ...recipe.model, vocab_size: chars.length } }, chars.length);
    const tokensPerSec = (B * T) / (ms / 1e3);
    const gflops = est.flopsPerIter / (ms / 1e3) / 1e9;
    console.log(
      JSON.stringify({
        bench: 'train',
        preset,
        backend: getBackend().name,
        iters,
        msPerIter: Number(ms.toFixed(2)),
        tokensPerSec: Math.round(tokensPerSec),
        gflops: Number(gflops.toFixed(1)),
        mfu: peak ? Number((gflops / peak).toFixed(3)) : null,
        loss: Number(loss.toFixed(4)),
      }),
    );
    if (!args.includes('--no-torch') && !llama) runTorch(preset, recipe, chars.length, Math.max(3, Math.min(iters, preset.endsWith('baby') ? 100 : 2)), est.flopsPerIter, peak);
  }
}

function runTorch(preset: string, recipe: ReturnType<typeof loadRecipe>, vocab: number, iters: number, flopsPerIter: number, peak: number | null): void {
  const py = '/usr/bin/python3';
  if (!existsSync(py) || spawnSync(py, ['-c', 'import torch'], { stdio: 'ignore' }).status !== 0) {
    console.log(JSON.stringify({ bench: 'train', preset, backend: 'pytorch', skipped: 'python3-torch not installed' }));
    return;
  }
  const env = { ...process.env };
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  const m = recipe.model;
  const t = recipe.training;
  const res = spawnSync(
    py,
    [join(here, 'torch_train.py'), String(m.n_layer), String(m.n_head), String(m.n_embd), String(t.blockSize), String(t.batchSize), String(vocab), String(m.resid_pdrop ?? 0), String(iters)],
    { env, encoding: 'utf8' },
  );
  if (res.status !== 0) {
    console.log(JSON.stringify({ bench: 'train', preset, backend: 'pytorch', error: res.stderr.slice(-300) }));
    return;
  }
  const ms = Number(res.stdout.trim().split('\n').pop());
  const gflops = flopsPerIter / (ms / 1e3) / 1e9;
  console.log(
    JSON.stringify({
      bench: 'train',
      preset,
      backend: 'pytorch',
      iters,
      msPerIter: Number(ms.toFixed(2)),
      tokensPerSec: Math.round((t.batchSize * t.blockSize) / (ms / 1e3)),
      gflops: Number(gflops.toFixed(1)),
      mfu: peak ? Number((gflops / peak).toFixed(3)) : null,
    }),
  );
}
