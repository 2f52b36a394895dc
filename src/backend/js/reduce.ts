import type { F32, I32, ReduceOp } from '../backend.js';

/**
 * Reduce the middle axis of `x` viewed as `[outer, dim, inner]` into `out`
 * `[outer, inner]`. Sums accumulate in float64; max/min propagate NaN (as
 * PyTorch's `amax`/`amin`).
 */
export function reduce(op: ReduceOp, x: F32, out: F32, outer: number, dim: number, inner: number): void {
  if (op === 'sum') {
    const acc = new Float64Array(inner);
    for (let o = 0; o < outer; o++) {
      acc.fill(0);
      const base = o * dim * inner;
      for (let d = 0; d < dim; d++) {
        const row = base + d * inner;
        for (let i = 0; i < inner; i++) acc[i] += x[row + i];
      }
      const ob = o * inner;
      for (let i = 0; i < inner; i++) out[ob + i] = acc[i];
    }
    return;
  }
  const isMax = op === 'max';
  for (let o = 0; o < outer; o++) {
    const base = o * dim * inner;
    for (let i = 0; i < inner; i++) {
      let best = isMax ? -Infinity : Infinity;
      for (let d = 0; d < dim; d++) {
        const v = x[base + d * inner + i];
        if (v !== v) {
          best = NaN;
          break;
        }
        if (isMax ? v > best : v < best) best = v;
      }
      out[o * inner + i] = best;
    }
  }
}

/** Index of the maximum along the middle axis of `[outer, dim, inner]` (first on ties). */
export function argmax(x: F32, out: I32, outer: number, dim: number, inner: number): void {
  for (let o = 0; o < outer; o++) {
    const base = o * dim * inner;
    for (let i = 0; i < inner; i++) {
      let best = -Infinity;
      let bi = 0;
      for (let d = 0; d < dim; d++) {
        const v = x[base + d * inner + i];
        if (v > best) {
          best = v;
          bi = d;
        }
      }
      out[o * inner + i] = bi;
    }
  }
}

/** `Σ x[i]²` in float64. */
export function sumSquares(x: F32, n: number): number {
  let s = 0;
  for (let i = 0; i < n; i++) s += x[i] * x[i];
  return s;
}
