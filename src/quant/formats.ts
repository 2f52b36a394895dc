/**
 * ggml's tensor storage types, in JavaScript: block sizes, byte layouts,
 * dequantization and the reference quantizers, exactly as ggml defines them
 * (ggml-common.h `block_*` structs, ggml-quants.c `dequantize_row_*` and
 * `quantize_row_*_ref`). This is the readable reference every native kernel
 * must match; it is written for clarity and bit-exactness, not speed.
 *
 * Float arithmetic follows C `float` semantics: every intermediate of the
 * reference algorithms is rounded to float32 (`Math.fround`) in the order C
 * evaluates it, so a row quantized here gives the same bytes as
 * `quantize_row_*_ref` compiled without FMA contraction (llama-quantize
 * without an importance matrix calls exactly these functions).
 *
 * Layouts (little-endian; `half` = IEEE binary16; one row = n / blockSize blocks):
 *
 * | type | elements/block | bytes/block | block |
 * | --- | --- | --- | --- |
 * | F32 | 1 | 4 | float |
 * | F16 | 1 | 2 | half |
 * | BF16 | 1 | 2 | bfloat16 |
 * | Q8_0 | 32 | 34 | `half d; int8 qs[32]` — x = d·q |
 * | Q4_0 | 32 | 18 | `half d; uint8 qs[16]` — x[j] = d·((qs[j]&15)−8), x[j+16] = d·((qs[j]>>4)−8) |
 * | Q5_0 | 32 | 22 | `half d; uint8 qh[4]; uint8 qs[16]` — as Q4_0 with a 5th bit from qh, offset 16 |
 * | Q4_K | 256 | 144 | `half d; half dmin; uint8 scales[12]; uint8 qs[128]` — 8 sub-blocks of 32 with 6-bit scale and min |
 * | Q5_K | 256 | 176 | `half d; half dmin; uint8 scales[12]; uint8 qh[32]; uint8 qs[128]` |
 * | Q6_K | 256 | 210 | `uint8 ql[128]; uint8 qh[64]; int8 scales[16]; half d` — 16 sub-blocks of 16 |
 *
 * Q5_0 and Q5_K are here because llama.cpp's Q4_K_M mix uses them (Q5_K for a
 * fused `attn_qkv`, Q5_0 as the fallback of Q4_K for rows not a multiple of 256).
 */
import { ConfigError, ShapeError } from '../errors.js';
import { floatToBf16, floatToHalf, halfToFloatTable } from './half.js';

/** The ggml storage types muse reads and writes, by ggml's names. */
export type GgmlType = 'F32' | 'F16' | 'BF16' | 'Q8_0' | 'Q4_0' | 'Q5_0' | 'Q4_K' | 'Q5_K' | 'Q6_K';

/** Every {@link GgmlType}, in ggml's enum order. */
export const GGML_TYPES: readonly GgmlType[] = ['F32', 'F16', 'Q4_0', 'Q5_0', 'Q8_0', 'Q4_K', 'Q5_K', 'Q6_K', 'BF16'];

/** ggml's `enum ggml_type` value of each type (what a GGUF tensor info stores). */
export const GGML_TYPE_ID: Readonly<Record<GgmlType, number>> = {
  F32: 0,
  F16: 1,
  Q4_0: 2,
  Q5_0: 6,
  Q8_0: 8,
  Q4_K: 12,
  Q5_K: 13,
  Q6_K: 14,
  BF16: 30,
};

/**
 * Names of every `enum ggml_type` value (including the ones muse does not
 * read), so an error can name what a file holds. Gaps are removed types.
 */
