import { readFileSync } from 'node:fs';
import { endianness } from 'node:os';
import { ConfigError, FileFormatError, ShapeError } from '../errors.js';
import { writeFileAtomic } from './atomic.js';
import { parseJson } from './json.js';
import { floatToHalf, halfToFloat } from '../quant/half.js';

/** IEEE 754 float32 → binary16 bits, round to nearest even (PyTorch's `.half()`); kept here for the F16 writer's users. */
export { floatToHalf };

/**
 * The safetensors dtypes muse reads. F16/BF16/F64 are widened or narrowed to
 * F32 and I64 to I32 on read; muse writes only F32 and I32.
 */
export type StDType = 'F32' | 'I32' | 'F16' | 'BF16' | 'F64' | 'I64';

/**
 * One tensor as stored: row-major (C order), little-endian, `data.length`
 * equal to the product of `shape` (1 for a scalar, `shape = []`).
 */
export interface StTensor {
  dtype: 'F32' | 'I32';
  shape: number[];
  data: Float32Array | Int32Array;
}

/** Bytes per element of each dtype (the safetensors spec; Rust `Dtype::size`). */
const DTYPE_SIZE: Record<StDType, number> = { F32: 4, I32: 4, F16: 2, BF16: 2, F64: 8, I64: 8 };

/**
 * Rank of each dtype in the Rust library's `Dtype` enum, which orders tensors
 * in the file by descending rank ("descending alignment") and then by name.
 */
const DTYPE_RANK: Record<'F32' | 'I32' | 'F16', number> = { F16: 7, I32: 9, F32: 11 };

/** The Rust reader refuses headers above 100 MB; so do we (a corrupt length would otherwise allocate wildly). */
const MAX_HEADER_SIZE = 100_000_000;

const LITTLE_ENDIAN_HOST = endianness() === 'LE';

function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

function compareUtf8(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/**
 * Encode tensors as a safetensors file, byte-for-byte as Hugging Face's Rust
 * library (`safetensors::serialize`, used by `safetensors.torch.save_file` and
 * transformers' `save_pretrained`) lays it out:
 *
 * - 8 bytes: header length N, unsigned 64-bit little-endian;
 * - N bytes: compact JSON header `{"__metadata__":{…},"name":{"dtype":"F32",
 *   "shape":[…],"data_offsets":[begin,end]},…}`, padded with spaces so that N
 *   is a multiple of 8 (tensor data then starts 8-byte aligned);
 * - the tensor bytes, contiguous, in the header's order.
 *
 * Order: like the Rust library, by descending dtype rank (so F32 tensors come
 * before I32 ones) and then by name (UTF-8 byte order) — plain sorted-name
 * order when all tensors share a dtype, as model weights do. Metadata keys are
 * written sorted (Rust writes them in hash-map order, which is unspecified).
 *
 * @param tensors name → tensor; names must be non-empty and not `__metadata__`
 * @param metadata optional free-form string map (`{"format": "pt"}` is what
 *   transformers writes and expects)
 * @returns the whole file
 * @throws ShapeError when a tensor's data length is not the product of its shape
 * @throws ConfigError for a bad name, a dtype that does not match the typed
 *   array, a non-integer or negative dimension, or a non-string metadata value
 */
export function encodeSafetensors(
  tensors: Map<string, StTensor>,
  metadata?: Record<string, string>,
  opts: { floatDtype?: 'F32' | 'F16' } = {},
): Uint8Array {
  const half = opts.floatDtype === 'F16';
  // On-disk dtype of each tensor: F32 tensors become F16 when asked (halves a model's size for shipping).
  const diskDtype = (t: StTensor): 'F32' | 'I32' | 'F16' => (half && t.dtype === 'F32' ? 'F16' : t.dtype);
  const entries = [...tensors.entries()];
  for (const [name, t] of entries) {
    if (name === '' || name === '__metadata__') {
      throw new ConfigError(`safetensors: invalid tensor name ${JSON.stringify(name)}; use a non-empty name other than "__metadata__"`);
    }
    if (t.dtype !== 'F32' && t.dtype !== 'I32') {
      throw new ConfigError(`safetensors: tensor "${name}" has dtype ${String(t.dtype)}; muse writes F32 or I32`);
    }
    if ((t.dtype === 'F32') !== t.data instanceof Float32Array || (t.dtype === 'I32') !== t.data instanceof Int32Array) {
      throw new ConfigError(
        `safetensors: tensor "${name}" is declared ${t.dtype} but holds a ${t.data.constructor.name}; use Float32Array for F32 and Int32Array for I32`,
      );
    }
    for (const d of t.shape) {
      if (!Number.isSafeInteger(d) || d < 0) {
        throw new ConfigError(`safetensors: tensor "${name}" has shape [${t.shape.join(', ')}]; dimensions must be non-negative integers`);
      }
    }
    if (numel(t.shape) !== t.data.length) {
      throw new ShapeError(
        `safetensors: tensor "${name}" has shape [${t.shape.join(', ')}] (${numel(t.shape)} elements) but ${t.data.length} values`,
      );
    }
  }
  entries.sort(([an, a], [bn, b]) => DTYPE_RANK[diskDtype(b)] - DTYPE_RANK[diskDtype(a)] || compareUtf8(an, bn));

  const parts: string[] = [];
  if (metadata !== undefined) {
    const keys = Object.keys(metadata).sort(compareUtf8);
    for (const k of keys) {
      if (typeof metadata[k] !== 'string') {
        throw new ConfigError(`safetensors: metadata value for "${k}" is a ${typeof metadata[k]}; the format allows only strings`);
      }
    }
    parts.push(`"__metadata__":{${keys.map((k) => `${JSON.stringify(k)}:${JSON.stringify(metadata[k])}`).join(',')}}`);
  }
  let offset = 0;
  for (const [name, t] of entries) {
    const n = t.data.length * DTYPE_SIZE[diskDtype(t)];
    parts.push(`${JSON.stringify(name)}:{"dtype":"${diskDtype(t)}","shape":[${t.shape.join(',')}],"data_offsets":[${offset},${offset + n}]}`);
    offset += n;
  }
  const headerJson = Buffer.from(`{${parts.join(',')}}`, 'utf8');
  const headerLen = headerJson.length + ((8 - (headerJson.length % 8)) % 8);

  const out = new Uint8Array(8 + headerLen + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(headerLen), true);
  out.set(headerJson, 8);
  out.fill(0x20, 8 + headerJson.length, 8 + headerLen);
  let pos = 8 + headerLen;
  for (const [, t] of entries) {
    if (diskDtype(t) === 'F16') {
      const src = t.data as Float32Array;
      for (let i = 0; i < src.length; i++) view.setUint16(pos + 2 * i, floatToHalf(src[i]), true);
      pos += 2 * src.length;
      continue;
    }
    if (LITTLE_ENDIAN_HOST) {
      out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), pos);
    } else {
      for (let i = 0; i < t.data.length; i++) {
        if (t.data instanceof Float32Array) view.setFloat32(pos + 4 * i, t.data[i], true);
        else view.setInt32(pos + 4 * i, t.data[i], true);
      }
    }
    pos += t.data.byteLength;
  }
  return out;
}

