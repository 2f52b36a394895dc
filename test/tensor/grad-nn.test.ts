import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as T from '../../src/tensor/index.js';
import { assertClose, gradcheck, rnd } from './gradcheck.js';

test('softmax/logSoftmax values and gradients on any axis', () => {
  const x = T.tensor([[1, 2, 3], [1000, 1000, 1000]]);
  const e = [Math.exp(1), Math.exp(2), Math.exp(3)];
  const s = e[0] + e[1] + e[2];
  assertClose(T.softmax(x).data, [e[0] / s, e[1] / s, e[2] / s, 1 / 3, 1 / 3, 1 / 3], 1e-6, 1e-5);
  assertClose(T.logSoftmax(x).data, [1 - Math.log(s), 2 - Math.log(s), 3 - Math.log(s), -Math.log(3), -Math.log(3), -Math.log(3)], 1e-5, 1e-5);
  gradcheck('softmax -1', (t) => T.softmax(t, -1), [rnd([3, 5], 1)]);
  gradcheck('softmax 0', (t) => T.softmax(t, 0), [rnd([3, 2, 4], 2)]);
  gradcheck('logSoftmax -1', (t) => T.logSoftmax(t), [rnd([3, 5], 3)]);
  gradcheck('logSoftmax 1', (t) => T.logSoftmax(t, 1), [rnd([2, 3, 4], 4)]);
});

test('layerNorm matches a float64 reference (biased variance) and its gradients check', () => {
  const x = rnd([2, 3, 6], 5, 2);
  const w = rnd([6], 6);
  const b = rnd([6], 7);
  const y = T.layerNorm(x, w, b, 1e-5);
  const want: number[] = [];
  for (let r = 0; r < 6; r++) {
    const row = Array.from(x.data.subarray(r * 6, r * 6 + 6));
    const mu = row.reduce((p, q) => p + q) / 6;
    const v = row.reduce((p, q) => p + (q - mu) ** 2, 0) / 6;
    row.forEach((q, j) => want.push(((q - mu) / Math.sqrt(v + 1e-5)) * w.data[j] + b.data[j]));
  }
  assertClose(y.data, want, 1e-5, 1e-5);
  gradcheck('layerNorm', (a, ww, bb) => T.layerNorm(a, ww, bb), [x, w, b]);
  gradcheck('layerNorm no affine', (a) => T.layerNorm(a, null, null), [x]);
  gradcheck('layerNorm weight only', (a, ww) => T.layerNorm(a, ww, null), [x, w]);
  assert.throws(() => T.layerNorm(x, rnd([5], 1), null), /layerNorm.*\[5\].*\[2, 3, 6\]/);
});

test('embedding: lookup, repeated ids accumulate, range and dtype errors', () => {
  const w = rnd([5, 3], 8);
  const ids = T.tensor([[4, 0, 4], [2, 2, 1]], 'int32');
  const e = T.embedding(ids, w);
  assert.deepEqual(e.shape, [2, 3, 3]);
  assert.deepEqual(Array.from(e.data.subarray(0, 3)), Array.from(w.data.subarray(12, 15)));
  gradcheck('embedding', (ww) => T.embedding(ids, ww), [w]);
  assert.throws(() => T.embedding(T.tensor([5], 'int32'), w), (err: Error) => err instanceof RangeError && /5.*vocabulary \[0, 5\)/.test(err.message));
  assert.throws(() => T.embedding(T.tensor([-1], 'int32'), w), RangeError);
  assert.throws(() => T.embedding(T.tensor([1]), w), /int32/);
});

test('dropout: inverted scaling, seeded mask, gradient through a fixed mask', () => {
  const x = T.ones([1000]);
  const y = T.dropout(x, 0.3, true, new T.Generator(1));
  const kept = Array.from(y.data).filter((v) => v !== 0);
  assert.ok(kept.every((v) => Math.abs(v - 1 / 0.7) < 1e-6));
  assert.ok(Math.abs(kept.length / 1000 - 0.7) < 0.05, `kept fraction ${kept.length / 1000}`);
  // the mask is the generator's uniform stream: element i dropped iff random() < p
  const g = new T.Generator(1);
  for (let i = 0; i < 20; i++) assert.equal(y.data[i] === 0, g.random() < 0.3);
  assert.equal(T.dropout(x, 0.3, false), x, 'identity in eval mode');
  assert.ok(Array.from(T.dropout(x, 1, true).data).every((v) => v === 0));
  const base = new T.Generator(9);
  gradcheck('dropout (fixed mask)', (t) => T.dropout(t, 0.5, true, base.clone()), [rnd([4, 5], 9)]);
});

