/**
 * `npm run bench -- generate [--preset shakespeare-char-baby|shakespeare-char] [--model DIR]
 *   [--new-tokens 500] [--window-keep N] [--backend js|native] [--no-torch]`
 *
 * Decoding speed of `generate()` with the KV cache: batch 1, 500 new tokens,
 * temperature 0.8, top-k 200 (the setting), from a one-token prompt,
 * on the baby (4×128, context 64) and the 6-layer (6×384, context 256)
 * Shakespeare-char models (random weights of the recipe's shape unless
 * `--model DIR` names a trained checkpoint: speed does not depend on the
 * weights). 500 tokens exceed both contexts, so the sliding window is part of
 * the measurement. In the same run, `bench/torch_generate.py` times a PyTorch
 * KV-cache loop of the same model, sampling and window policy (Debian's
 * python3-torch; skipped when absent).
 *
 * Prints JSON lines
 * `{"bench":"generate","model","backend","newTokens","tokensPerSec","msPerToken","windowKeep"}`.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnSync } from 'node:child_process';
import { getBackend, setBackend } from '../src/backend/index.js';
import { generate } from '../src/generate/index.js';
import { GPT } from '../src/models/gpt2/model.js';
import { loadGPT } from '../src/models/gpt2/weights.js';
import { loadRecipe } from '../src/pipelines/recipe.js';

const here = dirname(fileURLToPath(import.meta.url));
const VOCAB = 65; // tinyshakespeare's characters

function arg(args: string[], name: string, dflt: string): string {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1] : dflt;
}

export default async function main(args: string[]): Promise<void> {
  const backendName = arg(args, 'backend', '');
  if (backendName === 'js' || backendName === 'native') setBackend(backendName);
  const presets = args.includes('--preset') ? [arg(args, 'preset', '')] : ['shakespeare-char-baby', 'shakespeare-char'];
  const newTokens = Number(arg(args, 'new-tokens', '500'));
  const modelDir = arg(args, 'model', '');
  for (const preset of presets) {
    const recipe = loadRecipe(join(here, `../configs/${preset}.json`));
    const model = modelDir
      ? loadGPT(modelDir).model
      : new GPT({ ...recipe.model, vocab_size: VOCAB, n_positions: recipe.training.blockSize }, { seed: 1337 });
    model.eval();
    const maxPos = model.maxPositions;
    const windowKeep = Number(arg(args, 'window-keep', String(Math.floor((3 * maxPos) / 4))));
    const cfg = { maxNewTokens: newTokens, doSample: true, temperature: 0.8, topK: 200, seed: 1337 };
    const opts = { windowKeep, onWarning: (): void => {} };
    generate(model, [[0]], { ...cfg, maxNewTokens: Math.min(newTokens, 2 * maxPos) }, opts); // warm-up
    const times: number[] = [];
    for (let rep = 0; rep < 3; rep++) {
      const t0 = performance.now();
      const out = generate(model, [[0]], { ...cfg, seed: 1337 + rep }, opts);
      times.push(performance.now() - t0);
      if (out.sequences[0].length !== newTokens) throw new Error(`generated ${out.sequences[0].length} tokens, expected ${newTokens}`);
    }
    const ms = Math.min(...times);
    console.log(
      JSON.stringify({
        bench: 'generate',
        model: modelDir || preset,
        backend: getBackend().name,
        newTokens,
        tokensPerSec: Math.round(newTokens / (ms / 1e3)),
        msPerToken: Number((ms / newTokens).toFixed(3)),
        windowKeep,
      }),
    );
    if (!args.includes('--no-torch')) runTorch(preset, recipe.model, maxPos, newTokens, windowKeep);
  }
}

function runTorch(preset: string, m: { n_layer?: number; n_head?: number; n_embd?: number }, maxPos: number, newTokens: number, windowKeep: number): void {
  const py = '/usr/bin/python3';
  if (!existsSync(py) || spawnSync(py, ['-c', 'import torch'], { stdio: 'ignore' }).status !== 0) {
    console.log(JSON.stringify({ bench: 'generate', model: preset, backend: 'pytorch-kv-cache', skipped: 'python3-torch not installed' }));
    return;
  }
  const res = spawnSync(
    py,
    [join(here, 'torch_generate.py'), String(m.n_layer), String(m.n_head), String(m.n_embd), String(maxPos), String(VOCAB), String(newTokens), String(windowKeep)],
    { encoding: 'utf8' },
  );
  if (res.status !== 0) {
    console.log(JSON.stringify({ bench: 'generate', model: preset, backend: 'pytorch-kv-cache', error: res.stderr.slice(-300) }));
    return;
  }
  const tokensPerSec = Number(res.stdout.trim().split('\n').pop());
  console.log(
    JSON.stringify({
      bench: 'generate',
      model: preset,
      backend: 'pytorch-kv-cache',
      newTokens,
      tokensPerSec: Math.round(tokensPerSec),
      msPerToken: Number((1000 / tokensPerSec).toFixed(3)),
      windowKeep,
    }),
  );
}
