/**
 * GGUF writer (version 3, little-endian), laid out as llama.cpp's
 * `gguf_write_to_file` and gguf-py's `GGUFWriter` do: header, metadata in
 * the given order, tensor infos in the given order with offsets packed in
 * that order, zero padding to the alignment after the header and after every
 * tensor (the last one included, as llama.cpp expects).
 *
 * Tensors are encoded one at a time (a tensor's `data` may be a function
 * called when its turn comes), streamed to a temporary file beside the
 * target and renamed over it at the end, so a model larger than memory
 * allows can be written and a crash never leaves a half-written file.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { ConfigError, ShapeError } from '../errors.js';
import { GGML_TYPE_ID, rowBytes, type GgmlType } from '../quant/formats.js';
import { fsyncDirectory } from './atomic.js';
import {
  GGUF_DEFAULT_ALIGNMENT,
  GGUF_VALUE_TYPE_ID,
  type GgufMetadata,
  type GgufScalarType,
  type GgufValue,
} from './gguf-types.js';

/** One tensor to write. */
export interface GgufTensorToWrite {
  name: string;
  type: GgmlType;
  /** PyTorch order (`[out, in]` for a linear weight); written reversed as ggml's `ne`. */
  shape: number[];
  /** The encoded bytes (`quantizeRow(type, values)`), or a function producing them when the tensor is written. */
  data: Uint8Array | (() => Uint8Array);
}

/** A whole file to write. */
export interface GgufToWrite {
  /** Key → value in the order to write; `general.architecture` conventionally first. */
  metadata: GgufMetadata | Array<[string, GgufValue]>;
  tensors: GgufTensorToWrite[];
  /** Tensor data alignment in bytes (a power of two; default 32). A non-default value is also written as `general.alignment`. */
  alignment?: number;
}

const MAGIC = Buffer.from('GGUF', 'latin1');

function pad(n: number, a: number): number {
  return Math.ceil(n / a) * a;
}

/** Serializes header parts into growing byte chunks. */
class ByteSink {
  private chunks: Buffer[] = [];
  private cur = Buffer.allocUnsafe(1 << 16);
  private used = 0;
  length = 0;

  private room(n: number): void {
    if (this.used + n <= this.cur.length) return;
    this.chunks.push(this.cur.subarray(0, this.used));
    this.cur = Buffer.allocUnsafe(Math.max(1 << 16, n));
    this.used = 0;
  }

  u8(v: number): void { this.room(1); this.cur.writeUInt8(v, this.used); this.used += 1; this.length += 1; }
  i8(v: number): void { this.room(1); this.cur.writeInt8(v, this.used); this.used += 1; this.length += 1; }
  u16(v: number): void { this.room(2); this.cur.writeUInt16LE(v, this.used); this.used += 2; this.length += 2; }
  i16(v: number): void { this.room(2); this.cur.writeInt16LE(v, this.used); this.used += 2; this.length += 2; }
  u32(v: number): void { this.room(4); this.cur.writeUInt32LE(v, this.used); this.used += 4; this.length += 4; }
  i32(v: number): void { this.room(4); this.cur.writeInt32LE(v, this.used); this.used += 4; this.length += 4; }
  f32(v: number): void { this.room(4); this.cur.writeFloatLE(v, this.used); this.used += 4; this.length += 4; }
  f64(v: number): void { this.room(8); this.cur.writeDoubleLE(v, this.used); this.used += 8; this.length += 8; }
  u64(v: bigint | number): void { this.room(8); this.cur.writeBigUInt64LE(BigInt(v), this.used); this.used += 8; this.length += 8; }
  i64(v: bigint): void { this.room(8); this.cur.writeBigInt64LE(v, this.used); this.used += 8; this.length += 8; }
  bytes(b: Uint8Array): void { this.room(b.length); this.cur.set(b, this.used); this.used += b.length; this.length += b.length; }
  string(s: string): void {
    const b = Buffer.from(s, 'utf8');
    this.u64(b.length);
    this.bytes(b);
  }
  zeros(n: number): void { this.room(n); this.cur.fill(0, this.used, this.used + n); this.used += n; this.length += n; }

  finish(): Buffer {
    this.chunks.push(this.cur.subarray(0, this.used));
    return Buffer.concat(this.chunks);
  }
}

