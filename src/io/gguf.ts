/**
 * GGUF reader (ggml/docs/gguf.md; llama.cpp `gguf_init_from_file`): versions 2
 * and 3, little-endian. The header — typed key–value metadata and tensor
 * infos — is parsed with bounded reads (every count and length is checked
 * against the bytes left in the file before anything is allocated); tensor
 * data is read on demand, each tensor straight into its own buffer with
 * positioned reads (`fs.readSync` at the tensor's offset), never by loading
 * the whole file.
 *
 * Layout: `"GGUF"` magic, uint32 version, uint64 tensor count, uint64
 * metadata count; metadata entries (string key, uint32 value type, value);
 * tensor infos (string name, uint32 n_dims, uint64 ne[n_dims], uint32
 * ggml_type, uint64 offset relative to the data section); padding to
 * `general.alignment` (default 32); the data section. Strings are a uint64
 * byte length and UTF-8 bytes without a terminator.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { endianness } from 'node:os';
import { FileFormatError, ShapeError } from '../errors.js';
import { GGML_TYPE_NAMES, dequantizeRow, ggmlTypeFromId, rowBytes, type GgmlType } from '../quant/formats.js';
import {
  GGML_TYPE_TRAITS,
  GGUF_DEFAULT_ALIGNMENT,
  GGUF_SCALAR_SIZE,
  type GgufMetadata,
  type GgufScalarType,
  type GgufValue,
} from './gguf-types.js';

export { ggufValue, type GgufMetadata, type GgufValue, type GgufScalarType } from './gguf-types.js';

/** One tensor as the header describes it. */
export interface GgufTensorInfo {
  name: string;
  /** The storage type when muse can decode it; undefined for other ggml types (see `typeName`). */
  type: GgmlType | undefined;
  /** ggml's `enum ggml_type` value. */
  typeId: number;
  /** ggml's name of the type (`Q4_K`, `IQ2_XS`, …), or `type <id>` when unknown. */
  typeName: string;
  /** ggml order, `ne[0]` first: `dims[0]` is the row length (the contiguous dimension). */
  dims: number[];
  /** PyTorch order (dims reversed): a `[out, in]` weight has `dims = [in, out]`. */
  shape: number[];
  nElements: number;
  /** Bytes of the tensor's data (without padding); −1 when the type's size is unknown. */
  byteLength: number;
  /** Absolute file offset of the tensor's first byte. */
  offset: number;
}

/** A parsed GGUF header. */
export interface GgufHeader {
  path: string;
  version: 2 | 3;
  /** `general.alignment` or 32. */
  alignment: number;
  metadata: GgufMetadata;
  tensors: GgufTensorInfo[];
  /** Absolute file offset of the data section. */
  dataOffset: number;
  fileSize: number;
}

const GGUF_MAGIC = 0x46554747; // "GGUF" read as little-endian uint32
const MAX_DIMS = 4; // GGML_MAX_DIMS
const MAX_STRING = 1 << 28; // 256 MiB: far above any real key, token or chat template
const LITTLE_ENDIAN_HOST = endianness() === 'LE';

const TYPE_BY_ID: Record<number, GgufScalarType | 'array'> = {
  0: 'uint8', 1: 'int8', 2: 'uint16', 3: 'int16', 4: 'uint32', 5: 'int32', 6: 'float32', 7: 'bool', 8: 'string',
  9: 'array', 10: 'uint64', 11: 'int64', 12: 'float64',
};

/** Sequential reader over a file descriptor, buffering ahead; every read is bounded by the file size. */
class HeaderCursor {
  private buf = Buffer.alloc(0);
  private bufStart = 0;
  pos = 0;
  private readonly decoder = new TextDecoder('utf-8', { fatal: true });

  constructor(
    private readonly fd: number,
    readonly fileSize: number,
    private readonly bad: (problem: string) => FileFormatError,
  ) {}

  get left(): number {
    return this.fileSize - this.pos;
  }

