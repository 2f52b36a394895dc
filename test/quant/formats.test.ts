// ggml storage types: golden blocks built from ggml-common.h's documented layouts (written
// independently of src/quant/formats.ts), quantize → dequantize error bounds, and properties of
// ggml's reference quantizers (scale choice, rounding).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  BLOCK_SIZE,
  GGML_TYPES,
  GGML_TYPE_ID,
  TYPE_SIZE,
  dequantizeRow,
  ggmlTypeFromId,
  quantizeRow,
  rowBytes,
  type GgmlType,
} from '../../src/quant/formats.js';
import { bf16ToFloat, floatToBf16, floatToHalf, halfToFloat } from '../../src/quant/half.js';
import { ShapeError } from '../../src/errors.js';

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function gaussian(n: number, seed: number, scale = 1): Float32Array {
  const r = rng(seed);
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = scale * Math.sqrt(-2 * Math.log(r() + 1e-12)) * Math.cos(2 * Math.PI * r());
  return x;
}

const HALF_ONE = 0x3c00;
const HALF_HALF = 0x3800; // 0.5
const HALF_QUARTER = 0x3400; // 0.25

test('block sizes and bytes per block are ggml-common.h sizeof(block_*)', () => {
  assert.deepEqual(
    GGML_TYPES.map((t) => [t, BLOCK_SIZE[t], TYPE_SIZE[t], GGML_TYPE_ID[t]]),
    [
      ['F32', 1, 4, 0],
      ['F16', 1, 2, 1],
      ['Q4_0', 32, 2 + 16, 2],
      ['Q5_0', 32, 2 + 4 + 16, 6],
      ['Q8_0', 32, 2 + 32, 8],
      ['Q4_K', 256, 2 + 2 + 12 + 128, 12],
      ['Q5_K', 256, 2 + 2 + 12 + 32 + 128, 13],
      ['Q6_K', 256, 128 + 64 + 16 + 2, 14],
      ['BF16', 1, 2, 30],
    ],
  );
  for (const t of GGML_TYPES) assert.equal(ggmlTypeFromId(GGML_TYPE_ID[t]), t);
  assert.equal(ggmlTypeFromId(3), undefined, 'Q4_1 is not read');
  assert.equal(rowBytes('Q4_K', 512), 288);
  assert.throws(() => rowBytes('Q8_0', 40), ShapeError);
  assert.throws(() => quantizeRow('Q4_K', new Float32Array(100)), /multiple of 256/);
});

test('half and bfloat16 conversions round to nearest even as ggml does', () => {
  assert.equal(floatToHalf(1), 0x3c00);
  assert.equal(floatToHalf(-2), 0xc000);
  assert.equal(floatToHalf(65504), 0x7bff);
  assert.equal(floatToHalf(65520), 0x7c00, 'rounds up to infinity');
  assert.equal(floatToHalf(2 ** -24), 0x0001, 'smallest subnormal');
  assert.equal(floatToHalf(1 + 2 ** -11), 0x3c00, 'tie rounds to even (down)');
  assert.equal(floatToHalf(1 + 3 * 2 ** -11), 0x3c02, 'tie rounds to even (up)');
  assert.ok(Number.isNaN(halfToFloat(floatToHalf(NaN))));
  assert.equal(halfToFloat(0x3555), 0.333251953125);
  // bfloat16: the top 16 bits of the float32, rounded to nearest even
  assert.equal(floatToBf16(1), 0x3f80);
  assert.equal(floatToBf16(Math.fround(1 + 2 ** -8)), 0x3f80, 'tie to even');
  assert.equal(floatToBf16(Math.fround(1 + 3 * 2 ** -8)), 0x3f82);
  assert.equal(floatToBf16(NaN) & 0x7fc0, 0x7fc0, 'NaN stays a quiet NaN');
  assert.equal(bf16ToFloat(0xc040), -3);
});

function block(bytes: number[]): Uint8Array {
  return Uint8Array.from(bytes);
}

function le16(v: number): number[] {
  return [v & 0xff, v >> 8];
}

test('Q8_0 golden block: x = d·q', () => {
  const qs = Array.from({ length: 32 }, (_, j) => j * 8 - 128); // -128 … 120
  const bytes = block([...le16(HALF_HALF), ...qs.map((q) => q & 0xff)]);
  assert.deepEqual([...dequantizeRow('Q8_0', bytes, 32)], qs.map((q) => q * 0.5));
});

test('Q4_0 golden block: low nibbles are values 0–15, high nibbles 16–31, offset 8', () => {
  const qs = Array.from({ length: 16 }, (_, j) => j | ((15 - j) << 4));
  const bytes = block([...le16(HALF_QUARTER), ...qs]);
  const want = [...Array.from({ length: 16 }, (_, j) => (j - 8) * 0.25), ...Array.from({ length: 16 }, (_, j) => (7 - j) * 0.25)];
  assert.deepEqual([...dequantizeRow('Q4_0', bytes, 32)], want);
});

