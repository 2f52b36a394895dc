// Row-wise neural-network kernels: softmax / log-softmax, LayerNorm,
// embedding, cross-entropy (each with its backward, llm.c style) and AdamW.
// Row statistics that the js reference computes in float64 (sums, means,
// variances) are accumulated in double here too, so the two backends agree
// to 1e-5 even where float32 sums would cancel.
#include <algorithm>
#include <vector>
#include <cmath>
#include <cstring>

#include "kernels.h"
#include "simd.h"

namespace muse {
namespace {

constexpr double kGrain = 32768;

/** Sum of the first w lanes of v. */
inline float vhsum_n(vf v, int w) {
  alignas(64) float t[VW];
  vst(t, v);
  float s = 0;
  for (int i = 0; i < w; i++) s += t[i];
  return s;
}

/**
 * max over a row. A NaN in the row may or may not survive here, but it always
 * reaches the sum of exponentials that follows, which is what makes the whole
 * row NaN (as in PyTorch).
 */
inline float row_max(const float* x, i64 n) {
  vf mv = vset1(-INFINITY);
  i64 i = 0;
  for (; i + VW <= n; i += VW) mv = vmax(mv, vld(x + i));
  float m = vhmax(mv);
  for (; i < n; i++) m = x[i] > m ? x[i] : m;
  return m;
}

/** Σ exp(x − m), optionally writing the exponentials to y. Float64 result. */
inline double row_sum_exp(const float* x, float m, float* y, i64 n) {
  vf sv = vzero();
  const vf mv = vset1(m);
  i64 i = 0;
  for (; i + VW <= n; i += VW) {
    vf e = vexp(vsub(vld(x + i), mv));
    if (y) vst(y + i, e);
    sv = vadd(sv, e);
  }
  double s = vhsum(sv);
  if (i < n) {
    int w = (int)(n - i);
    vf e = vexp(vsub(vld_n(x + i, w), mv));
    if (y) vst_n(y + i, e, w);
    s += vhsum_n(e, w);
  }
  return s;
}

inline double row_dot(const float* a, const float* b, i64 n) { return dot_f64(a, b, n); }

inline double row_sum(const float* a, i64 n) { return sum_f64(a, n); }

}  // namespace

void softmax(const float* x, float* out, i64 rows, i64 cols) {
  parallel_ranges(rows, kGrain / (double)std::max<i64>(cols, 1) + 1, [&](i64 r0, i64 r1) {
    for (i64 r = r0; r < r1; r++) {
      const float* xr = x + r * cols;
      float* yr = out + r * cols;
      float m = row_max(xr, cols);
      double s = row_sum_exp(xr, m, yr, cols);
      const float inv = (float)(1.0 / s);
#pragma omp simd
      for (i64 c = 0; c < cols; c++) yr[c] *= inv;
    }
  });
}

void softmax_backward(const float* y, const float* dy, float* dx, i64 rows, i64 cols) {
  parallel_ranges(rows, kGrain / (double)std::max<i64>(cols, 1) + 1, [&](i64 r0, i64 r1) {
    for (i64 r = r0; r < r1; r++) {
      const float* yr = y + r * cols;
      const float* gr = dy + r * cols;
      float* dr = dx + r * cols;
      // dy − s cancels when dy ≈ s: keep s and the difference in float64.
      const double s = row_dot(yr, gr, cols);
#pragma omp simd
      for (i64 c = 0; c < cols; c++) dr[c] = (float)((double)yr[c] * ((double)gr[c] - s));
    }
  });
}

void log_softmax(const float* x, float* out, i64 rows, i64 cols) {
  parallel_ranges(rows, kGrain / (double)std::max<i64>(cols, 1) + 1, [&](i64 r0, i64 r1) {
    for (i64 r = r0; r < r1; r++) {
      const float* xr = x + r * cols;
      float* yr = out + r * cols;
      float m = row_max(xr, cols);
      double s = row_sum_exp(xr, m, nullptr, cols);
      const float lse = (float)((double)m + std::log(s));
#pragma omp simd
      for (i64 c = 0; c < cols; c++) yr[c] = xr[c] - lse;
    }
  });
}

void log_softmax_backward(const float* y, const float* dy, float* dx, i64 rows, i64 cols) {
  parallel_ranges(rows, kGrain / (double)std::max<i64>(cols, 1) + 1, [&](i64 r0, i64 r1) {
    for (i64 r = r0; r < r1; r++) {
      const float* yr = y + r * cols;
      const float* gr = dy + r * cols;
      float* dr = dx + r * cols;
      // dy − exp(y)·s cancels where the two are close: subtract in float64.
      const double s = row_sum(gr, cols);
      float* e = scratch((size_t)cols + 16, 5);
      i64 c = 0;
      for (; c + VW <= cols; c += VW) vst(e + c, vexp(vld(yr + c)));
      if (c < cols) vst_n(e + c, vexp(vld_n(yr + c, (int)(cols - c))), (int)(cols - c));
#pragma omp simd
      for (i64 j = 0; j < cols; j++) dr[j] = (float)((double)gr[j] - (double)e[j] * s);
    }
  });
}

void layer_norm(const float* x, const float* w, const float* b, float* out, float* mean, float* rstd, i64 rows,
                i64 cols, float eps) {
  parallel_ranges(rows, kGrain / (double)std::max<i64>(cols, 1) + 1, [&](i64 r0, i64 r1) {
    for (i64 r = r0; r < r1; r++) {
      const float* xr = x + r * cols;
      float* yr = out + r * cols;
      const double mu = row_sum(xr, cols) / (double)cols;
      const double var = sumsq_dev_f64(xr, mu, cols) / (double)cols;
      const double rs = 1.0 / std::sqrt(var + (double)eps);
      mean[r] = (float)mu;
      rstd[r] = (float)rs;
      const float m = (float)mu, s = (float)rs;
      if (w && b) {
#pragma omp simd
        for (i64 c = 0; c < cols; c++) yr[c] = (xr[c] - m) * s * w[c] + b[c];
      } else if (w) {
#pragma omp simd
        for (i64 c = 0; c < cols; c++) yr[c] = (xr[c] - m) * s * w[c];
      } else if (b) {
#pragma omp simd
        for (i64 c = 0; c < cols; c++) yr[c] = (xr[c] - m) * s + b[c];
      } else {
#pragma omp simd
        for (i64 c = 0; c < cols; c++) yr[c] = (xr[c] - m) * s;
      }
    }
  });
}

void layer_norm_backward(const float* dy, const float* x, const float* w, const float* mean, const float* rstd,
                         float* dx, float* dw, float* db, i64 rows, i64 cols) {
  const int T = threads_for((double)rows * cols, kGrain);
  // Per-thread float64 partial sums of dW, dB (no atomics, deterministic order).
  double* part = reinterpret_cast<double*>(scratch((size_t)4 * T * cols + 16, 4));
  std::fill(part, part + (size_t)2 * T * cols, 0.0);
  auto body = [&](int t, i64 r0, i64 r1) {
    double* pw = part + (size_t)2 * t * cols;
    double* pb = pw + cols;
    float* g = scratch((size_t)cols + 16, 5);
    float* xh = scratch((size_t)cols + 16, 7);
    for (i64 r = r0; r < r1; r++) {
      const float* xr = x + r * cols;
      const float* gr = dy + r * cols;
      float* dr = dx + r * cols;
      const float m = mean[r], s = rstd[r];
#pragma omp simd
      for (i64 c = 0; c < cols; c++) {
        xh[c] = (xr[c] - m) * s;
        g[c] = w ? gr[c] * w[c] : gr[c];
      }
      const double sg = sum_f64(g, cols), sgx = dot_f64(g, xh, cols);
      const float a = (float)(sg / (double)cols), bb = (float)(sgx / (double)cols);
#pragma omp simd
      for (i64 c = 0; c < cols; c++) dr[c] = s * (g[c] - a - xh[c] * bb);
      if (dw) {
#pragma omp simd
        for (i64 c = 0; c < cols; c++) pw[c] += (double)gr[c] * (double)xh[c];
      }
      if (db) {
#pragma omp simd
        for (i64 c = 0; c < cols; c++) pb[c] += (double)gr[c];
      }
    }
  };
  parallel_run(T, [&](int t, int nt) { body(t, rows * t / nt, rows * (t + 1) / nt); });
  for (i64 c = 0; c < cols; c++) {
    double sw = 0, sb = 0;
    for (int t = 0; t < T; t++) {
      sw += part[(size_t)2 * t * cols + c];
      sb += part[(size_t)2 * t * cols + cols + c];
    }
    if (dw) dw[c] += (float)sw;
    if (db) db[c] += (float)sb;
  }
}

void embedding(const float* weight, const int32_t* ids, float* out, i64 n, i64 dim) {
  parallel_ranges(n, kGrain / (double)std::max<i64>(dim, 1) + 1, [&](i64 i0, i64 i1) {
    for (i64 i = i0; i < i1; i++) std::memcpy(out + i * dim, weight + (i64)ids[i] * dim, sizeof(float) * dim);
  });
}

void embedding_backward(const float* dOut, const int32_t* ids, float* dWeight, i64 n, i64 dim) {
  // Threads own column ranges (whole dim / T slices), so repeated ids never
  // race and every row is added in row order, as in the js reference.
  parallel_ranges(dim, 2 * kGrain / (double)std::max<i64>(n, 1) + 16, [&](i64 j0, i64 j1) {
    for (i64 i = 0; i < n; i++) {
      float* dst = dWeight + (i64)ids[i] * dim;
      const float* src = dOut + i * dim;
#pragma omp simd
      for (i64 j = j0; j < j1; j++) dst[j] += src[j];
    }
  });
}

i64 cross_entropy(const float* logits, const int32_t* targets, float* losses, float* lse, i64 rows, i64 classes,
                  i64 ignoreIndex, float labelSmoothing) {
  i64 count = 0;
  for (i64 r = 0; r < rows; r++) count += (i64)targets[r] != ignoreIndex;
  const double eps = labelSmoothing;
  parallel_ranges(rows, kGrain / (double)std::max<i64>(classes, 1) + 1, [&](i64 r0, i64 r1) {
    for (i64 r = r0; r < r1; r++) {
      const float* xr = logits + r * classes;
      const float m = row_max(xr, classes);
      const double l = (double)m + std::log(row_sum_exp(xr, m, nullptr, classes));
      lse[r] = (float)l;
      const i64 t = targets[r];
      if (t == ignoreIndex) {
        losses[r] = 0.0f;
        continue;
      }
      // −Σ_c q_c·log p_c with q = (1−ε)·onehot(t) + ε/C:
      //   = lse − (1−ε)·x_t − (ε/C)·Σ_c x_c
      double loss = l - (1.0 - eps) * (double)xr[t];
      if (eps != 0.0) loss -= eps / (double)classes * row_sum(xr, classes);
      losses[r] = (float)loss;
    }
  });
  return count;
}

void cross_entropy_backward(const float* logits, const int32_t* targets, const float* lse, const float* rowScale,
                            float* dLogits, i64 rows, i64 classes, i64 ignoreIndex, float labelSmoothing) {
  const float eps = labelSmoothing;
  parallel_ranges(rows, kGrain / (double)std::max<i64>(classes, 1) + 1, [&](i64 r0, i64 r1) {
    for (i64 r = r0; r < r1; r++) {
      const float* xr = logits + r * classes;
      float* dr = dLogits + r * classes;
      const i64 t = targets[r];
      if (t == ignoreIndex) {
        std::fill(dr, dr + classes, 0.0f);
        continue;
      }
      const float s = rowScale[r];
      const vf l = vset1(lse[r]), sv = vset1(s), off = vset1(eps / (float)classes);
      // s·(p − ε/C) everywhere, then the target's −s·(1−ε).
      i64 c = 0;
      for (; c + VW <= classes; c += VW) vst(dr + c, vmul(sv, vsub(vexp(vsub(vld(xr + c), l)), off)));
      if (c < classes) {
        int w = (int)(classes - c);
        vst_n(dr + c, vmul(sv, vsub(vexp(vsub(vld_n(xr + c, w), l)), off)), w);
      }
      dr[t] -= s * (1.0f - eps);
    }
  });
}

namespace {

/** torch.optim.AdamW's update of elements [i0, i1) of one tensor (single-tensor path arithmetic). */
void adamw_range(const AdamWTensor& a, i64 i0, i64 i1, double lr, double beta1, double beta2, double eps,
                 double gradScale) {
  // Decoupled decay, moments, bias-corrected step.
  const double bc1 = 1.0 - std::pow(beta1, a.step);
  const double bc2 = 1.0 - std::pow(beta2, a.step);
  const float decay = (float)(1.0 - lr * a.weightDecay);
  const float b1 = (float)beta1, b2 = (float)beta2, ob1 = (float)(1.0 - beta1), ob2 = (float)(1.0 - beta2);
  const float stepSize = (float)(lr / bc1);
  const float invSqrtBc2 = (float)(1.0 / std::sqrt(bc2));
  const float e = (float)eps, gs = (float)gradScale;
  float* param = a.param;
  const float* grad = a.grad;
  float* expAvg = a.expAvg;
  float* expAvgSq = a.expAvgSq;
#pragma omp simd
  for (i64 i = i0; i < i1; i++) {
    const float g = grad[i] * gs;
    const float m = b1 * expAvg[i] + ob1 * g;
    const float v = b2 * expAvgSq[i] + ob2 * g * g;
    expAvg[i] = m;
    expAvgSq[i] = v;
    const float denom = std::sqrt(v) * invSqrtBc2 + e;
    param[i] = param[i] * decay - stepSize * m / denom;
  }
}

}  // namespace

void adamw(float* param, const float* grad, float* expAvg, float* expAvgSq, i64 n, double lr, double beta1,
           double beta2, double eps, double weightDecay, double step, double gradScale) {
  const AdamWTensor a{param, grad, expAvg, expAvgSq, n, weightDecay, step};
  parallel_ranges(n, 65536, [&](i64 i0, i64 i1) { adamw_range(a, i0, i1, lr, beta1, beta2, eps, gradScale); });
}

void adamw_many(const AdamWTensor* ts, int count, double lr, double beta1, double beta2, double eps,
                double gradScale) {
  // One parallel region for every tensor: elements are cut into chunks that
  // never straddle two tensors, claimed by the threads from a shared counter.
  constexpr i64 CH = 16384;
  std::vector<std::pair<int, i64>> chunks;
  double total = 0;
  for (int t = 0; t < count; t++) {
    for (i64 i = 0; i < ts[t].n; i += CH) chunks.emplace_back(t, i);
    total += (double)ts[t].n;
  }
  const int T = threads_for(total, 65536);
  parallel_items(T, (i64)chunks.size(), [&](i64 c) {
    const AdamWTensor& a = ts[chunks[c].first];
    const i64 i0 = chunks[c].second;
    adamw_range(a, i0, std::min(a.n, i0 + CH), lr, beta1, beta2, eps, gradScale);
  });
}

double sum_squares_many(const float* const* xs, const i64* ns, int count) {
  // sum_squares()'s 4096-element chunks of every tensor, computed in one
  // parallel region, then added in the same order as Σ_t sum_squares(x_t).
  std::vector<std::pair<int, i64>> chunks;
  for (int t = 0; t < count; t++)
    for (i64 i = 0; i < ns[t]; i += 4096) chunks.emplace_back(t, i);
  std::vector<double> part(chunks.size());
  parallel_ranges((i64)chunks.size(), 16, [&](i64 c0, i64 c1) {
    for (i64 c = c0; c < c1; c++) {
      const float* x = xs[chunks[c].first];
      const i64 i0 = chunks[c].second, i1 = std::min(ns[chunks[c].first], i0 + 4096);
      part[c] = dot_f64(x + i0, x + i0, i1 - i0);
    }
  });
  double total = 0;
  size_t c = 0;
  for (int t = 0; t < count; t++) {
    double s = 0;
    for (; c < chunks.size() && chunks[c].first == t; c++) s += part[c];
    total += s;
  }
  return total;
}

double sum_squares(const float* x, i64 n) {
  const i64 chunks = (n + 4095) / 4096;
  // Fixed 4096-element chunks summed in chunk order: the result does not
  // depend on the thread count.
  double* part = reinterpret_cast<double*>(scratch((size_t)2 * chunks + 16, 6));
  parallel_ranges(chunks, 16, [&](i64 c0, i64 c1) {  // ≥ 65536 elements per thread
    for (i64 c = c0; c < c1; c++) {
      const i64 i0 = c * 4096, i1 = std::min(n, i0 + 4096);
      part[c] = dot_f64(x + i0, x + i0, i1 - i0);
    }
  });
  double total = 0;
  for (i64 c = 0; c < chunks; c++) total += part[c];
  return total;
}

}  // namespace muse
