import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as T from '../../src/tensor/index.js';
import { assertClose, gradcheck, rnd } from './gradcheck.js';

test('sum/mean values over axes, keepDim, all', () => {
  const x = T.arange(24).reshape([2, 3, 4]);
  assert.equal(x.sum().item(), 276);
  assert.deepEqual(x.sum(1).shape, [2, 4]);
  assert.deepEqual(x.sum(1, true).shape, [2, 1, 4]);
  // Σ over a ∈ {0,1}, c ∈ 0..3 of (12a + 4i + c) = 12·4 + 32i + 12
  assert.deepEqual(x.sum([0, 2]).toArray(), [60, 92, 124]);
  assert.deepEqual(x.mean(-1).toArray(), [[1.5, 5.5, 9.5], [13.5, 17.5, 21.5]]);
});

test('sum/mean/max/min gradients', () => {
  const x = rnd([2, 3, 4], 1);
  gradcheck('sum all', (t) => t.sum(), [x]);
  gradcheck('sum dim 1', (t) => t.sum(1), [x]);
  gradcheck('sum dims keepDim', (t) => t.sum([0, 2], true), [x]);
  gradcheck('mean dim -1', (t) => t.mean(-1), [x]);
  gradcheck('mean all', (t) => t.mean(), [x]);
  gradcheck('max dim 1', (t) => t.max(1), [x]);
  gradcheck('min dim 2 keepDim', (t) => t.min(2, true), [x]);
  gradcheck('max all', (t) => t.max(), [x]);
});

test('argmax (first on ties), max/min values', () => {
  const x = T.tensor([[1, 5, 5], [7, 0, 7]]);
  assert.deepEqual(x.argmax(1).toArray(), [1, 0]);
  assert.equal(x.argmax(1).dtype, 'int32');
  assert.equal(x.argmax().item(), 3);
  assert.deepEqual(x.max(0).toArray(), [7, 5, 7]);
  assert.deepEqual(x.min(1, true).toArray(), [[1], [0]]);
});

test('var: unbiased and biased, values and gradients', () => {
  const x = T.tensor([[1, 2, 3, 4], [2, 2, 2, 2]]);
  assertClose(x.var(1).data, [5 / 3, 0]);
  assertClose(x.var(1, { unbiased: false }).data, [1.25, 0]);
  assertClose(x.var().data, [(function () {
    const v = [1, 2, 3, 4, 2, 2, 2, 2];
    const m = v.reduce((a, b) => a + b) / 8;
    return v.reduce((a, b) => a + (b - m) ** 2, 0) / 7;
  })()]);
  gradcheck('var unbiased', (t) => t.var(1), [rnd([3, 5], 2)]);
  gradcheck('var biased keepDim', (t) => t.var(0, { unbiased: false, keepDim: true }), [rnd([3, 5], 3)]);
});

test('logSumExp: stable values and gradient (softmax)', () => {
  const x = T.tensor([[1000, 1000], [-Infinity, -Infinity], [0, Math.log(3)]]);
  const l = T.logSumExp(x, 1);
  assertClose(l.data, [1000 + Math.log(2), -Infinity, Math.log(4)], 1e-4, 1e-6);
  gradcheck('logSumExp dim -1', (t) => T.logSumExp(t, -1), [rnd([3, 5], 4)]);
  gradcheck('logSumExp dim 0 keepDim', (t) => T.logSumExp(t, 0, true), [rnd([3, 5], 5)]);
});