interface HeaderEntry {
  name: string;
  dtype: StDType;
  shape: number[];
  begin: number;
  end: number;
}

/**
 * Decode a safetensors file, validating it as strictly as the Rust reader
 * (`SafeTensors::read_metadata`): offsets must tile the data section exactly,
 * without gaps, overlaps or trailing bytes.
 *
 * F16, BF16 and F64 tensors are converted to F32 (F64 rounds to nearest, as
 * PyTorch's `.float()`), I64 to I32 (an error if a value falls outside
 * [-2^31, 2^31)). Returned arrays never share memory with `bytes`, unless
 * `opts.share` is set: then F32 and I32 tensors are views into `bytes` (on a
 * little-endian host, when 4-byte aligned), so a loaded file is not copied a
 * second time.
 *
 * @param bytes the whole file
 * @param source what to call the file in error messages (its path)
 * @param opts.share return F32/I32 tensors as views into `bytes` instead of copies
 * @returns tensors in file order and the `__metadata__` map (`{}` if absent)
 * @throws FileFormatError naming `source` and the problem: shorter than 8
 *   bytes, header length beyond the file, invalid UTF-8 or JSON in the header,
 *   an unknown dtype, bad shape or offsets (overlapping, out of range, not
 *   matching shape × dtype size), truncated or trailing tensor data, or an
 *   I64 value that does not fit in I32
 */