export const GGML_TYPE_NAMES: Readonly<Record<number, string>> = {
  0: 'F32', 1: 'F16', 2: 'Q4_0', 3: 'Q4_1', 6: 'Q5_0', 7: 'Q5_1', 8: 'Q8_0', 9: 'Q8_1',
  10: 'Q2_K', 11: 'Q3_K', 12: 'Q4_K', 13: 'Q5_K', 14: 'Q6_K', 15: 'Q8_K',
  16: 'IQ2_XXS', 17: 'IQ2_XS', 18: 'IQ3_XXS', 19: 'IQ1_S', 20: 'IQ4_NL', 21: 'IQ3_S', 22: 'IQ2_S', 23: 'IQ4_XS',
  24: 'I8', 25: 'I16', 26: 'I32', 27: 'I64', 28: 'F64', 29: 'IQ1_M', 30: 'BF16',
  31: 'Q4_0_4_4', 32: 'Q4_0_4_8', 33: 'Q4_0_8_8', 34: 'TQ1_0', 35: 'TQ2_0',
  36: 'IQ4_NL_4_4', 37: 'IQ4_NL_4_8', 38: 'IQ4_NL_8_8', 39: 'MXFP4',
};

/** `QK_K`: elements per K-quant super-block. */
export const QK_K = 256;

/** Elements per block of each type (`ggml_blck_size`). A row's length must be a multiple. */
export const BLOCK_SIZE: Readonly<Record<GgmlType, number>> = {
  F32: 1, F16: 1, BF16: 1, Q8_0: 32, Q4_0: 32, Q5_0: 32, Q4_K: QK_K, Q5_K: QK_K, Q6_K: QK_K,
};

/** Bytes per block of each type (`ggml_type_size`, i.e. `sizeof(block_*)`). */
export const TYPE_SIZE: Readonly<Record<GgmlType, number>> = {
  F32: 4, F16: 2, BF16: 2, Q8_0: 34, Q4_0: 18, Q5_0: 22, Q4_K: 144, Q5_K: 176, Q6_K: 210,
};

/** The {@link GgmlType} of a ggml enum value, or undefined for one muse does not read. */
export function ggmlTypeFromId(id: number): GgmlType | undefined {
  for (const t of GGML_TYPES) if (GGML_TYPE_ID[t] === id) return t;
  return undefined;
}

/** True for the block-quantized types (not F32/F16/BF16). */
export function isQuantized(type: GgmlType): boolean {
  return BLOCK_SIZE[type] > 1;
}

/**
 * Bytes of `n` elements stored as `type` (`ggml_row_size`).
 * @throws ShapeError when `n` is not a multiple of the type's block size
 */
export function rowBytes(type: GgmlType, n: number): number {
  const bs = BLOCK_SIZE[type];
  if (n % bs !== 0) {
    throw new ShapeError(`${type} stores blocks of ${bs} values; a row of ${n} values is not a multiple of ${bs}`);
  }
  return (n / bs) * TYPE_SIZE[type];
}

const fr = Math.fround;

/** ggml's `nearest_int`: round a float to the nearest integer, ties to even (|x| ≤ 4194303). */
function nearestInt(x: number): number {
  return fr(x + 12582912) - 12582912;
}

/** C `roundf`: ties away from zero. */
function roundAway(x: number): number {
  return x < 0 ? -Math.round(-x) : Math.round(x);
}

