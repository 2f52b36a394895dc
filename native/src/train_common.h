// Pieces shared by the whole-step training kernels (train_step.cc for GPT-2,
// bert_train_step.cc for BERT): single-threaded products inside a parallel
// region, linear layers in both weight layouts, head (un)merging, and the
// data-parallel split of a batch into parts of whole sequences.
#pragma once

#include <algorithm>
#include <cstring>
#include <vector>

#include "common.h"
#include "gemm.h"

namespace muse {
namespace train {

/** Threads for a product of `work` multiply-adds: one inside a parallel region. */
inline int gemm_threads(double work) { return in_parallel() ? 1 : threads_for(work, 500000.0); }

/** C[M, n] = A[M, K] · B, with B given as a view (row-major C). */
inline void mm(int M, int n, int K, MatView A, MatView B, float beta, float* c) {
  gemm_view(M, n, K, 1.0f, A, B, beta, c, n, 1, gemm_threads((double)M * n * K));
}

/** out[M, n] = x[M, K] · W[K, n] + bias (HF Conv1D). */
inline void linear(const float* x, const float* W, const float* bias, float* out, int M, int K, int n) {
  for (int r = 0; r < M; r++) std::memcpy(out + (i64)r * n, bias, sizeof(float) * n);
  mm(M, n, K, MatView{x, K, 1}, MatView{W, n, 1}, 1.0f, out);
}

/** dW[K, n] = xᵀ·dy, db[n] = Σ_rows dy, dx[M, K] = dy·Wᵀ (all overwritten). */
inline void linear_backward(const float* x, const float* W, const float* dy, float* dW, float* db, float* dx, int M, int K,
                     int n) {
  mm(K, n, M, MatView{x, 1, K}, MatView{dy, n, 1}, 0.0f, dW);
  std::fill(db, db + n, 0.0f);
  for (int r = 0; r < M; r++) {
    const float* d = dy + (i64)r * n;
#pragma omp simd
    for (int j = 0; j < n; j++) db[j] += d[j];
  }
  mm(M, K, n, MatView{dy, n, 1}, MatView{W, 1, n}, 0.0f, dx);
}

/** out = a + b (· mask when given), n elements. */
inline void add_masked(const float* a, const float* b, const float* mask, float* out, i64 n) {
  if (mask) {
#pragma omp simd
    for (i64 i = 0; i < n; i++) out[i] = a[i] + b[i] * mask[i];
  } else {
#pragma omp simd
    for (i64 i = 0; i < n; i++) out[i] = a[i] + b[i];
  }
}

/** out = a · mask, n elements; returns out. */
inline float* mul_into(const float* a, const float* mask, float* out, i64 n) {
#pragma omp simd
  for (i64 i = 0; i < n; i++) out[i] = a[i] * mask[i];
  return out;
}

/** dst[0:n] = src[0:n] for one head's row (n = headDim, a few dozen floats: no library call). */
inline void copy_row(float* __restrict dst, const float* __restrict src, int n) {
#pragma omp simd
  for (int i = 0; i < n; i++) dst[i] = src[i];
}

/** Merges one batch element's heads: out[t, h·D + d] = yh[h, t, d] (yh `[H, T, D]`, out `[T, H·D]`). */
inline void merge_heads(const float* yh, float* out, int H, int T, int D) {
  for (int h = 0; h < H; h++)
    for (int t = 0; t < T; t++) copy_row(out + ((i64)t * H + h) * D, yh + ((i64)h * T + t) * D, D);
}

/** The inverse: yh[h, t, d] = x[t, h·D + d]. */
inline void split_heads(const float* x, float* yh, int H, int T, int D) {
  for (int h = 0; h < H; h++)
    for (int t = 0; t < T; t++) copy_row(yh + ((i64)h * T + t) * D, x + ((i64)t * H + h) * D, D);
}

/** Rows [r0, r1) of the batch: whole sequences b0…b1−1. */
struct Part {
  int b0, b1;
  i64 r0, M;
};

inline Part part_of(int batch, int t, int p, int P) {
  Part q;
  q.b0 = (int)((i64)batch * p / P);
  q.b1 = (int)((i64)batch * (p + 1) / P);
  q.r0 = (i64)q.b0 * t;
  q.M = (i64)(q.b1 - q.b0) * t;
  return q;
}

/** Parts the batch is split into: one per thread, at most one per sequence. */
inline int parts_for(int batch) { return std::max(1, std::min(batch, max_threads())); }

/**
 * Runs body(p) for p < P on P threads (one after the other when P = 1; the
 * kernels inside may then use every thread themselves).
 *
 * Not through parallel_run: its contention back-off reads a partner that
 * finishes more than 2× later than the caller as oversubscription and turns
 * threading off for up to a second. A part is milliseconds long, so one
 * scheduler tick lost by a virtual CPU already trips it, and the step then
 * runs at single-thread speed (measured on the 2-vCPU machine: the baby step
 * alternated between 17 and 25–28 ms). Equal parts of whole sequences gain
 * nothing from that heuristic; a late partner costs at most its delay.
 */
template <class F>
void run_parts(int P, F&& body) {
#ifdef _OPENMP
  if (P > 1) {
#pragma omp parallel num_threads(P)
    {
      const int t = omp_get_thread_num(), nt = omp_get_num_threads();
      for (int p = t; p < P; p += nt) body(p);
    }
    return;
  }
#endif
  for (int p = 0; p < P; p++) body(p);
}

/** Gradient buffers of one part, laid out in the order of the `grads` argument. */
inline std::vector<std::vector<float>>& part_grads() {
  // Per calling thread: Node worker threads may train models at the same time.
  static thread_local std::vector<std::vector<float>> g;
  return g;
}

/** C[M, n] (row stride ldc) = A[M, K] · Wᵀ + bias for a PyTorch nn.Linear weight W `[n, K]` (beta = 0 when bias is null). */
inline void linear_t(const float* x, i64 ldx, const float* W, const float* bias, float* out, i64 ldo, int M, int K,
                     int n) {
  if (bias)
    for (int r = 0; r < M; r++) std::memcpy(out + (i64)r * ldo, bias, sizeof(float) * n);
  gemm_view(M, n, K, 1.0f, MatView{x, ldx, 1}, MatView{W, 1, K}, bias ? 1.0f : 0.0f, out, ldo, 1,
            gemm_threads((double)M * n * K));
}

/**
 * Gradients of an nn.Linear y = x·Wᵀ + b: dW[n, K] = dyᵀ·x and db[n] = Σ_rows dy
 * (overwritten), dx[M, K] = dy·W (overwritten, or added to when `addDx`).
 * dy and x may be column blocks of wider rows (row strides ldy, ldx).
 */
inline void linear_t_backward(const float* x, i64 ldx, const float* W, const float* dy, i64 ldy, float* dW, float* db,
                              float* dx, int M, int K, int n, bool addDx) {
  gemm_view(n, K, M, 1.0f, MatView{dy, 1, ldy}, MatView{x, ldx, 1}, 0.0f, dW, K, 1, gemm_threads((double)M * n * K));
  std::fill(db, db + n, 0.0f);
  for (int r = 0; r < M; r++) {
    const float* d = dy + (i64)r * ldy;
#pragma omp simd
    for (int j = 0; j < n; j++) db[j] += d[j];
  }
  gemm_view(M, K, n, 1.0f, MatView{dy, ldy, 1}, MatView{W, K, 1}, addDx ? 1.0f : 0.0f, dx, K, 1,
            gemm_threads((double)M * n * K));
}

/**
 * grads[k] += Σ_{p ≥ first} parts[p][off[k] …], in part order, in parallel
 * over the flat index (off: prefix offsets of the tensors in `grads`).
 */
inline void sum_part_grads(float* const* grads, const std::vector<i64>& off, std::vector<std::vector<float>>& pg,
                           int first, int P) {
  if (first >= P) return;
  const i64 total = off.back();
  parallel_ranges(total, 65536, [&](i64 i0, i64 i1) {
    size_t k = std::upper_bound(off.begin(), off.end(), i0) - off.begin() - 1;
    for (i64 i = i0; i < i1;) {
      while (off[k + 1] <= i) k++;
      const i64 end = std::min(i1, off[k + 1]);
      float* dst = grads[k] + (i - off[k]);
      const i64 n = end - i;
      for (int p = first; p < P; p++) {
        const float* src = pg[p].data() + i;
#pragma omp simd
        for (i64 j = 0; j < n; j++) dst[j] += src[j];
      }
      i = end;
    }
  });
}

/** Makes part buffers first…P−1 hold `total` floats each (kept between calls). */
inline std::vector<std::vector<float>>& part_buffers(int first, int P, i64 total) {
  auto& pg = part_grads();
  if ((int)pg.size() < P) pg.resize(P);
  for (int p = first; p < P; p++)
    if ((i64)pg[p].size() != total) {
      pg[p].assign(0, 0.0f);
      pg[p].shrink_to_fit();
      pg[p].resize(total);
    }
  return pg;
}

}  // namespace train
}  // namespace muse
