import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Tensor, fromArray } from '../../src/tensor/index.js';
import { applyRotary, rmsNorm, siluMul } from '../../src/models/llama/ops.js';
import { ropeTables } from '../../src/models/llama/rope.js';
import { trainAttention } from '../../src/models/llama/attention.js';
import { LlamaForCausalLM } from '../../src/models/llama/model.js';
import { assertClose, gradcheck, rnd } from '../tensor/gradcheck.js';

test('rmsNorm values (float64 formula) and finite-difference gradients', () => {
  const x = rnd([3, 5], 1, 2);
  const w = rnd([5], 2);
  const y = rmsNorm(x, w, 1e-6);
  const want: number[] = [];
  for (let r = 0; r < 3; r++) {
    const row = Array.from(x.data.subarray(r * 5, r * 5 + 5));
    const s = 1 / Math.sqrt(row.reduce((p, q) => p + q * q, 0) / 5 + 1e-6);
    row.forEach((q, j) => want.push(q * s * w.data[j]));
  }
  assertClose(y.data, want, 1e-6, 1e-5);
  gradcheck('rmsNorm', (a, b) => rmsNorm(a, b, 1e-6), [rnd([2, 3, 4], 3), rnd([4], 4)]);
});

test('applyRotary rotates pairs (i, i + D/2) and its gradient checks', () => {
  const inv = Float64Array.from([1, 0.1, 0.01]);
  const { cos, sin } = ropeTables(inv, Int32Array.from([0, 1, 5, 9]));
  const x = rnd([4, 2, 6], 5);
  const y = applyRotary(x, cos, sin);
  // position 0 is the identity
  assertClose(y.data.subarray(0, 12), x.data.subarray(0, 12), 0, 0);
  // row 2 (position 5), head 1, pair 1: angle 0.5
  const o = (2 * 2 + 1) * 6;
  const a = x.data[o + 1];
  const b = x.data[o + 4];
  assertClose([y.data[o + 1], y.data[o + 4]], [a * Math.cos(0.5) - b * Math.sin(0.5), b * Math.cos(0.5) + a * Math.sin(0.5)], 1e-6, 1e-6);
  gradcheck('applyRotary', (t) => applyRotary(t, cos, sin), [x]);
});

test('siluMul = silu(gate)·up and its gradients check', () => {
  const g = rnd([3, 4], 6, 2);
  const u = rnd([3, 4], 7);
  const y = siluMul(g, u);
  assertClose(y.data, Array.from(g.data, (z, i) => (z / (1 + Math.exp(-z))) * u.data[i]), 1e-6, 1e-5);
  gradcheck('siluMul', siluMul, [g, u]);
});

test('sliding-window training attention gradients check', () => {
  gradcheck('windowed attention', (q, k, v) => trainAttention(q, k, v, 2), [rnd([1, 2, 5, 3], 8), rnd([1, 2, 5, 3], 9), rnd([1, 2, 5, 3], 10)]);
});

test('a whole tiny Llama (GQA, qwen3 q/k norm, untied) trains: loss gradients match finite differences on sampled weights', () => {
  const model = new LlamaForCausalLM({ model_type: 'qwen3', vocab_size: 11, hidden_size: 8, intermediate_size: 12, num_hidden_layers: 2, num_attention_heads: 2, num_key_value_heads: 1, head_dim: 4, initializer_range: 0.3, tie_word_embeddings: false, use_sliding_window: true, sliding_window: 3, max_window_layers: 1 }, { seed: 5 });
  const ids = fromArray(Int32Array.from([1, 4, 2, 9, 3, 7]), [1, 6], 'int32');
  const targets = fromArray(Int32Array.from([4, 2, 9, 3, 7, 0]), [1, 6], 'int32');
  const loss = model.forward(ids, { targets }).loss!;
  loss.backward();
  const lossAt = (): number => model.forward(ids, { targets }).loss!.item();
  const eps = 2e-3;
  for (const [name, p] of model.namedParameters()) {
    const d = p.data as Float32Array;
    const g = (p.grad as Tensor).data as Float32Array;
    for (const j of [0, Math.floor(d.length / 2), d.length - 1]) {
      const orig = d[j];
      d[j] = orig + eps;
      const lp = lossAt();
      d[j] = orig - eps;
      const lm = lossAt();
      d[j] = orig;
      const num = (lp - lm) / (2 * eps);
      assert.ok(Math.abs(num - g[j]) < 2e-3 + 2e-2 * Math.abs(num), `${name}[${j}]: analytic ${g[j]} vs numeric ${num}`);
    }
  }
});
