import { ConfigError } from '../errors.js';

/**
 * Learning-rate schedules: a pure function from the 0-based iteration number
 * (the number of optimizer steps already taken) to the learning rate used by
 * the next step.
 */
export type LrSchedule = (iter: number) => number;

/** Options of {@link cosineWithWarmup}; field names follow nanoGPT's `train.py`. */
export interface CosineScheduleOptions {
  /** Peak learning rate, reached at the end of the warmup. */
  learningRate: number;
  /** Floor the cosine decays to, and the rate after `lrDecayIters`. */
  minLr: number;
  /** Number of linear-warmup iterations (0 = none). */
  warmupIters: number;
  /** Iteration at which the cosine reaches `minLr` (nanoGPT: usually `maxIters`). */
  lrDecayIters: number;
}

/**
 * Linear warmup followed by cosine decay to `minLr`, exactly nanoGPT's
 * `get_lr(it)` (karpathy/nanoGPT `train.py`, current master):
 *
 * - `it < warmupIters`: `learningRate · (it + 1) / (warmupIters + 1)` (rises
 *   linearly from near 0; the `+1` keeps the first step's rate above 0 — nanoGPT's
 *   first release used `learningRate · it / warmupIters`, which starts at exactly 0);
 * - `it > lrDecayIters`: `minLr`;
 * - otherwise `minLr + ½(1 + cos(π·r))·(learningRate − minLr)` with
 *   `r = (it − warmupIters) / (lrDecayIters − warmupIters)`.
 *
 * @throws ConfigError when a rate is negative or not finite, `minLr > learningRate`,
 *   an iteration count is negative or not an integer, or `lrDecayIters < warmupIters`
 */
export function cosineWithWarmup(opts: CosineScheduleOptions): LrSchedule {
  const { learningRate, minLr, warmupIters, lrDecayIters } = opts;
  checkRate('learningRate', learningRate);
  checkRate('minLr', minLr);
  if (minLr > learningRate) {
    throw new ConfigError(`minLr (${minLr}) is larger than learningRate (${learningRate}); set minLr ≤ learningRate (nanoGPT uses learningRate / 10)`);
  }
  checkIters('warmupIters', warmupIters);
  checkIters('lrDecayIters', lrDecayIters);
  if (lrDecayIters < warmupIters) {
    throw new ConfigError(`lrDecayIters (${lrDecayIters}) is smaller than warmupIters (${warmupIters}); the decay must end after the warmup (usually lrDecayIters = maxIters)`);
  }
  return (it: number): number => {
    if (it < warmupIters) return (learningRate * (it + 1)) / (warmupIters + 1);
    if (it > lrDecayIters) return minLr;
    // it === warmupIters === lrDecayIters: no decay interval, the peak rate applies.
    const span = lrDecayIters - warmupIters;
    const ratio = span === 0 ? 0 : (it - warmupIters) / span;
    const coeff = 0.5 * (1 + Math.cos(Math.PI * ratio));
    return minLr + coeff * (learningRate - minLr);
  };
}

/**
 * A constant learning rate (nanoGPT with `decay_lr = False`).
 * @throws ConfigError when the rate is negative or not finite
 */
export function constantLr(learningRate: number): LrSchedule {
  checkRate('learningRate', learningRate);
  return () => learningRate;
}

function checkRate(name: string, v: number): void {
  if (!Number.isFinite(v) || v < 0) throw new ConfigError(`${name} must be a finite number ≥ 0, got ${v}`);
}

function checkIters(name: string, v: number): void {
  if (!Number.isInteger(v) || v < 0) throw new ConfigError(`${name} must be an integer ≥ 0, got ${v}`);
}
