import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as T from '../../src/tensor/index.js';
import { assertClose, gradcheck, rnd } from './gradcheck.js';

/** float64 naive reference: C[b] = op(A[b])·op(B[b]) for explicit 3-D arrays. */
function naiveMatmul(a: T.Tensor, b: T.Tensor, transA: boolean, transB: boolean): number[] {
  const [ar, ac] = a.shape.slice(-2);
  const [br, bc] = b.shape.slice(-2);
  const m = transA ? ac : ar;
  const k = transA ? ar : ac;
  const n = transB ? br : bc;
  const out: number[] = [];
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) {
        const av = transA ? a.data[p * ac + i] : a.data[i * ac + p];
        const bv = transB ? b.data[j * bc + p] : b.data[p * bc + j];
        s += av * bv;
      }
      out.push(s);
    }
  }
  return out;
}

test('2-D matmul matches a float64 naive product for every transpose combination', () => {
  for (const transA of [false, true]) {
    for (const transB of [false, true]) {
      const a = rnd(transA ? [5, 3] : [3, 5], 1);
      const b = rnd(transB ? [4, 5] : [5, 4], 2);
      const c = T.matmul(a, b, { transA, transB });
      assert.deepEqual(c.shape, [3, 4]);
      assertClose(c.data, naiveMatmul(a, b, transA, transB), 1e-5, 1e-5, `transA=${transA} transB=${transB}`);
      gradcheck(`matmul transA=${transA} transB=${transB}`, (x, y) => T.matmul(x, y, { transA, transB }), [a, b]);
    }
  }
});

test('batched matmul: collapsed [.., m, k]·[k, n], batch broadcast, transposed operands', () => {
  const cases: [string, number[], number[], boolean, boolean][] = [
    ['[2,3,4]·[4,5] (one GEMM)', [2, 3, 4], [4, 5], false, false],
    ['[2,3,4]·[5,4]ᵀ (one GEMM)', [2, 3, 4], [5, 4], false, true],
    ['[2,4,3]ᵀ·[4,5] (2-D b, transA)', [2, 4, 3], [4, 5], true, false],
    ['[2,3,4]·[2,4,5]', [2, 3, 4], [2, 4, 5], false, false],
    ['[3,4]·[2,4,5] (a broadcast)', [3, 4], [2, 4, 5], false, false],
    ['[2,1,3,4]·[1,3,4,5] (both broadcast)', [2, 1, 3, 4], [1, 3, 4, 5], false, false],
    ['[2,1,4,3]ᵀ·[3,5,4]ᵀ', [2, 1, 4, 3], [3, 5, 4], true, true],
    ['[2,2,3,4]·[2,2,5,4]ᵀ (attention scores)', [2, 2, 3, 4], [2, 2, 5, 4], false, true],
  ];
  let seed = 10;
  for (const [what, as, bs, transA, transB] of cases) {
    const a = rnd(as, seed++);
    const b = rnd(bs, seed++);
    const c = T.matmul(a, b, { transA, transB });
    // reference: broadcast both to the output batch and multiply matrix by matrix
    const batch = c.shape.slice(0, -2);
    const ab = T.expand(a, [...batch, ...as.slice(-2)]);
    const bb = T.expand(b, [...batch, ...bs.slice(-2)]);
    const nb = batch.reduce((x, y) => x * y, 1);
    const want: number[] = [];
    for (let i = 0; i < nb; i++) {
      const ai = T.narrow(ab.reshape([nb, ...as.slice(-2)]), 0, i, 1).reshape(as.slice(-2));
      const bi = T.narrow(bb.reshape([nb, ...bs.slice(-2)]), 0, i, 1).reshape(bs.slice(-2));
      want.push(...naiveMatmul(ai, bi, transA, transB));
    }
    assertClose(c.data, want, 1e-5, 1e-5, what);
    gradcheck(what, (x, y) => T.matmul(x, y, { transA, transB }), [a, b]);
  }
});

test('matmul shape errors name the op and both shapes', () => {
  assert.throws(() => T.matmul(rnd([2, 3], 1), rnd([4, 5], 2)), (e: Error) => e.name === 'ShapeError' && /matmul/.test(e.message) && /\[2, 3\]/.test(e.message) && /\[4, 5\]/.test(e.message));
  assert.throws(() => T.matmul(rnd([2, 2, 3], 1), rnd([3, 3, 5], 2)), /matmul.*\[2\].*\[3\]/);
  assert.throws(() => T.matmul(rnd([3], 1), rnd([3, 5], 2)), /rank/);
});

test('linear: both weight layouts, with and without bias, values and gradients', () => {
  const x = rnd([2, 3, 4], 30);
  const wOutIn = rnd([5, 4], 31);
  const wInOut = rnd([4, 5], 32);
  const bias = rnd([5], 33);
  const ref = T.add(T.matmul(x, wOutIn, { transB: true }), bias);
  assertClose(T.linear(x, wOutIn, bias).data, ref.data, 1e-5, 1e-5, 'outIn');
  assertClose(T.linear(x, wInOut, bias, { weightLayout: 'inOut' }).data, T.add(T.matmul(x, wInOut), bias).data, 1e-5, 1e-5, 'inOut');
  gradcheck('linear outIn + bias', (a, w, b) => T.linear(a, w, b), [x, wOutIn, bias]);
  gradcheck('linear inOut + bias', (a, w, b) => T.linear(a, w, b, { weightLayout: 'inOut' }), [x, wInOut, bias]);
  gradcheck('linear outIn no bias', (a, w) => T.linear(a, w, null), [x, wOutIn]);
  gradcheck('linear inOut no bias', (a, w) => T.linear(a, w, null, { weightLayout: 'inOut' }), [x, wInOut]);
  assert.throws(() => T.linear(x, wInOut), /linear.*\[2, 3, 4\].*\[4, 5\]/);
});
