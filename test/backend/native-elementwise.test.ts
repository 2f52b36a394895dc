/**
 * Native elementwise kernels against the js reference (relative 1e-5): every
 * unary op and its derivative (including the tails where exp/tanh/erf lose
 * relative precision if done naively, and NaN/±inf), broadcast binary ops in
 * the layouts the tensor layer produces (same shape, row vector, column
 * vector, scalar, general), reductions over each axis position, argmax, and
 * the strided gather behind permute/narrow/expand for float and int arrays.
 * Sizes include ones above the two-thread threshold.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { jsBackend } from '../../src/backend/js/index.js';
import type { BinaryOp, ReduceOp, UnaryOp } from '../../src/backend/backend.js';
import { assertClose, nb, randn, skip } from './native-util.js';

const TOL = 1e-5;
const UNARY: UnaryOp[] = ['neg', 'exp', 'log', 'sqrt', 'rsqrt', 'tanh', 'sigmoid', 'relu', 'gelu_tanh', 'gelu_erf', 'abs'];
const BINARY: BinaryOp[] = ['add', 'sub', 'mul', 'div', 'pow', 'max', 'min', 'eq', 'ne', 'lt', 'le', 'gt', 'ge'];

/** Inputs valid for the op: positive for log/sqrt/rsqrt, a wide range otherwise, plus special values. */
function unaryInput(op: UnaryOp, n: number, seed: number): Float32Array {
  const x = randn(n, seed, 4);
  if (op === 'log' || op === 'sqrt' || op === 'rsqrt') for (let i = 0; i < n; i++) x[i] = Math.abs(x[i]) + 1e-3;
  const special = [0, -0, 1e-6, -1e-6, 0.29, 0.31, -0.3, 20, -20, 88, -88, -104, 1e-30, 9.5, -9.5];
  for (let i = 0; i < special.length && i < n; i++) x[i] = op === 'log' || op === 'sqrt' || op === 'rsqrt' ? Math.abs(special[i]) + 1e-3 : special[i];
  return x;
}

test('unary: every op agrees with js on 1, 7, 63, 129 and 70000 elements', { skip }, () => {
  for (const op of UNARY)
    for (const n of [1, 7, 63, 129, 70000]) {
      const x = unaryInput(op, n, n + op.length);
      const oj = new Float32Array(n);
      const on = new Float32Array(n);
      jsBackend.unary(op, x, oj, n);
      nb().unary(op, x, on, n);
      assertClose(on, oj, TOL, `${op} n=${n}`);
    }
});

test('unary: NaN propagates, infinities map like the js reference, out may alias x', { skip }, () => {
  for (const op of UNARY) {
    if (op === 'log' || op === 'sqrt' || op === 'rsqrt') continue;
    const x = Float32Array.from([NaN, Infinity, -Infinity, 3, -3, 0.5, -0.5, 40, -40, 1, 2, 3, 4, 5, 6, 7, 8]);
    const oj = new Float32Array(x.length);
    jsBackend.unary(op, x, oj, x.length);
    const inPlace = x.slice();
    nb().unary(op, inPlace, inPlace, x.length);
    assertClose(inPlace, oj, TOL, `${op} specials (in place)`);
  }
});

test('unaryBackward: every op agrees with js', { skip }, () => {
  for (const op of UNARY)
    for (const n of [5, 129, 70000]) {
      const x = unaryInput(op, n, 7 * n + op.length);
      const y = new Float32Array(n);
      jsBackend.unary(op, x, y, n);
      const dy = randn(n, n + 3);
      const dj = new Float32Array(n);
      const dn = new Float32Array(n);
      jsBackend.unaryBackward(op, x, y, dy, dj, n);
      nb().unaryBackward(op, x, y, dy, dn, n);
      assertClose(dn, dj, TOL, `d${op} n=${n}`);
    }
});

/** Contiguous strides of `shape`, with 0 on the axes listed in `broadcast`. */
function strides(shape: number[], broadcast: number[] = []): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    s[d] = broadcast.includes(d) ? 0 : acc;
    if (!broadcast.includes(d)) acc *= shape[d];
  }
  return s;
}