test('crossEntropy: PyTorch semantics (ignoreIndex, label smoothing, reductions) and gradients', () => {
  const logits = rnd([4, 5], 10, 2);
  const targets = T.tensor([1, -100, 4, 0], 'int32');
  // float64 reference
  const ref = (eps: number): number[] =>
    [0, 1, 2, 3].map((r) => {
      const row = Array.from(logits.data.subarray(r * 5, r * 5 + 5));
      const t = targets.data[r];
      if (t === -100) return 0;
      const mx = Math.max(...row);
      const lse = mx + Math.log(row.reduce((s, v) => s + Math.exp(v - mx), 0));
      const nll = lse - row[t];
      const smooth = row.reduce((s, v) => s + (lse - v), 0) / 5;
      return (1 - eps) * nll + eps * smooth;
    });
  for (const eps of [0, 0.1]) {
    const per = ref(eps);
    assertClose(T.crossEntropy(logits, targets, { labelSmoothing: eps, reduction: 'none' }).data, per, 1e-5, 1e-5);
    assertClose(T.crossEntropy(logits, targets, { labelSmoothing: eps, reduction: 'sum' }).data, [per.reduce((a, b) => a + b)], 1e-5, 1e-5);
    assertClose(T.crossEntropy(logits, targets, { labelSmoothing: eps }).data, [per.reduce((a, b) => a + b) / 3], 1e-5, 1e-5, 'mean over non-ignored rows');
    for (const reduction of ['mean', 'sum', 'none'] as const) {
      gradcheck(`crossEntropy ε=${eps} ${reduction}`, (l) => T.crossEntropy(l, targets, { labelSmoothing: eps, reduction }), [logits]);
    }
  }
  // [batch, seq, vocab] logits with a custom ignoreIndex
  const l3 = rnd([2, 3, 4], 11);
  const t3 = T.tensor([[0, 3, 7], [7, 1, 2]], 'int32');
  gradcheck('crossEntropy 3-D ignoreIndex=7', (l) => T.crossEntropy(l, t3, { ignoreIndex: 7 }), [l3]);
  assert.ok(Number.isNaN(T.crossEntropy(logits, T.full([4], -100, 'int32')).item()), 'mean over zero rows is NaN (PyTorch)');
  assert.throws(() => T.crossEntropy(logits, T.tensor([5, 0, 0, 0], 'int32')), RangeError);
  assert.throws(() => T.crossEntropy(logits, T.tensor([1, 0, 0, 0])), /int32/);
  assert.throws(() => T.crossEntropy(logits, T.tensor([1, 0, 0], 'int32')), /crossEntropy.*\[4, 5\].*\[3\]/);
});

test('mseLoss values and gradients', () => {
  const a = rnd([3, 4], 12);
  const b = rnd([3, 4], 13);
  let s = 0;
  for (let i = 0; i < 12; i++) s += (a.data[i] - b.data[i]) ** 2;
  assertClose(T.mseLoss(a, b).data, [s / 12], 1e-6, 1e-5);
  assertClose(T.mseLoss(a, b, { reduction: 'sum' }).data, [s], 1e-5, 1e-5);
  gradcheck('mseLoss', (x, y) => T.mseLoss(x, y), [a, b]);
  gradcheck('mseLoss none', (x, y) => T.mseLoss(x, y, { reduction: 'none' }), [a, b]);
});

/** Attention by its definition in float64: softmax(scale·q·kᵀ + mask)·v. */
function naiveAttention(q: T.Tensor, k: T.Tensor, v: T.Tensor, causal: boolean, mask: number[][] | null, scale: number): number[] {
  const [B, H, tq, D] = q.shape;
  const tk = k.shape[2];
  const out: number[] = [];
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      for (let i = 0; i < tq; i++) {
        const s: number[] = [];
        for (let j = 0; j < tk; j++) {
          const ok = (!causal || j <= i + tk - tq) && (!mask || mask[b][j] !== 0);
          let dot = 0;
          for (let d = 0; d < D; d++) dot += q.data[((b * H + h) * tq + i) * D + d] * k.data[((b * H + h) * tk + j) * D + d];
          s.push(ok ? dot * scale : -Infinity);
        }
        const mx = Math.max(...s);
        const p = s.map((x) => (mx === -Infinity ? 0 : Math.exp(x - mx)));
        const z = p.reduce((x, y) => x + y, 0);
        for (let d = 0; d < D; d++) {
          let o = 0;
          for (let j = 0; j < tk; j++) if (z > 0) o += (p[j] / z) * v.data[((b * H + h) * tk + j) * D + d];
          out.push(o);
        }
      }
    }
  }
  return out;
}

test('scaledDotProductAttention: matches the definition; causal, offset, padding mask; gradients', () => {
  const q = rnd([2, 2, 3, 4], 20);
  const k = rnd([2, 2, 5, 4], 21);
  const v = rnd([2, 2, 5, 4], 22);
  const mask = [
    [1, 1, 0, 1, 1],
    [0, 0, 0, 0, 0], // batch row 1 fully padded: zeros, never NaN
  ];
  const maskT = T.tensor(mask, 'int32');
  for (const causal of [false, true]) {
    for (const m of [null, mask]) {
      const opts = { causal, keyPaddingMask: m ? maskT : null };
      const out = T.scaledDotProductAttention(q, k, v, opts);
      assertClose(out.data, naiveAttention(q, k, v, causal, m, 0.5), 1e-5, 1e-4, `causal=${causal} mask=${!!m}`);
      gradcheck(`attention causal=${causal} mask=${!!m}`, (a, b, c) => T.scaledDotProductAttention(a, b, c, opts), [q, k, v]);
    }
  }
  // square causal with a custom scale, against the composite matmul/softmax path
  const qs = rnd([1, 2, 4, 3], 23);
  const ks = rnd([1, 2, 4, 3], 24);
  const vs = rnd([1, 2, 4, 3], 25);
  const causalMask = T.tensor([[0, 1, 1, 1], [0, 0, 1, 1], [0, 0, 0, 1], [0, 0, 0, 0]]);
  const composite = T.matmul(T.softmax(T.matmul(qs, ks, { transB: true }).mul(0.7).maskedFill(causalMask, -Infinity)), vs);
  assertClose(T.scaledDotProductAttention(qs, ks, vs, { causal: true, scale: 0.7 }).data, composite.data, 1e-5, 1e-4);
  gradcheck('attention square causal scale 0.7', (a, b, c) => T.scaledDotProductAttention(a, b, c, { causal: true, scale: 0.7 }), [qs, ks, vs]);
  assert.throws(() => T.scaledDotProductAttention(q, rnd([2, 2, 5, 3], 1), v), /scaledDotProductAttention/);
});