function checkRange(key: string, type: GgufScalarType, v: number | bigint): void {
  const ranges: Partial<Record<GgufScalarType, [number, number]>> = {
    uint8: [0, 255], int8: [-128, 127], uint16: [0, 65535], int16: [-32768, 32767],
    uint32: [0, 4294967295], int32: [-2147483648, 2147483647],
  };
  const r = ranges[type];
  if (r && (typeof v !== 'number' || !Number.isInteger(v) || v < r[0] || v > r[1])) {
    throw new ConfigError(`gguf: metadata "${key}" value ${String(v)} does not fit ${type} [${r[0]}, ${r[1]}]`);
  }
  if (type === 'uint64' && (typeof v !== 'bigint' || v < 0n || v >= 1n << 64n)) throw new ConfigError(`gguf: metadata "${key}" value ${String(v)} does not fit uint64`);
  if (type === 'int64' && (typeof v !== 'bigint' || v < -(1n << 63n) || v >= 1n << 63n)) throw new ConfigError(`gguf: metadata "${key}" value ${String(v)} does not fit int64`);
}

function writeScalar(s: ByteSink, key: string, type: GgufScalarType, v: number | bigint | boolean | string): void {
  switch (type) {
    case 'string':
      if (typeof v !== 'string') throw new ConfigError(`gguf: metadata "${key}" is declared string but holds a ${typeof v}`);
      s.string(v);
      return;
    case 'bool':
      if (typeof v !== 'boolean') throw new ConfigError(`gguf: metadata "${key}" is declared bool but holds a ${typeof v}`);
      s.u8(v ? 1 : 0);
      return;
    case 'float32':
    case 'float64':
      if (typeof v !== 'number') throw new ConfigError(`gguf: metadata "${key}" is declared ${type} but holds a ${typeof v}`);
      if (type === 'float32') s.f32(v);
      else s.f64(v);
      return;
    default:
      if (typeof v !== 'number' && typeof v !== 'bigint') throw new ConfigError(`gguf: metadata "${key}" is declared ${type} but holds a ${typeof v}`);
      checkRange(key, type, v);
  }
  switch (type) {
    case 'uint8': s.u8(v as number); break;
    case 'int8': s.i8(v as number); break;
    case 'uint16': s.u16(v as number); break;
    case 'int16': s.i16(v as number); break;
    case 'uint32': s.u32(v as number); break;
    case 'int32': s.i32(v as number); break;
    case 'uint64': s.u64(v); break;
    case 'int64': s.i64(v as bigint); break;
  }
}

interface Planned {
  t: GgufTensorToWrite;
  dims: number[];
  bytes: number;
  offset: number;
}

/** Validate and lay out the file; returns the header bytes (padded) and each tensor's placement. */
function plan(file: GgufToWrite): { header: Buffer; tensors: Planned[]; alignment: number } {
  const alignment = file.alignment ?? GGUF_DEFAULT_ALIGNMENT;
  if (!Number.isInteger(alignment) || alignment <= 0 || (alignment & (alignment - 1)) !== 0) {
    throw new ConfigError(`gguf: alignment ${alignment} must be a power of two`);
  }
  const entries: Array<[string, GgufValue]> = file.metadata instanceof Map ? [...file.metadata.entries()] : [...file.metadata];
  const keys = new Set<string>();
  for (const [k] of entries) {
    if (keys.has(k)) throw new ConfigError(`gguf: metadata key "${k}" given twice`);
    keys.add(k);
  }
  const al = entries.find(([k]) => k === 'general.alignment');
  if (al) {
    if (al[1].type !== 'uint32' || al[1].value !== alignment) {
      throw new ConfigError(`gguf: metadata general.alignment must be uint32 ${alignment} (the alignment the file is written with)`);
    }
  } else if (alignment !== GGUF_DEFAULT_ALIGNMENT) {
    entries.push(['general.alignment', { type: 'uint32', value: alignment }]);
  }

  const s = new ByteSink();
  s.bytes(MAGIC);
  s.u32(3);
  s.u64(file.tensors.length);
  s.u64(entries.length);
  for (const [key, v] of entries) {
    s.string(key);
    s.u32(GGUF_VALUE_TYPE_ID[v.type]);
    if (v.type === 'array') {
      s.u32(GGUF_VALUE_TYPE_ID[v.itemType]);
      s.u64(v.value.length);
      for (const item of v.value) writeScalar(s, key, v.itemType, item);
    } else {
      writeScalar(s, key, v.type, v.value);
    }
  }
  const names = new Set<string>();
  const planned: Planned[] = [];
  let offset = 0;
  for (const t of file.tensors) {
    if (names.has(t.name)) throw new ConfigError(`gguf: tensor "${t.name}" given twice`);
    names.add(t.name);
    if (t.shape.length < 1 || t.shape.length > 4) throw new ShapeError(`gguf: tensor "${t.name}" has ${t.shape.length} dimensions; ggml tensors have 1 to 4`);
    for (const d of t.shape) {
      if (!Number.isSafeInteger(d) || d < 0) throw new ShapeError(`gguf: tensor "${t.name}" has shape [${t.shape.join(', ')}]; dimensions must be non-negative integers`);
    }
    if (!(t.type in GGML_TYPE_ID)) throw new ConfigError(`gguf: tensor "${t.name}" has unsupported type ${String(t.type)}`);
    const dims = [...t.shape].reverse();
    const n = t.shape.reduce((a, b) => a * b, 1);
    let bytes: number;
    try {
      bytes = (n === 0 ? 0 : rowBytes(t.type, dims[0]) * (n / dims[0]));
    } catch (err) {
      throw new ShapeError(`gguf: tensor "${t.name}" [${t.shape.join(', ')}]: ${(err as Error).message}`);
    }
    s.string(t.name);
    s.u32(dims.length);
    for (const d of dims) s.u64(d);
    s.u32(GGML_TYPE_ID[t.type]);
    s.u64(offset);
    planned.push({ t, dims, bytes, offset });
    offset += pad(bytes, alignment);
  }
  s.zeros(pad(s.length, alignment) - s.length);
  return { header: s.finish(), tensors: planned, alignment };
}