  private ensure(n: number, what: string): void {
    if (n > this.left) {
      throw this.bad(`truncated: ${what} needs ${n} bytes at offset ${this.pos}, but the file ends at ${this.fileSize}`);
    }
    const end = this.pos + n;
    if (end <= this.bufStart + this.buf.length && this.pos >= this.bufStart) return;
    const want = Math.min(this.fileSize - this.pos, Math.max(n, 1 << 20));
    const next = Buffer.allocUnsafe(want);
    let got = 0;
    while (got < want) {
      const r = readSync(this.fd, next, got, want - got, this.pos + got);
      if (r === 0) break;
      got += r;
    }
    if (got < n) throw this.bad(`truncated: could read only ${got} of ${n} bytes at offset ${this.pos}`);
    this.buf = next.subarray(0, got);
    this.bufStart = this.pos;
  }

  private at(n: number, what: string): number {
    this.ensure(n, what);
    const o = this.pos - this.bufStart;
    this.pos += n;
    return o;
  }

  u8(what: string): number { const o = this.at(1, what); return this.buf.readUInt8(o); }
  i8(what: string): number { const o = this.at(1, what); return this.buf.readInt8(o); }
  u16(what: string): number { const o = this.at(2, what); return this.buf.readUInt16LE(o); }
  i16(what: string): number { const o = this.at(2, what); return this.buf.readInt16LE(o); }
  u32(what: string): number { const o = this.at(4, what); return this.buf.readUInt32LE(o); }
  i32(what: string): number { const o = this.at(4, what); return this.buf.readInt32LE(o); }
  f32(what: string): number { const o = this.at(4, what); return this.buf.readFloatLE(o); }
  f64(what: string): number { const o = this.at(8, what); return this.buf.readDoubleLE(o); }
  u64(what: string): bigint { const o = this.at(8, what); return this.buf.readBigUInt64LE(o); }
  i64(what: string): bigint { const o = this.at(8, what); return this.buf.readBigInt64LE(o); }

  /** A uint64 that must fit in a JS number and stay ≤ `limit`. */
  count(what: string, limit: number, limitReason: string): number {
    const v = this.u64(what);
    if (v > BigInt(limit)) throw this.bad(`${what} is ${v}, ${limitReason}`);
    return Number(v);
  }

  string(what: string): string {
    const n = this.count(`the length of ${what}`, Math.min(this.left - 8, MAX_STRING), `more than the ${Math.min(this.left - 8, MAX_STRING)} bytes that can follow (the file is truncated or corrupt)`);
    const o = this.at(n, what);
    try {
      return this.decoder.decode(this.buf.subarray(o, o + n));
    } catch {
      throw this.bad(`${what} is not valid UTF-8`);
    }
  }
}

function readValue(c: HeaderCursor, type: GgufScalarType, what: string): number | bigint | boolean | string {
  switch (type) {
    case 'uint8': return c.u8(what);
    case 'int8': return c.i8(what);
    case 'uint16': return c.u16(what);
    case 'int16': return c.i16(what);
    case 'uint32': return c.u32(what);
    case 'int32': return c.i32(what);
    case 'float32': return c.f32(what);
    case 'float64': return c.f64(what);
    case 'uint64': return c.u64(what);
    case 'int64': return c.i64(what);
    case 'bool': {
      const b = c.u8(what);
      if (b > 1) throw new FileFormatError(`${what}: a bool holds ${b}; expected 0 or 1`);
      return b === 1;
    }
    case 'string': return c.string(what);
  }
}

function valueType(c: HeaderCursor, key: string, bad: (p: string) => FileFormatError): GgufScalarType | 'array' {
  const id = c.u32(`the value type of "${key}"`);
  const t = TYPE_BY_ID[id];
  if (t === undefined) throw bad(`metadata "${key}" has unknown value type ${id} (GGUF defines 0–12)`);
  return t;
}