export function decodeSafetensors(
  bytes: Uint8Array,
  source: string,
  opts: { share?: boolean } = {},
): { tensors: Map<string, StTensor>; metadata: Record<string, string> } {
  const { entries, dataStart, metadata, view } = parseSafetensorsHeader(bytes, source);
  const tensors = new Map<string, StTensor>();
  const bad = (problem: string): FileFormatError => new FileFormatError(`${source}: not a valid safetensors file: ${problem}`);
  for (const e of entries) {
    const at = dataStart + e.begin;
    const count = numel(e.shape);
    const shape = [...e.shape];
    const shareable = opts.share === true && LITTLE_ENDIAN_HOST && (bytes.byteOffset + at) % 4 === 0;
    switch (e.dtype) {
      case 'F32': {
        if (shareable) {
          tensors.set(e.name, { dtype: 'F32', shape, data: new Float32Array(bytes.buffer, bytes.byteOffset + at, count) });
          break;
        }
        const data = new Float32Array(count);
        if (LITTLE_ENDIAN_HOST) new Uint8Array(data.buffer).set(bytes.subarray(at, at + 4 * count));
        else for (let i = 0; i < count; i++) data[i] = view.getFloat32(at + 4 * i, true);
        tensors.set(e.name, { dtype: 'F32', shape, data });
        break;
      }
      case 'I32': {
        if (shareable) {
          tensors.set(e.name, { dtype: 'I32', shape, data: new Int32Array(bytes.buffer, bytes.byteOffset + at, count) });
          break;
        }
        const data = new Int32Array(count);
        if (LITTLE_ENDIAN_HOST) new Uint8Array(data.buffer).set(bytes.subarray(at, at + 4 * count));
        else for (let i = 0; i < count; i++) data[i] = view.getInt32(at + 4 * i, true);
        tensors.set(e.name, { dtype: 'I32', shape, data });
        break;
      }
      case 'F16': {
        const data = new Float32Array(count);
        for (let i = 0; i < count; i++) data[i] = halfToFloat(view.getUint16(at + 2 * i, true));
        tensors.set(e.name, { dtype: 'F32', shape, data });
        break;
      }
      case 'BF16': {
        // bfloat16 is the top half of a float32: shift the bits back into place.
        const data = new Float32Array(count);
        const bits = new Uint32Array(data.buffer);
        for (let i = 0; i < count; i++) bits[i] = view.getUint16(at + 2 * i, true) << 16;
        tensors.set(e.name, { dtype: 'F32', shape, data });
        break;
      }
      case 'F64': {
        const data = new Float32Array(count);
        for (let i = 0; i < count; i++) data[i] = view.getFloat64(at + 8 * i, true);
        tensors.set(e.name, { dtype: 'F32', shape, data });
        break;
      }
      case 'I64': {
        const data = new Int32Array(count);
        for (let i = 0; i < count; i++) {
          const v = view.getBigInt64(at + 8 * i, true);
          if (v < -2147483648n || v > 2147483647n) {
            throw bad(`tensor "${e.name}" (I64) holds ${v} at index ${i}, which does not fit in I32 (muse's integer type)`);
          }
          data[i] = Number(v);
        }
        tensors.set(e.name, { dtype: 'I32', shape, data });
        break;
      }
    }
  }
  return { tensors, metadata };
}

/** One tensor of a safetensors file as stored: its dtype, shape and a view of its bytes. */
export interface StRawTensor {
  dtype: StDType;
  shape: number[];
  /** Little-endian element bytes, a view into the file's bytes (no copy). */
  bytes: Uint8Array;
}

/**
 * Decode a safetensors file without converting anything: every tensor as
 * its stored dtype and a view of its bytes (what a loader that keeps F16 or
 * BF16 weights in half precision reads). Validated as {@link decodeSafetensors}.
 * @throws FileFormatError as {@link decodeSafetensors}
 */
export function decodeSafetensorsRaw(bytes: Uint8Array, source: string): { tensors: Map<string, StRawTensor>; metadata: Record<string, string> } {
  const { entries, dataStart, metadata } = parseSafetensorsHeader(bytes, source);
  const tensors = new Map<string, StRawTensor>();
  for (const e of entries) {
    tensors.set(e.name, { dtype: e.dtype, shape: [...e.shape], bytes: bytes.subarray(dataStart + e.begin, dataStart + e.end) });
  }
  return { tensors, metadata };
}

