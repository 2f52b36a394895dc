/**
 * Linear layers over stored weights: `out = x̃ · Wᵀ (+ bias)` for a
 * {@link QuantizedWeight} W in any of ggml's types, read in place.
 *
 * The kernel contract (native/src/quant.h; every native dispatch path and the
 * js reference here compute it, up to float summation order): for F32, F16
 * and BF16 weights x̃ = x; for the integer types (Q8_0, Q4_0, Q5_0, Q4_K,
 * Q5_K, Q6_K) x̃ is x quantized to 8 bits per block of 32 as ggml quantizes
 * activations (d = max|x|/127, q = round-half-even(x/d), x̃ = q·d), so that
 * the native kernels multiply 8-bit integers as ggml does.
 */
import { ShapeError } from '../errors.js';
import { dequantizeRow, isQuantized, rowBytes } from './formats.js';
import { loadQuantAddon } from './native.js';
import { weightTypeId, type QuantizedWeight } from './weight.js';

const fr = Math.fround;

/** Round half to even (the default IEEE rounding the native kernels use). */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * x̃ of the kernel contract: each row of `x` (`m × k`, k a multiple of 32)
 * quantized to 8 bits per block of 32 and dequantized again (float32
 * arithmetic as in C).
 * @throws ShapeError when k is not a multiple of 32 or x is too short
 */
export function activationRoundtrip(x: Float32Array, m: number, k: number, out = new Float32Array(m * k)): Float32Array {
  if (k % 32 !== 0) throw new ShapeError(`8-bit activation blocks need a multiple of 32 values per row, got ${k}`);
  if (x.length < m * k) throw new ShapeError(`activations: need ${m * k} values, got ${x.length}`);
  for (let o = 0; o < m * k; o += 32) {
    let amax = 0;
    for (let i = 0; i < 32; i++) amax = Math.max(amax, Math.abs(x[o + i]));
    const d = fr(amax / 127);
    const id = d !== 0 ? fr(1 / d) : 0;
    for (let i = 0; i < 32; i++) {
      const q = Math.max(-127, Math.min(127, roundHalfEven(fr(x[o + i] * id)))) | 0;
      out[o + i] = fr(q * d);
    }
  }
  return out;
}

/** Options of {@link quantLinear}. */
export interface QuantLinearOptions {
  /** `[rows]` added to every output row. */
  bias?: Float32Array | null;
  /** Destination `[m, rows]`; a new array when absent. */
  out?: Float32Array;
  /** Add into `out` instead of overwriting it (a residual connection). */
  accumulate?: boolean;
  /** `'js'` forces the js reference even when the native kernels are built. */
  backend?: 'auto' | 'js';
}

function check(w: QuantizedWeight, x: Float32Array, m: number, out: Float32Array, bias: Float32Array | null | undefined): void {
  const need = w.rows * rowBytes(w.type, w.cols);
  if (w.bytes.length < need) throw new ShapeError(`a ${w.rows}×${w.cols} ${w.type} weight needs ${need} bytes, got ${w.bytes.length}`);
  if (x.length < m * w.cols) throw new ShapeError(`linear: x needs ${m}×${w.cols} values, got ${x.length}`);
  if (out.length < m * w.rows) throw new ShapeError(`linear: out needs ${m}×${w.rows} values, got ${out.length}`);
  if (bias && bias.length < w.rows) throw new ShapeError(`linear: bias needs ${w.rows} values, got ${bias.length}`);
}

/**
 * The js reference of the kernel: dequantize W one row at a time, multiply
 * with x̃ in float64, round the sums to float32.
 * @param w the weight `[rows, cols]`
 * @param x activations `[m, cols]`
 * @param m rows of x
 * @returns `out` `[m, rows]`
 * @throws ShapeError on mismatched sizes
 */
export function quantLinearReference(w: QuantizedWeight, x: Float32Array, m: number, opts: QuantLinearOptions = {}): Float32Array {
  const out = opts.out ?? new Float32Array(m * w.rows);
  check(w, x, m, out, opts.bias);
  const K = w.cols;
  const xt = isQuantized(w.type) ? activationRoundtrip(x, m, K) : x;
  const rb = rowBytes(w.type, K);
  const row = new Float32Array(K);
  for (let n = 0; n < w.rows; n++) {
    dequantizeRow(w.type, w.bytes.subarray(n * rb, (n + 1) * rb), K, row);
    const b = opts.bias ? opts.bias[n] : 0;
    for (let i = 0; i < m; i++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += xt[i * K + k] * row[k];
      const o = i * w.rows + n;
      out[o] = opts.accumulate ? out[o] + s + b : s + b;
    }
  }
  return out;
}

/**
 * `out[m, n] (+)= Σ_k x̃[m, k]·W[n, k] (+ bias[n])`: a linear layer over a
 * stored weight, on the native kernels when they are built (streaming W once
 * for m ≤ 4, dequantized panels and the packed GEMM beyond), else the js
 * reference.
 * @param w the weight `[rows, cols]` (`[out, in]`)
 * @param x activations `[m, cols]`, row-major
 * @param m rows of x (tokens)
 * @returns `out` `[m, rows]`
 * @throws ShapeError on mismatched sizes
 */
export function quantLinear(w: QuantizedWeight, x: Float32Array, m: number, opts: QuantLinearOptions = {}): Float32Array {
  const addon = opts.backend === 'js' ? null : loadQuantAddon();
  if (!addon) return quantLinearReference(w, x, m, opts);
  const out = opts.out ?? new Float32Array(m * w.rows);
  check(w, x, m, out, opts.bias);
  addon.quantLinear(weightTypeId(w), w.bytes, w.rows, w.cols, x, m, opts.bias ?? null, out, opts.accumulate ?? false);
  return out;
}