function readMetadataValue(c: HeaderCursor, key: string, bad: (p: string) => FileFormatError): GgufValue {
  const t = valueType(c, key, bad);
  if (t !== 'array') return { type: t, value: readValue(c, t, `metadata "${key}"`) } as GgufValue;
  const it = valueType(c, `${key}[]`, bad);
  if (it === 'array') throw bad(`metadata "${key}" is an array of arrays, which muse (like llama.cpp) does not read`);
  const minSize = it === 'string' ? 8 : GGUF_SCALAR_SIZE[it];
  const n = c.count(`the length of array "${key}"`, Math.floor((c.left - 8) / minSize), `more ${it} items than the rest of the file could hold (the file is truncated or corrupt)`);
  const value: Array<number | bigint | boolean | string> = new Array(n);
  for (let i = 0; i < n; i++) value[i] = readValue(c, it, `metadata "${key}"[${i}]`);
  return { type: 'array', itemType: it, value } as GgufValue;
}

/**
 * Parse a GGUF file's header (metadata and tensor infos); reads no tensor data.
 *
 * @param path the .gguf file
 * @throws FileFormatError naming the file and the problem: missing file, not
 *   GGUF (bad magic), an unsupported version (1, big-endian, or newer than
 *   3), a count or length larger than the file could hold, truncation, an
 *   unknown value type, duplicate keys or tensor names, a bad
 *   `general.alignment`, more than 4 dimensions, a tensor whose data lies
 *   outside the file, overlaps another or is misaligned
 */
export function readGgufHeader(path: string): GgufHeader {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new FileFormatError(`${path}: file not found`);
    throw new FileFormatError(`${path}: cannot open (${(err as Error).message})`);
  }
  try {
    return parseHeader(fd, path);
  } finally {
    closeSync(fd);
  }
}