test('Q5_0 golden block: the fifth bit of value j is bit j of qh', () => {
  const qh = 0xa5a5_0ff0 >>> 0;
  const qs = Array.from({ length: 16 }, (_, j) => (j * 7) & 0xff);
  const bytes = block([...le16(HALF_ONE), qh & 0xff, (qh >>> 8) & 0xff, (qh >>> 16) & 0xff, qh >>> 24, ...qs]);
  const want: number[] = [];
  for (let j = 0; j < 32; j++) {
    const nib = j < 16 ? qs[j] & 15 : qs[j - 16] >> 4;
    want.push((nib | (((qh >>> j) & 1) << 4)) - 16);
  }
  assert.deepEqual([...dequantizeRow('Q5_0', bytes, 32)], want);
});

/** Pack 8 six-bit (scale, min) pairs as ggml-common.h describes block_q4_K.scales. */
function packK4Scales(sc: number[], mn: number[]): number[] {
  const s = new Array<number>(12).fill(0);
  for (let j = 0; j < 8; j++) {
    if (j < 4) {
      s[j] = sc[j]!;
      s[j + 4] = mn[j]!;
    } else {
      s[j + 4] = (sc[j] & 15) | ((mn[j] & 15) << 4);
      s[j - 4] |= (sc[j] >> 4) << 6;
      s[j] |= (mn[j] >> 4) << 6;
    }
  }
  return s;
}

const K_SC = [1, 2, 3, 63, 17, 33, 48, 5];
const K_MN = [0, 1, 62, 3, 20, 40, 7, 63];

test('Q4_K golden block: 8 sub-blocks of 32, x = d·sc·q − dmin·m, nibbles of 32 bytes shared by two sub-blocks', () => {
  const qs = Array.from({ length: 128 }, (_, i) => (i * 37 + 11) & 0xff);
  const bytes = block([...le16(HALF_QUARTER), ...le16(HALF_HALF), ...packK4Scales(K_SC, K_MN), ...qs]);
  const want: number[] = [];
  for (let sb = 0; sb < 8; sb++) {
    const group = sb >> 1; // 32 bytes per pair of sub-blocks
    for (let l = 0; l < 32; l++) {
      const byte = qs[32 * group + l];
      const q = sb % 2 === 0 ? byte & 15 : byte >> 4;
      want.push(0.25 * K_SC[sb] * q - 0.5 * K_MN[sb]);
    }
  }
  assert.deepEqual([...dequantizeRow('Q4_K', bytes, 256)], want);
});

test('Q5_K golden block: Q4_K plus a high bit per value, bits 2g and 2g+1 of qh[l] for sub-blocks 2g and 2g+1', () => {
  const qh = Array.from({ length: 32 }, (_, i) => (i * 73 + 5) & 0xff);
  const qs = Array.from({ length: 128 }, (_, i) => (i * 29 + 3) & 0xff);
  const bytes = block([...le16(HALF_ONE), ...le16(HALF_QUARTER), ...packK4Scales(K_SC, K_MN), ...qh, ...qs]);
  const want: number[] = [];
  for (let sb = 0; sb < 8; sb++) {
    const group = sb >> 1;
    for (let l = 0; l < 32; l++) {
      const byte = qs[32 * group + l];
      const q = (sb % 2 === 0 ? byte & 15 : byte >> 4) | (((qh[l] >> sb) & 1) << 4);
      want.push(K_SC[sb] * q - 0.25 * K_MN[sb]);
    }
  }
  assert.deepEqual([...dequantizeRow('Q5_K', bytes, 256)], want);
});

test('Q6_K golden block: 16 int8 scales, 4 low bits in ql and 2 high bits in qh, offset 32, d last', () => {
  const ql = Array.from({ length: 128 }, (_, i) => (i * 53 + 7) & 0xff);
  const qh = Array.from({ length: 64 }, (_, i) => (i * 91 + 1) & 0xff);
  const scales = [1, -2, 3, -4, 127, -128, 7, 8, 9, 10, -11, 12, 13, 14, 15, -16];
  const bytes = block([...ql, ...qh, ...scales.map((s) => s & 0xff), ...le16(HALF_HALF)]);
  const want = new Array<number>(256);
  // ggml-common.h: for each half of 128 values, value l + 32·k (k = 0..3) takes the low nibble
  // (k even) or high nibble (k odd) of ql[64·half + l + 32·(k & 1)] and bits 2k..2k+1 of qh[32·half + l].
  for (let half = 0; half < 2; half++) {
    for (let k = 0; k < 4; k++) {
      for (let l = 0; l < 32; l++) {
        const lowByte = ql[64 * half + l + 32 * (k & 1)];
        const low = k < 2 ? lowByte & 15 : lowByte >> 4;
        const high = (qh[32 * half + l] >> (2 * k)) & 3;
        const idx = 128 * half + 32 * k + l;
        want[idx] = 0.5 * scales[Math.floor(idx / 16)] * ((low | (high << 4)) - 32);
      }
    }
  }
  assert.deepEqual([...dequantizeRow('Q6_K', bytes, 256)], want);
});

