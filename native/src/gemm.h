// Single-precision GEMM: C = alpha·op(A)·op(B) + beta·C, batched.
#pragma once

#include "common.h"

namespace muse {

/**
 * A read-only matrix view: element (i, j) is p[i·rs + j·cs]. Transposes are
 * expressed by swapping the strides, so no transposed copy is ever made.
 */
struct MatView {
  const float* p;
  i64 rs;
  i64 cs;
  float at(i64 i, i64 j) const { return p[i * rs + j * cs]; }
};

/**
 * C (m×n, element (i, j) at c[i·rsC + j·csC]) = alpha·A·B + beta·C, with A m×k
 * and B k×n given as views. beta = 0 ignores C's old contents (NaN-safe).
 * Uses up to `threads` OpenMP threads (call from outside a parallel region
 * with threads > 1, or with threads = 1 from anywhere).
 */
void gemm_view(int m, int n, int k, float alpha, MatView A, MatView B, float beta, float* c, i64 rsC, i64 csC,
               int threads);

/**
 * The batched, row-major form of the kernel contract (see backend.ts
 * GemmParams): for b < batch, C[b] = alpha·op(A[b])·op(B[b]) + beta·C[b] where
 * A[b] starts at a + b·sa (likewise B, C); stride 0 broadcasts.
 */
void gemm_batched(const float* a, const float* b, float* c, int batch, int m, int n, int k, bool transA, bool transB,
                  float alpha, float beta, i64 sa, i64 sb, i64 sc);

/** Register-blocking shape of the packed microkernel, for docs and benches. */
const char* gemm_kernel_name();

}  // namespace muse
