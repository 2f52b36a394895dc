// Fused scaled-dot-product attention, forward and backward, after
// FlashAttention-2 (Dao 2023, Algorithms 1 and 2): scores are computed one
// (query block × key block) tile at a time with an online softmax, and the
// backward pass recomputes the probabilities from the saved log-sum-exp, so
// no [tq, tk] matrix ever exists outside a per-thread tile.
//
// Tiles are kept "transposed": a query block of QB = 32 rows lies along the
// vector lanes (S tile is [keys][QB]), so row maxima and sums are lane-wise
// vector ops with no horizontal reductions, and every product is a small
// register-blocked kernel of one shape, mm(): C[i][·] (+)= Σ_p A(i,p)·B[p][·]
// with B rows contiguous and A broadcast from any strides.
//
// Decoding (tq < 8, e.g. one new token against a KV cache) uses a row-wise
// path instead, so that one query does not occupy a 32-lane tile.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "kernels.h"
#include "simd.h"

namespace muse {
namespace {

constexpr int QB = 32;            // queries per tile (vector lanes)
constexpr int NQ = QB / VW;       // vectors per tile row
constexpr int KB = 128;           // keys per tile
constexpr int ROWWISE_MAX_TQ = 8;  // below this, the row-wise path

#if defined(__AVX512F__)
constexpr int MM_ACC = 16;
#else
constexpr int MM_ACC = 8;
#endif

/**
 * R rows × NV vectors: C[r][·] (+)= Σ_p a[r·ars + p·acs]·b[p·ldb + ·]. With
 * FULL = false the last vector holds only w valid columns (masked).
 */
template <int R, int NV, bool FULL>
inline void mm_kernel(int K, const float* a, i64 ars, i64 acs, const float* b, i64 ldb, float* c, i64 ldc, int w,
                      bool accum) {
  vf acc[R][NV];
#pragma GCC unroll 8
  for (int r = 0; r < R; r++)
#pragma GCC unroll 4
    for (int v = 0; v < NV; v++) {
      if (accum)
        acc[r][v] = (FULL || v < NV - 1) ? vld(c + r * ldc + v * VW) : vld_n(c + r * ldc + v * VW, w);
      else
        acc[r][v] = vzero();
    }
  for (int p = 0; p < K; p++) {
    const float* bp = b + p * ldb;
    vf bv[NV];
#pragma GCC unroll 4
    for (int v = 0; v < NV; v++) {
      bv[v] = (FULL || v < NV - 1) ? vld(bp + v * VW) : vld_n(bp + v * VW, w);
      // Keep B in a register: otherwise GCC folds the load into every FMA
      // (R loads per vector instead of one) and the kernel becomes load-bound.
      vkeep(bv[v]);
    }
    const float* ap = a + p * acs;
#pragma GCC unroll 8
    for (int r = 0; r < R; r++) {
      vf av = vset1(ap[r * ars]);
#pragma GCC unroll 4
      for (int v = 0; v < NV; v++) acc[r][v] = vfma(av, bv[v], acc[r][v]);
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < R; r++)
#pragma GCC unroll 4
    for (int v = 0; v < NV; v++) {
      if (FULL || v < NV - 1)
        vst(c + r * ldc + v * VW, acc[r][v]);
      else
        vst_n(c + r * ldc + v * VW, acc[r][v], w);
    }
}

template <int NV, bool FULL>
void mm_cols(int M, int K, const float* a, i64 ars, i64 acs, const float* b, i64 ldb, float* c, i64 ldc, int w,
             bool accum) {
  constexpr int R0 = MM_ACC / NV;
  constexpr int R = R0 < 1 ? 1 : (R0 > 8 ? 8 : R0);
  int i = 0;
  for (; i + R <= M; i += R) mm_kernel<R, NV, FULL>(K, a + i * ars, ars, acs, b, ldb, c + i * ldc, ldc, w, accum);
  for (; i < M; i++) mm_kernel<1, NV, FULL>(K, a + i * ars, ars, acs, b, ldb, c + i * ldc, ldc, w, accum);
}

/**
 * C (M×N, row stride ldc) (+)= A·B with A(i, p) = a[i·ars + p·acs] and B rows
 * contiguous (row stride ldb). N is split into chunks of up to 4 vectors.
 */
void mm(int M, int N, int K, const float* a, i64 ars, i64 acs, const float* b, i64 ldb, float* c, i64 ldc,
        bool accum) {
  constexpr int CH = 4 * VW > 64 ? 64 : 4 * VW;
  for (int j0 = 0; j0 < N; j0 += CH) {
    const int n = std::min(CH, N - j0);
    const int nv = (n + VW - 1) / VW;
    const int w = n - (nv - 1) * VW;
    const bool full = w == VW;
    const float* bj = b + j0;
    float* cj = c + j0;
#define MUSE_MM_CASE(NVV)                                                 \
  case NVV:                                                               \
    if (full)                                                             \
      mm_cols<NVV, true>(M, K, a, ars, acs, bj, ldb, cj, ldc, w, accum);  \
    else                                                                  \
      mm_cols<NVV, false>(M, K, a, ars, acs, bj, ldb, cj, ldc, w, accum); \
    break;
    switch (nv) {
      MUSE_MM_CASE(1)
      MUSE_MM_CASE(2)
      MUSE_MM_CASE(3)
      MUSE_MM_CASE(4)
#if VW < 16
      MUSE_MM_CASE(5)
      MUSE_MM_CASE(6)
      MUSE_MM_CASE(7)
      MUSE_MM_CASE(8)
#endif
#if VW < 8
      MUSE_MM_CASE(9)
      MUSE_MM_CASE(10)
      MUSE_MM_CASE(11)
      MUSE_MM_CASE(12)
      MUSE_MM_CASE(13)
      MUSE_MM_CASE(14)
      MUSE_MM_CASE(15)
      MUSE_MM_CASE(16)
#endif
      default: break;
    }
#undef MUSE_MM_CASE
  }
}

inline vf lane_index(int v) { return vadd(viota(), vset1((float)(v * VW))); }

/**
 * Masks a [nk][QB] score tile in place: keys whose padding-mask entry is 0,
 * and (causal) lanes whose query may not see the key: lane i of key j is
 * masked when j > q0 + i + off, i.e. i < j − off − q0.
 */
inline void mask_tile(float* S, int nk, int kb0, int q0, int off, bool causal, const int32_t* kmask) {
  const vf ninf = vset1(-INFINITY);
  for (int jj = 0; jj < nk; jj++) {
    const int j = kb0 + jj;
    float* row = S + (i64)jj * QB;
    if (kmask && kmask[j] == 0) {
      for (int v = 0; v < NQ; v++) vst(row + v * VW, ninf);
      continue;
    }
    if (causal) {
      const int thr = j - off - q0;
      if (thr > 0) {
        const vf t = vset1((float)thr);
        for (int v = 0; v < NQ; v++) vst(row + v * VW, vsel_lt(lane_index(v), t, ninf, vld(row + v * VW)));
      }
    }
  }
}

/**
 * Loads a query block transposed: dst[dd][i] = scale·src[i·d + dd] for
 * i < nq, and 0 for nq ≤ i < QB (8×8 register transposes where they fit).
 */
inline void load_transposed(float* dst, const float* src, int nq, int d, float scale) {
  int i0 = 0;
#if defined(__AVX__)
  const __m256 sc = _mm256_set1_ps(scale);
  for (; i0 + 8 <= nq; i0 += 8) {
    int dd = 0;
    for (; dd + 8 <= d; dd += 8) {
      const float* r = src + (i64)i0 * d + dd;
      __m256 x0 = _mm256_loadu_ps(r), x1 = _mm256_loadu_ps(r + d), x2 = _mm256_loadu_ps(r + 2 * d),
             x3 = _mm256_loadu_ps(r + 3 * d), x4 = _mm256_loadu_ps(r + 4 * d), x5 = _mm256_loadu_ps(r + 5 * d),
             x6 = _mm256_loadu_ps(r + 6 * d), x7 = _mm256_loadu_ps(r + 7 * d);
      transpose8x8(x0, x1, x2, x3, x4, x5, x6, x7);
      float* o = dst + (i64)dd * QB + i0;
      _mm256_storeu_ps(o, _mm256_mul_ps(x0, sc));
      _mm256_storeu_ps(o + QB, _mm256_mul_ps(x1, sc));
      _mm256_storeu_ps(o + 2 * QB, _mm256_mul_ps(x2, sc));
      _mm256_storeu_ps(o + 3 * QB, _mm256_mul_ps(x3, sc));
      _mm256_storeu_ps(o + 4 * QB, _mm256_mul_ps(x4, sc));
      _mm256_storeu_ps(o + 5 * QB, _mm256_mul_ps(x5, sc));
      _mm256_storeu_ps(o + 6 * QB, _mm256_mul_ps(x6, sc));
      _mm256_storeu_ps(o + 7 * QB, _mm256_mul_ps(x7, sc));
    }
    for (; dd < d; dd++)
      for (int i = i0; i < i0 + 8; i++) dst[(i64)dd * QB + i] = scale * src[(i64)i * d + dd];
  }
#endif
  for (int dd = 0; dd < d; dd++) {
    float* row = dst + (i64)dd * QB;
    for (int i = i0; i < nq; i++) row[i] = scale * src[(i64)i * d + dd];
    for (int i = nq; i < QB; i++) row[i] = 0.0f;
  }
}

/** rows[i][0..d) *= f[i] for i < n (row stride d). */
inline void scale_rows(float* rows, int n, int d, const float* f) {
  for (int i = 0; i < n; i++) {
    float* r = rows + (i64)i * d;
    const float s = f[i];
#pragma omp simd
    for (int dd = 0; dd < d; dd++) r[dd] *= s;
  }
}

/** Last key (exclusive) any query of the block may see. */
inline int key_limit(bool causal, int tk, int q0, int nq, int off) {
  if (!causal) return tk;
  return std::max(0, std::min(tk, q0 + nq + off));
}

// ---------------------------------------------------------------------------
// Forward.

void forward_block(const AttnShape& s, const float* q, const float* k, const float* v, float* out, float* lse,
                   const int32_t* kmask, int q0) {
  const int d = s.headDim, tk = s.tk, off = s.tk - s.tq;
  const int nq = std::min(QB, s.tq - q0);
  float* Qt = scratch((size_t)d * QB, 4);
  float* S = scratch((size_t)KB * QB, 6);
  float* O = out + (i64)q0 * d;  // the output rows accumulate in place
  load_transposed(Qt, q + (i64)q0 * d, nq, d, s.scale);
  vf mrow[NQ], lrow[NQ];
  for (int u = 0; u < NQ; u++) {
    mrow[u] = vset1(-INFINITY);
    lrow[u] = vzero();
  }
  alignas(64) float alphaLane[QB];
  const int jmax = key_limit(s.causal, tk, q0, nq, off);
  for (int kb0 = 0; kb0 < jmax; kb0 += KB) {
    const int nk = std::min(KB, jmax - kb0);
    // S[j][i] = Σ_dd K[j][dd]·Qt[dd][i]
    mm(nk, QB, d, k + (i64)kb0 * d, d, 1, Qt, QB, S, QB, false);
    mask_tile(S, nk, kb0, q0, off, s.causal, kmask);
    vf mnew[NQ], base[NQ], lsum[NQ];
    for (int u = 0; u < NQ; u++) mnew[u] = mrow[u];
    for (int jj = 0; jj < nk; jj++)
      for (int u = 0; u < NQ; u++) mnew[u] = vmax(mnew[u], vld(S + jj * QB + u * VW));
    for (int u = 0; u < NQ; u++) {
      // A lane that has seen only masked keys keeps max −inf: subtract 0
      // instead, so exp(−inf − 0) = 0 rather than exp(NaN).
      base[u] = vsel_gt(mnew[u], vset1(-INFINITY), mnew[u], vzero());
      vst(alphaLane + u * VW, vexp(vsub(mrow[u], base[u])));
      lsum[u] = vzero();
    }
    for (int jj = 0; jj < nk; jj++)
      for (int u = 0; u < NQ; u++) {
        float* p = S + jj * QB + u * VW;
        vf e = vexp(vsub(vld(p), base[u]));
        vst(p, e);
        lsum[u] = vadd(lsum[u], e);
      }
    for (int u = 0; u < NQ; u++) {
      lrow[u] = vfma(lrow[u], vld(alphaLane + u * VW), lsum[u]);
      mrow[u] = mnew[u];
    }
    // Online softmax: rescale what earlier key blocks accumulated.
    if (kb0 > 0) scale_rows(O, nq, d, alphaLane);
    // O[i][·] (+)= Σ_j P[j][i]·V[j][·]
    mm(nq, d, nk, S, 1, QB, v + (i64)kb0 * d, d, O, d, kb0 > 0);
  }
  alignas(64) float lv[QB], mv[QB];
  for (int u = 0; u < NQ; u++) {
    vst(lv + u * VW, lrow[u]);
    vst(mv + u * VW, mrow[u]);
  }
  if (jmax == 0) std::fill(O, O + (size_t)nq * d, 0.0f);
  for (int i = 0; i < nq; i++) {
    const bool empty = !(lv[i] > 0.0f);
    lse[q0 + i] = empty ? -INFINITY : mv[i] + std::log(lv[i]);
    lv[i] = empty ? 0.0f : 1.0f / lv[i];
  }
  scale_rows(O, nq, d, lv);
}

/** Row-wise forward for a handful of queries (decoding). */
void forward_rows(const AttnShape& s, const float* q, const float* k, const float* v, float* out, float* lse,
                  const int32_t* kmask, int i) {
  const int d = s.headDim, tk = s.tk, off = s.tk - s.tq;
  const int lim = s.causal ? std::max(0, std::min(tk, i + off + 1)) : tk;
  float* sc = scratch((size_t)tk + 16, 4);
  const float* qi = q + (i64)i * d;
  // Scores four keys at a time: four vector accumulators over d, then one
  // transpose-and-add for the four sums.
  int j = 0;
  for (; j + 4 <= lim; j += 4) {
    const float* k0 = k + (i64)j * d;
    vf a0 = vzero(), a1 = vzero(), a2 = vzero(), a3 = vzero();
    int dd = 0;
    for (; dd + VW <= d; dd += VW) {
      const vf qv = vld(qi + dd);
      a0 = vfma(qv, vld(k0 + dd), a0);
      a1 = vfma(qv, vld(k0 + d + dd), a1);
      a2 = vfma(qv, vld(k0 + 2 * d + dd), a2);
      a3 = vfma(qv, vld(k0 + 3 * d + dd), a3);
    }
    if (dd < d) {
      const int w = d - dd;
      const vf qv = vld_n(qi + dd, w);
      a0 = vfma(qv, vld_n(k0 + dd, w), a0);
      a1 = vfma(qv, vld_n(k0 + d + dd, w), a1);
      a2 = vfma(qv, vld_n(k0 + 2 * d + dd, w), a2);
      a3 = vfma(qv, vld_n(k0 + 3 * d + dd, w), a3);
    }
    vhsum4(a0, a1, a2, a3, sc + j);
  }
  for (; j < lim; j++) sc[j] = dot_f32(qi, k + (i64)j * d, d);
  float m = -INFINITY;
  for (j = 0; j < lim; j++) {
    sc[j] = (kmask && kmask[j] == 0) ? -INFINITY : sc[j] * s.scale;
    m = sc[j] > m ? sc[j] : m;
  }
  float* o = out + (i64)i * d;
  if (!(m > -INFINITY)) {
    std::fill(o, o + d, 0.0f);
    lse[i] = -INFINITY;
    return;
  }
  double l = 0;
  {
    j = 0;
    const vf mv = vset1(m);
    vf sv = vzero();
    for (; j + VW <= lim; j += VW) {
      vf e = vexp(vsub(vld(sc + j), mv));
      vst(sc + j, e);
      sv = vadd(sv, e);
    }
    l = vhsum(sv);
    for (; j < lim; j++) {
      sc[j] = std::exp(sc[j] - m);
      l += sc[j];
    }
  }
  // out = Σ_j p_j·V[j] / l, in register accumulators: up to 4 vectors of d at
  // a time, two keys per step (two independent chains per vector).
  const vf inv = vset1((float)(1.0 / l));
  for (int c0 = 0; c0 < d; c0 += 4 * VW) {
    const int cw = std::min(4 * VW, d - c0);
    const int nv = (cw + VW - 1) / VW;
    vf a[4] = {vzero(), vzero(), vzero(), vzero()}, b[4] = {vzero(), vzero(), vzero(), vzero()};
    int jj = 0;
    for (; jj + 2 <= lim; jj += 2) {
      const vf p0 = vset1(sc[jj]), p1 = vset1(sc[jj + 1]);
      const float* v0 = v + (i64)jj * d + c0;
      const float* v1 = v0 + d;
      for (int u = 0; u < nv; u++) {
        const int w = std::min(VW, cw - u * VW);
        a[u] = vfma(p0, w == VW ? vld(v0 + u * VW) : vld_n(v0 + u * VW, w), a[u]);
        b[u] = vfma(p1, w == VW ? vld(v1 + u * VW) : vld_n(v1 + u * VW, w), b[u]);
      }
    }
    if (jj < lim) {
      const vf p0 = vset1(sc[jj]);
      const float* v0 = v + (i64)jj * d + c0;
      for (int u = 0; u < nv; u++) {
        const int w = std::min(VW, cw - u * VW);
        a[u] = vfma(p0, w == VW ? vld(v0 + u * VW) : vld_n(v0 + u * VW, w), a[u]);
      }
    }
    for (int u = 0; u < nv; u++) {
      const int w = std::min(VW, cw - u * VW);
      vst_n(o + c0 + u * VW, vmul(vadd(a[u], b[u]), inv), w);
    }
  }
  lse[i] = (float)((double)m + std::log(l));
}

// ---------------------------------------------------------------------------
// Backward (FlashAttention-2, Algorithm 2, with the query block outermost so
// that one thread owns a whole (batch, head) and dK, dV need no atomics).

void backward_head(const AttnShape& s, const float* q, const float* k, const float* v, const float* o,
                   const float* lse, const float* dO, float* dq, float* dk, float* dv, const int32_t* kmask) {
  const int d = s.headDim, tk = s.tk, tq = s.tq, off = s.tk - s.tq;
  float* Qt = scratch((size_t)d * QB, 4);
  float* dOt = scratch((size_t)d * QB, 5);
  float* P = scratch((size_t)KB * QB, 6);
  float* dS = scratch((size_t)KB * QB, 7);
  alignas(64) float Lb[QB];  // lse per lane
  alignas(64) float Db[QB];  // rowsum(dO ⊙ O) per lane
  std::fill(dk, dk + (size_t)tk * d, 0.0f);
  std::fill(dv, dv + (size_t)tk * d, 0.0f);
  for (int q0 = 0; q0 < tq; q0 += QB) {
    const int nq = std::min(QB, tq - q0);
    load_transposed(Qt, q + (i64)q0 * d, nq, d, s.scale);
    load_transposed(dOt, dO + (i64)q0 * d, nq, d, 1.0f);
    for (int i = 0; i < QB; i++) {
      if (i < nq) {
        const float l = lse[q0 + i];
        // A fully masked row has lse = −inf and zero output: +inf here makes
        // its recomputed probabilities exp(s − inf) = 0.
        Lb[i] = l > -INFINITY ? l : INFINITY;
        const float* oi = o + (i64)(q0 + i) * d;
        const float* gi = dO + (i64)(q0 + i) * d;
        Db[i] = (float)dot_f64(oi, gi, d);
      } else {
        Lb[i] = INFINITY;
        Db[i] = 0.0f;
      }
    }
    const int jmax = key_limit(s.causal, tk, q0, nq, off);
    for (int kb0 = 0; kb0 < jmax; kb0 += KB) {
      const int nk = std::min(KB, jmax - kb0);
      const float* kb = k + (i64)kb0 * d;
      const float* vb = v + (i64)kb0 * d;
      // P = exp(S − lse)
      mm(nk, QB, d, kb, d, 1, Qt, QB, P, QB, false);
      mask_tile(P, nk, kb0, q0, off, s.causal, kmask);
      for (int jj = 0; jj < nk; jj++)
        for (int u = 0; u < NQ; u++) {
          float* p = P + jj * QB + u * VW;
          vst(p, vexp(vsub(vld(p), vld(Lb + u * VW))));
        }
      // dV[j] += Σ_i P[j][i]·dO[i]
      mm(nk, d, nq, P, QB, 1, dO + (i64)q0 * d, d, dv + (i64)kb0 * d, d, true);
      // dP[j][i] = Σ_dd V[j][dd]·dO[i][dd];  dS = P ⊙ (dP − D)·scale
      mm(nk, QB, d, vb, d, 1, dOt, QB, dS, QB, false);
      const vf sc = vset1(s.scale);
      for (int jj = 0; jj < nk; jj++)
        for (int u = 0; u < NQ; u++) {
          float* g = dS + jj * QB + u * VW;
          vst(g, vmul(sc, vmul(vld(P + jj * QB + u * VW), vsub(vld(g), vld(Db + u * VW)))));
        }
      // dK[j] += Σ_i dS[j][i]·Q[i]
      mm(nk, d, nq, dS, QB, 1, q + (i64)q0 * d, d, dk + (i64)kb0 * d, d, true);
      // dQ[i] (+)= Σ_j dS[j][i]·K[j], straight into the output rows
      mm(nq, d, nk, dS, 1, QB, kb, d, dq + (i64)q0 * d, d, kb0 > 0);
    }
    if (jmax == 0) std::fill(dq + (i64)q0 * d, dq + (i64)(q0 + nq) * d, 0.0f);
  }
}

}  // namespace

void attention_forward(const AttnShape& s, const float* q, const float* k, const float* v, float* out, float* lse) {
  const int BH = s.batch * s.heads;
  const int d = s.headDim;
  if (BH <= 0 || s.tq <= 0) return;
  if (s.tk <= 0 || d <= 0) {
    // No keys: every row is fully masked (zeros, lse = −inf).
    std::fill(out, out + (size_t)BH * s.tq * std::max(d, 0), 0.0f);
    std::fill(lse, lse + (size_t)BH * s.tq, -INFINITY);
    return;
  }
  const double work = (double)BH * s.tq * s.tk * d * (s.causal ? 0.5 : 1.0);
  const int T = threads_for(work, 262144);
  const bool rowwise = s.tq < ROWWISE_MAX_TQ;
  const int units = rowwise ? s.tq : (s.tq + QB - 1) / QB;
  const i64 items = (i64)BH * units;
  parallel_items(T, items, [&](i64 it) {
    const int bh = (int)(it / units), u = (int)(it % units);
    const int b = bh / s.heads;
    const float* qh = q + (i64)bh * s.tq * d;
    const float* kh = k + (i64)bh * s.tk * d;
    const float* vh = v + (i64)bh * s.tk * d;
    float* oh = out + (i64)bh * s.tq * d;
    float* lh = lse + (i64)bh * s.tq;
    const int32_t* km = s.keyPaddingMask ? s.keyPaddingMask + (i64)b * s.tk : nullptr;
    if (rowwise)
      forward_rows(s, qh, kh, vh, oh, lh, km, u);
    else
      forward_block(s, qh, kh, vh, oh, lh, km, u * QB);
  });
}

void attention_backward(const AttnShape& s, const float* q, const float* k, const float* v, const float* out,
                        const float* lse, const float* dOut, float* dq, float* dk, float* dv) {
  const int BH = s.batch * s.heads;
  const int d = s.headDim;
  if (BH <= 0) return;
  if (s.tq <= 0 || s.tk <= 0 || d <= 0) {
    std::fill(dq, dq + (size_t)BH * std::max(s.tq, 0) * std::max(d, 0), 0.0f);
    std::fill(dk, dk + (size_t)BH * std::max(s.tk, 0) * std::max(d, 0), 0.0f);
    std::fill(dv, dv + (size_t)BH * std::max(s.tk, 0) * std::max(d, 0), 0.0f);
    return;
  }
  const double work = (double)BH * s.tq * s.tk * d * 2.5;
  const int T = threads_for(work, 262144);
  parallel_items(T, BH, [&](i64 bhi) {
    const int bh = (int)bhi;
    const int b = bh / s.heads;
    const i64 qo = (i64)bh * s.tq * d, ko = (i64)bh * s.tk * d;
    backward_head(s, q + qo, k + ko, v + ko, out + qo, lse + (i64)bh * s.tq, dOut + qo, dq + qo, dk + ko, dv + ko,
                  s.keyPaddingMask ? s.keyPaddingMask + (i64)b * s.tk : nullptr);
  });
}

}  // namespace muse
