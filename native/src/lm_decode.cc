// The stored-weight decode fast path (lm_decode.h): embeddings, every block
// (pre-norm attention with rotary embeddings and grouped-query heads over the
// KV cache, then the MLP), the final norm and the head, in one call, with
// every linear layer a qlinear over its stored weight. Activations live in
// reused scratch buffers; the KV cache is written in place.
//
// The arithmetic follows transformers: LayerNorm / RMSNorm (statistics in
// double), rotate-half rotary embeddings from tables the caller computes (so
// every rope scaling variant is the caller's), softmax(q·kᵀ/√D)·v with the
// causal mask, a padding mask and an optional sliding window, and GELU-tanh or
// SwiGLU MLPs.
#include "lm_decode.h"

#include <cmath>
#include <cstring>
#include <vector>

#include "kernels.h"
#include "simd.h"

namespace muse {

namespace {

struct LmScratch {
  std::vector<float> x, h, qkv, y, f, g, mean, rstd;
};
LmScratch& lm_scratch() {
  static LmScratch s;
  return s;
}
void fit(std::vector<float>& v, i64 n) {
  if ((i64)v.size() < n) v.resize((size_t)n);
}

bool present(const QMat& m) { return m.data != nullptr; }

/** RMSNorm (Zhang & Sennrich 2019) as transformers' LlamaRMSNorm: x·rsqrt(mean(x²) + eps)·w. */
void rms_norm(const float* x, const float* w, float* out, i64 rows, int C, float eps) {
  for (i64 r = 0; r < rows; r++) {
    const float* xr = x + r * C;
    float* o = out + r * C;
    double ss = 0;
    for (int c = 0; c < C; c++) ss += (double)xr[c] * xr[c];
    const float inv = (float)(1.0 / std::sqrt(ss / C + (double)eps));
    for (int c = 0; c < C; c++) o[c] = (xr[c] * inv) * (w ? w[c] : 1.0f);
  }
}

void norm(const LmWeights& W, const float* x, const float* w, const float* b, float* out, i64 rows, int C, float eps,
          LmScratch& sc) {
  if (W.norm == LM_RMSNORM) {
    rms_norm(x, w, out, rows, C, eps);
  } else {
    fit(sc.mean, rows);
    fit(sc.rstd, rows);
    layer_norm(x, w, b, out, sc.mean.data(), sc.rstd.data(), rows, C, eps);
  }
}

/** Rotate-half rotary embedding of one head vector in place. */
inline void rope(float* v, const float* cs, const float* sn, int D) {
  const int half = D / 2;
  for (int i = 0; i < half; i++) {
    const float a = v[i], b = v[i + half];
    v[i] = a * cs[i] - b * sn[i];
    v[i + half] = b * cs[i] + a * sn[i];
  }
}

inline float load_kv(const float* p, i64 i) { return p[i]; }
inline float load_kv(const uint16_t* p, i64 i) { return f16_to_f32(p[i]); }

/** q·k over D with k float or half. */
inline float dot_kv(const float* q, const float* k, int D) {
  float acc = 0.0f;
#pragma omp simd reduction(+ : acc)
  for (int d = 0; d < D; d++) acc += q[d] * k[d];
  return acc;
}
inline float dot_kv(const float* q, const uint16_t* k, int D) {
#if defined(__F16C__) && defined(__AVX2__)
  __m256 s = _mm256_setzero_ps();
  int d = 0;
  for (; d + 8 <= D; d += 8) s = _mm256_fmadd_ps(_mm256_loadu_ps(q + d), _mm256_cvtph_ps(_mm_loadu_si128((const __m128i*)(k + d))), s);
  __m128 h = _mm_add_ps(_mm256_castps256_ps128(s), _mm256_extractf128_ps(s, 1));
  h = _mm_add_ps(h, _mm_movehl_ps(h, h));
  h = _mm_add_ss(h, _mm_movehdup_ps(h));
  float acc = _mm_cvtss_f32(h);
  for (; d < D; d++) acc += q[d] * f16_to_f32(k[d]);
  return acc;
#else
  float acc = 0.0f;
  for (int d = 0; d < D; d++) acc += q[d] * f16_to_f32(k[d]);
  return acc;
#endif
}
inline void axpy_kv(float w, const float* v, float* out, int D) {
#pragma omp simd
  for (int d = 0; d < D; d++) out[d] += w * v[d];
}
inline void axpy_kv(float w, const uint16_t* v, float* out, int D) {
#if defined(__F16C__) && defined(__AVX2__)
  const __m256 wv = _mm256_set1_ps(w);
  int d = 0;
  for (; d + 8 <= D; d += 8)
    _mm256_storeu_ps(out + d, _mm256_fmadd_ps(wv, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i*)(v + d))), _mm256_loadu_ps(out + d)));
  for (; d < D; d++) out[d] += w * f16_to_f32(v[d]);
