import { ConfigError } from '../errors.js';
import { CsrMatrix } from './sparse.js';

/** A row norm: `l1` = Σ|x|, `l2` = √Σx², `max` = max|x|. */
export type Norm = 'l1' | 'l2' | 'max';

function rowNorm(values: ArrayLike<number>, start: number, end: number, norm: Norm): number {
  let s = 0;
  for (let k = start; k < end; k++) {
    const v = values[k];
    if (norm === 'l1') s += Math.abs(v);
    else if (norm === 'l2') s += v * v;
    else s = Math.max(s, Math.abs(v));
  }
  return norm === 'l2' ? Math.sqrt(s) : s;
}

function checkNorm(norm: string): asserts norm is Norm {
  if (norm !== 'l1' && norm !== 'l2' && norm !== 'max') throw new ConfigError(`norm must be 'l1', 'l2' or 'max', got ${JSON.stringify(norm)}`);
}

/**
 * scikit-learn's `preprocessing.normalize`: scale every row to unit norm; a
 * row whose norm is zero is left as it is.
 * @throws ConfigError on an unknown norm
 */
export function normalize(x: CsrMatrix, norm?: Norm): CsrMatrix;
export function normalize(x: number[][], norm?: Norm): number[][];
export function normalize(x: CsrMatrix | number[][], norm: Norm = 'l2'): CsrMatrix | number[][] {
  checkNorm(norm);
  if (x instanceof CsrMatrix) {
    const data = new Float64Array(x.data);
    for (let i = 0; i < x.rows; i++) {
      const a = x.indptr[i];
      const b = x.indptr[i + 1];
      const n = rowNorm(x.data, a, b, norm);
      if (n !== 0) for (let k = a; k < b; k++) data[k] = data[k] / n;
    }
    return new CsrMatrix(x.rows, x.cols, x.indptr, x.indices, data);
  }
  return x.map((row) => {
    const n = rowNorm(row, 0, row.length, norm);
    return n === 0 ? [...row] : row.map((v) => v / n);
  });
}

/**
 * scikit-learn's `Normalizer` transformer (stateless: `fit` learns nothing),
 * default norm `l2`, so it slots into a vectorize → normalize pipeline.
 */
export class Normalizer {
  constructor(readonly norm: Norm = 'l2') {
    checkNorm(norm);
  }
  /** No-op (kept for the scikit-learn interface). */
  fit(): this {
    return this;
  }
  transform(x: CsrMatrix): CsrMatrix;
  transform(x: number[][]): number[][];
  transform(x: CsrMatrix | number[][]): CsrMatrix | number[][] {
    return x instanceof CsrMatrix ? normalize(x, this.norm) : normalize(x, this.norm);
  }
  fitTransform(x: CsrMatrix): CsrMatrix;
  fitTransform(x: number[][]): number[][];
  fitTransform(x: CsrMatrix | number[][]): CsrMatrix | number[][] {
    return x instanceof CsrMatrix ? normalize(x, this.norm) : normalize(x, this.norm);
  }
}