/** Validates a safetensors header and tensor table (see {@link decodeSafetensors}). */
function parseSafetensorsHeader(
  bytes: Uint8Array,
  source: string,
): { entries: HeaderEntry[]; dataStart: number; metadata: Record<string, string>; view: DataView } {
  const bad = (problem: string): FileFormatError => new FileFormatError(`${source}: not a valid safetensors file: ${problem}`);
  if (bytes.length < 8) {
    throw bad(`the file is ${bytes.length} bytes, shorter than the 8-byte header length field; re-save or re-download it`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n64 = view.getBigUint64(0, true);
  if (n64 > BigInt(bytes.length - 8)) {
    throw bad(`the header length is ${n64} bytes, beyond the end of the file (${bytes.length} bytes); the file is truncated or not safetensors`);
  }
  const n = Number(n64);
  if (n > MAX_HEADER_SIZE) throw bad(`the header is ${n} bytes, above the 100 MB limit of the format's reference reader`);
  let headerText: string;
  try {
    headerText = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + n));
  } catch {
    throw bad('the header is not valid UTF-8');
  }
  let header: unknown;
  try {
    header = parseJson(headerText, 'header');
  } catch (err) {
    throw bad(`invalid JSON header (${(err as Error).message.replace(/^header: /, '')})`);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) {
    throw bad('the JSON header is not an object');
  }

  const metadata: Record<string, string> = {};
  const entries: HeaderEntry[] = [];
  for (const [name, raw] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw bad('"__metadata__" is not an object');
      for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
        if (typeof v !== 'string') throw bad(`"__metadata__" value for "${k}" is not a string`);
        metadata[k] = v;
      }
      continue;
    }
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw bad(`the entry for tensor "${name}" is not an object`);
    const info = raw as Record<string, unknown>;
    const dtype = info['dtype'];
    if (typeof dtype !== 'string' || !(dtype in DTYPE_SIZE)) {
      throw bad(`tensor "${name}" has unknown dtype ${JSON.stringify(dtype)}; muse reads ${Object.keys(DTYPE_SIZE).join(', ')}`);
    }
    const shape = info['shape'];
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw bad(`tensor "${name}" has shape ${JSON.stringify(shape)}; expected an array of non-negative integers`);
    }
    const off = info['data_offsets'];
    if (!Array.isArray(off) || off.length !== 2 || !off.every((d) => Number.isSafeInteger(d) && d >= 0) || off[1] < off[0]) {
      throw bad(`tensor "${name}" has data_offsets ${JSON.stringify(off)}; expected [begin, end] with 0 <= begin <= end`);
    }
    entries.push({ name, dtype: dtype as StDType, shape: shape as number[], begin: off[0] as number, end: off[1] as number });
  }

  const dataStart = 8 + n;
  const found = bytes.length - dataStart;
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let expected = 0;
  let prev: HeaderEntry | undefined;
  for (const e of entries) {
    const want = numel(e.shape) * DTYPE_SIZE[e.dtype];
    if (e.end - e.begin !== want) {
      throw bad(
        `tensor "${e.name}" has shape [${e.shape.join(', ')}] of ${e.dtype} (${want} bytes) but data_offsets [${e.begin}, ${e.end}] span ${e.end - e.begin} bytes`,
      );
    }
    if (prev && e.begin < prev.end) {
      throw bad(`tensors "${prev.name}" [${prev.begin}, ${prev.end}] and "${e.name}" [${e.begin}, ${e.end}] overlap`);
    }
    if (e.begin > expected) {
      throw bad(`bytes [${expected}, ${e.begin}) of the data section belong to no tensor (gap before "${e.name}")`);
    }
    expected = e.end;
    prev = e;
  }
  if (expected > found) {
    throw bad(`truncated: expected ${expected} bytes of tensor data, found ${found}; re-save or re-download it`);
  }
  if (expected < found) {
    throw bad(`${found - expected} bytes of trailing data after the last tensor (the header describes ${expected} bytes of tensor data, found ${found})`);
  }

  return { entries, dataStart, metadata, view };
}

/**
 * Write tensors to a safetensors file atomically (temp file + rename, see
 * `writeFileAtomic`), in the layout of {@link encodeSafetensors}.
 *
 * @throws the errors of {@link encodeSafetensors} and the fs error of the write
 */
export function writeSafetensors(
  path: string,
  tensors: Map<string, StTensor>,
  metadata?: Record<string, string>,
  opts: { floatDtype?: 'F32' | 'F16' } = {},
): void {
  writeFileAtomic(path, encodeSafetensors(tensors, metadata, opts));
}

/**
 * Read a safetensors file (see {@link decodeSafetensors} for conversions;
 * `opts.share` keeps F32/I32 tensors as views into the file's one buffer).
 *
 * @throws FileFormatError when the file is missing, unreadable or invalid
 */
export function readSafetensors(path: string, opts: { share?: boolean } = {}): { tensors: Map<string, StTensor>; metadata: Record<string, string> } {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new FileFormatError(`${path}: file not found`);
    if (code === 'EISDIR') throw new FileFormatError(`${path}: is a directory, expected a .safetensors file`);
    throw new FileFormatError(`${path}: cannot read (${(err as Error).message})`);
  }
  return decodeSafetensors(bytes, path, opts);
}