function tensorBytes(p: Planned): Uint8Array {
  const data = typeof p.t.data === 'function' ? p.t.data() : p.t.data;
  if (data.length !== p.bytes) {
    throw new ShapeError(`gguf: tensor "${p.t.name}" [${p.t.shape.join(', ')}] as ${p.t.type} is ${p.bytes} bytes, but its data has ${data.length}`);
  }
  return data;
}

/**
 * Encode a whole GGUF file in memory (small files and tests; use
 * {@link writeGguf} for models).
 * @throws ConfigError / ShapeError as {@link writeGguf}
 */
export function encodeGguf(file: GgufToWrite): Uint8Array {
  const { header, tensors, alignment } = plan(file);
  const parts: Uint8Array[] = [header];
  for (const p of tensors) {
    const d = tensorBytes(p);
    parts.push(d);
    parts.push(new Uint8Array(pad(d.length, alignment) - d.length));
  }
  return Buffer.concat(parts);
}

/**
 * Write a GGUF v3 file, streaming tensors one at a time to a temporary file
 * and renaming it over `path` (atomic; the parent directory is created).
 *
 * @param path target .gguf file
 * @param file metadata and tensors (see {@link GgufToWrite})
 * @param options `fsync`: flush to disk before the rename (default false)
 * @throws ConfigError for duplicate keys or names, a value that does not fit
 *   its declared type, a bad alignment or an unsupported tensor type
 * @throws ShapeError when a tensor's row length is not a multiple of its
 *   type's block size or its data length does not match its shape and type
 */
export function writeGguf(path: string, file: GgufToWrite, options: { fsync?: boolean } = {}): void {
  const { header, tensors, alignment } = plan(file);
  const dir = dirname(path);
  mkdirSync(dir, { recursive: true });
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${Date.now()}.tmp`);
  const fd = openSync(tmp, 'w');
  try {
    const writeAll = (b: Uint8Array): void => {
      let off = 0;
      while (off < b.length) off += writeSync(fd, b, off, b.length - off);
    };
    writeAll(header);
    const zeros = new Uint8Array(alignment);
    for (const p of tensors) {
      const d = tensorBytes(p);
      writeAll(d);
      const padBytes = pad(d.length, alignment) - d.length;
      if (padBytes) writeAll(zeros.subarray(0, padBytes));
    }
    if (options.fsync) fsyncSync(fd);
    closeSync(fd);
    renameSync(tmp, path);
  } catch (err) {
    try {
      closeSync(fd);
    } catch {
      // already closed
    }
    rmSync(tmp, { force: true });
    throw err;
  }
  if (options.fsync) fsyncDirectory(dir);
}
