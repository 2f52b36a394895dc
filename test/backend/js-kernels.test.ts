/**
 * The js reference kernels against the documented semantics of
 * src/backend/backend.ts and float64 naive references. (Gradients of the
 * tensor ops built on these kernels are checked in test/tensor/.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { jsBackend as be } from '../../src/backend/js/index.js';
import { erfc } from '../../src/backend/js/elementwise.js';
import { Generator } from '../../src/tensor/random.js';
import { assertClose } from '../tensor/gradcheck.js';

function randArr(n: number, seed: number, scale = 1): Float32Array {
  const g = new Generator(seed);
  return Float32Array.from({ length: n }, () => g.normal() * scale);
}

function gemmParams(over: Partial<Parameters<typeof be.gemm>[0]>): Parameters<typeof be.gemm>[0] {
  return {
    a: new Float32Array(0),
    b: new Float32Array(0),
    c: new Float32Array(0),
    batch: 1,
    m: 0,
    n: 0,
    k: 0,
    transA: false,
    transB: false,
    alpha: 1,
    beta: 0,
    aOffset: 0,
    bOffset: 0,
    cOffset: 0,
    aBatchStride: 0,
    bBatchStride: 0,
    cBatchStride: 0,
    ...over,
  };
}

test('gemm: beta = 0 ignores NaN in C, beta/alpha scale, offsets and stride-0 broadcast', () => {
  // A [2,3], B [3,2]
  const a = Float32Array.from([1, 2, 3, 4, 5, 6]);
  const b = Float32Array.from([1, 0, 0, 1, 1, 1]);
  const want = [4, 5, 10, 11];
  const c = new Float32Array(4).fill(NaN);
  be.gemm(gemmParams({ a, b, c, m: 2, n: 2, k: 3 }));
  assert.deepEqual(Array.from(c), want);
  be.gemm(gemmParams({ a, b, c, m: 2, n: 2, k: 3, alpha: 2, beta: 0.5 }));
  assert.deepEqual(Array.from(c), want.map((v) => 2 * v + 0.5 * v));
  // two batches of A sharing one B (bBatchStride 0), written after a 1-element offset
  const a2 = new Float32Array(13);
  a2.set(a, 1);
  a2.set(a.map((v) => -v), 7);
  const c2 = new Float32Array(9);
  be.gemm(gemmParams({ a: a2, b, c: c2, batch: 2, m: 2, n: 2, k: 3, aOffset: 1, cOffset: 1, aBatchStride: 6, cBatchStride: 4 }));
  assert.deepEqual(Array.from(c2), [0, ...want, ...want.map((v) => -v)]);
});

test('gemm: all transpose flags against a float64 naive product', () => {
  const m = 5;
  const n = 7;
  const k = 6;
  const A = randArr(m * k, 1);
  const B = randArr(k * n, 2);
  const ref: number[] = [];
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) {
    let s = 0;
    for (let p = 0; p < k; p++) s += A[i * k + p] * B[p * n + j];
    ref.push(s);
  }
  const At = new Float32Array(m * k);
  for (let i = 0; i < m; i++) for (let p = 0; p < k; p++) At[p * m + i] = A[i * k + p];
  const Bt = new Float32Array(k * n);
  for (let p = 0; p < k; p++) for (let j = 0; j < n; j++) Bt[j * k + p] = B[p * n + j];
  for (const transA of [false, true]) {
    for (const transB of [false, true]) {
      const c = new Float32Array(m * n);
      be.gemm(gemmParams({ a: transA ? At : A, b: transB ? Bt : B, c, m, n, k, transA, transB }));
      assertClose(c, ref, 1e-5, 1e-5, `transA=${transA} transB=${transB}`);
    }
  }
});

test('erfc (for exact GELU) has ~1e-7 relative accuracy, including the far tail', () => {
  // reference values: erf(0.5), erf(1), erfc(3), erfc(5), erfc(−2)
  assertClose([1 - erfc(0.5)], [0.5204998778130465], 0, 2e-7);
  assertClose([1 - erfc(1)], [0.8427007929497149], 0, 2e-7);
  assertClose([erfc(3)], [2.209049699858544e-5], 0, 2e-7);
  assertClose([erfc(5)], [1.5374597944280349e-12], 0, 2e-7);
  assertClose([erfc(-2)], [1.9953222650189528], 0, 2e-7);
});

test('unary kernels: values and derivatives against float64 formulas; out may alias x', () => {
  const x = Float32Array.from([-3, -1.5, -0.2, 0.3, 1, 2.5]);
  const pos = Float32Array.from([0.1, 0.5, 1, 2, 4, 9]);
  const Phi = (v: number): number => 0.5 * erfc(-v / Math.SQRT2);
  const f: Record<string, [(v: number) => number, (v: number) => number, Float32Array]> = {
    neg: [(v) => -v, () => -1, x],
    exp: [Math.exp, Math.exp, x],
    log: [Math.log, (v) => 1 / v, pos],
    sqrt: [Math.sqrt, (v) => 0.5 / Math.sqrt(v), pos],
    rsqrt: [(v) => 1 / Math.sqrt(v), (v) => -0.5 * v ** -1.5, pos],
    tanh: [Math.tanh, (v) => 1 - Math.tanh(v) ** 2, x],
    sigmoid: [(v) => 1 / (1 + Math.exp(-v)), (v) => Math.exp(-v) / (1 + Math.exp(-v)) ** 2, x],
    relu: [(v) => Math.max(v, 0), (v) => (v > 0 ? 1 : 0), x],
    abs: [Math.abs, Math.sign, x],
    gelu_erf: [(v) => v * Phi(v), (v) => Phi(v) + (v * Math.exp(-v * v / 2)) / Math.sqrt(2 * Math.PI), x],
    gelu_tanh: [
      (v) => 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3))),
      (v) => {
        const h = 1e-6;
        const g = (u: number): number => 0.5 * u * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (u + 0.044715 * u ** 3)));
        return (g(v + h) - g(v - h)) / (2 * h);
      },
      x,
    ],
  };
  for (const [op, [fn, dfn, input]] of Object.entries(f)) {
    const y = new Float32Array(input.length);
    be.unary(op as never, input, y, input.length);
    assertClose(y, Array.from(input, fn), 1e-6, 1e-6, op);
    const dy = Float32Array.from([1, -2, 0.5, 3, -1, 2]);
    const dx = new Float32Array(input.length);
    be.unaryBackward(op as never, input, y, dy, dx, input.length);
    assertClose(dx, Array.from(input, (v, i) => dy[i] * dfn(v)), 1e-5, 1e-5, `${op}'`);
    const alias = input.slice();
    be.unary(op as never, alias, alias, alias.length);
    assert.deepEqual(Array.from(alias), Array.from(y), `${op} in place`);
  }
  const big = Float32Array.from([-100, 100]);
  const s = new Float32Array(2);
  be.unary('sigmoid', big, s, 2);
  assert.deepEqual(Array.from(s), [Math.exp(-100) / (1 + Math.exp(-100)), 1].map(Math.fround));
});

test('binary: strided broadcast on every path, comparisons as 1/0', () => {
  // out [2,3,4]; a broadcast on axis 1 ([2,1,4]), b a column [3,1] → strides
  const a = randArr(8, 3);
  const b = randArr(3, 4);
  const out = new Float32Array(24);
  be.binary('sub', a, [4, 0, 1], b, [0, 1, 0], out, [2, 3, 4]);
  for (let i = 0; i < 2; i++) for (let j = 0; j < 3; j++) for (let l = 0; l < 4; l++) {
    assert.equal(out[i * 12 + j * 4 + l], Math.fround(a[i * 4 + l] - b[j]));
  }
  const cmp = new Float32Array(3);
  be.binary('ge', Float32Array.from([1, 2, 3]), [1], Float32Array.from([2]), [0], cmp, [3]);
  assert.deepEqual(Array.from(cmp), [0, 1, 1]);
  const mx = new Float32Array(2);
  be.binary('max', Float32Array.from([NaN, 1]), [1], Float32Array.from([0, 2]), [1], mx, [2]);
  assert.ok(Number.isNaN(mx[0]) && mx[1] === 2, 'max propagates NaN');
});

test('reduce/argmax over [outer, dim, inner]; copyStrided for float and int', () => {
  const x = Float32Array.from([1, 5, 3, 2, 5, 0, -1, 7, 2, 2, 9, 9]); // [2, 3, 2]
  const s = new Float32Array(4);
  be.reduce('sum', x, s, 2, 3, 2);
  assert.deepEqual(Array.from(s), [9, 7, 10, 18]);
  be.reduce('max', x, s, 2, 3, 2);
  assert.deepEqual(Array.from(s), [5, 5, 9, 9]);
  be.reduce('min', x, s, 2, 3, 2);
  assert.deepEqual(Array.from(s), [1, 0, -1, 2]);
  const idx = new Int32Array(4);
  be.argmax(x, idx, 2, 3, 2);
  assert.deepEqual(Array.from(idx), [2, 0, 2, 2], 'first index on ties');
  const n = new Float32Array(1);
  be.reduce('max', Float32Array.from([1, NaN, 3]), n, 1, 3, 1);
  assert.ok(Number.isNaN(n[0]));
  // transpose a [2,3] int matrix
  const src = Int32Array.from([1, 2, 3, 4, 5, 6]);
  const dst = new Int32Array(6);
  be.copyStrided(src, 0, [1, 3], [3, 2], dst);
  assert.deepEqual(Array.from(dst), [1, 4, 2, 5, 3, 6]);
  const f = new Float32Array(2);
  be.copyStrided(Float32Array.from([0, 1, 2, 3, 4, 5]), 1, [2], [2], f);
  assert.deepEqual(Array.from(f), [1, 3]);
  assert.equal(be.sumSquares(Float32Array.from([1e4, 1, 2]), 3), 1e8 + 5);
});

test('softmax/logSoftmax stable for large logits; backward identities', () => {
  const x = Float32Array.from([1000, 1001, 1002, -5, 0, 5]);
  const y = new Float32Array(6);
  be.softmax(x, y, 2, 3);
  const e = [1, Math.E, Math.E ** 2];
  const z = e[0] + e[1] + e[2];
  assertClose(y.subarray(0, 3), e.map((v) => v / z), 1e-7, 1e-6);
  const ly = new Float32Array(6);
  be.logSoftmax(x, ly, 2, 3);
  assertClose(ly.subarray(0, 3), e.map((v) => Math.log(v / z)), 1e-6, 1e-6);
  const dy = Float32Array.from([1, 0, 0, 0, 1, 0]);
  const dx = new Float32Array(6);
  be.softmaxBackward(y, dy, dx, 2, 3);
  // d softmax_0 / dx_j = y0(δ0j − yj)
  assertClose(dx.subarray(0, 3), [y[0] * (1 - y[0]), -y[0] * y[1], -y[0] * y[2]], 1e-7, 1e-6);
  be.logSoftmaxBackward(ly, dy, dx, 2, 3);
  assertClose(dx.subarray(0, 3), [1 - y[0], -y[1], -y[2]], 1e-7, 1e-6);
});

test('layerNormBackward and embeddingBackward ACCUMULATE into parameter gradients', () => {
  const rows = 3;
  const cols = 4;
  const x = randArr(rows * cols, 5);
  const w = randArr(cols, 6);
  const out = new Float32Array(rows * cols);
  const mean = new Float32Array(rows);
  const rstd = new Float32Array(rows);
  be.layerNorm(x, w, null, out, mean, rstd, rows, cols, 1e-5);
  const dy = randArr(rows * cols, 7);
  const dx = new Float32Array(rows * cols).fill(NaN);
  const dW1 = new Float32Array(cols);
  const dB1 = new Float32Array(cols);
  be.layerNormBackward(dy, x, w, mean, rstd, dx, dW1, dB1, rows, cols);
  assert.ok(dx.every(Number.isFinite), 'dx is overwritten');
  const dW = new Float32Array(cols).fill(10);
  const dB = new Float32Array(cols).fill(-1);
  be.layerNormBackward(dy, x, w, mean, rstd, dx, dW, dB, rows, cols);
  assertClose(dW, Array.from(dW1, (v) => v + 10), 1e-6, 1e-6, 'dWeight accumulates');
  assertClose(dB, Array.from(dB1, (v) => v - 1), 1e-6, 1e-6, 'dBias accumulates');
  // Σ dBias = Σ dy
  assertClose([dB1.reduce((a, b) => a + b)], [dy.reduce((a, b) => a + b)], 1e-5, 1e-5);
  const dE = new Float32Array(6).fill(1);
  be.embeddingBackward(Float32Array.from([1, 2, 3, 4, 5, 6]), Int32Array.from([2, 0, 2]), dE, 3, 2);
  assert.deepEqual(Array.from(dE), [4, 5, 1, 1, 7, 9]);
});

test('crossEntropy kernel: count, ignored rows give 0 loss and 0 gradient', () => {
  const logits = Float32Array.from([0, 0, 0, 1, 2, 3]);
  const targets = Int32Array.from([-1, 2]);
  const losses = new Float32Array(2);
  const lse = new Float32Array(2);
  const n = be.crossEntropy(logits, targets, losses, lse, 2, 3, -1, 0);
  assert.equal(n, 1);
  assert.equal(losses[0], 0);
  const l1 = Math.log(Math.exp(1) + Math.exp(2) + Math.exp(3));
  assertClose([losses[1], lse[1]], [l1 - 3, l1], 1e-6, 1e-6);
  const d = new Float32Array(6).fill(NaN);
  be.crossEntropyBackward(logits, targets, lse, Float32Array.from([1, 2]), d, 2, 3, -1, 0);
  assert.deepEqual(Array.from(d.subarray(0, 3)), [0, 0, 0]);
  const p = [1, 2, 3].map((v) => Math.exp(v - l1));
  assertClose(d.subarray(3), [2 * p[0], 2 * p[1], 2 * (p[2] - 1)], 1e-6, 1e-6);
});

test('attention kernel: fully masked rows give zeros (no NaN), causal offset tk − tq for cached decoding', () => {
  const D = 2;
  const q = Float32Array.from([1, 0, 0, 1]); // [1,1,2,2]
  const k = Float32Array.from([1, 0, 0, 1, 1, 1]); // [1,1,3,2]
  const v = Float32Array.from([1, 2, 3, 4, 5, 6]);
  const out = new Float32Array(4).fill(NaN);
  const lse = new Float32Array(2);
  const base = { q, k, v, out, lse, batch: 1, heads: 1, tq: 2, tk: 3, headDim: D, scale: 1 };
  // causal with tq=2, tk=3: query 0 sees keys 0..1, query 1 sees keys 0..2
  be.attention({ ...base, causal: true, keyPaddingMask: null });
  const soft = (s: number[]): number[] => {
    const z = s.reduce((a, b) => a + Math.exp(b), 0);
    return s.map((x) => Math.exp(x) / z);
  };
  const p0 = soft([1, 0]);
  const p1 = soft([0, 1, 1]);
  assertClose(out, [p0[0] * 1 + p0[1] * 3, p0[0] * 2 + p0[1] * 4, p1[0] * 1 + p1[1] * 3 + p1[2] * 5, p1[0] * 2 + p1[1] * 4 + p1[2] * 6], 1e-6, 1e-6);
  // every key padded: zeros, lse −∞, and a NaN-free backward
  be.attention({ ...base, causal: false, keyPaddingMask: Int32Array.from([0, 0, 0]) });
  assert.deepEqual(Array.from(out), [0, 0, 0, 0]);
  assert.deepEqual(Array.from(lse), [-Infinity, -Infinity]);
  const dq = new Float32Array(4).fill(NaN);
  const dk = new Float32Array(6).fill(NaN);
  const dv = new Float32Array(6).fill(NaN);
  be.attentionBackward({ ...base, causal: false, keyPaddingMask: Int32Array.from([0, 0, 0]), dOut: Float32Array.from([1, 1, 1, 1]), dq, dk, dv });
  assert.ok([...dq, ...dk, ...dv].every((x) => x === 0));
});

test('adamw kernel: decoupled weight decay, bias correction, gradScale', () => {
  const param = Float32Array.from([1, -2]);
  const m = new Float32Array(2);
  const v = new Float32Array(2);
  be.adamw({ param, grad: Float32Array.from([0.5, 0]), expAvg: m, expAvgSq: v, lr: 0.1, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01, step: 1, gradScale: 2 });
  // step 1: m̂ = g, v̂ = g², update = lr·g/(|g| + eps) ≈ lr·sign(g)
  assertClose(param, [1 * (1 - 0.001) - 0.1 * (1 / (1 + 1e-8)), -2 * (1 - 0.001)], 1e-7, 1e-6);
  assertClose(m, [0.1, 0], 1e-8, 1e-6);
  assertClose(v, [0.001, 0], 1e-9, 1e-6);
});
