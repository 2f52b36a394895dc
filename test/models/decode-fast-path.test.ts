import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GPT } from '../../src/models/gpt2/model.js';
import { getBackend } from '../../src/backend/index.js';

// The native one-call decode kernel must reproduce the op-by-op cached path
// (itself checked against a full recompute in gpt.test.ts) on shapes that take
// every branch: GEMV rows (t ≤ 4) and packed GEMM (t > 4), the threaded GEMV
// (K·N ≥ 131072), padding masks, explicit positions, lastOnly on and off.
const hasKernel = typeof getBackend().gptForwardCached === 'function';

function maxDiff(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

for (const [name, cfg] of [
  ['small', { vocab_size: 37, n_positions: 32, n_embd: 32, n_layer: 2, n_head: 4 }],
  ['wide (threaded GEMV)', { vocab_size: 300, n_positions: 24, n_embd: 256, n_layer: 2, n_head: 8 }],
] as const) {
  test(`decode fast path equals the op-by-op path: ${name}`, { skip: hasKernel ? false : 'backend has no gptForwardCached' }, () => {
    const fast = new GPT(cfg, { seed: 7 });
    const slow = new GPT(cfg, { seed: 7 });
    slow.fastDecode = false;
    const V = cfg.vocab_size;
    const B = 3;
    const cf = fast.newCache(B);
    const cs = slow.newCache(B);
    // Prefill 6 tokens per row (packed GEMM branch), row 1 left-padded by 2.
    const T0 = 6;
    const ids = Int32Array.from({ length: B * T0 }, (_, i) => (i * 7 + 3) % V);
    const mask = Int32Array.from({ length: B * T0 }, (_, i) => (Math.floor(i / T0) === 1 && i % T0 < 2 ? 0 : 1));
    const pos = Int32Array.from({ length: B * T0 }, (_, i) => (Math.floor(i / T0) === 1 ? Math.max(0, (i % T0) - 2) : i % T0));
    const a = fast.forward(ids, B, T0, cf, { attentionMask: mask, positionIds: pos });
    const b = slow.forward(ids, B, T0, cs, { attentionMask: mask, positionIds: pos });
    assert.equal(a.length, B * T0 * V);
    assert.ok(maxDiff(a, b) < 1e-5, `prefill max |Δ| ${maxDiff(a, b)}`);
    // Then single tokens (GEMV branch), lastOnly, growing mask.
    let m = mask;
    for (let step = 0; step < 5; step++) {
      const next = Int32Array.from({ length: B }, (_, r) => (step * 11 + r * 5) % V);
      const grown = new Int32Array(B * (T0 + step + 1));
      for (let r = 0; r < B; r++) {
        grown.set(m.subarray(r * (T0 + step), (r + 1) * (T0 + step)), r * (T0 + step + 1));
        grown[r * (T0 + step + 1) + T0 + step] = 1;
      }
      m = grown;
      const p = Int32Array.from({ length: B }, (_, r) => T0 + step - (r === 1 ? 2 : 0));
      const x = fast.forward(next, B, 1, cf, { attentionMask: m, positionIds: p, lastOnly: true });
      const y = slow.forward(next, B, 1, cs, { attentionMask: m, positionIds: p, lastOnly: true });
      assert.equal(x.length, B * V);
      assert.ok(maxDiff(x, y) < 1e-5, `step ${step}: max |Δ| ${maxDiff(x, y)}`);
    }
    assert.equal(cf.length, cs.length);
  });
}

test('decode fast path rejects an out-of-vocabulary id with a RangeError', { skip: hasKernel ? false : 'backend has no gptForwardCached' }, () => {
  const model = new GPT({ vocab_size: 10, n_positions: 8, n_embd: 16, n_layer: 1, n_head: 2 }, { seed: 1 });
  assert.throws(() => model.forward(Int32Array.from([12]), 1, 1, model.newCache(1)), /token id 12 outside the vocabulary/);
});
