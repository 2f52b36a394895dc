// GGUF reader and writer: round trips of every metadata type and tensor type, versions 2/3,
// alignment, and clear errors for corrupt, truncated and unsupported files.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileFormatError, ShapeError, ConfigError } from '../../src/errors.js';
import { GgufFile, metaNumber, metaString, metaStrings, metaNumbers, readGgufHeader, ggufValue, type GgufValue } from '../../src/io/gguf.js';
import { encodeGguf, writeGguf, type GgufTensorToWrite } from '../../src/io/gguf-write.js';
import { dequantizeRow, quantizeRow, type GgmlType } from '../../src/quant/formats.js';

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'muse-gguf-'));
}

function values(n: number, seed: number): Float32Array {
  const x = new Float32Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    x[i] = (s / 2 ** 32 - 0.5) * 0.2;
  }
  return x;
}

const META: Array<[string, GgufValue]> = [
  ['general.architecture', ggufValue.string('llama')],
  ['u8', ggufValue.uint8(255)],
  ['i8', ggufValue.int8(-128)],
  ['u16', ggufValue.uint16(65535)],
  ['i16', ggufValue.int16(-32768)],
  ['u32', ggufValue.uint32(4294967295)],
  ['i32', ggufValue.int32(-2147483648)],
  ['f32', ggufValue.float32(0.5)],
  ['f64', ggufValue.float64(Math.PI)],
  ['u64', ggufValue.uint64(2n ** 64n - 1n)],
  ['i64', ggufValue.int64(-(2n ** 63n))],
  ['bool', ggufValue.bool(true)],
  ['str', ggufValue.string('héllo ✓ 中文')],
  ['tokenizer.ggml.tokens', ggufValue.strings(['<s>', 'Ġthe', '', '中', '\n'])],
  ['ids', ggufValue.int32s([1, -2, 3])],
  ['scores', ggufValue.float32s([0.25, -1.5])],
  ['flags', { type: 'array', itemType: 'bool', value: [true, false] }],
  ['big', { type: 'array', itemType: 'uint64', value: [1n, 2n ** 40n] }],
];

function tensors(): { spec: GgufTensorToWrite; values: Float32Array }[] {
  const out: { spec: GgufTensorToWrite; values: Float32Array }[] = [];
  const types: GgmlType[] = ['F32', 'F16', 'BF16', 'Q8_0', 'Q4_0', 'Q5_0', 'Q4_K', 'Q5_K', 'Q6_K'];
  types.forEach((type, i) => {
    const shape = type.endsWith('_K') ? [3, 256] : [5, 64];
    const v = values(shape[0] * shape[1], i + 1);
    out.push({ spec: { name: `blk.${i}.w`, type, shape, data: quantizeRow(type, v) }, values: v });
  });
  const bias = values(7, 99);
  out.push({ spec: { name: 'bias', type: 'F32', shape: [7], data: () => quantizeRow('F32', bias) }, values: bias });
  return out;
}

