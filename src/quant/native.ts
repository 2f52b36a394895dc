/**
 * The stored-weight kernels of the native addon (native/src/quant.cc,
 * registered by quant_addon.cc): their raw signatures and how to reach them.
 * {@link quantLinear} in linear.ts is the usual entry point.
 */
import { loadNativeAddon } from '../backend/native.js';

/** What `quantInfo()` reports: the dispatch path in use, the best this CPU has, and every path it can run. */
export interface QuantPathInfo {
  path: 'portable' | 'avx2' | 'avx512';
  best: 'portable' | 'avx2' | 'avx512';
  paths: Array<'portable' | 'avx2' | 'avx512'>;
}

/** The addon's stored-weight functions (argument order as in native/src/quant_addon.cc). */
export interface QuantAddon {
  /** out[m, n] (+)= x̃[m, :]·W[n, :] (+ bias[n]); W is `rows × cols` of ggml type id `type`. */
  quantLinear(
    type: number, weight: Uint8Array, rows: number, cols: number, x: Float32Array, m: number,
    bias: Float32Array | null, out: Float32Array, accumulate: boolean,
  ): void;
  /** out = dequant(W), `rows × cols` floats. */
  quantDequantize(type: number, weight: Uint8Array, rows: number, cols: number, out: Float32Array): void;
  /** out = x̃: x (`m × k`, k a multiple of 32) quantized to 8 bits per 32-block and back. */
  quantActRoundtrip(x: Float32Array, m: number, k: number, out: Float32Array): void;
  quantInfo(): QuantPathInfo;
  /** Forces a dispatch path (`portable`, `avx2`, `avx512`, `best`); throws a RangeError when the CPU lacks it. */
  quantSetPath(path: string): string;
}

let cached: QuantAddon | null | undefined;

/**
 * The addon's stored-weight kernels, or null when the addon is not built (or
 * is an older build without them). Never throws.
 */
export function loadQuantAddon(): QuantAddon | null {
  if (cached === undefined) {
    const addon = loadNativeAddon() as unknown as Partial<QuantAddon> | null;
    cached = addon && typeof addon.quantLinear === 'function' ? (addon as QuantAddon) : null;
  }
  return cached;
}
