import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileFormatError, ShapeError, ConfigError } from '../../src/errors.js';
import {
  decodeSafetensors,
  encodeSafetensors,
  readSafetensors,
  writeSafetensors,
  type StTensor,
} from '../../src/io/safetensors.js';

const HF = '/work/shared/hf-checkpoints';
const FIX = new URL('../fixtures/io/', import.meta.url).pathname;

function f32(shape: number[], values: number[]): StTensor {
  return { dtype: 'F32', shape, data: Float32Array.from(values) };
}

/** Build a file by hand from a header object and a data section, for the validation tests. */
function rawFile(header: unknown, data: Uint8Array, lengthOverride?: bigint): Uint8Array {
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, lengthOverride ?? BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

// Byte vectors from the Rust library's own unit tests (safetensors/src/tensor.rs:
// test_serialization, test_empty, test_serialization_forced_alignement).
test('encode matches the Rust library byte for byte (its unit-test vectors)', () => {
  const data = [0, 1, 2, 3, 4, 5];
  assert.deepEqual(
    [...encodeSafetensors(new Map([['attn.0', f32([1, 2, 3], data)]]))],
    [
      64, 0, 0, 0, 0, 0, 0, 0, 123, 34, 97, 116, 116, 110, 46, 48, 34, 58, 123, 34, 100, 116, 121, 112, 101, 34, 58, 34,
      70, 51, 50, 34, 44, 34, 115, 104, 97, 112, 101, 34, 58, 91, 49, 44, 50, 44, 51, 93, 44, 34, 100, 97, 116, 97, 95,
      111, 102, 102, 115, 101, 116, 115, 34, 58, 91, 48, 44, 50, 52, 93, 125, 125, 0, 0, 0, 0, 0, 0, 128, 63, 0, 0, 0, 64,
      0, 0, 64, 64, 0, 0, 128, 64, 0, 0, 160, 64,
    ],
  );
  assert.deepEqual([...encodeSafetensors(new Map())], [8, 0, 0, 0, 0, 0, 0, 0, 123, 125, 32, 32, 32, 32, 32, 32]);
  assert.deepEqual(
    [...encodeSafetensors(new Map(), { framework: 'pt' })],
    [
      40, 0, 0, 0, 0, 0, 0, 0, 123, 34, 95, 95, 109, 101, 116, 97, 100, 97, 116, 97, 95, 95, 34, 58, 123, 34, 102, 114,
      97, 109, 101, 119, 111, 114, 107, 34, 58, 34, 112, 116, 34, 125, 125, 32, 32, 32, 32, 32,
    ],
  );
  assert.deepEqual(
    [...encodeSafetensors(new Map([['attn0', f32([1, 1, 2, 3], data)]]))],
    [
      72, 0, 0, 0, 0, 0, 0, 0, 123, 34, 97, 116, 116, 110, 48, 34, 58, 123, 34, 100, 116, 121, 112, 101, 34, 58, 34, 70,
      51, 50, 34, 44, 34, 115, 104, 97, 112, 101, 34, 58, 91, 49, 44, 49, 44, 50, 44, 51, 93, 44, 34, 100, 97, 116, 97,
      95, 111, 102, 102, 115, 101, 116, 115, 34, 58, 91, 48, 44, 50, 52, 93, 125, 125, 32, 32, 32, 32, 32, 32, 32, 0, 0,
      0, 0, 0, 0, 128, 63, 0, 0, 0, 64, 0, 0, 64, 64, 0, 0, 128, 64, 0, 0, 160, 64,
    ],
  );
});

test('orders tensors like the Rust library: F32 before I32, then by name', () => {
  const bytes = encodeSafetensors(
    new Map<string, StTensor>([
      ['b', { dtype: 'I32', shape: [1], data: Int32Array.of(1) }],
      ['c', f32([1], [1])],
      ['a', f32([1], [2])],
      ['a2', { dtype: 'I32', shape: [1], data: Int32Array.of(3) }],
    ]),
  );
  const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  const header = JSON.parse(Buffer.from(bytes.subarray(8, 8 + n)).toString('utf8')) as Record<string, unknown>;
  assert.deepEqual(Object.keys(header), ['a', 'c', 'a2', 'b']);
});

const hfDirs = existsSync(HF) ? readdirSync(HF).filter((d) => existsSync(join(HF, d, 'model.safetensors'))) : [];
if (hfDirs.length === 0) console.log(`# skipping HF checkpoint tests: ${HF} not found`);

for (const dir of hfDirs) {
  test(`reads ${dir}/model.safetensors (saved by HF's Rust library) and re-encodes it byte for byte`, () => {
    const path = join(HF, dir, 'model.safetensors');
    const original = readFileSync(path);
    const { tensors, metadata } = readSafetensors(path);
    assert.deepEqual(metadata, { format: 'pt' });
    for (const [name, t] of tensors) {
      assert.equal(t.dtype, 'F32');
      assert.equal(t.data.length, t.shape.reduce((a, b) => a * b, 1));
      // transformers' init: LayerNorm weight 1, LayerNorm/linear biases 0
      if (/(ln_\w+|LayerNorm)\.weight$/.test(name)) assert.ok(t.data.every((v) => v === 1), name);
      if (/\.bias$/.test(name)) assert.ok(t.data.every((v) => v === 0), name);
    }
    assert.deepEqual(Buffer.from(encodeSafetensors(tensors, metadata)), original);
  });
}

test('known shapes and values of the HF checkpoints', { skip: hfDirs.length === 0 }, () => {
  const gpt2 = readSafetensors(join(HF, 'lmbuddy-fake-gpt2/model.safetensors')).tensors;
  assert.equal(gpt2.size, 16);
  assert.deepEqual(gpt2.get('transformer.wte.weight')!.shape, [50257, 2]);
  assert.deepEqual(gpt2.get('transformer.wpe.weight')!.shape, [1024, 2]);
  assert.deepEqual(gpt2.get('transformer.h.0.attn.c_attn.weight')!.shape, [2, 6]);
  const wte = gpt2.get('transformer.wte.weight')!.data;
  // initializer_range 0.02: a normal sample of 100k values has std ~0.02
  let s = 0;
  for (const v of wte) s += v * v;
  const std = Math.sqrt(s / wte.length);
  assert.ok(Math.abs(std - 0.02) < 0.001, `std ${std}`);
  const bert = readSafetensors(join(HF, 'lmbuddy-bert-tiniest/model.safetensors')).tensors;
  assert.deepEqual(bert.get('bert.embeddings.word_embeddings.weight')!.shape, [30522, 4]);
  assert.deepEqual(bert.get('cls.predictions.bias')!.shape, [30522]);
  assert.deepEqual(bert.get('bert.encoder.layer.0.intermediate.dense.weight')!.shape, [8, 4]);
});

test('F16/BF16/F64/I64 convert like PyTorch (fixture made with torch, out-of-order offsets)', () => {
  const expected = JSON.parse(readFileSync(join(FIX, 'dtypes.expected.json'), 'utf8')) as {
    metadata: Record<string, string>;
    tensors: Record<string, { dtype: string; shape: number[]; f32_bits?: number[]; values?: number[] }>;
  };
  const { tensors, metadata } = readSafetensors(join(FIX, 'dtypes.safetensors'));
  assert.deepEqual(metadata, expected.metadata);
  assert.deepEqual([...tensors.keys()].sort(), Object.keys(expected.tensors).sort());
  for (const [name, want] of Object.entries(expected.tensors)) {
    const got = tensors.get(name)!;
    assert.equal(got.dtype, want.dtype, name);
    assert.deepEqual(got.shape, want.shape, name);
    if (want.f32_bits) {
      const bits = new Int32Array(got.data.buffer, got.data.byteOffset, got.data.length);
      want.f32_bits.forEach((b, i) => {
        if (Number.isNaN(new Float32Array(Int32Array.of(b).buffer)[0])) assert.ok(Number.isNaN(got.data[i]), `${name}[${i}]`);
        else assert.equal(bits[i], b, `${name}[${i}]`);
      });
    } else {
      assert.deepEqual([...got.data], want.values, name);
    }
  }
});

test('an I64 value beyond I32 is an error naming the tensor and value', () => {
  assert.throws(
    () => readSafetensors(join(FIX, 'i64-overflow.safetensors')),
    (e: unknown) => e instanceof FileFormatError && /"ids".*2147483648.*index 2/.test(e.message),
  );
});

test('write then read round-trips, atomically, with metadata', () => {
  const dir = mkdtempSync(join(tmpdir(), 'muse-st-'));
  try {
    const path = join(dir, 'sub', 'm.safetensors');
    const tensors = new Map<string, StTensor>([
      ['w', f32([2, 2], [1, -2, 3.5, Number.NEGATIVE_INFINITY])],
      ['ids', { dtype: 'I32', shape: [3], data: Int32Array.of(-1, 0, 2147483647) }],
      ['s', f32([], [7])],
      ['z', f32([0, 4], [])],
      ['名字', f32([1], [0.5])],
    ]);
    writeSafetensors(path, tensors, { format: 'pt', b: 'x' });
    assert.deepEqual(readdirSync(join(dir, 'sub')), ['m.safetensors']);
    const back = readSafetensors(path);
    assert.deepEqual(back.metadata, { b: 'x', format: 'pt' });
    for (const [name, t] of tensors) assert.deepEqual(back.tensors.get(name), t, name);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('encode rejects inconsistent tensors', () => {
  assert.throws(() => encodeSafetensors(new Map([['a', f32([2, 2], [1, 2, 3])]])), ShapeError);
  assert.throws(
    () => encodeSafetensors(new Map([['a', { dtype: 'I32', shape: [1], data: Float32Array.of(1) }]])),
    ConfigError,
  );
  assert.throws(() => encodeSafetensors(new Map([['__metadata__', f32([1], [1])]])), ConfigError);
  assert.throws(() => encodeSafetensors(new Map([['a', f32([-1], [])]])), ConfigError);
});

function expectBad(bytes: Uint8Array, pattern: RegExp): void {
  assert.throws(
    () => decodeSafetensors(bytes, 'x/model.safetensors'),
    (e: unknown) => e instanceof FileFormatError && e.message.startsWith('x/model.safetensors: ') && pattern.test(e.message),
  );
}

test('validation errors name the file and the problem', () => {
  const good = encodeSafetensors(new Map([['a', f32([2], [1, 2])], ['b', f32([1], [3])]]));
  expectBad(new Uint8Array(5), /5 bytes, shorter than the 8-byte header/);
  expectBad(rawFile({}, new Uint8Array(0), 1000n), /header length is 1000 bytes, beyond the end of the file \(10 bytes\)/);
  expectBad(rawFile({}, new Uint8Array(0), 2n ** 63n), /beyond the end of the file/);
  const notJson = new Uint8Array(16);
  notJson.set([8], 0);
  notJson.set(Buffer.from('{"a":}  '), 8);
  expectBad(notJson, /invalid JSON header .*line 1, column 6/);
  expectBad(rawFile({ a: { dtype: 'Q8', shape: [1], data_offsets: [0, 1] } }, new Uint8Array(1)), /unknown dtype "Q8"/);
  expectBad(rawFile({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 4] } }, new Uint8Array(4)), /shape \[2\] of F32 \(8 bytes\).*span 4 bytes/);
  expectBad(
    rawFile(
      { a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } },
      new Uint8Array(8),
    ),
    /"a" \[0, 8\] and "b" \[4, 8\] overlap/,
  );
  expectBad(rawFile({ a: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, new Uint8Array(8)), /bytes \[0, 4\) .* belong to no tensor/);
  expectBad(rawFile({ a: { dtype: 'F32', shape: [1], data_offsets: [0, -4] } }, new Uint8Array(4)), /data_offsets \[0,-4\]/);
  expectBad(good.subarray(0, good.length - 5), /truncated: expected 12 bytes of tensor data, found 7/);
  const padded = new Uint8Array(good.length + 4);
  padded.set(good);
  expectBad(padded, /4 bytes of trailing data/);
  expectBad(rawFile({ __metadata__: { a: 1 } }, new Uint8Array(0)), /"__metadata__" value for "a" is not a string/);
  expectBad(rawFile([1], new Uint8Array(0)), /not an object/);
});

test('reading a missing file says so', () => {
  assert.throws(() => readSafetensors('/nonexistent/model.safetensors'), /\/nonexistent\/model.safetensors: file not found/);
});

test('decoded arrays do not share memory with the input bytes', () => {
  const bytes = encodeSafetensors(new Map([['a', f32([2], [1, 2])]]));
  const t = decodeSafetensors(bytes, 'mem').tensors.get('a')!;
  bytes.fill(0);
  assert.deepEqual([...t.data], [1, 2]);
});

test('a file written here parses with an independent JSON reading of the spec', () => {
  // Spec check without our decoder: header length, 8-byte alignment, offsets tile the data.
  const bytes = encodeSafetensors(new Map([['x', f32([3], [1, 2, 3])], ['y', { dtype: 'I32', shape: [1], data: Int32Array.of(9) }]]), { format: 'pt' });
  const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  assert.equal((8 + n) % 8, 0);
  const header = JSON.parse(Buffer.from(bytes.subarray(8, 8 + n)).toString()) as Record<string, { data_offsets: number[] }>;
  assert.deepEqual(header['x'].data_offsets, [0, 12]);
  assert.deepEqual(header['y'].data_offsets, [12, 16]);
  assert.equal(bytes.length, 8 + n + 16);
  assert.equal(Buffer.from(bytes).readInt32LE(8 + n + 12), 9);
  assert.equal(Buffer.from(bytes).readFloatLE(8 + n + 4), 2);
});

