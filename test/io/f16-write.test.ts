import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodeSafetensors, decodeSafetensors, floatToHalf } from '../../src/io/safetensors.js';

const here = dirname(fileURLToPath(import.meta.url));
const fx = JSON.parse(readFileSync(join(here, '../fixtures/io/f16-expected.json'), 'utf8')) as { values: number[]; bits: number[] };

test('floatToHalf equals numpy float16 rounding (nearest even, subnormals, overflow, inf)', () => {
  fx.values.forEach((v, i) => {
    assert.equal(floatToHalf(Math.fround(v)), fx.bits[i], `value ${v}`);
  });
  assert.equal(floatToHalf(NaN) & 0x7c00, 0x7c00);
  assert.notEqual(floatToHalf(NaN) & 0x3ff, 0);
});

test('writing F16 stores the numpy bits, and reading converts back to float32', () => {
  const data = Float32Array.from(fx.values);
  const bytes = encodeSafetensors(new Map([['w', { dtype: 'F32', shape: [data.length], data }], ['i', { dtype: 'I32', shape: [2], data: Int32Array.from([7, -7]) }]]), { format: 'pt' }, { floatDtype: 'F16' });
  const headerLen = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  const header = JSON.parse(Buffer.from(bytes.subarray(8, 8 + headerLen)).toString('utf8')) as Record<string, { dtype: string; data_offsets: [number, number] }>;
  assert.equal(header.w.dtype, 'F16');
  assert.equal(header.i.dtype, 'I32');
  const [a] = header.w.data_offsets;
  const view = new DataView(bytes.buffer, 8 + headerLen + a);
  fx.bits.forEach((b, k) => assert.equal(view.getUint16(2 * k, true), b));
  const back = decodeSafetensors(bytes, 'mem').tensors;
  assert.deepEqual([...(back.get('i')!.data as Int32Array)], [7, -7]);
  const w = back.get('w')!.data as Float32Array;
  assert.equal(w[2], 1);
  assert.equal(w[5], 65504);
});
