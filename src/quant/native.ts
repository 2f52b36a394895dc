/**
 * The stored-weight kernels of the native addon (native/src/quant.cc,
 * registered by quant_addon.cc): their raw signatures and how to reach them.
 * {@link quantLinear} in linear.ts is the usual entry point.
 */
import { loadNativeAddon } from '../backend/native.js';
import type { NativeKernels } from '../backend/native-signatures.js';

export type { QuantPathInfo } from '../backend/native-signatures.js';

/**
 * The addon's stored-weight functions, typed from their rows of the kernel
 * signature table (src/backend/native-signatures.ts, native/src/signatures.cc):
 * - `quantLinear(type, weight, rows, cols, x, m, bias, out, accumulate)`:
 *   out[m, n] (+)= x̃[m, :]·W[n, :] (+ bias[n]); W is `rows × cols` of ggml type id `type`;
 * - `quantDequantize(type, weight, rows, cols, out)`: out = dequant(W), `rows × cols` floats;
 * - `quantActRoundtrip(x, m, k, out)`: out = x̃, x (`m × k`, k a multiple of 32)
 *   quantized to 8 bits per 32-block and back;
 * - `quantInfo()`; `quantSetPath(path)`: forces a dispatch path (`portable`,
 *   `avx2`, `avx512`, `best`), throws a RangeError when the CPU lacks it;
 * - `quantAdviseHugePages(buffer)`: the offset of the buffer's first 2 MiB boundary, after asking for
 *   transparent huge pages from there on (madvise), before weights are read into it.
 */
export type QuantAddon = Pick<NativeKernels, 'quantLinear' | 'quantDequantize' | 'quantActRoundtrip' | 'quantInfo' | 'quantSetPath' | 'quantAdviseHugePages'>;

/**
 * The addon's stored-weight kernels, or null when the addon is not built.
 * @throws NativeSignatureError when the addon is older than these sources (see loadNativeAddon)
 */
export function loadQuantAddon(): QuantAddon | null {
  return loadNativeAddon();
}

/** Buffers below this many bytes are plain (one huge page is 2 MiB). */
const HUGE_PAGE_MIN_BYTES = 8 << 20;
const HUGE_PAGE = 2 << 20;

/**
 * A new zeroed buffer of `byteLength` bytes for a stored weight matrix. Large
 * ones start on a 2 MiB boundary inside a slightly larger allocation (the pad
 * is never touched, so it costs address space, not memory), and their pages are
 * advised for transparent huge pages before anything touches them: decoding
 * streams every weight once per token, and on 4 KiB pages the hardware
 * prefetchers stop at every page boundary, while rows off their cache lines
 * split loads (the 1-thread F32 decode of Llama-3.2-1B reads ~20% faster).
 * A plain buffer when the addon is not built or the buffer is small.
 */
export function weightBuffer(byteLength: number): Uint8Array {
  const addon = byteLength >= HUGE_PAGE_MIN_BYTES ? loadQuantAddon() : null;
  if (!addon) return new Uint8Array(byteLength);
  const raw = new Uint8Array(byteLength + HUGE_PAGE);
  const offset = addon.quantAdviseHugePages(raw);
  return raw.subarray(offset, offset + byteLength);
}