#else
  for (int d = 0; d < D; d++) out[d] += w * f16_to_f32(v[d]);
#endif
}

/**
 * One query over keys [lo, hi) of one cached head: softmax(scale·q·Kᵀ)·V
 * with padding-masked keys skipped; all masked → zeros.
 */
template <class KV>
void attend_row(const float* q, const KV* K, const KV* V, const int32_t* mask, int lo, int hi, int D, float scale,
                float* scores, float* out) {
  float mx = -INFINITY;
  for (int j = lo; j < hi; j++) {
    if (mask && !mask[j]) {
      scores[j - lo] = -INFINITY;
      continue;
    }
    const float s = dot_kv(q, K + (i64)j * D, D) * scale;
    scores[j - lo] = s;
    if (s > mx) mx = s;
  }
  for (int d = 0; d < D; d++) out[d] = 0.0f;
  if (mx == -INFINITY) return;
  float sum = 0.0f;
  for (int j = 0; j < hi - lo; j++) {
    const float e = scores[j] == -INFINITY ? 0.0f : std::exp(scores[j] - mx);
    scores[j] = e;
    sum += e;
  }
  const float inv = 1.0f / sum;
  for (int j = lo; j < hi; j++) {
    const float p = scores[j - lo] * inv;
    if (p != 0.0f) axpy_kv(p, V + (i64)j * D, out, D);
  }
}


/** VW cached values of a key/value row as floats (halves converted). */
inline vf kv_vec(const float* p) { return vld(p); }
inline vf kv_vec(const uint16_t* p) {
#if defined(__AVX512F__)
  return _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i*)p));
#elif defined(__AVX2__) && defined(__F16C__)
  return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i*)p));
#else
  vf v;
  for (int i = 0; i < VW; i++) v[i] = f16_to_f32(p[i]);
  return v;
#endif
}

/**
 * attend_row for head widths of NC whole vectors (D = NC·VW): q and the
 * output accumulator live in registers, four keys' dot products run side by
 * side, and the exponentials are vectorised.
 */
