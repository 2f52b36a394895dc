/**
 * Training throughput of GPT-2 shapes on this machine (the shape table of the
 * muse-poet-zh v3 card): the native training step (forward, backward,
 * clipping, AdamW) on random batches of 128-token rows, vocabulary 6,356.
 *
 *   npx tsx scripts/poet-shape-throughput.ts '[[layers, width, heads, batch], …]'
 *
 * Prints one JSON line per shape: parameters, ms per step, tokens/s.
 */
import { Generator, fromArray } from '../src/tensor/index.js';
import { GPT } from '../src/models/gpt2/model.js';
import { AdamW, clipGradNorm } from '../src/train/index.js';
import { getBackend } from '../src/backend/index.js';
const shapes = JSON.parse(process.argv[2]) as [number, number, number, number][]; // layers, width, heads, batch
const V = 6356, T = 128;
for (const [L, C, H, B] of shapes) {
  const model = new GPT({ n_layer: L, n_head: H, n_embd: C, vocab_size: V, n_positions: T, resid_pdrop: 0, embd_pdrop: 0, attn_pdrop: 0 }, { seed: 1 });
  model.train();
  const opt = new AdamW(model.namedParameters(), { beta1: 0.9, beta2: 0.99, weightDecay: 0.1 });
  const gen = new Generator(1);
  const step = () => {
    const x = new Int32Array(B * T), y = new Int32Array(B * T);
    for (let i = 0; i < B * T; i++) { x[i] = gen.randint(0, V); y[i] = gen.randint(0, V); }
    const { loss } = model.forward(fromArray(x, [B, T], 'int32'), { targets: fromArray(y, [B, T], 'int32') });
    loss!.backward();
    const { scale } = clipGradNorm(model.parameters(), 1);
    opt.step(1e-3, scale);
    model.zeroGrad({ setToNone: false });
  };
  for (let i = 0; i < 3; i++) step();
  const n = 10; const t0 = performance.now();
  for (let i = 0; i < n; i++) step();
  const ms = (performance.now() - t0) / n;
  const params = model.parameters().reduce((a, p) => a + p.size, 0);
  console.log(JSON.stringify({ L, C, B, params, backend: getBackend().name, msPerIter: +ms.toFixed(1), tokS: Math.round(B * T / ms * 1000) }));
}
