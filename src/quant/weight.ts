/**
 * A linear layer's weight as stored: ggml's storage types read in place.
 *
 * A {@link QuantizedWeight} is a `rows × cols` matrix in nn.Linear's
 * `[out, in]` layout whose rows are stored back to back in one of ggml's
 * types (F32, F16, BF16, Q8_0, Q4_0, Q5_0, Q4_K, Q5_K, Q6_K), with the blocks
 * running along `cols`. `bytes` is usually a view into a loaded GGUF file or
 * safetensors buffer: nothing is converted to float32 when a model loads.
 * {@link quantLinear} (src/quant/linear.ts) multiplies by it.
 */
import { ShapeError } from '../errors.js';
import { GGML_TYPE_ID, rowBytes, type GgmlType } from './formats.js';

/** A stored weight matrix `[rows, cols]` (`[out, in]`), rows contiguous in `type`. */
export interface QuantizedWeight {
  /** ggml storage type of `bytes`. */
  readonly type: GgmlType;
  /** Output features (rows of W). */
  readonly rows: number;
  /** Input features (elements per row; a multiple of the type's block size). */
  readonly cols: number;
  /** `rows · rowBytes(type, cols)` bytes (a view; any byte offset). */
  readonly bytes: Uint8Array;
}

/**
 * Wraps stored bytes as a {@link QuantizedWeight}, checking the size.
 * @param type ggml storage type
 * @param rows output features
 * @param cols input features (a multiple of the type's block size)
 * @param bytes at least `rows · rowBytes(type, cols)` bytes; only that prefix is kept
 * @throws ShapeError when `cols` is not a multiple of the block or `bytes` is too short
 */
export function quantizedWeight(type: GgmlType, rows: number, cols: number, bytes: Uint8Array): QuantizedWeight {
  const need = rows * rowBytes(type, cols);
  if (bytes.length < need) {
    throw new ShapeError(`a ${rows}×${cols} ${type} weight needs ${need} bytes, got ${bytes.length}`);
  }
  return { type, rows, cols, bytes: bytes.length === need ? bytes : bytes.subarray(0, need) };
}

/** A float32 `[rows, cols]` matrix viewed as an F32 {@link QuantizedWeight} (no copy). */
export function f32Weight(data: Float32Array, rows: number, cols: number): QuantizedWeight {
  if (data.length < rows * cols) throw new ShapeError(`a ${rows}×${cols} F32 weight needs ${rows * cols} values, got ${data.length}`);
  return { type: 'F32', rows, cols, bytes: new Uint8Array(data.buffer, data.byteOffset, rows * cols * 4) };
}

/** ggml's numeric type id of a weight (what the native kernels take). */
export function weightTypeId(w: QuantizedWeight): number {
  return GGML_TYPE_ID[w.type];
}

/** True when `x` is a {@link QuantizedWeight} (and not, e.g., a Tensor). */
export function isQuantizedWeight(x: unknown): x is QuantizedWeight {
  if (typeof x !== 'object' || x === null) return false;
  const w = x as Partial<QuantizedWeight>;
  return typeof w.type === 'string' && typeof w.rows === 'number' && typeof w.cols === 'number' && w.bytes instanceof Uint8Array;
}