template <class KV, int NC>
void attend_row_simd(const float* q, const KV* K, const KV* V, const int32_t* mask, int lo, int hi, float scale,
                     float* scores, float* out) {
  constexpr int D = NC * VW;
  vf qv[NC];
  for (int c = 0; c < NC; c++) qv[c] = vmul(vld(q + c * VW), vset1(scale));
  const int n = hi - lo;
  int j = 0;
  for (; j + 4 <= n; j += 4) {
    const KV* k0 = K + (i64)(lo + j) * D;
    vf a0 = vzero(), a1 = vzero(), a2 = vzero(), a3 = vzero();
    for (int c = 0; c < NC; c++) {
      a0 = vfma(qv[c], kv_vec(k0 + c * VW), a0);
      a1 = vfma(qv[c], kv_vec(k0 + D + c * VW), a1);
      a2 = vfma(qv[c], kv_vec(k0 + 2 * D + c * VW), a2);
      a3 = vfma(qv[c], kv_vec(k0 + 3 * D + c * VW), a3);
    }
    scores[j] = vhsum(a0);
    scores[j + 1] = vhsum(a1);
    scores[j + 2] = vhsum(a2);
    scores[j + 3] = vhsum(a3);
  }
  for (; j < n; j++) {
    const KV* kr = K + (i64)(lo + j) * D;
    vf a = vzero();
    for (int c = 0; c < NC; c++) a = vfma(qv[c], kv_vec(kr + c * VW), a);
    scores[j] = vhsum(a);
  }
  float mx = -INFINITY;
  bool any = false;
  for (j = 0; j < n; j++) {
    if (mask && !mask[lo + j]) {
      scores[j] = -INFINITY;
      continue;
    }
    any = true;
    if (scores[j] > mx) mx = scores[j];
  }
  for (int d = 0; d < D; d++) out[d] = 0.0f;
  if (!any) return;
  vf vs = vzero();
  const vf vmx = vset1(mx);
  for (j = 0; j + VW <= n; j += VW) {
    const vf e = vexp(vsub(vld(scores + j), vmx));
    vst(scores + j, e);
    vs = vadd(vs, e);
  }
  float sum = vhsum(vs);
  for (; j < n; j++) {
    scores[j] = std::exp(scores[j] - mx);
    sum += scores[j];
  }
  if (mask) {
    for (j = 0; j < n; j++)
      if (!mask[lo + j]) {
        sum -= scores[j];
        scores[j] = 0.0f;
      }
  }
  const float inv = 1.0f / sum;
  vf acc[NC];
  for (int c = 0; c < NC; c++) acc[c] = vzero();
  for (j = 0; j < n; j++) {
    const float p = scores[j] * inv;
    if (p == 0.0f) continue;
    const vf pv = vset1(p);
    const KV* vr = V + (i64)(lo + j) * D;
    for (int c = 0; c < NC; c++) acc[c] = vfma(pv, kv_vec(vr + c * VW), acc[c]);
  }
  for (int c = 0; c < NC; c++) vst(out + c * VW, acc[c]);
}

/** attend_row through the register-resident kernel when the head width allows. */
template <class KV>
void attend_row_any(const float* q, const KV* K, const KV* V, const int32_t* mask, int lo, int hi, int D, float scale,
                    float* scores, float* out) {
  switch (D == VW * (D / VW) ? D / VW : 0) {
    case 1: return attend_row_simd<KV, 1>(q, K, V, mask, lo, hi, scale, scores, out);
    case 2: return attend_row_simd<KV, 2>(q, K, V, mask, lo, hi, scale, scores, out);
    case 4: return attend_row_simd<KV, 4>(q, K, V, mask, lo, hi, scale, scores, out);
    case 8: return attend_row_simd<KV, 8>(q, K, V, mask, lo, hi, scale, scores, out);
    case 16: return attend_row_simd<KV, 16>(q, K, V, mask, lo, hi, scale, scores, out);
    default: return attend_row(q, K, V, mask, lo, hi, D, scale, scores, out);
  }
}

/** Writes the new keys/values of one layer into the cache (rows are [B·T, (H + 2·Hkv)·D] after rope). */
template <class KV>
void store_kv(const LmShape& s, const float* qkv, KV* Kc, KV* Vc) {
  const int H = s.nHead, Hk = s.nKvHead, D = s.headDim, W = (H + 2 * Hk) * D;
  for (int b = 0; b < s.batch; b++)
    for (int t = 0; t < s.t; t++) {
      const float* row = qkv + ((i64)b * s.t + t) * W;
      for (int h = 0; h < Hk; h++) {
        const i64 slot = (((i64)b * Hk + h) * s.capacity + s.past + t) * D;
        const float* kr = row + (H + h) * D;
        const float* vr = row + (H + Hk + h) * D;
        if constexpr (sizeof(KV) == 4) {
          std::memcpy(Kc + slot, kr, sizeof(float) * D);
          std::memcpy(Vc + slot, vr, sizeof(float) * D);
        } else {
          for (int d = 0; d < D; d++) {
            Kc[slot + d] = f32_to_f16(kr[d]);
            Vc[slot + d] = f32_to_f16(vr[d]);
          }
        }
      }
    }
}

