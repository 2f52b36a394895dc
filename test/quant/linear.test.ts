/**
 * The stored-weight linear kernels (native/src/quant.cc) against the js
 * reference of their contract (src/quant/linear.ts): every type, every
 * dispatch path the CPU has, odd shapes (rows not a multiple of any SIMD
 * width; float-type columns not a multiple of 16), the decode (m ≤ 4) and
 * panel-GEMM (m > 4) forms, bias and accumulate. Also: native dequantization
 * equals formats.ts bit for bit, native x̃ equals the js one, and the integer
 * kernels stay close to dequantize-then-F32 (what 8-bit activations cost).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GGML_TYPE_ID, dequantizeTensor, quantizeRow, rowBytes, type GgmlType } from '../../src/quant/formats.js';
import { activationRoundtrip, quantLinear, quantLinearReference } from '../../src/quant/linear.js';
import { loadQuantAddon, weightBuffer } from '../../src/quant/native.js';
import { quantizedWeight, type QuantizedWeight } from '../../src/quant/weight.js';
import { assertClose, randn } from '../backend/native-util.js';

const addon = loadQuantAddon();
const skip = addon ? false : 'native addon not built (node scripts/build-native.mjs)';

const TYPES: GgmlType[] = ['F32', 'F16', 'BF16', 'Q8_0', 'Q4_0', 'Q5_0', 'Q4_K', 'Q5_K', 'Q6_K'];

/** Columns per type: odd where the type allows, else a few blocks. */
function colsFor(type: GgmlType): number {
  if (type === 'F32' || type === 'F16' || type === 'BF16') return 77;
  if (type.endsWith('_K')) return 512;
  return 96;
}

function makeWeight(type: GgmlType, rows: number, cols: number, seed: number): QuantizedWeight {
  const w = randn(rows * cols, seed, 0.5);
  const rb = rowBytes(type, cols);
  const bytes = new Uint8Array(rows * rb + 3).subarray(3); // an odd byte offset: kernels must not assume alignment
  for (let r = 0; r < rows; r++) bytes.set(quantizeRow(type, w.subarray(r * cols, (r + 1) * cols)), r * rb);
  return quantizedWeight(type, rows, cols, bytes);
}

test('native dequantization equals the js formats bit for bit', { skip }, () => {
  for (const type of TYPES) {
    const cols = colsFor(type);
    const w = makeWeight(type, 5, cols, 11);
    const got = new Float32Array(5 * cols);
    addon!.quantDequantize(GGML_TYPE_ID[type], w.bytes, 5, cols, got);
    const want = dequantizeTensor(type, w.bytes, cols, 5);
    assert.deepEqual(Array.from(got), Array.from(want), type);
  }
});

test('native 8-bit activation round trip equals the js one', { skip }, () => {
  const x = randn(3 * 96, 5);
  x[7] = 0; x.fill(0, 32, 64); // a zero block
  const got = new Float32Array(x.length);
  addon!.quantActRoundtrip(x, 3, 96, got);
  assert.deepEqual(Array.from(got), Array.from(activationRoundtrip(x, 3, 96)));
});

test('quantLinear: every type and dispatch path against the js reference', { skip }, () => {
  const paths = addon!.quantInfo().paths;
  const before = addon!.quantInfo().path;
  try {
    for (const type of TYPES) {
      const cols = colsFor(type);
      const rows = 37;
      const w = makeWeight(type, rows, cols, 21);
      const bias = randn(rows, 3);
      for (const m of [1, 3, 7]) {
        const x = randn(m * cols, 100 + m);
        const init = randn(m * rows, 200 + m);
        const want = quantLinearReference(w, x, m, { bias, out: init.slice(), accumulate: true });
        for (const path of paths) {
          addon!.quantSetPath(path);
          const got = quantLinear(w, x, m, { bias, out: init.slice(), accumulate: true });
          assertClose(got, want, 2e-5, `${type} m=${m} path=${path}`);
          const plain = quantLinear(w, x, m);
          assertClose(plain, quantLinearReference(w, x, m), 2e-5, `${type} m=${m} path=${path} no bias`);
        }
      }
    }
  } finally {
    addon!.quantSetPath(before);
  }
});

test('integer kernels stay near dequantize-then-F32 (8-bit activations)', { skip }, () => {
  for (const type of ['Q8_0', 'Q4_0', 'Q4_K', 'Q6_K'] as GgmlType[]) {
    const cols = colsFor(type);
    const w = makeWeight(type, 16, cols, 31);
    const x = randn(2 * cols, 9);
    const got = quantLinear(w, x, 2);
    const f = dequantizeTensor(type, w.bytes, cols, 16);
    const want = quantLinearReference({ type: 'F32', rows: 16, cols, bytes: new Uint8Array(f.buffer) }, x, 2);
    assertClose(got, want, 2e-2, `${type} vs dequantize-then-F32`);
  }
});

test('quantLinear checks sizes and types before running', { skip }, () => {
  const w = makeWeight('Q8_0', 4, 64, 1);
  assert.throws(() => addon!.quantLinear(8, w.bytes, 4, 64, new Float32Array(63), 1, null, new Float32Array(4), false), RangeError);
  assert.throws(() => addon!.quantLinear(8, w.bytes, 5, 64, new Float32Array(64), 1, null, new Float32Array(5), false), RangeError);
  assert.throws(() => addon!.quantLinear(8, w.bytes, 4, 48, new Float32Array(48), 1, null, new Float32Array(4), false), /multiple of 32/);
  assert.throws(() => addon!.quantLinear(3, w.bytes, 4, 64, new Float32Array(64), 1, null, new Float32Array(4), false), /unsupported weight type/);
  assert.throws(() => addon!.quantSetPath('sse9'), /unknown path/);
});

test('quantLinear: shapes above the threading thresholds', { skip }, () => {
  for (const type of ['Q4_K', 'Q8_0', 'BF16'] as GgmlType[]) {
    const rows = 301, cols = 1024;
    const w = makeWeight(type, rows, cols, 41);
    for (const m of [1, 9]) {
      const x = randn(m * cols, 7 + m);
      assertClose(quantLinear(w, x, m), quantLinearReference(w, x, m), 2e-5, `${type} ${rows}×${cols} m=${m}`);
    }
  }
});

test('weightBuffer: a zeroed buffer of the asked size; large ones start on a 2 MiB boundary', () => {
  const small = weightBuffer(1000);
  assert.equal(small.length, 1000);
  const big = weightBuffer(9 << 20);
  assert.equal(big.length, 9 << 20);
  assert.ok(big.every((b) => b === 0));
  big[big.length - 1] = 7;
  assert.equal(big[big.length - 1], 7);
  const addon = loadQuantAddon();
  if (addon) {
    const raw = new Uint8Array(5 << 20);
    const offset = addon.quantAdviseHugePages(raw);
    assert.ok(Number.isInteger(offset) && offset >= 0 && offset < 2 << 20, `offset ${offset}`);
    assert.equal(addon.quantAdviseHugePages(raw.subarray(offset)), 0);
  }
});
