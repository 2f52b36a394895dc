import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as T from '../../src/tensor/index.js';
import { gradcheck, rnd, uni } from './gradcheck.js';

test('add/sub/mul/div gradients with NumPy broadcasting', () => {
  const a = rnd([2, 3, 4], 1);
  const cases: [string, T.Tensor][] = [
    ['same shape', rnd([2, 3, 4], 2)],
    ['[3,1]', rnd([3, 1], 3)],
    ['[4]', rnd([4], 4)],
    ['[2,1,4]', rnd([2, 1, 4], 5)],
    ['scalar tensor', rnd([], 6)],
  ];
  for (const [what, b] of cases) {
    gradcheck(`add ${what}`, (x, y) => T.add(x, y), [a, b]);
    gradcheck(`sub ${what}`, (x, y) => T.sub(x, y), [a, b]);
    gradcheck(`mul ${what}`, (x, y) => T.mul(x, y), [a, b]);
    const bPos = T.add(T.abs(b), 0.5).detach();
    gradcheck(`div ${what}`, (x, y) => T.div(x, y), [a, bPos]);
    // broadcast on the left operand as well
    gradcheck(`sub reversed ${what}`, (x, y) => T.sub(y, x), [a, b]);
  }
  gradcheck('mul by number', (x) => x.mul(0.5).add(3).sub(1).div(4), [a]);
});

test('pow gradients (tensor and scalar exponents)', () => {
  const base = uni([2, 3], 11, 0.5, 2);
  const ex = uni([3], 12, -1, 2);
  gradcheck('pow tensor^tensor', (x, y) => T.pow(x, y), [base, ex], { eps: 1e-3 });
  gradcheck('pow x^2', (x) => x.pow(2), [rnd([5], 13)]);
  gradcheck('pow x^3', (x) => x.pow(3), [rnd([5], 14)], { eps: 1e-3 });
});

test('maximum/minimum gradients (distinct values)', () => {
  const a = rnd([3, 4], 21);
  const b = rnd([4], 22);
  gradcheck('maximum', (x, y) => T.maximum(x, y), [a, b]);
  gradcheck('minimum', (x, y) => T.minimum(x, y), [a, b]);
  // ties split the gradient evenly (PyTorch)
  const x = T.tensor([1, 2]);
  const y = T.tensor([1, 1]);
  x.requiresGrad = true;
  y.requiresGrad = true;
  T.maximum(x, y).sum().backward();
  assert.deepEqual(Array.from(x.grad!.data), [0.5, 1]);
  assert.deepEqual(Array.from(y.grad!.data), [0.5, 0]);
});

test('unary op gradients', () => {
  const x = rnd([2, 5], 31);
  const pos = uni([2, 5], 32, 0.3, 2);
  // inputs kept away from the kinks of relu/abs
  const awayFromZero = T.add(T.mul(T.gt(x, 0), 2).sub(1).mul(0.2), x).detach();
  gradcheck('neg', (t) => T.neg(t), [x]);
  gradcheck('exp', (t) => T.exp(t), [x], { eps: 1e-3 });
  gradcheck('log', (t) => T.log(t), [pos], { eps: 1e-3 });
  gradcheck('sqrt', (t) => T.sqrt(t), [pos], { eps: 1e-3 });
  gradcheck('rsqrt', (t) => T.rsqrt(t), [pos], { eps: 1e-3 });
  gradcheck('tanh', (t) => T.tanh(t), [x]);
  gradcheck('sigmoid', (t) => T.sigmoid(t), [x]);
  gradcheck('relu', (t) => T.relu(t), [awayFromZero]);
  gradcheck('abs', (t) => T.abs(t), [awayFromZero]);
  gradcheck('gelu tanh', (t) => T.gelu(t, 'tanh'), [x]);
  gradcheck('gelu none (erf)', (t) => T.gelu(t, 'none'), [x]);
  gradcheck('gelu wide range', (t) => T.gelu(t, 'none'), [rnd([12], 33, 3)]);
});

test('where and maskedFill gradients; selection does not leak infinities', () => {
  const cond = T.tensor([[1, 0, 1], [0, 0, 1]]);
  const a = rnd([2, 3], 41);
  const b = rnd([3], 42);
  gradcheck('where', (x, y) => T.where(cond, x, y), [a, b]);
  gradcheck('maskedFill', (x) => x.maskedFill(T.tensor([1, 0, 0]), -5), [a]);
  const filled = T.maskedFill(T.tensor([1, 2]), T.tensor([1, 0]), -Infinity);
  assert.deepEqual(Array.from(filled.data), [-Infinity, 2]);
  assert.deepEqual(Array.from(T.where(T.tensor([0, 1]), Infinity, T.tensor([3, 4])).data), [3, Infinity]);
});

test('comparisons give float32 0/1 masks and no gradient', () => {
  const a = T.tensor([1, 2, 3]);
  a.requiresGrad = true;
  const b = T.tensor([2, 2, 2]);
  const expect: Record<string, number[]> = {
    eq: [0, 1, 0],
    ne: [1, 0, 1],
    lt: [1, 0, 0],
    le: [1, 1, 0],
    gt: [0, 0, 1],
    ge: [0, 1, 1],
  };
  for (const [op, want] of Object.entries(expect)) {
    const r = (T as unknown as Record<string, (x: T.Tensor, y: T.Tensor) => T.Tensor>)[op](a, b);
    assert.equal(r.dtype, 'float32');
    assert.deepEqual(Array.from(r.data), want, op);
    assert.equal(r.requiresGrad, false, `${op} must not require grad`);
  }
});