/**
 * Prefill with a float cache and no window in effect: the fused FlashAttention
 * kernel per (row, head), queries gathered into [T, D] and outputs scattered back.
 */
void attend_fused(const LmShape& s, const float* qkv, const float* Kc, const float* Vc, const int32_t* mask, float* y) {
  const int H = s.nHead, Hk = s.nKvHead, D = s.headDim, T = s.t, W = (H + 2 * Hk) * D;
  const int tk = s.past + T, rep = H / Hk;
  static thread_local std::vector<float> qh, oh, lse;
  if ((i64)qh.size() < (i64)T * D) {
    qh.resize((size_t)T * D);
    oh.resize((size_t)T * D);
  }
  if ((int)lse.size() < T) lse.resize((size_t)T);
  for (int b = 0; b < s.batch; b++)
    for (int h = 0; h < H; h++) {
      for (int t = 0; t < T; t++) std::memcpy(qh.data() + (i64)t * D, qkv + ((i64)b * T + t) * W + h * D, sizeof(float) * D);
      const i64 base = ((i64)b * Hk + h / rep) * s.capacity * D;
      AttnShape as{1, 1, T, tk, D, 1.0f / std::sqrt((float)D), true, mask ? mask + (i64)b * tk : nullptr};
      attention_forward(as, qh.data(), Kc + base, Vc + base, oh.data(), lse.data());
      for (int t = 0; t < T; t++) std::memcpy(y + ((i64)b * T + t) * H * D + h * D, oh.data() + (i64)t * D, sizeof(float) * D);
    }
}

/** y [B·T, H·D] = attention of every new query over its visible cached keys. */
template <class KV>
void attend_all(const LmShape& s, const float* qkv, const KV* Kc, const KV* Vc, const int32_t* mask, int window,
                float* y) {
  const int H = s.nHead, Hk = s.nKvHead, D = s.headDim, T = s.t, W = (H + 2 * Hk) * D;
  const int tk = s.past + T, rep = H / Hk;
  if constexpr (sizeof(KV) == 4) {
    if (T >= 8 && (window <= 0 || tk <= window)) {
      attend_fused(s, qkv, Kc, Vc, mask, y);
      return;
    }
  }
  const float scale = 1.0f / std::sqrt((float)D);
  const i64 items = (i64)s.batch * H * T;
  const int threads = threads_for((double)items * tk * D * 2, 32768.0);
  parallel_items(threads, items, [&](i64 it) {
    const int t = (int)(it % T), h = (int)((it / T) % H), b = (int)(it / ((i64)T * H));
    const int i = s.past + t;  // this query's cache index: it sees keys ≤ i
    const int lo = window > 0 && i - window + 1 > 0 ? i - window + 1 : 0;
    static thread_local std::vector<float> sc;
    if ((int)sc.size() < tk + VW) sc.resize((size_t)(tk + VW));
    const i64 base = ((i64)b * Hk + h / rep) * s.capacity * D;
    attend_row_any(qkv + ((i64)b * T + t) * W + h * D, Kc + base, Vc + base, mask ? mask + (i64)b * tk : nullptr, lo,
                   i + 1, D, scale, sc.data(), y + ((i64)b * T + t) * H * D + h * D);
  });
}

}  // namespace

