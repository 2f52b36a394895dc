/**
 * Turning float32 matrices into stored weights of a chosen ggml type (the
 * reference quantizers of formats.ts, row by row), including nn.Linear
 * `[out, in]` and HF Conv1D `[in, out]` layouts.
 */
import { quantizeRow, rowBytes, type GgmlType } from './formats.js';
import { quantizedWeight, type QuantizedWeight } from './weight.js';

/**
 * Stores a float32 `[rows, cols]` matrix as `type`.
 * @param data row-major values; with `transposed` the matrix is read as `[cols, rows]` (Conv1D's `[in, out]`) and stored as its transpose
 * @throws ShapeError when `cols` is not a multiple of the type's block size
 */
export function quantizeMatrix(data: Float32Array, rows: number, cols: number, type: GgmlType, transposed = false): QuantizedWeight {
  const rb = rowBytes(type, cols);
  const bytes = new Uint8Array(rows * rb);
  const row = new Float32Array(cols);
  for (let r = 0; r < rows; r++) {
    if (transposed) for (let c = 0; c < cols; c++) row[c] = data[c * rows + r]!;
    else row.set(data.subarray(r * cols, (r + 1) * cols));
    bytes.set(quantizeRow(type, row), r * rb);
  }
  return quantizedWeight(type, rows, cols, bytes);
}
