import { test } from 'node:test';
import assert from 'node:assert/strict';
import { clipCoefficient, clipGradNorm, globalGradNorm } from '../../src/train/clip.js';
import type { TrainableParameter } from '../../src/train/parameter.js';
import { ShapeError } from '../../src/errors.js';

const p = (grad: number[] | null, n = grad?.length ?? 1): TrainableParameter => ({
  shape: [n],
  data: new Float32Array(n),
  grad: grad ? { data: Float32Array.from(grad) } : null,
});

test('globalGradNorm is the 2-norm over all gradients, skipping null ones', () => {
  // ‖(3, 4, 12)‖ = 13, split over two tensors; the gradient-less one is ignored.
  assert.equal(globalGradNorm([p([3, 4]), p(null, 5), p([12])]), 13);
  assert.equal(globalGradNorm([p([3, 4]), p([12])], 0.5), 6.5);
  assert.equal(globalGradNorm([p(null)]), 0);
});

test('clipCoefficient is PyTorch clip_grad_norm_ (max_norm / (norm + 1e-6), at most 1)', () => {
  assert.equal(clipCoefficient(13, 1), 1 / (13 + 1e-6));
  assert.equal(clipCoefficient(0.5, 1), 1);
  assert.equal(clipCoefficient(13, 0), 1); // 0 disables clipping (nanoGPT grad_clip = 0.0)
  assert.ok(Number.isNaN(clipCoefficient(Number.NaN, 1)));
  assert.ok(Number.isNaN(clipCoefficient(Number.POSITIVE_INFINITY, 1)));
});

test('clipGradNorm folds the accumulation factor into the norm and the scale', () => {
  const params = [p([30, 40])]; // raw norm 50; averaged over 2 micro-batches: 25
  const r = clipGradNorm(params, 1, 0.5);
  assert.equal(r.norm, 25);
  assert.ok(r.finite);
  assert.ok(Math.abs(r.scale - 0.5 / (25 + 1e-6)) < 1e-15);
  // The scaled gradient has norm max_norm (up to the 1e-6).
  assert.ok(Math.abs(50 * r.scale - 1) < 1e-6);
  const small = clipGradNorm(params, 100, 0.5);
  assert.equal(small.scale, 0.5);
  // Raw buffers are untouched.
  assert.deepEqual([...params[0].grad!.data], [30, 40]);
});

test('clipGradNorm reports non-finite gradients instead of throwing', () => {
  for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
    const r = clipGradNorm([p([1, 2]), p([bad])], 1);
    assert.equal(r.finite, false);
    assert.ok(Number.isNaN(r.scale));
  }
  // 1e30² overflows float32 but not the float64 accumulator: finite and clipped.
  const big = clipGradNorm([p([1e30, 1e30])], 1);
  assert.ok(big.finite);
  assert.ok(Math.abs(big.norm / (Math.SQRT2 * 1e30) - 1) < 1e-6);
});

test('globalGradNorm rejects a gradient that does not fit its parameter', () => {
  assert.throws(() => globalGradNorm([{ shape: [3], data: new Float32Array(3), grad: { data: new Float32Array(2) } }]), ShapeError);
});