function size(shape: number[], broadcast: number[] = []): number {
  return shape.reduce((p, d, i) => p * (broadcast.includes(i) ? 1 : d), 1);
}

test('binary: every op in the broadcast layouts the tensor layer produces', { skip }, () => {
  const cases: { shape: number[]; aB: number[]; bB: number[] }[] = [
    { shape: [129], aB: [], bB: [] }, // same shape
    { shape: [7, 63], aB: [], bB: [0] }, // row vector [cols]
    { shape: [63, 7], aB: [], bB: [1] }, // column vector [rows, 1]
    { shape: [5, 33], aB: [], bB: [0, 1] }, // scalar
    { shape: [5, 33], aB: [0, 1], bB: [] }, // scalar on the left
    { shape: [3, 4, 5, 6], aB: [1], bB: [0, 3] }, // general
    { shape: [2, 1, 7], aB: [], bB: [2] }, // size-1 axis
    { shape: [300, 257], aB: [], bB: [0] }, // above the thread threshold
    { shape: [], aB: [], bB: [] }, // rank 0
  ];
  let seed = 1;
  for (const op of BINARY)
    for (const { shape, aB, bB } of cases) {
      const a = randn(size(shape, aB), seed++);
      const b = op === 'pow' ? randn(size(shape, bB), seed++).map((v) => Math.round(v * 2) / 2) : randn(size(shape, bB), seed++);
      if (op === 'pow') for (let i = 0; i < a.length; i++) a[i] = Math.abs(a[i]) + 0.1;
      if (op === 'eq' || op === 'ne' || op === 'le' || op === 'ge') for (let i = 0; i < Math.min(a.length, b.length); i += 3) a[i] = b[i];
      const total = size(shape);
      const oj = new Float32Array(total);
      const on = new Float32Array(total);
      jsBackend.binary(op, a, strides(shape, aB), b, strides(shape, bB), oj, shape);
      nb().binary(op, a, strides(shape, aB), b, strides(shape, bB), on, shape);
      assertClose(on, oj, TOL, `${op} [${shape}] a0=[${aB}] b0=[${bB}]`);
    }
  // NaN through max/min (torch.maximum semantics) and comparisons
  const a = Float32Array.from([NaN, 1, 2, NaN]);
  const b = Float32Array.from([1, NaN, 3, NaN]);
  for (const op of BINARY) {
    const oj = new Float32Array(4);
    const on = new Float32Array(4);
    jsBackend.binary(op, a, [1], b, [1], oj, [4]);
    nb().binary(op, a, [1], b, [1], on, [4]);
    assertClose(on, oj, 0, `${op} with NaN`);
  }
});

test('reduce: sum/max/min over first, middle and last axis, incl. NaN and an empty axis', { skip }, () => {
  const shapes: [number, number, number][] = [[1, 7, 1], [63, 129, 1], [1, 129, 63], [7, 63, 5], [3, 1, 129], [2, 3000, 40], [4, 0, 3]];
  let seed = 50;
  for (const op of ['sum', 'max', 'min'] as ReduceOp[])
    for (const [outer, dim, inner] of shapes) {
      const x = randn(outer * dim * inner, seed++, 3);
      if (x.length > 10) x[5] = NaN;
      const oj = new Float32Array(outer * inner);
      const on = new Float32Array(outer * inner);
      jsBackend.reduce(op, x, oj, outer, dim, inner);
      nb().reduce(op, x, on, outer, dim, inner);
      assertClose(on, oj, TOL, `${op} [${outer},${dim},${inner}]`);
    }
});