test('F16 and BF16 rows decode the raw little-endian bits', () => {
  assert.deepEqual([...dequantizeRow('F16', block([...le16(HALF_ONE), ...le16(0xc000)]), 2)], [1, -2]);
  assert.deepEqual([...dequantizeRow('BF16', block([0x80, 0x3f, 0x40, 0xc0]), 2)], [1, -3]);
  assert.deepEqual([...dequantizeRow('F32', new Uint8Array(Float32Array.of(1.5, -2).buffer), 2)], [1.5, -2]);
});

// Relative RMS error bounds of quantize → dequantize on Gaussian weights (what ggml's own
// test-quantize-fns checks, with its thresholds loosened to relative terms).
const BOUNDS: Record<GgmlType, number> = {
  F32: 0, F16: 5e-4, BF16: 4e-3, Q8_0: 0.01, Q6_K: 0.03, Q5_K: 0.05, Q5_0: 0.07, Q4_K: 0.1, Q4_0: 0.13,
};

test('quantize → dequantize error stays within each type bound; requantizing the result is a fixed point for Q8_0/Q4_0', () => {
  const n = 4096;
  const x = gaussian(n, 7, 0.02);
  for (const t of GGML_TYPES) {
    const q = quantizeRow(t, x);
    assert.equal(q.length, rowBytes(t, n));
    const y = dequantizeRow(t, q, n);
    let se = 0, sx = 0;
    for (let i = 0; i < n; i++) {
      se += (y[i] - x[i]) ** 2;
      sx += x[i] ** 2;
    }
    const rel = Math.sqrt(se / sx);
    assert.ok(rel <= BOUNDS[t], `${t}: relative RMS error ${rel} above ${BOUNDS[t]}`);
  }
  for (const t of ['Q8_0', 'Q4_0', 'F16', 'BF16'] as const) {
    const y = dequantizeRow(t, quantizeRow(t, x), n);
    assert.deepEqual(quantizeRow(t, y), quantizeRow(t, x), `${t} requantizes to the same bytes`);
  }
});

test('reference quantizers: Q8_0 scale is amax/127 with roundf, Q4_0 maps the signed max to −8', () => {
  const x = new Float32Array(32);
  for (let j = 0; j < 32; j++) x[j] = (j - 16) / 16; // -1 … 0.9375, amax 1
  const q8 = quantizeRow('Q8_0', x);
  assert.equal(q8[0] | (q8[1] << 8), floatToHalf(1 / 127));
  assert.equal((q8[2] << 24) >> 24, -127);
  // amax 127 gives d = 1: ±2.5 round away from zero to ±3 (roundf, not banker's rounding)
  const r = new Float32Array(32);
  r[0] = 127;
  r[1] = 2.5;
  r[2] = -2.5;
  const q8r = quantizeRow('Q8_0', r);
  assert.deepEqual([(q8r[3] << 24) >> 24, (q8r[4] << 24) >> 24], [3, -3]);
  const q4 = quantizeRow('Q4_0', x);
  assert.equal(halfToFloat(q4[0] | (q4[1] << 8)), 0.125, 'd = max / -8 = -1/-8');
  assert.equal(q4[2] & 15, 0, 'the value -1 becomes level 0 (−8·d)');
  // all-zero blocks encode as zeros for every type
  const z = new Float32Array(256);
  for (const t of GGML_TYPES) assert.ok(dequantizeRow(t, quantizeRow(t, z), 256).every((v) => v === 0), t); // Q4_0 stores d = 0/−8 = −0, as ggml does
});

test('K-quants keep each sub-block scale: a block mixing tiny and large sub-blocks loses little on the tiny ones', () => {
  const x = gaussian(256, 3, 1);
  for (let i = 0; i < 32; i++) x[i] *= 0.1; // sub-block 0 is 10× smaller
  for (const t of ['Q4_K', 'Q6_K'] as const) {
    const y = dequantizeRow(t, quantizeRow(t, x), 256);
    let se = 0, sx = 0;
    for (let i = 0; i < 32; i++) {
      se += (y[i] - x[i]) ** 2;
      sx += x[i] ** 2;
    }
    assert.ok(Math.sqrt(se / sx) < (t === 'Q4_K' ? 0.5 : 0.1), `${t} small sub-block error ${Math.sqrt(se / sx)}`);
  }
});
