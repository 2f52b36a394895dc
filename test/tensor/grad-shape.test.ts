import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as T from '../../src/tensor/index.js';
import { gradcheck, rnd } from './gradcheck.js';

test('reshape/flatten/squeeze/unsqueeze share storage and pass gradients', () => {
  const x = rnd([2, 3, 4], 1);
  const r = x.reshape([6, -1]);
  assert.deepEqual(r.shape, [6, 4]);
  assert.equal(r.data, x.data, 'reshape of a contiguous tensor shares the buffer');
  gradcheck('reshape', (t) => t.reshape([4, 6]).mul(T.arange(6)), [x]);
  gradcheck('flatten', (t) => t.flatten(1).mul(T.arange(12)), [x]);
  gradcheck('unsqueeze/squeeze', (t) => t.unsqueeze(1).squeeze(1).unsqueeze(-1).squeeze(), [x]);
  assert.deepEqual(rnd([1, 3, 1], 2).squeeze().shape, [3]);
  assert.deepEqual(rnd([1, 3, 1], 2).squeeze(1).shape, [1, 3, 1], 'squeeze of a non-1 axis is a no-op (PyTorch)');
});

test('transpose/permute values and gradients', () => {
  const x = T.arange(24).reshape([2, 3, 4]);
  const p = x.permute([2, 0, 1]);
  assert.deepEqual(p.shape, [4, 2, 3]);
  // p[i, j, k] = x[j, k, i] = j·12 + k·4 + i
  assert.equal(p.data[1 * 6 + 1 * 3 + 2], 1 * 12 + 2 * 4 + 1);
  assert.deepEqual(T.transpose(T.tensor([[1, 2, 3], [4, 5, 6]]), 0, 1).toArray(), [[1, 4], [2, 5], [3, 6]]);
  gradcheck('permute', (t) => t.permute([2, 0, 1]), [rnd([2, 3, 4], 3)]);
  gradcheck('transpose', (t) => t.transpose(-1, 0), [rnd([2, 3, 4], 4)]);
});

test('narrow/slice/split/concat/stack values and gradients', () => {
  const x = T.arange(12).reshape([3, 4]);
  assert.deepEqual(x.narrow(1, 1, 2).toArray(), [[1, 2], [5, 6], [9, 10]]);
  assert.deepEqual(x.slice(1, 0, undefined, 2).toArray(), [[0, 2], [4, 6], [8, 10]]);
  assert.deepEqual(x.slice(0, -2).toArray(), [[4, 5, 6, 7], [8, 9, 10, 11]]);
  assert.deepEqual(x.slice(0, 1, 100).shape, [2, 4], 'out-of-range bounds are clamped');
  assert.deepEqual(T.split(x, 3, 1).map((t) => t.shape), [[3, 3], [3, 1]]);
  assert.deepEqual(T.concat([x.narrow(1, 2, 2), x.narrow(1, 0, 2)], 1).toArray(), [[2, 3, 0, 1], [6, 7, 4, 5], [10, 11, 8, 9]]);
  assert.deepEqual(T.stack([T.tensor([1, 2]), T.tensor([3, 4])], 1).toArray(), [[1, 3], [2, 4]]);
  const a = rnd([2, 6, 3], 5);
  gradcheck('narrow', (t) => t.narrow(1, 2, 3), [a]);
  gradcheck('several narrows of one tensor plus a dense use (block gradients)', (t) => {
    const parts = [0, 1, 2].map((i) => t.narrow(0, i, 1).mul(i + 1));
    return T.concat([T.concat(parts, 0), t.narrow(1, 1, 3), t.mul(0.5)], 1);
  }, [rnd([3, 6, 3], 12)]);
  gradcheck('narrow of an intermediate', (t) => t.mul(t).narrow(2, 1, 1).add(t.narrow(2, 0, 1)), [a]);
  gradcheck('slice step 2', (t) => t.slice(1, 1, 6, 2), [a]);
  gradcheck('split sections (sum of parts)', (t) => {
    const [p, q, r] = t.split([1, 2, 3], 1);
    return T.concat([r, p.mul(2), q.mul(3)], 1);
  }, [a]);
  gradcheck('concat', (t, u) => T.concat([t, u, t], 2), [a, rnd([2, 6, 2], 6)]);
  gradcheck('stack', (t, u) => T.stack([t, u], 1), [rnd([2, 3], 7), rnd([2, 3], 8)]);
});

test('expand and indexSelect values and gradients', () => {
  assert.deepEqual(T.tensor([[1], [2]]).expand([2, 3]).toArray(), [[1, 1, 1], [2, 2, 2]]);
  assert.deepEqual(T.tensor([1, 2]).expand([2, -1]).toArray(), [[1, 2], [1, 2]]);
  gradcheck('expand', (t) => t.expand([4, 2, 3]), [rnd([2, 1], 9)]);
  const idx = T.tensor([2, 0, 2, 1], 'int32');
  const x = T.arange(12).reshape([3, 4]);
  assert.deepEqual(x.indexSelect(0, idx).toArray(), [[8, 9, 10, 11], [0, 1, 2, 3], [8, 9, 10, 11], [4, 5, 6, 7]]);
  assert.deepEqual(x.indexSelect(1, T.tensor([3, 0], 'int32')).toArray(), [[3, 0], [7, 4], [11, 8]]);
  gradcheck('indexSelect dim 0 (repeated ids)', (t) => t.indexSelect(0, idx), [rnd([3, 4], 10)]);
  gradcheck('indexSelect dim 1', (t) => t.indexSelect(1, idx), [rnd([2, 3, 2], 11)]);
  assert.throws(() => x.indexSelect(0, T.tensor([3], 'int32')), /out of range/);
  assert.throws(() => x.indexSelect(0, T.tensor([1])), /int32/);
});

test('shape ops work on int32 tensors', () => {
  const ids = T.arange(6, undefined, 1, 'int32').reshape([2, 3]);
  const t = ids.transpose(0, 1);
  assert.equal(t.dtype, 'int32');
  assert.deepEqual(t.toArray(), [[0, 3], [1, 4], [2, 5]]);
  assert.deepEqual(T.concat([ids, ids], 0).shape, [4, 3]);
  assert.equal(T.concat([ids, ids], 0).dtype, 'int32');
});