void lm_forward_cached(const LmWeights& w, const LmShape& s, const int32_t* ids, const int32_t* pos,
                       const int32_t* mask, const float* cos, const float* sin, void* const* kCache,
                       void* const* vCache, float* logits) {
  const int B = s.batch, T = s.t, C = s.hidden, H = s.nHead, Hk = s.nKvHead, D = s.headDim;
  const int QW = (H + 2 * Hk) * D;
  const i64 rows = (i64)B * T;
  LmScratch& sc = lm_scratch();
  fit(sc.x, rows * C);
  fit(sc.h, rows * (C > H * D ? C : H * D));
  fit(sc.qkv, rows * QW);
  fit(sc.y, rows * (C > H * D ? C : H * D));
  float* x = sc.x.data();
  float* h = sc.h.data();
  float* qkv = sc.qkv.data();
  float* y = sc.y.data();

  // Embeddings (rows dequantized from whatever type they are stored in).
  for (i64 r = 0; r < rows; r++) {
    qdequantize(w.embed, ids[r], 1, x + r * C);
    if (present(w.posEmbed)) {
      fit(sc.g, C);
      qdequantize(w.posEmbed, pos[r], 1, sc.g.data());
      for (int c = 0; c < C; c++) x[r * C + c] += sc.g[c];
    }
  }

  for (size_t l = 0; l < w.layers.size(); l++) {
    const LmLayer& L = w.layers[l];
    norm(w, x, L.norm1w, L.norm1b, h, rows, C, s.eps, sc);
    if (present(L.qkv)) {
      qlinear(L.qkv, h, (int)rows, L.qkvb, qkv, QW, false);
    } else {
      qlinear(L.q, h, (int)rows, L.qb, qkv, QW, false);
      qlinear(L.k, h, (int)rows, L.kb, qkv + H * D, QW, false);
      qlinear(L.v, h, (int)rows, L.vb, qkv + (H + Hk) * D, QW, false);
    }
    for (i64 r = 0; r < rows; r++) {
      float* row = qkv + r * QW;
      if (L.qNorm) rms_norm(row, L.qNorm, row, H, D, s.eps);
      if (L.kNorm) rms_norm(row + H * D, L.kNorm, row + H * D, Hk, D, s.eps);
      if (cos) {
        const float* cs = cos + r * (D / 2);
        const float* sn = sin + r * (D / 2);
        for (int hh = 0; hh < H + Hk; hh++) rope(row + hh * D, cs, sn, D);
      }
    }
    if (s.kvHalf) {
      store_kv(s, qkv, (uint16_t*)kCache[l], (uint16_t*)vCache[l]);
      attend_all(s, qkv, (const uint16_t*)kCache[l], (const uint16_t*)vCache[l], mask, L.window, y);
    } else {
      store_kv(s, qkv, (float*)kCache[l], (float*)vCache[l]);
      attend_all(s, qkv, (const float*)kCache[l], (const float*)vCache[l], mask, L.window, y);
    }
    qlinear(L.o, y, (int)rows, L.ob, x, C, true);

    norm(w, x, L.norm2w, L.norm2b, h, rows, C, s.eps, sc);
    const int F = (int)L.up.rows;
    fit(sc.f, rows * F);
    float* f = sc.f.data();
    qlinear(L.up, h, (int)rows, L.upb, f, F, false);
    if (w.mlp == LM_SWIGLU) {
      fit(sc.g, rows * F);
      float* g = sc.g.data();
      qlinear(L.gate, h, (int)rows, L.gateb, g, F, false);
      // silu(g)·u = g·sigmoid(g)·u, in chunks (no third [rows, F] buffer)
      float sig[4096];
      for (i64 i0 = 0; i0 < rows * F; i0 += 4096) {
        const i64 n = rows * F - i0 < 4096 ? rows * F - i0 : 4096;
        unary(U_SIGMOID, g + i0, sig, n);
        for (i64 i = 0; i < n; i++) f[i0 + i] = g[i0 + i] * sig[i] * f[i0 + i];
      }
    } else {
      unary(U_GELU_TANH, f, f, rows * F);
    }
    qlinear(L.down, f, (int)rows, L.downb, x, C, true);
  }

  if (s.lastOnly) {
    for (int b = 0; b < B; b++) std::memcpy(y + (i64)b * C, x + ((i64)b * T + T - 1) * C, sizeof(float) * C);
    norm(w, y, w.normFw, w.normFb, h, B, C, s.eps, sc);
    qlinear(w.head, h, B, nullptr, logits, s.vocab, false);
  } else {
    norm(w, x, w.normFw, w.normFb, h, rows, C, s.eps, sc);
    qlinear(w.head, h, (int)rows, nullptr, logits, s.vocab, false);
  }
}

}  // namespace muse
