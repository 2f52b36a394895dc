import type { Backend } from '../backend/backend.js';
import { getBackend } from '../backend/index.js';
import { ShapeError } from '../errors.js';
import type { TrainableParameter } from './parameter.js';

/**
 * Global gradient norm `gradScale · √(Σ_p ‖∇p‖²)` over every parameter that has
 * a gradient (PyTorch `torch.nn.utils.clip_grad_norm_` with `norm_type=2`:
 * parameters whose `grad` is null are skipped). Squares are summed in float64
 * by the backend's `sumSquares`, so a float32 gradient of 1e30 does not overflow.
 *
 * `gradScale` lets the caller fold a factor that is applied to the gradients
 * later (e.g. `1 / gradientAccumulationSteps`) into the norm without touching
 * the gradient buffers.
 *
 * @returns the norm; NaN or +Infinity when any gradient element is non-finite
 * @throws ShapeError when a gradient is not a float32 array of the parameter's size
 */
export function globalGradNorm(params: Iterable<TrainableParameter>, gradScale = 1, backend: Backend = getBackend()): number {
  let sumSq = 0;
  const grads: Float32Array[] = [];
  for (const p of params) {
    const g = p.grad;
    if (g === null) continue;
    const data = g.data;
    if (!(data instanceof Float32Array) || data.length !== p.data.length) {
      throw new ShapeError(
        `globalGradNorm: a gradient of ${data.length} ${data instanceof Float32Array ? 'float32' : 'int32'} elements does not fit a parameter of shape [${p.shape.join(', ')}]; gradients must be float32 and the parameter's size`,
      );
    }
    grads.push(data);
  }
  if (backend.sumSquaresMany) sumSq = backend.sumSquaresMany(grads);
  else for (const g of grads) sumSq += backend.sumSquares(g, g.length);
  return Math.abs(gradScale) * Math.sqrt(sumSq);
}

/**
 * The factor PyTorch's `clip_grad_norm_` multiplies every gradient by:
 * `min(1, maxNorm / (totalNorm + 1e-6))`. A `maxNorm` of 0 disables clipping
 * (nanoGPT's `grad_clip = 0.0`), giving 1.
 *
 * @param totalNorm the global norm before clipping (see {@link globalGradNorm})
 * @param maxNorm the largest allowed norm (nanoGPT: 1.0)
 * @returns a factor in (0, 1]; NaN when `totalNorm` is not finite (the caller must skip the step)
 */
export function clipCoefficient(totalNorm: number, maxNorm: number): number {
  if (!Number.isFinite(totalNorm)) return Number.NaN;
  if (maxNorm <= 0) return 1;
  return Math.min(1, maxNorm / (totalNorm + 1e-6));
}

/** Outcome of {@link clipGradNorm}. */
export interface ClipResult {
  /** Global gradient norm before clipping (after `gradScale`). */
  norm: number;
  /**
   * Total factor to multiply the raw gradient buffers by: `gradScale ·`
   * {@link clipCoefficient}. Pass it to `AdamW.step` as `gradScale`; the
   * gradient buffers themselves are left untouched (one pass fewer over memory).
   */
  scale: number;
  /** False when the norm is NaN or ±Infinity: the step must be skipped. */
  finite: boolean;
}

/**
 * Global-norm gradient clipping (Pascanu et al. 2013; PyTorch
 * `clip_grad_norm_(parameters, maxNorm)`), computed but not applied: the
 * returned `scale` is handed to the optimizer, which scales each gradient as
 * it reads it. Non-finite norms are reported, not thrown, so the trainer can
 * skip the step (the NaN/Inf guard).
 *
 * @param params the parameters (null gradients are skipped)
 * @param maxNorm largest allowed global norm; 0 disables clipping
 * @param gradScale a factor already owed to the gradients (e.g. `1 / accumulationSteps`)
 */
export function clipGradNorm(params: Iterable<TrainableParameter>, maxNorm: number, gradScale = 1, backend: Backend = getBackend()): ClipResult {
  const norm = globalGradNorm(params, gradScale, backend);
  const coeff = clipCoefficient(norm, maxNorm);
  const finite = Number.isFinite(norm);
  return { norm, scale: finite ? gradScale * coeff : Number.NaN, finite };
}