function parseHeader(fd: number, path: string): GgufHeader {
  const bad = (problem: string): FileFormatError => new FileFormatError(`${path}: not a valid GGUF file: ${problem}`);
  const st = fstatSync(fd);
  if (st.isDirectory()) throw new FileFormatError(`${path}: is a directory, expected a .gguf file`);
  const fileSize = st.size;
  const c = new HeaderCursor(fd, fileSize, bad);
  if (fileSize < 24) throw bad(`the file is ${fileSize} bytes, shorter than a GGUF header (24 bytes)`);
  const magic = c.u32('the magic');
  if (magic !== GGUF_MAGIC) {
    const shown = Buffer.alloc(4);
    shown.writeUInt32LE(magic);
    throw new FileFormatError(`${path}: not a GGUF file (it starts with ${JSON.stringify(shown.toString('latin1'))}, not "GGUF")`);
  }
  const version = c.u32('the version');
  if (version === 1) {
    throw new FileFormatError(`${path}: GGUF version 1 (2023, 32-bit counts) is not supported; muse reads versions 2 and 3 — re-convert the model with a current llama.cpp`);
  }
  if (version !== 2 && version !== 3) {
    const swapped = ((version & 0xff) << 24) | ((version >>> 8) & 0xff) << 16 | ((version >>> 16) & 0xff) << 8 | (version >>> 24);
    if (swapped === 2 || swapped === 3) {
      throw new FileFormatError(`${path}: a big-endian GGUF file; muse reads little-endian GGUF (the kind llama.cpp writes on x86 and ARM)`);
    }
    throw new FileFormatError(`${path}: GGUF version ${version} is not supported; muse reads versions 2 and 3`);
  }
  const nTensors = c.count('the tensor count', Math.floor((fileSize - 24) / 24), 'more tensors than the file could describe (the file is truncated or corrupt)');
  const nKv = c.count('the metadata count', Math.floor((fileSize - 24) / 13), 'more metadata entries than the file could hold (the file is truncated or corrupt)');

  const metadata: GgufMetadata = new Map();
  for (let i = 0; i < nKv; i++) {
    const key = c.string(`metadata key #${i}`);
    if (metadata.has(key)) throw bad(`metadata key "${key}" appears twice`);
    metadata.set(key, readMetadataValue(c, key, bad));
  }

  let alignment = GGUF_DEFAULT_ALIGNMENT;
  const al = metadata.get('general.alignment');
  if (al !== undefined) {
    if (al.type !== 'uint32') throw bad(`general.alignment is a ${al.type}; the format requires uint32`);
    if (al.value === 0 || (al.value & (al.value - 1)) !== 0) throw bad(`general.alignment is ${al.value}; it must be a power of two`);
    alignment = al.value;
  }

  const tensors: GgufTensorInfo[] = [];
  const names = new Set<string>();
  for (let i = 0; i < nTensors; i++) {
    const name = c.string(`tensor name #${i}`);
    if (names.has(name)) throw bad(`tensor "${name}" appears twice`);
    names.add(name);
    const nDims = c.u32(`the dimension count of "${name}"`);
    if (nDims > MAX_DIMS) throw bad(`tensor "${name}" has ${nDims} dimensions; ggml tensors have at most ${MAX_DIMS}`);
    const dims: number[] = [];
    let nElements = 1;
    for (let d = 0; d < nDims; d++) {
      const ne = c.u64(`dimension ${d} of "${name}"`);
      if (ne > BigInt(Number.MAX_SAFE_INTEGER)) throw bad(`tensor "${name}" has dimension ${d} = ${ne}, beyond any real tensor`);
      dims.push(Number(ne));
      nElements *= Number(ne);
      if (nElements > Number.MAX_SAFE_INTEGER) throw bad(`tensor "${name}" has more than 2^53 elements`);
    }
    const typeId = c.u32(`the type of "${name}"`);
    const typeName = GGML_TYPE_NAMES[typeId] ?? `type ${typeId}`;
    const traits = GGML_TYPE_TRAITS[typeId];
    if (GGML_TYPE_NAMES[typeId] === undefined) throw bad(`tensor "${name}" has unknown ggml type ${typeId}`);
    const rel = c.u64(`the offset of "${name}"`);
    if (rel > BigInt(fileSize)) throw bad(`tensor "${name}" starts at data offset ${rel}, beyond the end of the file (${fileSize} bytes)`);
    let byteLength = -1;
    if (traits !== undefined) {
      const [bs, ts] = traits;
      if (dims.length > 0 && dims[0] % bs !== 0) {
        throw bad(`tensor "${name}" (${typeName}) has rows of ${dims[0]} values, not a multiple of the type's block size ${bs}`);
      }
      byteLength = (nElements / bs) * ts;
    }
    tensors.push({
      name,
      type: ggmlTypeFromId(typeId),
      typeId,
      typeName,
      dims,
      shape: [...dims].reverse(),
      nElements,
      byteLength,
      offset: Number(rel), // made absolute below
    });
  }
  const dataOffset = Math.ceil(c.pos / alignment) * alignment;
  // Check placement: aligned, inside the file, no overlaps (llama.cpp also requires file order; we only require sanity).
  const sorted = [...tensors].sort((a, b) => a.offset - b.offset);
  let prevEnd = 0;
  let prevName = '';
  for (const t of sorted) {
    if (t.offset % alignment !== 0) throw bad(`tensor "${t.name}" starts at data offset ${t.offset}, not a multiple of the alignment ${alignment}`);
    if (t.offset < prevEnd) throw bad(`tensors "${prevName}" and "${t.name}" overlap`);
    const end = t.offset + Math.max(0, t.byteLength);
    if (dataOffset + end > fileSize) {
      throw bad(`truncated: tensor "${t.name}" needs bytes up to ${dataOffset + end}, but the file has ${fileSize}; re-download or re-convert it`);
    }
    prevEnd = end;
    prevName = t.name;
  }
  for (const t of tensors) t.offset += dataOffset;
  return { path, version: version, alignment, metadata, tensors, dataOffset, fileSize };
}

/**
 * An open GGUF file: the parsed header plus positioned reads of tensor data.
 * Close it when done (`close()`); reads after close throw.
 */
export class GgufFile {
  readonly header: GgufHeader;
  private fd: number | undefined;
  private readonly byName: Map<string, GgufTensorInfo>;

  private constructor(header: GgufHeader, fd: number) {
    this.header = header;
    this.fd = fd;
    this.byName = new Map(header.tensors.map((t) => [t.name, t]));
  }

  /**
   * Open and parse a GGUF file.
   * @throws FileFormatError as {@link readGgufHeader}
   */
  static open(path: string): GgufFile {
    const header = readGgufHeader(path);
    return new GgufFile(header, openSync(path, 'r'));
  }

