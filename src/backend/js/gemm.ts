import type { GemmParams } from '../backend.js';

/**
 * Reference batched GEMM (see {@link GemmParams}): plain loops with a float64
 * accumulator per output row, one loop order per transpose combination so the
 * innermost loop always walks contiguous memory where the layout allows it.
 * BLAS semantics: with `beta = 0` the old contents of C are never read.
 */
export function gemm(p: GemmParams): void {
  const { a, b, c, batch, m, n, k, transA, transB, alpha, beta } = p;
  const acc = new Float64Array(n);
  for (let bi = 0; bi < batch; bi++) {
    const ao = p.aOffset + bi * p.aBatchStride;
    const bo = p.bOffset + bi * p.bBatchStride;
    const co = p.cOffset + bi * p.cBatchStride;
    for (let i = 0; i < m; i++) {
      if (!transB) {
        // acc[j] = Σ_p op(A)[i,p] · B[p,j]  (B rows contiguous)
        acc.fill(0);
        for (let q = 0; q < k; q++) {
          const aiq = transA ? a[ao + q * m + i] : a[ao + i * k + q];
          if (aiq === 0) continue;
          const brow = bo + q * n;
          for (let j = 0; j < n; j++) acc[j] += aiq * b[brow + j];
        }
      } else {
        // acc[j] = Σ_p op(A)[i,p] · B[j,p]  (B stored [n, k]: a dot product per j)
        for (let j = 0; j < n; j++) {
          const brow = bo + j * k;
          let s = 0;
          if (!transA) {
            const arow = ao + i * k;
            for (let q = 0; q < k; q++) s += a[arow + q] * b[brow + q];
          } else {
            for (let q = 0; q < k; q++) s += a[ao + q * m + i] * b[brow + q];
          }
          acc[j] = s;
        }
      }
      const crow = co + i * n;
      if (beta === 0) {
        for (let j = 0; j < n; j++) c[crow + j] = alpha * acc[j];
      } else {
        for (let j = 0; j < n; j++) c[crow + j] = alpha * acc[j] + beta * c[crow + j];
      }
    }
  }
}