test('write then read: every metadata type, every tensor type, tensor infos and data', () => {
  const dir = tmp();
  try {
    const ts = tensors();
    const path = join(dir, 'm.gguf');
    writeGguf(path, { metadata: META, tensors: ts.map((t) => t.spec) });
    const f = GgufFile.open(path);
    try {
      assert.equal(f.header.version, 3);
      assert.equal(f.header.alignment, 32);
      assert.deepEqual([...f.metadata.keys()], META.map(([k]) => k));
      for (const [k, v] of META) assert.deepEqual(f.metadata.get(k), k === 'f32' ? v : v, k);
      assert.equal(metaNumber(f.metadata, 'u32'), 4294967295);
      assert.equal(metaString(f.metadata, 'str'), 'héllo ✓ 中文');
      assert.deepEqual(metaStrings(f.metadata, 'tokenizer.ggml.tokens'), ['<s>', 'Ġthe', '', '中', '\n']);
      assert.deepEqual(metaNumbers(f.metadata, 'ids'), [1, -2, 3]);
      assert.throws(() => metaString(f.metadata, 'u8'), /"u8" is a uint8, expected a string/);
      assert.throws(() => metaNumber(f.metadata, 'u64'), /too large/);
      for (const { spec, values: v } of ts) {
        const info = f.requireTensor(spec.name);
        assert.equal(info.type, spec.type);
        assert.deepEqual(info.shape, spec.shape);
        assert.deepEqual(info.dims, [...spec.shape].reverse());
        assert.equal(info.offset % 32, 0);
        const want = dequantizeRow(spec.type, quantizeRow(spec.type, v), v.length);
        assert.deepEqual(f.readTensorF32(info), want, spec.name);
        assert.deepEqual(f.readTensorBytes(info), quantizeRow(spec.type, v));
        const into = new Uint8Array(info.byteLength);
        assert.equal(f.readTensorBytes(info, into), into);
        assert.deepEqual(into, quantizeRow(spec.type, v));
        assert.throws(() => f.readTensorBytes(info, new Uint8Array(info.byteLength + 1)), /output holds/);
      }
      assert.throws(() => f.requireTensor('nope'), /tensor "nope" is missing/);
    } finally {
      f.close();
    }
    // the in-memory encoder gives the same bytes
    assert.ok(readFileSync(path).equals(encodeGguf({ metadata: META, tensors: ts.map((t) => t.spec) })));
    // every tensor is padded, the last one included (llama.cpp reads padded sizes)
    assert.equal(readFileSync(path).length % 32, 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a non-default alignment is written as general.alignment and honoured on read; version 2 files read too', () => {
  const dir = tmp();
  try {
    const path = join(dir, 'a.gguf');
    const v = values(64, 3);
    writeGguf(path, { metadata: [['general.architecture', ggufValue.string('gpt2')]], tensors: [
      { name: 'a', type: 'F32', shape: [3], data: quantizeRow('F32', values(3, 1)) },
      { name: 'b', type: 'Q8_0', shape: [2, 32], data: quantizeRow('Q8_0', v) },
    ], alignment: 64 });
    const h = readGgufHeader(path);
    assert.equal(h.alignment, 64);
    assert.equal(h.tensors[1].offset % 64, 0);
    assert.equal(h.dataOffset % 64, 0);
    const bytes = readFileSync(path);
    bytes.writeUInt32LE(2, 4);
    writeFileSync(path, bytes);
    const f = GgufFile.open(path);
    assert.equal(f.header.version, 2);
    assert.deepEqual(f.readTensorF32('b'), dequantizeRow('Q8_0', quantizeRow('Q8_0', v), 64));
    f.close();
    assert.throws(() => encodeGguf({ metadata: [], tensors: [], alignment: 48 }), ConfigError);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('writer refuses bad input with the tensor or key named', () => {
  const w = (t: GgufTensorToWrite): Uint8Array => encodeGguf({ metadata: [], tensors: [t] });
  assert.throws(() => w({ name: 'x', type: 'Q4_K', shape: [2, 100], data: new Uint8Array(0) }), (e: Error) => e instanceof ShapeError && /"x"/.test(e.message) && /256/.test(e.message));
  assert.throws(() => w({ name: 'x', type: 'F32', shape: [2], data: new Uint8Array(4) }), /is 8 bytes, but its data has 4/);
  assert.throws(() => encodeGguf({ metadata: [['k', ggufValue.uint8(300)]], tensors: [] }), /"k" value 300 does not fit uint8/);
  assert.throws(() => encodeGguf({ metadata: [['k', ggufValue.bool(true)], ['k', ggufValue.bool(false)]], tensors: [] }), /"k" given twice/);
});

function smallFile(): Buffer {
  return Buffer.from(encodeGguf({
    metadata: [['general.architecture', ggufValue.string('llama')], ['tokens', ggufValue.strings(['a', 'b'])]],
    tensors: [{ name: 'w', type: 'Q8_0', shape: [1, 32], data: quantizeRow('Q8_0', values(32, 5)) }],
  }));
}

function expectBad(bytes: Uint8Array, pattern: RegExp): void {
  const dir = tmp();
  try {
    const path = join(dir, 'bad.gguf');
    writeFileSync(path, bytes);
    assert.throws(() => {
      const f = GgufFile.open(path);
      try {
        for (const t of f.tensors) f.readTensorF32(t);
      } finally {
        f.close();
      }
    }, (e: Error) => e instanceof FileFormatError && pattern.test(e.message) && e.message.includes(path), `expected ${pattern}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('corrupt files: magic, versions, absurd counts and lengths, unknown types, truncation at every byte', () => {
  const good = smallFile();
  expectBad(Buffer.from('PK\x03\x04' + 'x'.repeat(40), 'latin1'), /not a GGUF file \(it starts with "PK/);
  const v1 = Buffer.from(good);
  v1.writeUInt32LE(1, 4);
  expectBad(v1, /GGUF version 1 .* not supported/);
  const v9 = Buffer.from(good);
  v9.writeUInt32LE(9, 4);
  expectBad(v9, /GGUF version 9 is not supported; muse reads versions 2 and 3/);
  const be = Buffer.from(good);
  be.writeUInt32BE(3, 4);
  expectBad(be, /big-endian/);
  const manyTensors = Buffer.from(good);
  manyTensors.writeBigUInt64LE(2n ** 60n, 8);
  expectBad(manyTensors, /tensor count is 1152921504606846976, more tensors than the file could describe/);
  const manyKv = Buffer.from(good);
  manyKv.writeBigUInt64LE(2n ** 40n, 16);
  expectBad(manyKv, /metadata count/);
  const longKey = Buffer.from(good);
  longKey.writeBigUInt64LE(2n ** 50n, 24); // length of the first key
  expectBad(longKey, /length of metadata key #0 is 1125899906842624/);
  // the value type of the first entry ("general.architecture" string): 24 + 8 + 20
  const badType = Buffer.from(good);
  badType.writeUInt32LE(77, 24 + 8 + 20);
  expectBad(badType, /unknown value type 77/);
  // array length of "tokens": after key/type/string value of the first entry, key "tokens", type, item type
  const arrAt = 24 + 8 + 20 + 4 + 8 + 5 + 8 + 6 + 4 + 4;
  assert.equal(good.readBigUInt64LE(arrAt), 2n);
  const longArr = Buffer.from(good);
  longArr.writeBigUInt64LE(2n ** 62n, arrAt);
  expectBad(longArr, /length of array "tokens" .* more string items than the rest of the file could hold/);
  // every truncation gives a FileFormatError (never a RangeError or a hang); only the zero padding
  // after the last tensor (34 bytes of Q8_0 padded to 64) may be missing
  for (let n = 0; n < good.length - 30; n++) {
    expectBad(good.subarray(0, n), /truncated|shorter than a GGUF header/);
  }
});

test('a tensor type muse cannot decode is named, with the fix', () => {
  const good = smallFile();
  const h = (() => {
    const dir = tmp();
    const p = join(dir, 'g.gguf');
    writeFileSync(p, good);
    const hh = readGgufHeader(p);
    rmSync(dir, { recursive: true, force: true });
    return hh;
  })();
  // the tensor type field sits 12 bytes before the data section's header end: name, n_dims, ne[2], type, offset
  const typeAt = good.indexOf(Buffer.from('w', 'latin1'), 40) + 1 + 4 + 16;
  assert.equal(good.readUInt32LE(typeAt), 8);
  const q41 = Buffer.from(good);
  q41.writeUInt32LE(3, typeAt); // Q4_1: 20 bytes per 32 values — fits inside the 34 bytes + padding
  expectBad(q41, /tensor "w" is stored as Q4_1, which muse cannot read; muse reads F32, F16, BF16, Q8_0/);
  const unknown = Buffer.from(good);
  unknown.writeUInt32LE(200, typeAt);
  expectBad(unknown, /unknown ggml type 200/);
  assert.equal(h.tensors[0].typeName, 'Q8_0');
});
