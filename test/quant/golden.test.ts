// ggml itself as the reference: bytes written by ggml's quantize_row_*_ref and floats decoded by its
// dequantize_row_* (libggml-base.so of node-llama-cpp 3.21.1, through ctypes;
// generator scripts/fixtures/ggml-quant-golden.py) against src/quant/formats.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dequantizeRow, quantizeRow, type GgmlType } from '../../src/quant/formats.js';

interface Case {
  type: GgmlType;
  n: number;
  input: string;
  bytes: string;
  dequantized: string;
}

const fixture = JSON.parse(readFileSync(new URL('../fixtures/quant/ggml-golden.json', import.meta.url), 'utf8')) as { cases: Case[] };

function f32(b64: string): Float32Array {
  const b = Buffer.from(b64, 'base64');
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

test('dequantizeRow equals ggml dequantize_row_* on ggml-written blocks, bit for bit', () => {
  for (const c of fixture.cases) {
    const want = f32(c.dequantized);
    const got = dequantizeRow(c.type, Buffer.from(c.bytes, 'base64'), c.n);
    assert.deepEqual(new Uint32Array(got.buffer), new Uint32Array(want.buffer), `${c.type}`);
  }
});

test('quantizeRow writes the bytes of ggml quantize_row_*_ref', () => {
  const mismatch: string[] = [];
  for (const [i, c] of fixture.cases.entries()) {
    const got = Buffer.from(quantizeRow(c.type, f32(c.input)));
    const want = Buffer.from(c.bytes, 'base64');
    if (!got.equals(want)) {
      let diff = 0;
      for (let k = 0; k < got.length; k++) if (got[k] !== want[k]) diff++;
      mismatch.push(`${c.type} case ${i}: ${diff} of ${got.length} bytes differ`);
    }
  }
  assert.deepEqual(mismatch, []);
});
