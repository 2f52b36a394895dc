import { ShapeError } from '../errors.js';

/**
 * A compressed sparse row matrix (scipy's `csr_matrix` layout): row i's
 * nonzeros are `data[indptr[i] … indptr[i+1])` at columns
 * `indices[indptr[i] … indptr[i+1])`, columns ascending within a row.
 * Values are float64, as scikit-learn's tf-idf output.
 */
export class CsrMatrix {
  /**
   * @throws ShapeError when the arrays are inconsistent with the shape
   */
  constructor(
    readonly rows: number,
    readonly cols: number,
    readonly indptr: Int32Array,
    readonly indices: Int32Array,
    readonly data: Float64Array,
  ) {
    if (indptr.length !== rows + 1 || indptr[rows] !== indices.length || indices.length !== data.length) {
      throw new ShapeError(`CsrMatrix: indptr has ${indptr.length} entries for ${rows} rows, ${indices.length} indices and ${data.length} values; expected rows + 1 offsets ending at the number of values`);
    }
  }

  /** `[rows, cols]`. */
  get shape(): [number, number] {
    return [this.rows, this.cols];
  }

  /** Number of stored values. */
  get nnz(): number {
    return this.data.length;
  }

  /** Build from rows of (column → value) maps; zeros are dropped and columns sorted. */
  static fromRowMaps(rows: readonly ReadonlyMap<number, number>[], cols: number): CsrMatrix {
    const indptr = new Int32Array(rows.length + 1);
    let nnz = 0;
    for (const r of rows) for (const v of r.values()) if (v !== 0) nnz++;
    const indices = new Int32Array(nnz);
    const data = new Float64Array(nnz);
    let k = 0;
    rows.forEach((r, i) => {
      const entries = [...r.entries()].filter(([, v]) => v !== 0).sort((a, b) => a[0] - b[0]);
      for (const [c, v] of entries) {
        if (c < 0 || c >= cols) throw new ShapeError(`CsrMatrix: column ${c} outside [0, ${cols})`);
        indices[k] = c;
        data[k++] = v;
      }
      indptr[i + 1] = k;
    });
    return new CsrMatrix(rows.length, cols, indptr, indices, data);
  }

  /** Dense row-major float32 copy, `[rows · cols]` (what a tensor wraps: `fromArray(m.toFloat32(), m.shape)`). */
  toFloat32(): Float32Array {
    const out = new Float32Array(this.rows * this.cols);
    for (let i = 0; i < this.rows; i++) {
      for (let k = this.indptr[i]; k < this.indptr[i + 1]; k++) out[i * this.cols + this.indices[k]] = this.data[k]!;
    }
    return out;
  }

  /** Dense copy as nested arrays `[rows][cols]` (scipy's `toarray().tolist()`). */
  toDense(): number[][] {
    const out: number[][] = [];
    for (let i = 0; i < this.rows; i++) {
      const row = new Array<number>(this.cols).fill(0);
      for (let k = this.indptr[i]; k < this.indptr[i + 1]; k++) row[this.indices[k]] = this.data[k]!;
      out.push(row);
    }
    return out;
  }

  /** Row i as (column, value) pairs. */
  row(i: number): { indices: Int32Array; values: Float64Array } {
    if (!(i >= 0 && i < this.rows)) throw new ShapeError(`CsrMatrix.row: row ${i} outside [0, ${this.rows})`);
    return { indices: this.indices.subarray(this.indptr[i], this.indptr[i + 1]), values: this.data.subarray(this.indptr[i], this.indptr[i + 1]) };
  }

  /** Column sums (float64), `[cols]`. */
  columnSums(): Float64Array {
    const s = new Float64Array(this.cols);
    for (let k = 0; k < this.data.length; k++) s[this.indices[k]] += this.data[k];
    return s;
  }

  /** A copy with `fn` applied to every stored value (zeros stay zero). */
  mapValues(fn: (v: number, row: number, col: number) => number): CsrMatrix {
    const data = new Float64Array(this.data.length);
    for (let i = 0; i < this.rows; i++) {
      for (let k = this.indptr[i]; k < this.indptr[i + 1]; k++) data[k] = fn(this.data[k], i, this.indices[k]);
    }
    return new CsrMatrix(this.rows, this.cols, this.indptr, this.indices, data);
  }
}