test('argmax: first maximum on ties, along any axis', { skip }, () => {
  for (const [outer, dim, inner] of [[1, 65, 1], [40, 7, 1], [3, 63, 9], [1, 1, 5]] as [number, number, number][]) {
    const x = randn(outer * dim * inner, outer + dim + inner).map((v) => Math.round(v * 2)); // many ties
    const oj = new Int32Array(outer * inner);
    const on = new Int32Array(outer * inner);
    jsBackend.argmax(x, oj, outer, dim, inner);
    nb().argmax(x, on, outer, dim, inner);
    assert.deepEqual(Array.from(on), Array.from(oj), `argmax [${outer},${dim},${inner}]`);
  }
});

test('copyStrided: permutes (attention head split/merge), transposes, narrow, expand; float and int', { skip }, () => {
  const B = 2, T = 33, H = 4, D = 16;
  const x = randn(B * T * H * D, 9);
  const xi = Int32Array.from(x, (v) => Math.round(v * 1000));
  const views: { name: string; offset: number; strides: number[]; shape: number[] }[] = [
    // [B, T, H, D] → [B, H, T, D]
    { name: 'head split', offset: 0, strides: [T * H * D, D, H * D, 1], shape: [B, H, T, D] },
    // [B, H, T, D] → [B, T, H, D] (view of the same buffer as [B,H,T,D])
    { name: 'head merge', offset: 0, strides: [H * T * D, D, T * D, 1], shape: [B, T, H, D] },
    // 2-D transpose of [B·T, H·D]
    { name: 'transpose', offset: 0, strides: [1, H * D], shape: [H * D, B * T] },
    // batched transpose of the last two axes
    { name: 'batched transpose', offset: 0, strides: [T * H * D, 1, H * D], shape: [B, H * D, T] },
    // narrow along T with an offset
    { name: 'narrow', offset: 5 * H * D, strides: [T * H * D, H * D, 1], shape: [B, 20, H * D] },
    // expand a row across 7 copies (stride 0)
    { name: 'expand', offset: 3, strides: [0, 1], shape: [7, 50] },
    { name: 'scalar', offset: 17, strides: [], shape: [] },
    { name: 'big permute', offset: 0, strides: [1, 64], shape: [64, 66] },
  ];
  for (const v of views) {
    const total = v.shape.reduce((p, d) => p * d, 1);
    for (const src of [x, xi]) {
      const dj = src instanceof Float32Array ? new Float32Array(total) : new Int32Array(total);
      const dn = src instanceof Float32Array ? new Float32Array(total) : new Int32Array(total);
      jsBackend.copyStrided(src, v.offset, v.strides, v.shape, dj);
      nb().copyStrided(src, v.offset, v.strides, v.shape, dn);
      assert.deepEqual(Array.from(dn), Array.from(dj), `${v.name} (${src.constructor.name})`);
    }
  }
  // a large permute, above the thread threshold
  const big = randn(64 * 128 * 12, 10);
  const shape = [12, 64, 128];
  const st = [128, 128 * 12, 1];
  const dj = new Float32Array(big.length);
  const dn = new Float32Array(big.length);
  jsBackend.copyStrided(big, 0, st, shape, dj);
  nb().copyStrided(big, 0, st, shape, dn);
  assert.deepEqual(dn, dj);
});

test('bounds and types are checked before any kernel runs', { skip }, () => {
  const x = new Float32Array(10);
  assert.throws(() => nb().unary('exp', x, new Float32Array(5), 10), RangeError);
  assert.throws(() => nb().reduce('sum', x, new Float32Array(2), 2, 6, 1), RangeError);
  assert.throws(() => nb().copyStrided(x, 8, [1], [5], new Float32Array(5)), RangeError);
  assert.throws(() => nb().copyStrided(x, 0, [1], [5], new Int32Array(5)), TypeError);
  assert.throws(
    () => nb().gemm({ a: x, b: x, c: x, batch: 1, m: 4, n: 4, k: 4, transA: false, transB: false, alpha: 1, beta: 0,
      aOffset: 0, bOffset: 0, cOffset: 0, aBatchStride: 0, bBatchStride: 0, cBatchStride: 0 }),
    RangeError,
  );
  assert.throws(() => nb().embedding(x, Int32Array.from([0, 5]), new Float32Array(10), 2, 5), RangeError);
});
