/**
 * Scalar conversions between float32 and the two 16-bit float formats ggml
 * stores: IEEE 754 binary16 (`GGML_TYPE_F16`, `ggml_fp16_t`) and bfloat16
 * (`GGML_TYPE_BF16`, `ggml_bf16_t`). Bit-exact with ggml's reference
 * conversions (`ggml_compute_fp32_to_fp16`, `ggml_compute_fp32_to_bf16` in
 * ggml-impl.h): round to nearest even, NaN stays NaN.
 */

const F32 = new Float32Array(1);
const U32 = new Uint32Array(F32.buffer);

/** float16 bits → float32 value, one entry per bit pattern (256 KiB, built on first use). */
let halfTable: Float32Array | undefined;

function buildHalfTable(): Float32Array {
  const t = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const exp = (h >> 10) & 0x1f;
    const frac = h & 0x3ff;
    if (exp === 0) t[h] = sign * frac * 2 ** -24;
    else if (exp === 0x1f) t[h] = frac ? NaN : sign * Infinity;
    else t[h] = sign * (1 + frac / 1024) * 2 ** (exp - 15);
  }
  return t;
}

/**
 * The float16 → float32 lookup table (`ggml_table_f32_f16`): index it with the
 * 16 raw bits of a half. Exact: every half is representable in float32.
 */
export function halfToFloatTable(): Float32Array {
  return (halfTable ??= buildHalfTable());
}

/** IEEE 754 binary16 bits → number (exact). */
export function halfToFloat(h: number): number {
  return halfToFloatTable()[h & 0xffff];
}

/**
 * number → IEEE 754 binary16 bits: the value is first rounded to float32
 * (as a C `float` argument would be), then to half with round-to-nearest-even;
 * overflow gives ±Infinity, tiny values subnormals or ±0, NaN a quiet NaN.
 * Same bits as ggml's `GGML_FP32_TO_FP16` and x86 `vcvtps2ph` (mode 0).
 */
export function floatToHalf(x: number): number {
  F32[0] = x;
  const b = U32[0];
  const sign = (b >>> 16) & 0x8000;
  const exp = (b >>> 23) & 0xff;
  let mant = b & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    const halfMant = mant >>> shift;
    const rest = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    const round = rest > mid || (rest === mid && (halfMant & 1) === 1) ? 1 : 0;
    return sign | (halfMant + round);
  }
  const halfMant = mant >>> 13;
  const rest = mant & 0x1fff;
  let out = (e << 10) | halfMant;
  if (rest > 0x1000 || (rest === 0x1000 && (halfMant & 1) === 1)) out += 1; // a carry into the exponent is correct
  return sign | out;
}

/** bfloat16 bits → number (exact: the top half of a float32). */
export function bf16ToFloat(h: number): number {
  U32[0] = (h & 0xffff) << 16;
  return F32[0];
}

/**
 * number → bfloat16 bits as ggml's `ggml_compute_fp32_to_bf16`: round the
 * float32 to nearest even on bit 16; a NaN keeps its top bits and is forced
 * quiet (`| 64`). Subnormals are rounded, not flushed (current ggml).
 */
export function floatToBf16(x: number): number {
  F32[0] = x;
  const u = U32[0];
  if ((u & 0x7fffffff) > 0x7f800000) return ((u >>> 16) | 64) & 0xffff;
  return ((u + (0x7fff + ((u >>> 16) & 1))) >>> 16) & 0xffff;
}