  get path(): string {
    return this.header.path;
  }

  get metadata(): GgufMetadata {
    return this.header.metadata;
  }

  get tensors(): GgufTensorInfo[] {
    return this.header.tensors;
  }

  /** The tensor info of `name`, or undefined. */
  tensor(name: string): GgufTensorInfo | undefined {
    return this.byName.get(name);
  }

  /**
   * The tensor info of `name`.
   * @throws FileFormatError naming the file and the missing tensor
   */
  requireTensor(name: string): GgufTensorInfo {
    const t = this.byName.get(name);
    if (!t) throw new FileFormatError(`${this.path}: tensor "${name}" is missing from the GGUF file`);
    return t;
  }

  private readInto(dst: Uint8Array, position: number): void {
    if (this.fd === undefined) throw new FileFormatError(`${this.path}: the GGUF file was closed`);
    let got = 0;
    while (got < dst.length) {
      const r = readSync(this.fd, dst, got, dst.length - got, position + got);
      if (r === 0) throw new FileFormatError(`${this.path}: truncated while reading tensor data at offset ${position + got}`);
      got += r;
    }
  }

  /**
   * The raw stored bytes of a tensor (its blocks as on disk), read into a new
   * buffer of exactly `byteLength` bytes, or into `out` when given.
   * @param out optional destination of exactly `byteLength` bytes
   * @throws FileFormatError when the tensor's type has no known size or the read fails
   * @throws ShapeError when `out` is not `byteLength` bytes long
   */
  readTensorBytes(info: GgufTensorInfo | string, out?: Uint8Array): Uint8Array {
    const t = typeof info === 'string' ? this.requireTensor(info) : info;
    if (t.byteLength < 0) throw this.unsupported(t);
    const y = out ?? new Uint8Array(t.byteLength);
    if (y.length !== t.byteLength) throw new ShapeError(`${t.name}: output holds ${y.length} bytes, the tensor ${t.byteLength}`);
    this.readInto(y, t.offset);
    return y;
  }

  /**
   * A tensor decoded to float32 (ggml order flattened: row-major with `dims[0]`
   * contiguous, i.e. the PyTorch layout of `shape`). F32 data is read straight
   * into the result; other types are read a few MiB of rows at a time and
   * decoded into it, so no full-size second copy exists.
   *
   * @param out optional destination of `nElements` values
   * @throws FileFormatError naming the tensor's type when muse cannot decode it
   */
  readTensorF32(info: GgufTensorInfo | string, out?: Float32Array): Float32Array {
    const t = typeof info === 'string' ? this.requireTensor(info) : info;
    if (t.type === undefined) throw this.unsupported(t);
    const y = out ?? new Float32Array(t.nElements);
    if (y.length !== t.nElements) throw new ShapeError(`${t.name}: output holds ${y.length} values, the tensor ${t.nElements}`);
    if (t.type === 'F32' && LITTLE_ENDIAN_HOST) {
      this.readInto(new Uint8Array(y.buffer, y.byteOffset, y.byteLength), t.offset);
      return y;
    }
    const rowLen = t.dims.length > 0 ? t.dims[0] : 1;
    const nRows = rowLen === 0 ? 0 : t.nElements / rowLen;
    const rb = rowBytes(t.type, rowLen);
    const rowsPerChunk = Math.max(1, Math.floor((4 << 20) / Math.max(1, rb)));
    const scratch = new Uint8Array(Math.min(nRows, rowsPerChunk) * rb);
    for (let r = 0; r < nRows; r += rowsPerChunk) {
      const k = Math.min(rowsPerChunk, nRows - r);
      const chunk = scratch.subarray(0, k * rb);
      this.readInto(chunk, t.offset + r * rb);
      dequantizeRow(t.type, chunk, k * rowLen, y.subarray(r * rowLen, (r + k) * rowLen));
    }
    return y;
  }

