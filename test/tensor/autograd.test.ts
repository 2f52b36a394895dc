import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as T from '../../src/tensor/index.js';
import { record } from '../../src/tensor/autograd.js';
import { gradcheck, rnd } from './gradcheck.js';

test('a tensor used twice receives the sum of its gradients', () => {
  const x = T.tensor([1, 2, 3]);
  x.requiresGrad = true;
  T.add(x, x).mul(x).sum().backward(); // d/dx 2x² = 4x
  assert.deepEqual(Array.from(x.grad!.data), [4, 8, 12]);
});

test('leaf gradients accumulate across backward calls until grad = null', () => {
  const w = T.tensor([1, -2]);
  w.requiresGrad = true;
  w.mul(3).sum().backward();
  w.mul(3).sum().backward();
  assert.deepEqual(Array.from(w.grad!.data), [6, 6]);
  w.grad = null;
  w.mul(w).sum().backward();
  assert.deepEqual(Array.from(w.grad!.data), [2, -4]);
});

test('a caller-supplied gradient is never modified by accumulation', () => {
  const w = T.tensor([1, 2]);
  w.requiresGrad = true;
  const g = T.tensor([5, 7]);
  w.reshape([2, 1]).reshape([2]).backward(g); // pass-through ops hand g to the leaf
  w.reshape([2]).backward(g);
  assert.deepEqual(Array.from(w.grad!.data), [10, 14]);
  assert.deepEqual(Array.from(g.data), [5, 7]);
});

test('backward releases the graph; a second backward through it is an error', () => {
  const w = rnd([3, 3], 1);
  w.requiresGrad = true;
  const h = w.tanh();
  const loss = h.sum();
  assert.ok(h._node && loss._node);
  loss.backward();
  assert.equal(h._node?.released, true, "intermediate node released");
  assert.equal(loss._node?.released, true, "root node released");
  assert.throws(() => loss.backward(), /already released/);
  assert.throws(() => h.mul(2).sum().backward(), /already released/);
  // the leaf is still usable
  w.grad = null;
  w.tanh().sum().backward();
  assert.ok(w.grad);
});

test('noGrad records nothing and restores the previous mode (also on throw)', () => {
  const w = rnd([2], 2);
  w.requiresGrad = true;
  assert.equal(T.isGradEnabled(), true);
  const y = T.noGrad(() => {
    assert.equal(T.isGradEnabled(), false);
    return T.noGrad(() => w.mul(2)).add(1);
  });
  assert.equal(y.requiresGrad, false);
  assert.equal(y._node, null);
  assert.equal(T.isGradEnabled(), true);
  assert.throws(() =>
    T.noGrad(() => {
      throw new Error('boom');
    }),
  );
  assert.equal(T.isGradEnabled(), true);
});

test('detach shares storage and cuts the graph', () => {
  const w = rnd([3], 3);
  w.requiresGrad = true;
  const d = w.mul(2).detach();
  assert.equal(d.requiresGrad, false);
  const e = w.detach();
  assert.equal(e.data, w.data);
  const loss = w.mul(d).sum();
  loss.backward();
  assert.deepEqual(Array.from(w.grad!.data), Array.from(d.data));
});

test('backward argument errors', () => {
  const w = rnd([2, 2], 4);
  w.requiresGrad = true;
  assert.throws(() => w.mul(2).backward(), (e: Error) => e.name === 'ShapeError' && /non-scalar.*\[2, 2\]/.test(e.message));
  assert.throws(() => w.mul(2).backward(T.ones([3])), /\[3\].*\[2, 2\]/);
  assert.throws(() => T.ones([1]).mul(2).backward(), /does not require grad/);
  assert.throws(() => {
    T.zeros([2], 'int32').requiresGrad = true;
  }, /float32/);
});

test('a deep chain (20k ops) backpropagates without stack overflow', () => {
  const x = T.tensor([1]);
  x.requiresGrad = true;
  let y = x;
  for (let i = 0; i < 20000; i++) y = y.mul(1);
  y.sum().backward();
  assert.deepEqual(Array.from(x.grad!.data), [1]);
});

test('gradcheck itself catches a wrong backward formula', () => {
  // y = x² with a deliberately wrong derivative (x instead of 2x)
  const wrongSquare = (x: T.Tensor): T.Tensor => {
    const out = T.noGrad(() => x.mul(x));
    if (x.requiresGrad) {
      record(out, [x], (g) => [Float32Array.from(g, (v, i) => v * x.data[i])]);
    }
    return out;
  };
  assert.throws(() => gradcheck('wrong square', wrongSquare, [rnd([4], 5)]), /analytic/);
});

test('Tensor basics: item, toArray, toString, scalars, dtype', () => {
  const t = T.tensor([[1, 2], [3, 4.5]]);
  assert.equal(t.size, 4);
  assert.deepEqual(t.toArray(), [[1, 2], [3, 4.5]]);
  assert.equal(T.tensor(3).item(), 3);
  assert.throws(() => t.item(), /4 elements/);
  assert.match(t.toString(), /^Tensor\(float32, \[2, 2\]\) \[\[1\.0, 2\.0\], \[3\.0, 4\.5000\]\]/);
  assert.match(T.arange(20).toString(), /…/);
  assert.deepEqual(t.mul(0.5).add(1).toArray(), [[1.5, 2], [2.5, 3.25]]);
  const ids = T.tensor([1, 2], 'int32');
  assert.equal(ids.dtype, 'int32');
  assert.equal(ids.mul(0.5).dtype, 'float32', 'int32 arithmetic promotes to float32');
  assert.deepEqual(Array.from(T.tensor([1.7, -1.7]).int().data), [1, -1]);
  assert.deepEqual(T.arange(1, 7, 2).toArray(), [1, 3, 5]);
  assert.deepEqual(T.full([2], 7, 'int32').toArray(), [7, 7]);
  assert.throws(() => T.fromArray([1, 2, 3], [2, 2]), /3 values.*\[2, 2\]/);
  assert.throws(() => T.tensor([[1, 2], [3]]), /ragged/);
});

test('broadcast shape errors name the op and both shapes', () => {
  assert.throws(
    () => T.add(T.zeros([2, 3]), T.zeros([4])),
    (e: Error) => e.name === 'ShapeError' && /^add:/.test(e.message) && e.message.includes('[2, 3]') && e.message.includes('[4]'),
  );
  assert.throws(() => T.mul(T.zeros([2, 3]), T.zeros([3, 2])), /mul: shapes \[2, 3\] and \[3, 2\]/);
  assert.throws(() => T.zeros([2, 3]).reshape([4, 2]), /reshape.*\[2, 3\].*\[4, 2\]/);
  assert.throws(() => T.concat([T.zeros([2, 3]), T.zeros([2, 4])], 0), /concat.*\[2, 3\].*\[2, 4\]/);
  assert.throws(() => T.zeros([2]).sum(2), /dim 2 is out of range/);
});
