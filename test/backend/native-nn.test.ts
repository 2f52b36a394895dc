/**
 * Native row kernels against the js reference (relative 1e-5): softmax and
 * log-softmax with their backwards, LayerNorm (with/without weight and bias,
 * gradient accumulation into dWeight/dBias), embedding with repeated ids,
 * cross-entropy with label smoothing and ignoreIndex, AdamW over several
 * steps, and the float64 sum of squares. Row counts and widths include 1, 7,
 * 63, 129 and sizes above the two-thread threshold.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { jsBackend } from '../../src/backend/js/index.js';
import { assertClose, nb, randint, randn, skip } from './native-util.js';

const TOL = 1e-5;
const SHAPES: [number, number][] = [[1, 1], [1, 7], [7, 63], [63, 129], [129, 65], [300, 257]];

test('softmax / logSoftmax and their backwards', { skip }, () => {
  let seed = 1;
  for (const [rows, cols] of SHAPES) {
    const x = randn(rows * cols, seed++, 5);
    const dy = randn(rows * cols, seed++);
    for (const [fwd, bwd] of [['softmax', 'softmaxBackward'], ['logSoftmax', 'logSoftmaxBackward']] as const) {
      const yj = new Float32Array(rows * cols);
      const yn = new Float32Array(rows * cols);
      jsBackend[fwd](x, yj, rows, cols);
      nb()[fwd](x, yn, rows, cols);
      assertClose(yn, yj, TOL, `${fwd} [${rows},${cols}]`);
      const dj = new Float32Array(rows * cols);
      const dn = new Float32Array(rows * cols);
      jsBackend[bwd](yj, dy, dj, rows, cols);
      nb()[bwd](yj, dy, dn, rows, cols);
      assertClose(dn, dj, TOL, `${bwd} [${rows},${cols}]`);
    }
  }
  // -inf entries (masked logits) and a large offset (no overflow)
  const x = Float32Array.from([-Infinity, 0, 1, -Infinity, 1000, 1001, 999, 998]);
  for (const fwd of ['softmax', 'logSoftmax'] as const) {
    const yj = new Float32Array(8);
    const yn = new Float32Array(8);
    jsBackend[fwd](x, yj, 2, 4);
    nb()[fwd](x, yn, 2, 4);
    assertClose(yn, yj, TOL, `${fwd} with -inf and large logits`);
  }
});

test('layerNorm forward and backward (accumulating dWeight, dBias), with and without affine', { skip }, () => {
  let seed = 100;
  for (const [rows, cols] of SHAPES) {
    const x = randn(rows * cols, seed++, 3).map((v, i) => v + (i % cols === 0 ? 50 : 1)); // an offset mean
    const w = randn(cols, seed++);
    const b = randn(cols, seed++);
    const dy = randn(rows * cols, seed++);
    for (const [wt, bs] of [[w, b], [w, null], [null, b], [null, null]] as const) {
      const run = (be: typeof jsBackend) => {
        const out = new Float32Array(rows * cols);
        const mean = new Float32Array(rows);
        const rstd = new Float32Array(rows);
        be.layerNorm(x, wt, bs, out, mean, rstd, rows, cols, 1e-5);
        const dx = new Float32Array(rows * cols);
        const dW = wt ? Float32Array.from({ length: cols }, (_, i) => 0.5 * i) : null; // pre-filled: must accumulate
        const dB = bs ? Float32Array.from({ length: cols }, (_, i) => -0.25 * i) : null;
        be.layerNormBackward(dy, x, wt, mean, rstd, dx, dW, dB, rows, cols);
        return { out, mean, rstd, dx, dW, dB };
      };
      const j = run(jsBackend);
      const n = run(nb());
      const what = `layerNorm [${rows},${cols}] w=${!!wt} b=${!!bs}`;
      assertClose(n.out, j.out, TOL, `${what} out`);
      assertClose(n.mean, j.mean, TOL, `${what} mean`);
      assertClose(n.rstd, j.rstd, TOL, `${what} rstd`);
      assertClose(n.dx, j.dx, TOL, `${what} dx`);
      if (j.dW && n.dW) assertClose(n.dW, j.dW, TOL, `${what} dW`);
      if (j.dB && n.dB) assertClose(n.dB, j.dB, TOL, `${what} dB`);
    }
  }
});

test('embedding gather and scatter-add with repeated ids', { skip }, () => {
  for (const [n, dim, vocab] of [[1, 1, 3], [7, 63, 5], [129, 65, 50], [2000, 48, 65]]) {
    const weight = randn(vocab * dim, n + dim);
    const ids = randint(n, 0, vocab, n * 3);
    const oj = new Float32Array(n * dim);
    const on = new Float32Array(n * dim);
    jsBackend.embedding(weight, ids, oj, n, dim);
    nb().embedding(weight, ids, on, n, dim);
    assert.deepEqual(on, oj, `embedding n=${n}`);
    const dOut = randn(n * dim, n + 1);
    const gj = randn(vocab * dim, 4); // pre-filled: must accumulate
    const gn = gj.slice();
    jsBackend.embeddingBackward(dOut, ids, gj, n, dim);
    nb().embeddingBackward(dOut, ids, gn, n, dim);
    assertClose(gn, gj, TOL, `embeddingBackward n=${n}`);
  }
});

test('crossEntropy and its backward: label smoothing, ignoreIndex, returned count', { skip }, () => {
  let seed = 300;
  for (const [rows, classes] of [[1, 2], [7, 65], [63, 129], [129, 7], [512, 65]]) {
    for (const ls of [0, 0.1])
      for (const ignoreIndex of [-100, 3]) {
        const logits = randn(rows * classes, seed++, 3);
        const targets = randint(rows, 0, classes, seed++);
        for (let r = 0; r < rows; r += 5) targets[r] = ignoreIndex;
        const rowScale = randn(rows, seed++);
        const run = (be: typeof jsBackend) => {
          const losses = new Float32Array(rows);
          const lse = new Float32Array(rows);
          const count = be.crossEntropy(logits, targets, losses, lse, rows, classes, ignoreIndex, ls);
          const d = new Float32Array(rows * classes).fill(NaN);
          be.crossEntropyBackward(logits, targets, lse, rowScale, d, rows, classes, ignoreIndex, ls);
          return { losses, lse, count, d };
        };
        const j = run(jsBackend);
        const n = run(nb());
        const what = `crossEntropy [${rows},${classes}] ε=${ls} ignore=${ignoreIndex}`;
        assert.equal(n.count, j.count, `${what} count`);
        assertClose(n.losses, j.losses, TOL, `${what} losses`);
        assertClose(n.lse, j.lse, TOL, `${what} lse`);
        assertClose(n.d, j.d, TOL, `${what} dLogits`);
      }
  }
  assert.throws(() => nb().crossEntropy(new Float32Array(4), Int32Array.from([4]), new Float32Array(1), new Float32Array(1), 1, 4, -100, 0), RangeError);
});

test('adamw: five steps with weight decay and gradient scaling', { skip }, () => {
  for (const n of [1, 7, 129, 100000]) {
    const pj = randn(n, n);
    const pn = pj.slice();
    const mj = new Float32Array(n), mn = new Float32Array(n), vj = new Float32Array(n), vn = new Float32Array(n);
    for (let step = 1; step <= 5; step++) {
      const grad = randn(n, n + step);
      const common = { lr: 3e-3, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1, step, gradScale: 0.7 };
      jsBackend.adamw({ param: pj, grad, expAvg: mj, expAvgSq: vj, ...common });
      nb().adamw({ param: pn, grad, expAvg: mn, expAvgSq: vn, ...common });
    }
    assertClose(pn, pj, TOL, `adamw param n=${n}`);
    assertClose(mn, mj, TOL, `adamw expAvg n=${n}`);
    assertClose(vn, vj, TOL, `adamw expAvgSq n=${n}`);
  }
});

test('sumSquares in float64', { skip }, () => {
  for (const n of [0, 1, 7, 129, 1_000_003]) {
    const x = randn(n, n + 9, 10);
    const j = jsBackend.sumSquares(x, n);
    const v = nb().sumSquares(x, n);
    assert.ok(Math.abs(v - j) <= 1e-9 * Math.max(1, j), `sumSquares n=${n}: ${v} vs ${j}`);
  }
});

test('adamwMany equals one adamw per tensor, bit for bit (per-tensor decay and step)', { skip }, () => {
  const sizes = [1, 7, 16385, 40000, 129];
  const mk = () => sizes.map((n, i) => ({ p: randn(n, n + i), m: new Float32Array(n), v: new Float32Array(n) }));
  const one = mk();
  const many = mk();
  for (let step = 1; step <= 3; step++) {
    const grads = sizes.map((n, i) => randn(n, 7 * n + step + i));
    const params = (s: ReturnType<typeof mk>) =>
      s.map((t, i) => ({
        param: t.p, grad: grads[i], expAvg: t.m, expAvgSq: t.v, lr: 2e-3, beta1: 0.9, beta2: 0.99, eps: 1e-8,
        weightDecay: i % 2 ? 0 : 0.1, step: step + i, gradScale: 0.8,
      }));
    for (const u of params(one)) nb().adamw(u);
    nb().adamwMany!(params(many));
  }
  for (let i = 0; i < sizes.length; i++) {
    assert.deepEqual(many[i].p, one[i].p, `param ${i}`);
    assert.deepEqual(many[i].m, one[i].m, `exp_avg ${i}`);
    assert.deepEqual(many[i].v, one[i].v, `exp_avg_sq ${i}`);
  }
  const g = randn(3, 1);
  assert.throws(() => nb().adamwMany!([
    { param: randn(3, 2), grad: g, expAvg: new Float32Array(3), expAvgSq: new Float32Array(3), lr: 1, beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: 0, step: 1, gradScale: 1 },
    { param: randn(3, 2), grad: g, expAvg: new Float32Array(3), expAvgSq: new Float32Array(3), lr: 2, beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: 0, step: 1, gradScale: 1 },
  ]), RangeError);
});

test('sumSquaresMany equals the sum of sumSquares over the tensors, exactly', { skip }, () => {
  const xs = [0, 1, 4097, 70000, 3].map((n, i) => randn(n, n + 3 * i, 5));
  let want = 0;
  for (const x of xs) want += nb().sumSquares(x, x.length);
  assert.equal(nb().sumSquaresMany!(xs), want);
  assert.equal(nb().sumSquaresMany!([]), 0);
});
