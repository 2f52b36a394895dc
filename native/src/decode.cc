// Inference forward of a whole GPT-2 stack with a key/value cache, in one
// call: the decode fast path. Per generated token the op-by-op path pays a
// tensor allocation, a JS→native crossing and a GEMM packing of the weight
// matrix for every op; here a token costs one crossing, the weights are
// streamed once through a matrix–vector kernel (decode is memory-bound:
// M = batch rows), and all activations live in reused scratch buffers.
//
// The arithmetic is the op-by-op path's (same LayerNorm, tanh-GELU, attention
// kernel, summation order within a dot product may differ): logits agree with
// the autograd forward within float32 rounding (test/models/decode-fast-path).
#include <omp.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "decode.h"
#include "gemm.h"
#include "kernels.h"

namespace muse {

namespace {

/** Scratch buffers reused across calls (decode runs on the JS thread only). */
struct Scratch {
  std::vector<float> x, h, qkv, q, y, f, mean, rstd, lse, partial;
  static void fit(std::vector<float>& v, i64 n) {
    if ((i64)v.size() < n) v.resize((size_t)n);
  }
};
Scratch& scratch() {
  static Scratch s;
  return s;
}

/**
 * acc[n] += Σ_{k0 ≤ k < k1} x[k]·W[k, n]: eight weight rows per pass over acc,
 * so acc (L1-resident) is loaded and stored once per eight rows streamed.
 */
inline void gemv_band(const float* x, const float* W, float* acc, int k0, int k1, int N) {
  int k = k0;
  for (; k + 8 <= k1; k += 8) {
    const float* w = W + (i64)k * N;
    const float x0 = x[k], x1 = x[k + 1], x2 = x[k + 2], x3 = x[k + 3];
    const float x4 = x[k + 4], x5 = x[k + 5], x6 = x[k + 6], x7 = x[k + 7];
#pragma omp simd
    for (int n = 0; n < N; n++) {
      acc[n] += (x0 * w[n] + x1 * w[N + n] + x2 * w[2 * N + n] + x3 * w[3 * N + n]) +
                (x4 * w[4 * N + n] + x5 * w[5 * N + n] + x6 * w[6 * N + n] + x7 * w[7 * N + n]);
    }
  }
  for (; k < k1; k++) {
    const float xk = x[k];
    const float* w = W + (i64)k * N;
#pragma omp simd
    for (int n = 0; n < N; n++) acc[n] += xk * w[n];
  }
}

/**
 * out[n] (+)= Σ_k x[k]·W[k, n] + bias[n] for one row x (length K), W row-major
 * K×N (HF Conv1D layout). Memory-bound: W is streamed once; with several
 * threads each takes a contiguous band of rows (k) and partial sums are added.
 */
void gemv_rows(const float* x, const float* W, const float* bias, float* out, int K, int N, bool accumulate) {
  const double work = (double)K * N;
  int T = work >= 131072.0 ? max_threads() : 1;
  if (T > K / 16) T = K / 16 > 0 ? K / 16 : 1;
  if (T <= 1) {
    if (!accumulate) {
      if (bias) std::memcpy(out, bias, sizeof(float) * N);
      else std::memset(out, 0, sizeof(float) * N);
    } else if (bias) {
      for (int n = 0; n < N; n++) out[n] += bias[n];
    }
    gemv_band(x, W, out, 0, K, N);
    return;
  }
  Scratch& s = scratch();
  Scratch::fit(s.partial, (i64)T * N);
  float* part = s.partial.data();
#pragma omp parallel num_threads(T)
  {
    const int t = omp_get_thread_num();
    const int nt = omp_get_num_threads();
    const int k0 = (int)((i64)K * t / nt), k1 = (int)((i64)K * (t + 1) / nt);
    float* acc = part + (i64)t * N;
    std::memset(acc, 0, sizeof(float) * N);
    gemv_band(x, W, acc, k0, k1, N);
#pragma omp barrier
    // Reduce the partial sums: each thread owns a band of columns.
    const int n0 = (int)((i64)N * t / nt), n1 = (int)((i64)N * (t + 1) / nt);
    for (int n = n0; n < n1; n++) {
      float v = accumulate ? out[n] : 0.0f;
      if (bias) v += bias[n];
      for (int u = 0; u < nt; u++) v += part[(i64)u * N + n];
      out[n] = v;
    }
  }
}

/** out (M×N) (+)= x (M×K) · W (K×N) + bias: GEMV per row for few rows, packed GEMM otherwise. */
void linear(const float* x, int M, int K, const float* W, const float* bias, int N, float* out, bool accumulate) {
  if (M <= 4) {
    for (int m = 0; m < M; m++) gemv_rows(x + (i64)m * K, W, bias, out + (i64)m * N, K, N, accumulate);
    return;
  }
  gemm_view(M, N, K, 1.0f, MatView{x, K, 1}, MatView{W, N, 1}, accumulate ? 1.0f : 0.0f, out, N, 1,
            threads_for((double)M * N * K, 262144.0));
  if (bias) {
    for (int m = 0; m < M; m++) {
      float* o = out + (i64)m * N;
#pragma omp simd
      for (int n = 0; n < N; n++) o[n] += bias[n];
    }
  }
}

/** logits (M×V) = h (M×C) · wteᵀ (wte V×C): dot products of contiguous rows. */
void lm_head(const float* h, int M, int C, const float* wte, int V, float* logits) {
  if (M > 4) {
    gemm_view(M, V, C, 1.0f, MatView{h, C, 1}, MatView{wte, 1, C}, 0.0f, logits, V, 1,
              threads_for((double)M * V * C, 262144.0));
    return;
  }
  const int T = (double)V * C >= 131072.0 ? max_threads() : 1;
  for (int m = 0; m < M; m++) {
    const float* x = h + (i64)m * C;
    float* o = logits + (i64)m * V;
#pragma omp parallel for num_threads(T) schedule(static) if (T > 1)
    for (int v = 0; v < V; v++) {
      const float* w = wte + (i64)v * C;
      float acc = 0.0f;
#pragma omp simd reduction(+ : acc)
      for (int c = 0; c < C; c++) acc += x[c] * w[c];
      o[v] = acc;
    }
  }
}

/**
 * One query row over `tk` cached keys (a decode step: tq = 1, so the causal
 * mask admits every key): softmax(scale·q·Kᵀ)·V with masked keys skipped;
 * every key masked gives zeros, as the fused kernel does. K, V are [tk, D].
 */
void attention_row(const float* q, const float* K, const float* V, const int32_t* mask, int tk, int D, float scale,
                   float* scores, float* out) {
  float mx = -INFINITY;
  for (int j = 0; j < tk; j++) {
    if (mask && !mask[j]) {
      scores[j] = -INFINITY;
      continue;
    }
    const float* k = K + (i64)j * D;
    float acc = 0.0f;
#pragma omp simd reduction(+ : acc)
    for (int d = 0; d < D; d++) acc += q[d] * k[d];
    scores[j] = acc * scale;
    if (scores[j] > mx) mx = scores[j];
  }
  for (int d = 0; d < D; d++) out[d] = 0.0f;
  if (mx == -INFINITY) return;
  float sum = 0.0f;
  for (int j = 0; j < tk; j++) {
    const float e = scores[j] == -INFINITY ? 0.0f : std::exp(scores[j] - mx);
    scores[j] = e;
    sum += e;
  }
  const float inv = 1.0f / sum;
  for (int j = 0; j < tk; j++) {
    const float w = scores[j] * inv;
    if (w == 0.0f) continue;
    const float* v = V + (i64)j * D;
#pragma omp simd
    for (int d = 0; d < D; d++) out[d] += w * v[d];
  }
}

}  // namespace

void gpt_forward_cached(const GptWeights& w, const GptDecodeShape& s, const int32_t* ids, const int32_t* pos,
                        const int32_t* mask, float* const* kCache, float* const* vCache, float* logits) {
  const int B = s.batch, T = s.t, C = s.nEmbd, H = s.nHead, D = C / H, L = s.nLayer;
  const i64 rows = (i64)B * T;
  const int tk = s.past + T;
  Scratch& sc = scratch();
  Scratch::fit(sc.x, rows * C);
  Scratch::fit(sc.h, rows * C);
  Scratch::fit(sc.qkv, rows * 3 * C);
  Scratch::fit(sc.q, rows * C);
  Scratch::fit(sc.y, rows * C);
  Scratch::fit(sc.f, rows * 4 * C);
  Scratch::fit(sc.mean, rows);
  Scratch::fit(sc.rstd, rows);
  Scratch::fit(sc.lse, T > tk ? T : tk);
  float* x = sc.x.data();
  float* h = sc.h.data();
  float* qkv = sc.qkv.data();
  float* q = sc.q.data();
  float* y = sc.y.data();
  float* f = sc.f.data();

  for (i64 r = 0; r < rows; r++) {
    const float* te = w.wte + (i64)ids[r] * C;
    const float* pe = w.wpe + (i64)pos[r] * C;
    float* xr = x + r * C;
#pragma omp simd
    for (int c = 0; c < C; c++) xr[c] = te[c] + pe[c];
  }

  AttnShape as{1, 1, T, tk, D, 1.0f / std::sqrt((float)D), true, nullptr};
  for (int l = 0; l < L; l++) {
    const GptLayerWeights& lw = w.layers[l];
    layer_norm(x, lw.ln1w, lw.ln1b, h, sc.mean.data(), sc.rstd.data(), rows, C, s.eps);
    linear(h, (int)rows, C, lw.attnW, lw.attnB, 3 * C, qkv, false);
    // Split heads: q → [B, H, T, D]; k, v → the cache at positions past…past+T−1.
    float* K = kCache[l];
    float* Vc = vCache[l];
    for (int b = 0; b < B; b++) {
      for (int t = 0; t < T; t++) {
        const float* src = qkv + ((i64)b * T + t) * 3 * C;
        for (int hh = 0; hh < H; hh++) {
          const i64 slot = (((i64)b * H + hh) * s.capacity + s.past + t) * D;
          std::memcpy(q + (((i64)b * H + hh) * T + t) * D, src + hh * D, sizeof(float) * D);
          std::memcpy(K + slot, src + C + hh * D, sizeof(float) * D);
          std::memcpy(Vc + slot, src + 2 * C + hh * D, sizeof(float) * D);
        }
      }
    }
    for (int b = 0; b < B; b++) {
      as.keyPaddingMask = mask ? mask + (i64)b * tk : nullptr;
      for (int hh = 0; hh < H; hh++) {
        const i64 bh = (i64)b * H + hh;
        const i64 base = bh * s.capacity * D;
        float* yo = y + bh * T * D;
        if (T == 1) attention_row(q + bh * D, K + base, Vc + base, as.keyPaddingMask, tk, D, as.scale, sc.lse.data(), yo);
        else attention_forward(as, q + bh * T * D, K + base, Vc + base, yo, sc.lse.data());
      }
    }
    // Merge heads [B, H, T, D] → [B, T, C] into h (free after qkv).
    for (int b = 0; b < B; b++)
      for (int t = 0; t < T; t++)
        for (int hh = 0; hh < H; hh++)
          std::memcpy(h + ((i64)b * T + t) * C + hh * D, y + ((((i64)b * H + hh) * T) + t) * D, sizeof(float) * D);
    linear(h, (int)rows, C, lw.projW, lw.projB, C, x, true);
    layer_norm(x, lw.ln2w, lw.ln2b, h, sc.mean.data(), sc.rstd.data(), rows, C, s.eps);
    linear(h, (int)rows, C, lw.fcW, lw.fcB, 4 * C, f, false);
    unary(U_GELU_TANH, f, f, rows * 4 * C);
    linear(f, (int)rows, 4 * C, lw.fc2W, lw.fc2B, C, x, true);
  }

  if (s.lastOnly) {
    // Gather the last position of every row, then normalise only those.
    for (int b = 0; b < B; b++) std::memcpy(y + (i64)b * C, x + ((i64)b * T + T - 1) * C, sizeof(float) * C);
    layer_norm(y, w.lnfW, w.lnfB, h, sc.mean.data(), sc.rstd.data(), B, C, s.eps);
    lm_head(h, B, C, w.wte, s.vocab, logits);
  } else {
    layer_norm(x, w.lnfW, w.lnfB, h, sc.mean.data(), sc.rstd.data(), rows, C, s.eps);
    lm_head(h, (int)rows, C, w.wte, s.vocab, logits);
  }
}

}  // namespace muse