  private unsupported(t: GgufTensorInfo): FileFormatError {
    return new FileFormatError(
      `${this.path}: tensor "${t.name}" is stored as ${t.typeName}, which muse cannot read; ` +
        'muse reads F32, F16, BF16, Q8_0, Q4_0, Q5_0, Q4_K, Q5_K and Q6_K — re-quantize the model to one of these (e.g. llama-quantize … Q4_K_M)',
    );
  }

  /** Release the file descriptor. Idempotent. */
  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// Metadata accessors
// ---------------------------------------------------------------------------------------------

function describe(v: GgufValue): string {
  return v.type === 'array' ? `an array of ${v.itemType}` : `a ${v.type}`;
}

/**
 * A numeric metadata value as a number (any integer or float type; 64-bit
 * integers must be safe integers), or undefined when the key is absent.
 * @throws FileFormatError when the key holds a non-number
 */
export function metaNumber(meta: GgufMetadata, key: string, source = 'GGUF'): number | undefined {
  const v = meta.get(key);
  if (v === undefined) return undefined;
  if (v.type === 'uint64' || v.type === 'int64') {
    if (v.value > BigInt(Number.MAX_SAFE_INTEGER) || v.value < -BigInt(Number.MAX_SAFE_INTEGER)) {
      throw new FileFormatError(`${source}: metadata "${key}" = ${v.value} is too large`);
    }
    return Number(v.value);
  }
  if (v.type === 'array' || v.type === 'string' || v.type === 'bool') {
    throw new FileFormatError(`${source}: metadata "${key}" is ${describe(v)}, expected a number`);
  }
  return v.value as number;
}

/**
 * A required numeric metadata value.
 * @throws FileFormatError naming the key when absent or not a number
 */
export function requireMetaNumber(meta: GgufMetadata, key: string, source = 'GGUF'): number {
  const v = metaNumber(meta, key, source);
  if (v === undefined) throw new FileFormatError(`${source}: metadata "${key}" is missing`);
  return v;
}

/** A string metadata value, or undefined when absent. @throws FileFormatError when not a string */
export function metaString(meta: GgufMetadata, key: string, source = 'GGUF'): string | undefined {
  const v = meta.get(key);
  if (v === undefined) return undefined;
  if (v.type !== 'string') throw new FileFormatError(`${source}: metadata "${key}" is ${describe(v)}, expected a string`);
  return v.value;
}

/** A boolean metadata value, or undefined when absent. @throws FileFormatError when not a bool */
export function metaBool(meta: GgufMetadata, key: string, source = 'GGUF'): boolean | undefined {
  const v = meta.get(key);
  if (v === undefined) return undefined;
  if (v.type !== 'bool') throw new FileFormatError(`${source}: metadata "${key}" is ${describe(v)}, expected a bool`);
  return v.value;
}

/** A string-array metadata value, or undefined when absent. @throws FileFormatError when not an array of strings */
export function metaStrings(meta: GgufMetadata, key: string, source = 'GGUF'): string[] | undefined {
  const v = meta.get(key);
  if (v === undefined) return undefined;
  if (v.type !== 'array' || v.itemType !== 'string') throw new FileFormatError(`${source}: metadata "${key}" is ${describe(v)}, expected an array of strings`);
  return v.value;
}

/** A numeric-array metadata value as numbers, or undefined when absent. @throws FileFormatError when not a numeric array */
export function metaNumbers(meta: GgufMetadata, key: string, source = 'GGUF'): number[] | undefined {
  const v = meta.get(key);
  if (v === undefined) return undefined;
  if (v.type !== 'array' || v.itemType === 'string' || v.itemType === 'bool') {
    throw new FileFormatError(`${source}: metadata "${key}" is ${describe(v)}, expected an array of numbers`);
  }
  return (v.value as Array<number | bigint>).map((x) => Number(x));
}

/** A metadata value as a plain JS value (arrays as arrays), for display and JSON. */
export function metaPlain(v: GgufValue): number | string | boolean | Array<number | string | boolean> {
  if (v.type === 'array') return (v.value as Array<number | bigint | boolean | string>).map((x) => (typeof x === 'bigint' ? Number(x) : x));
  return typeof v.value === 'bigint' ? Number(v.value) : v.value;
}