function checkRow(type: GgmlType, bytes: Uint8Array, n: number): void {
  const need = rowBytes(type, n);
  if (bytes.length < need) {
    throw new ShapeError(`dequantize ${type}: ${n} values need ${need} bytes, got ${bytes.length}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Dequantization (ggml-quants.c dequantize_row_*)
// ---------------------------------------------------------------------------------------------

/**
 * Decode `n` values stored as `type` into float32, as ggml's `to_float`
 * (`dequantize_row_*`, `ggml_fp16_to_fp32_row`, `ggml_bf16_to_fp32_row`).
 *
 * @param type storage type of `bytes`
 * @param bytes at least `rowBytes(type, n)` bytes, little-endian, any alignment
 * @param n number of values; a multiple of `BLOCK_SIZE[type]`
 * @param out optional destination of length ≥ n (written from index 0)
 * @returns `out` or a new Float32Array of length n
 * @throws ShapeError when n is not a multiple of the block size or bytes is too short
 */
export function dequantizeRow(type: GgmlType, bytes: Uint8Array, n: number, out?: Float32Array): Float32Array {
  checkRow(type, bytes, n);
  const y = out ?? new Float32Array(n);
  if (y.length < n) throw new ShapeError(`dequantize ${type}: output holds ${y.length} values, need ${n}`);
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const h = halfToFloatTable();
  switch (type) {
    case 'F32':
      for (let i = 0; i < n; i++) y[i] = v.getFloat32(4 * i, true);
      break;
    case 'F16':
      for (let i = 0; i < n; i++) y[i] = h[v.getUint16(2 * i, true)]!;
      break;
    case 'BF16': {
      const u = new Uint32Array(y.buffer, y.byteOffset, n);
      for (let i = 0; i < n; i++) u[i] = v.getUint16(2 * i, true) << 16;
      break;
    }
    case 'Q8_0':
      for (let b = 0, o = 0; o < n; b += 34, o += 32) {
        const d = h[v.getUint16(b, true)];
        for (let j = 0; j < 32; j++) y[o + j] = d * v.getInt8(b + 2 + j);
      }
      break;
    case 'Q4_0':
      for (let b = 0, o = 0; o < n; b += 18, o += 32) {
        const d = h[v.getUint16(b, true)];
        for (let j = 0; j < 16; j++) {
          const q = bytes[b + 2 + j];
          y[o + j] = ((q & 15) - 8) * d;
          y[o + j + 16] = ((q >> 4) - 8) * d;
        }
      }
      break;
    case 'Q5_0':
      for (let b = 0, o = 0; o < n; b += 22, o += 32) {
        const d = h[v.getUint16(b, true)];
        const qh = v.getUint32(b + 2, true);
        for (let j = 0; j < 16; j++) {
          const q = bytes[b + 6 + j];
          const h0 = ((qh >>> j) << 4) & 0x10;
          const h1 = (qh >>> (j + 12)) & 0x10;
          y[o + j] = (((q & 15) | h0) - 16) * d;
          y[o + j + 16] = (((q >> 4) | h1) - 16) * d;
        }
      }
      break;
    case 'Q4_K':
      for (let b = 0, o = 0; o < n; b += 144, o += QK_K) {
        const d = h[v.getUint16(b, true)];
        const dmin = h[v.getUint16(b + 2, true)];
        const sc = bytes.subarray(b + 4, b + 16);
        let q = b + 16;
        for (let j = 0, is = 0; j < QK_K; j += 64, is += 2, q += 32) {
          const [s1, m1] = scaleMinK4(is, sc);
          const [s2, m2] = scaleMinK4(is + 1, sc);
          const d1 = fr(d * s1), mm1 = fr(dmin * m1);
          const d2 = fr(d * s2), mm2 = fr(dmin * m2);
          for (let l = 0; l < 32; l++) y[o + j + l] = fr(d1 * (bytes[q + l] & 15)) - mm1;
          for (let l = 0; l < 32; l++) y[o + j + 32 + l] = fr(d2 * (bytes[q + l] >> 4)) - mm2;
        }
      }
      break;
    case 'Q5_K':
      for (let b = 0, o = 0; o < n; b += 176, o += QK_K) {
        const d = h[v.getUint16(b, true)];
        const dmin = h[v.getUint16(b + 2, true)];
        const sc = bytes.subarray(b + 4, b + 16);
        const qh = b + 16;
        let ql = b + 48;
        let u1 = 1, u2 = 2;
        for (let j = 0, is = 0; j < QK_K; j += 64, is += 2, ql += 32, u1 <<= 2, u2 <<= 2) {
          const [s1, m1] = scaleMinK4(is, sc);
          const [s2, m2] = scaleMinK4(is + 1, sc);
          const d1 = fr(d * s1), mm1 = fr(dmin * m1);
          const d2 = fr(d * s2), mm2 = fr(dmin * m2);
          for (let l = 0; l < 32; l++) y[o + j + l] = fr(d1 * ((bytes[ql + l] & 15) + (bytes[qh + l] & u1 ? 16 : 0))) - mm1;
          for (let l = 0; l < 32; l++) y[o + j + 32 + l] = fr(d2 * ((bytes[ql + l] >> 4) + (bytes[qh + l] & u2 ? 16 : 0))) - mm2;
        }
      }
      break;
    case 'Q6_K':
      for (let b = 0, o = 0; o < n; b += 210, o += QK_K) {
        const d = h[v.getUint16(b + 208, true)];
        let ql = b, qh = b + 128, sc = b + 192;
        for (let nn = 0; nn < QK_K; nn += 128, ql += 64, qh += 32, sc += 8) {
          for (let l = 0; l < 32; l++) {
            const is = l >> 4;
            const hb = bytes[qh + l];
            const q1 = ((bytes[ql + l] & 15) | ((hb & 3) << 4)) - 32;
            const q2 = ((bytes[ql + l + 32] & 15) | (((hb >> 2) & 3) << 4)) - 32;
            const q3 = ((bytes[ql + l] >> 4) | (((hb >> 4) & 3) << 4)) - 32;
            const q4 = ((bytes[ql + l + 32] >> 4) | (((hb >> 6) & 3) << 4)) - 32;
            const at = o + nn + l;
            y[at] = fr(d * v.getInt8(sc + is)) * q1;
            y[at + 32] = fr(d * v.getInt8(sc + is + 2)) * q2;
            y[at + 64] = fr(d * v.getInt8(sc + is + 4)) * q3;
            y[at + 96] = fr(d * v.getInt8(sc + is + 6)) * q4;
          }
        }
      }
      break;
  }
  return y;
}

/**
 * ggml's `get_scale_min_k4`: the 6-bit scale and min of sub-block `j` (0–7)
 * of a Q4_K/Q5_K block's 12 packed `scales` bytes. Sub-blocks 0–3 keep their
 * scale and min in the low 6 bits of bytes j and j+4; sub-blocks 4–7 keep
 * their low 4 bits in byte j+4 and their top 2 bits in the top 2 bits of
 * bytes j−4 (scale) and j (min).
 *
 * @returns [scale, min], each 0–63
 */
export function scaleMinK4(j: number, q: Uint8Array): [number, number] {
  if (j < 4) return [q[j] & 63, q[j + 4] & 63];
  return [(q[j + 4] & 0xf) | ((q[j - 4] >> 6) << 4), (q[j + 4] >> 4) | ((q[j] >> 6) << 4)];
}

// ---------------------------------------------------------------------------------------------
// Quantization (ggml-quants.c quantize_row_*_ref)
// ---------------------------------------------------------------------------------------------

/**
 * Encode float32 values as `type`, with ggml's reference quantizers
 * (`quantize_row_q8_0_ref`, `quantize_row_q4_0_ref`, `quantize_row_q5_0_ref`,
 * `quantize_row_q4_K_ref` with `make_qkx2_quants`, `quantize_row_q5_K_ref`,
 * `quantize_row_q6_K_ref` with `make_qx_quants`), F16 and BF16 by
 * round-to-nearest-even (`ggml_fp32_to_fp16_row`, `ggml_fp32_to_bf16_row`).
 * These are what `llama-quantize` runs when no importance matrix is given.
 *
 * @param type target storage type
 * @param x the values; length a multiple of `BLOCK_SIZE[type]` (one or more rows)
 * @returns `rowBytes(type, x.length)` bytes
 * @throws ShapeError when the length is not a multiple of the block size
 */
export function quantizeRow(type: GgmlType, x: Float32Array): Uint8Array {
  const n = x.length;
  const out = new Uint8Array(rowBytes(type, n));
  const v = new DataView(out.buffer);
  switch (type) {
    case 'F32':
      for (let i = 0; i < n; i++) v.setFloat32(4 * i, x[i], true);
      break;
    case 'F16':
      for (let i = 0; i < n; i++) v.setUint16(2 * i, floatToHalf(x[i]), true);
      break;
    case 'BF16':
      for (let i = 0; i < n; i++) v.setUint16(2 * i, floatToBf16(x[i]), true);
      break;
    case 'Q8_0':
      for (let o = 0, b = 0; o < n; o += 32, b += 34) quantizeBlockQ8_0(x, o, out, v, b);
      break;
    case 'Q4_0':
      for (let o = 0, b = 0; o < n; o += 32, b += 18) quantizeBlockQ4_0(x, o, out, v, b);
      break;
    case 'Q5_0':
      for (let o = 0, b = 0; o < n; o += 32, b += 22) quantizeBlockQ5_0(x, o, out, v, b);
      break;
    case 'Q4_K':
    case 'Q5_K': {
      const s = new KScratch();
      const step = TYPE_SIZE[type];
      for (let o = 0, b = 0; o < n; o += QK_K, b += step) quantizeBlockQ45K(type === 'Q5_K', x, o, out, v, b, s);
      break;
    }
    case 'Q6_K': {
      const s = new KScratch();
      for (let o = 0, b = 0; o < n; o += QK_K, b += 210) quantizeBlockQ6K(x, o, out, v, b, s);
      break;
    }
    default:
      throw new ConfigError(`quantize: unsupported type ${String(type)}; use one of ${GGML_TYPES.join(', ')}`);
  }
  return out;
}

function quantizeBlockQ8_0(x: Float32Array, o: number, out: Uint8Array, v: DataView, b: number): void {
  let amax = 0;
  for (let j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(x[o + j]));
  const d = fr(amax / 127);
  const id = d ? fr(1 / d) : 0;
  v.setUint16(b, floatToHalf(d), true);
  for (let j = 0; j < 32; j++) out[b + 2 + j] = roundAway(fr(x[o + j] * id)) & 0xff;
}

/** The value of largest magnitude among `x[o … o + n)`, sign kept (the first on ties; 0 for all zeros), as ggml's Q4_0/Q5_0 reference quantizers pick it. */
function signedAbsMax(x: Float32Array, o: number, n: number): number {
  let amax = 0;
  let max = 0;
  for (let j = 0; j < n; j++) {
    const val = x[o + j];
    if (amax < Math.abs(val)) {
      amax = Math.abs(val);
      max = val;
    }
  }
  return max;
}

function quantizeBlockQ4_0(x: Float32Array, o: number, out: Uint8Array, v: DataView, b: number): void {
  const max = signedAbsMax(x, o, 32);
  const d = fr(max / -8);
  const id = d ? fr(1 / d) : 0;
  v.setUint16(b, floatToHalf(d), true);
  for (let j = 0; j < 16; j++) {
    const x0 = fr(x[o + j] * id);
    const x1 = fr(x[o + 16 + j] * id);
    const xi0 = Math.min(15, Math.trunc(fr(x0 + 8.5)));
    const xi1 = Math.min(15, Math.trunc(fr(x1 + 8.5)));
    out[b + 2 + j] = xi0 | (xi1 << 4);
  }
}

function quantizeBlockQ5_0(x: Float32Array, o: number, out: Uint8Array, v: DataView, b: number): void {
  const max = signedAbsMax(x, o, 32);
  const d = fr(max / -16);
  const id = d ? fr(1 / d) : 0;
  v.setUint16(b, floatToHalf(d), true);
  let qh = 0;
  for (let j = 0; j < 16; j++) {
    const x0 = fr(x[o + j] * id);
    const x1 = fr(x[o + 16 + j] * id);
    const xi0 = Math.min(31, Math.trunc(fr(x0 + 16.5)));
    const xi1 = Math.min(31, Math.trunc(fr(x1 + 16.5)));
    out[b + 6 + j] = (xi0 & 15) | ((xi1 & 15) << 4);
    qh |= ((xi0 & 0x10) >>> 4) << j;
    qh |= ((xi1 & 0x10) >>> 4) << (j + 16);
  }
  v.setUint32(b + 2, qh >>> 0, true);
}

/** Per-call scratch of the K-quant quantizers (ggml's stack arrays). */
class KScratch {
  L = new Uint8Array(QK_K);
  Li = new Int32Array(QK_K);
  Laux = new Uint8Array(32);
  weights = new Float32Array(32);
  mins = new Float32Array(QK_K / 32);
  scales = new Float32Array(QK_K / 16);
  xs = new Float32Array(32);
}

/**
 * ggml's `make_qkx2_quants`: fit `x ≈ scale·L + min` (min ≤ 0, L in 0..nmax)
 * minimising the weighted squared (or absolute) error, trying `nstep + 1`
 * candidate scales around `nmax / (max − min)`.
 *
 * @returns [scale, −min]; L receives the levels
 */
function makeQkx2Quants(
  n: number, nmax: number, x: Float32Array, weights: Float32Array, L: Uint8Array, Loff: number,
  Laux: Uint8Array, rmin: number, rdelta: number, nstep: number, useMad: boolean,
): [number, number] {
  let min = x[0];
  let max = x[0];
  let sumW = weights[0];
  let sumX = fr(sumW * x[0]);
  for (let i = 1; i < n; i++) {
    if (x[i] < min) min = x[i]!;
    if (x[i] > max) max = x[i]!;
    const w = weights[i];
    sumW = fr(sumW + w);
    sumX = fr(sumX + fr(w * x[i]));
  }
  if (min > 0) min = 0;
  if (max === min) {
    for (let i = 0; i < n; i++) L[Loff + i] = 0;
    return [0, -min];
  }
  let iscale = fr(nmax / fr(max - min));
  let scale = fr(1 / iscale);
  let bestError = 0;
  for (let i = 0; i < n; i++) {
    const l = nearestInt(fr(iscale * fr(x[i] - min)));
    L[Loff + i] = Math.max(0, Math.min(nmax, l));
    let diff = fr(fr(fr(scale * L[Loff + i]) + min) - x[i]);
    diff = useMad ? Math.abs(diff) : fr(diff * diff);
    bestError = fr(bestError + fr(weights[i] * diff));
  }
  if (nstep < 1) return [scale, -min];
  for (let is = 0; is <= nstep; is++) {
    iscale = fr(fr(fr(rmin + fr(rdelta * is)) + nmax) / fr(max - min));
    let sumL = 0, sumL2 = 0, sumXL = 0;
    for (let i = 0; i < n; i++) {
      let l = nearestInt(fr(iscale * fr(x[i] - min)));
      l = Math.max(0, Math.min(nmax, l));
      Laux[i] = l;
      const w = weights[i];
      sumL = fr(sumL + fr(w * l));
      sumL2 = fr(sumL2 + fr(fr(w * l) * l));
      sumXL = fr(sumXL + fr(fr(w * l) * x[i]));
    }
    const D = fr(fr(sumW * sumL2) - fr(sumL * sumL));
    if (D > 0) {
      let thisScale = fr(fr(fr(sumW * sumXL) - fr(sumX * sumL)) / D);
      let thisMin = fr(fr(fr(sumL2 * sumX) - fr(sumL * sumXL)) / D);
      if (thisMin > 0) {
        thisMin = 0;
        thisScale = fr(sumXL / sumL2);
      }
      let curError = 0;
      for (let i = 0; i < n; i++) {
        let diff = fr(fr(fr(thisScale * Laux[i]) + thisMin) - x[i]);
        diff = useMad ? Math.abs(diff) : fr(diff * diff);
        curError = fr(curError + fr(weights[i] * diff));
      }
      if (curError < bestError) {
        for (let i = 0; i < n; i++) L[Loff + i] = Laux[i]!;
        bestError = curError;
        scale = thisScale;
        min = thisMin;
      }
    }
  }
  return [scale, -min];
}

/** quantize_row_q4_K_ref / quantize_row_q5_K_ref for one 256-value super-block. */
function quantizeBlockQ45K(five: boolean, x: Float32Array, o: number, out: Uint8Array, v: DataView, b: number, s: KScratch): void {
  const nmax = five ? 31 : 15;
  const { L, Laux, weights, mins, scales, xs } = s;
  let maxScale = 0;
  let maxMin = 0;
  for (let j = 0; j < QK_K / 32; j++) {
    let sumX2 = 0;
    for (let l = 0; l < 32; l++) {
      const xv = x[o + 32 * j + l];
      xs[l] = xv;
      sumX2 = fr(sumX2 + fr(xv * xv));
    }
    const avX = fr(Math.sqrt(fr(sumX2 / 32)));
    for (let l = 0; l < 32; l++) weights[l] = fr(avX + Math.abs(xs[l]));
    const [sc, mn] = five
      ? makeQkx2Quants(32, nmax, xs, weights, L, 32 * j, Laux, -0.5, fr(0.1), 15, false)
      : makeQkx2Quants(32, nmax, xs, weights, L, 32 * j, Laux, -1, fr(0.1), 20, false);
    scales[j] = sc;
    mins[j] = mn;
    if (sc > maxScale) maxScale = sc;
    if (mins[j] > maxMin) maxMin = mins[j]!;
  }
  const invScale = maxScale > 0 ? fr(63 / maxScale) : 0;
  const invMin = maxMin > 0 ? fr(63 / maxMin) : 0;
  const scb = b + 4; // scales[12] start
  for (let k = 0; k < 12; k++) out[scb + k] = 0;
  for (let j = 0; j < QK_K / 32; j++) {
    const ls = Math.min(63, nearestInt(fr(invScale * scales[j])) & 0xff);
    const lm = Math.min(63, nearestInt(fr(invMin * mins[j])) & 0xff);
    if (j < 4) {
      out[scb + j] = ls;
      out[scb + j + 4] = lm;
    } else {
      out[scb + j + 4] = (ls & 0xf) | ((lm & 0xf) << 4);
      out[scb + j - 4] |= (ls >> 4) << 6;
      out[scb + j] |= (lm >> 4) << 6;
    }
  }
  const dBits = floatToHalf(fr(maxScale / 63));
  const mBits = floatToHalf(fr(maxMin / 63));
  v.setUint16(b, dBits, true);
  v.setUint16(b + 2, mBits, true);
  const h = halfToFloatTable();
  const dAll = h[dBits];
  const mAll = h[mBits];
  const scBytes = out.subarray(scb, scb + 12);
  for (let j = 0; j < QK_K / 32; j++) {
    const [sc, m] = scaleMinK4(j, scBytes);
    const d = fr(dAll * sc);
    if (!d) continue;
    const dm = fr(mAll * m);
    for (let ii = 0; ii < 32; ii++) {
      const l = nearestInt(fr(fr(x[o + 32 * j + ii] + dm) / d));
      L[32 * j + ii] = Math.max(0, Math.min(nmax, l));
    }
  }
  if (!five) {
    let q = b + 16;
    for (let j = 0; j < QK_K; j += 64, q += 32) {
      for (let l = 0; l < 32; l++) out[q + l] = L[j + l] | (L[j + l + 32] << 4);
    }
    return;
  }
  const qh = b + 16;
  let ql = b + 48;
  for (let k = 0; k < 32; k++) out[qh + k] = 0;
  let m1 = 1, m2 = 2;
  for (let nn = 0; nn < QK_K; nn += 64, ql += 32, m1 <<= 2, m2 <<= 2) {
    for (let j = 0; j < 32; j++) {
      let l1 = L[nn + j];
      if (l1 > 15) {
        l1 -= 16;
        out[qh + j] |= m1;
      }
      let l2 = L[nn + j + 32];
      if (l2 > 15) {
        l2 -= 16;
        out[qh + j] |= m2;
      }
      out[ql + j] = l1 | (l2 << 4);
    }
  }
}

/**
 * ggml's `make_qx_quants` with `rmse_type` 1 and no weights (w = x²): a
 * symmetric fit `x ≈ scale·(L − nmax)`, L in 0..2·nmax−1, trying 18 scales
 * around `−nmax / max`. Returns the scale; Li receives L.
 */
function makeQxQuants(n: number, nmax: number, x: Float32Array, Li: Int32Array, Loff: number): number {
  let max = 0;
  let amax = 0;
  for (let i = 0; i < n; i++) {
    const ax = Math.abs(x[i]);
    if (ax > amax) {
      amax = ax;
      max = x[i]!;
    }
  }
  if (amax < fr(1e-15)) {
    for (let i = 0; i < n; i++) Li[Loff + i] = 0;
    return 0;
  }
  let iscale = fr(-nmax / max);
  let sumlx = 0;
  let suml2 = 0;
  for (let i = 0; i < n; i++) {
    let l = nearestInt(fr(iscale * x[i]));
    l = Math.max(-nmax, Math.min(nmax - 1, l));
    Li[Loff + i] = l + nmax;
    const w = fr(x[i] * x[i]);
    sumlx = fr(sumlx + fr(fr(w * x[i]) * l));
    suml2 = fr(suml2 + fr(fr(w * l) * l));
  }
  let scale = suml2 ? fr(sumlx / suml2) : 0;
  let best = fr(scale * sumlx);
  for (let is = -9; is <= 9; is++) {
    if (is === 0) continue;
    iscale = fr(-fr(nmax + fr(fr(0.1) * is)) / max);
    sumlx = 0;
    suml2 = 0;
    for (let i = 0; i < n; i++) {
      let l = nearestInt(fr(iscale * x[i]));
      l = Math.max(-nmax, Math.min(nmax - 1, l));
      const w = fr(x[i] * x[i]);
      sumlx = fr(sumlx + fr(fr(w * x[i]) * l));
      suml2 = fr(suml2 + fr(fr(w * l) * l));
    }
    if (suml2 > 0 && fr(sumlx * sumlx) > fr(best * suml2)) {
      for (let i = 0; i < n; i++) {
        const l = nearestInt(fr(iscale * x[i]));
        Li[Loff + i] = nmax + Math.max(-nmax, Math.min(nmax - 1, l));
      }
      scale = fr(sumlx / suml2);
      best = fr(scale * sumlx);
    }
  }
  return scale;
}

/** quantize_row_q6_K_ref for one 256-value super-block. */
function quantizeBlockQ6K(x: Float32Array, o: number, out: Uint8Array, v: DataView, b: number, s: KScratch): void {
  const { Li, scales, xs } = s;
  let maxScale = 0;
  let maxAbsScale = 0;
  for (let ib = 0; ib < QK_K / 16; ib++) {
    for (let l = 0; l < 16; l++) xs[l] = x[o + 16 * ib + l]!;
    const scale = makeQxQuants(16, 32, xs, Li, 16 * ib);
    scales[ib] = scale;
    const abs = Math.abs(scale);
    if (abs > maxAbsScale) {
      maxAbsScale = abs;
      maxScale = scale;
    }
  }
  if (maxAbsScale < fr(1e-15)) {
    for (let k = 0; k < 210; k++) out[b + k] = 0;
    return;
  }
  const iscale = fr(-128 / maxScale);
  const dBits = floatToHalf(fr(1 / iscale));
  v.setUint16(b + 208, dBits, true);
  const scb = b + 192;
  for (let ib = 0; ib < QK_K / 16; ib++) {
    v.setInt8(scb + ib, Math.min(127, nearestInt(fr(iscale * scales[ib]))));
  }
  const dAll = halfToFloatTable()[dBits];
  for (let j = 0; j < QK_K / 16; j++) {
    const d = fr(dAll * v.getInt8(scb + j));
    if (!d) continue;
    for (let ii = 0; ii < 16; ii++) {
      let l = nearestInt(fr(x[o + 16 * j + ii] / d));
      l = Math.max(-32, Math.min(31, l));
      Li[16 * j + ii] = l + 32;
    }
  }
  let ql = b, qh = b + 128;
  for (let j = 0; j < QK_K; j += 128, ql += 64, qh += 32) {
    for (let l = 0; l < 32; l++) {
      const q1 = Li[j + l] & 0xf;
      const q2 = Li[j + l + 32] & 0xf;
      const q3 = Li[j + l + 64] & 0xf;
      const q4 = Li[j + l + 96] & 0xf;
      out[ql + l] = q1 | (q3 << 4);
      out[ql + l + 32] = q2 | (q4 << 4);
      out[qh + l] = (Li[j + l] >> 4) | ((Li[j + l + 32] >> 4) << 2) | ((Li[j + l + 64] >> 4) << 4) | ((Li[j + l + 96] >> 4) << 6);
    }
  }
}

/**
 * Dequantize a whole tensor of `rows` rows of `rowLength` values each (each
 * row a whole number of blocks, rows contiguous), into one Float32Array.
 *
 * @throws ShapeError when the byte count does not match `rows × rowBytes(type, rowLength)`
 */
export function dequantizeTensor(type: GgmlType, bytes: Uint8Array, rowLength: number, rows: number, out?: Float32Array): Float32Array {
  const rb = rowBytes(type, rowLength);
  if (bytes.length !== rb * rows) {
    throw new ShapeError(`${type} tensor of ${rows} rows × ${rowLength}: expected ${rb * rows} bytes, got ${bytes.length}`);
  }
  return dequantizeRow(type, bytes, rowLength * rows, out);
}
