// Packed, cache-blocked SGEMM after Goto & van de Geijn ("Anatomy of
// high-performance matrix multiplication", ACM TOMS 2008) and the BLIS loop
// nest (Van Zee & van de Geijn 2015): five loops around a register-blocked
// microkernel.
//
//   jc: NC columns of B/C      ─ B block (KC×NC) packed once per (jc, pc)
//   pc: KC of the k dimension  ─ later KC blocks accumulate into C (beta = 1)
//   ic: MC rows of A/C         ─ A block (MC×KC) packed, stays in L2
//   jr: NR columns             ─ one B micro-panel (KC×NR) stays in L1
//   ir: MR rows                ─ microkernel: MR×NR outer products, KC deep
//
// Packing turns any op(A)/op(B) layout into unit-stride micro-panels, so
// transposes cost nothing beyond the copy. The microkernel keeps the MR×NR
// tile of C in vector registers: 8×32 on AVX-512 (16 zmm accumulators, two
// B loads and eight broadcasts per 16 FMAs), 6×16 on AVX2 (12 ymm), 4×8 with
// portable vectors. A C tile narrower than one vector uses an MR×VW variant
// so that a 65-column product does not pay for 96 columns.
//
// Small m (≤ 8, e.g. decoding one token) skips packing entirely: B is streamed
// from memory once, which is what bounds those products.
#include "gemm.h"

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "simd.h"

namespace muse {
namespace {

#if defined(__AVX512F__)
constexpr int MR = 8;  // 12×32, 14×32, 6×64 and 4×64 measured no better
constexpr int NV = 2;
constexpr int ACC_BUDGET = 16;  // accumulators for the unpacked small-m kernels
#elif defined(__AVX2__) && defined(__FMA__)
constexpr int MR = 6;
constexpr int NV = 2;
constexpr int ACC_BUDGET = 12;
#else
constexpr int MR = 4;
constexpr int NV = 2;
constexpr int ACC_BUDGET = 8;
#endif
constexpr int NR = NV * VW;
constexpr int KC = 256;  // 192…512 and MC 96…384 measured within noise
constexpr int MC = 24 * MR;
constexpr int NC = 64 * NR;

inline int round_up(int x, int m) { return (x + m - 1) / m * m; }


/**
 * Packs a micro-panel: dst[p·W + i] = s[i·rs + p·cs] for i < w, p < kc, and
 * zeros for w ≤ i < W (so the microkernel never branches on edges).
 */
template <int W>
void pack_panel(float* __restrict dst, const float* __restrict s, i64 rs, i64 cs, int w, int kc) {
  if (rs == 1) {
    if (w == W) {
      for (int p = 0; p < kc; p++) std::memcpy(dst + (i64)p * W, s + p * cs, sizeof(float) * W);
    } else {
      for (int p = 0; p < kc; p++) {
        float* d = dst + (i64)p * W;
        for (int i = 0; i < w; i++) d[i] = s[p * cs + i];
        for (int i = w; i < W; i++) d[i] = 0.0f;
      }
    }
    return;
  }
  int i0 = 0;
#if defined(__AVX__)
  if (cs == 1) {
    // 8×8 register transposes: 8 source rows (panel index i) of 8 consecutive
    // k become 8 destination rows of 8 consecutive i.
    for (; i0 + 8 <= w; i0 += 8) {
      const float* r = s + i0 * rs;
      int p = 0;
      for (; p + 8 <= kc; p += 8) {
        __m256 x0 = _mm256_loadu_ps(r + 0 * rs + p), x1 = _mm256_loadu_ps(r + 1 * rs + p);
        __m256 x2 = _mm256_loadu_ps(r + 2 * rs + p), x3 = _mm256_loadu_ps(r + 3 * rs + p);
        __m256 x4 = _mm256_loadu_ps(r + 4 * rs + p), x5 = _mm256_loadu_ps(r + 5 * rs + p);
        __m256 x6 = _mm256_loadu_ps(r + 6 * rs + p), x7 = _mm256_loadu_ps(r + 7 * rs + p);
        transpose8x8(x0, x1, x2, x3, x4, x5, x6, x7);
        float* d = dst + (i64)p * W + i0;
        _mm256_storeu_ps(d + 0 * W, x0);
        _mm256_storeu_ps(d + 1 * W, x1);
        _mm256_storeu_ps(d + 2 * W, x2);
        _mm256_storeu_ps(d + 3 * W, x3);
        _mm256_storeu_ps(d + 4 * W, x4);
        _mm256_storeu_ps(d + 5 * W, x5);
        _mm256_storeu_ps(d + 6 * W, x6);
        _mm256_storeu_ps(d + 7 * W, x7);
      }
      for (; p < kc; p++)
        for (int i = 0; i < 8; i++) dst[(i64)p * W + i0 + i] = r[i * rs + p];
    }
  }
#endif
  for (int p = 0; p < kc; p++) {
    float* d = dst + (i64)p * W;
    for (int i = i0; i < w; i++) d[i] = s[i * rs + p * cs];
    for (int i = w; i < W; i++) d[i] = 0.0f;
  }
}

/**
 * The microkernel: C[0:mr, 0:nr] = alpha·Σ_p a[p]ᵀ b[p] + beta·C, where `a` is
 * a packed M×kc panel (k-major) and `b` a packed kc×(V·VW) panel.
 */
template <int M, int V, bool PACKED_A = true>
inline void ukernel(int kc, const float* __restrict a, const float* __restrict b, float* __restrict c, i64 ldc,
                    float alpha, float beta, int mr, int nr, i64 ars = 1, i64 acs = M) {
  vf acc[M][V];
#pragma GCC unroll 16
  for (int i = 0; i < M; i++)
#pragma GCC unroll 4
    for (int j = 0; j < V; j++) acc[i][j] = vzero();
#pragma GCC unroll 16
  for (int i = 0; i < M; i++) vprefetch(c + i * ldc);

#pragma GCC unroll 4
  for (int p = 0; p < kc; p++) {
    vf bv[V];
#pragma GCC unroll 4
    for (int j = 0; j < V; j++) {
      bv[j] = vld(b + j * VW);
      vkeep(bv[j]);
    }
#pragma GCC unroll 16
    for (int i = 0; i < M; i++) {
      vf av = vset1(PACKED_A ? a[i] : a[i * ars]);
#pragma GCC unroll 4
      for (int j = 0; j < V; j++) acc[i][j] = vfma(av, bv[j], acc[i][j]);
    }
    a += PACKED_A ? M : acs;
    b += V * VW;
  }

  const vf va = vset1(alpha), vb = vset1(beta);
  if (nr == V * VW) {
#pragma GCC unroll 16
    for (int i = 0; i < M; i++) {
      if (i < mr) {
        float* cr = c + i * ldc;
#pragma GCC unroll 4
        for (int j = 0; j < V; j++) {
          vf r = vmul(acc[i][j], va);
          if (beta != 0.0f) r = vfma(vb, vld(cr + j * VW), r);
          vst(cr + j * VW, r);
        }
      }
    }
  } else {
#pragma GCC unroll 16
    for (int i = 0; i < M; i++) {
      if (i < mr) {
        float* cr = c + i * ldc;
#pragma GCC unroll 4
        for (int j = 0; j < V; j++) {
          int w = std::min(nr - j * VW, VW);
          if (w <= 0) break;
          vf r = vmul(acc[i][j], va);
          if (beta != 0.0f) r = vfma(vb, vld_n(cr + j * VW, w), r);
          vst_n(cr + j * VW, r, w);
        }
      }
    }
  }
}

/** C = beta·C (k = 0, or alpha = 0), with beta = 0 writing exact zeros. */
void scale_c(int m, int n, float beta, float* c, i64 rsC, i64 csC) {
  for (int i = 0; i < m; i++)
    for (int j = 0; j < n; j++) {
      float& x = c[i * rsC + j * csC];
      x = beta == 0.0f ? 0.0f : beta * x;
    }
}

/** Single-threaded packed GEMM on a row-major C (column stride 1). */
void gemm_packed(int m, int n, int k, float alpha, MatView A, MatView B, float beta, float* c, i64 ldc) {
  float* bp = scratch((size_t)KC * round_up(std::min(n, NC), NR), 0);
  float* ap = scratch((size_t)MC * KC, 1);
  constexpr bool directA = true;
  for (int jc = 0; jc < n; jc += NC) {
    const int nc = std::min(NC, n - jc);
    for (int pc = 0; pc < k; pc += KC) {
      const int kc = std::min(KC, k - pc);
      for (int jr = 0; jr < nc; jr += NR) {
        const int w = std::min(NR, nc - jr);
        const float* src = B.p + pc * B.rs + (i64)(jc + jr) * B.cs;
        if (NV > 1 && w <= VW)
          pack_panel<VW>(bp + (i64)jr * kc, src, B.cs, B.rs, w, kc);
        else
          pack_panel<NR>(bp + (i64)jr * kc, src, B.cs, B.rs, w, kc);
      }
      const float bet = pc == 0 ? beta : 1.0f;
      for (int ic = 0; ic < m; ic += MC) {
        const int mc = std::min(MC, m - ic);
        // Full MR-row panels of A are read in place by the microkernel
        // (broadcasts need no unit stride); only a ragged last panel is
        // packed, with zero rows. Packing A costs about as much as the
        // microkernel saves when n is small (n = 65..512 in a tiny GPT).
        const int fullRows = directA ? mc / MR * MR : 0;
        for (int ir = fullRows; ir < mc; ir += MR)
          pack_panel<MR>(ap + (i64)ir * kc, A.p + (ic + ir) * A.rs + pc * A.cs, A.rs, A.cs, std::min(MR, mc - ir), kc);
        for (int jr = 0; jr < nc; jr += NR) {
          const int nr = std::min(NR, nc - jr);
          const float* bpanel = bp + (i64)jr * kc;
          const bool narrow = NV > 1 && nr <= VW;
          for (int ir = 0; ir < mc; ir += MR) {
            const int mr = std::min(MR, mc - ir);
            float* cc = c + (ic + ir) * ldc + jc + jr;
            if (ir < fullRows) {
              const float* as = A.p + (ic + ir) * A.rs + pc * A.cs;
              if (narrow)
                ukernel<MR, 1, false>(kc, as, bpanel, cc, ldc, alpha, bet, mr, nr, A.rs, A.cs);
              else
                ukernel<MR, NV, false>(kc, as, bpanel, cc, ldc, alpha, bet, mr, nr, A.rs, A.cs);
            } else if (narrow) {
              ukernel<MR, 1>(kc, ap + (i64)ir * kc, bpanel, cc, ldc, alpha, bet, mr, nr);
            } else {
              ukernel<MR, NV>(kc, ap + (i64)ir * kc, bpanel, cc, ldc, alpha, bet, mr, nr);
            }
          }
        }
      }
    }
  }
}

// ---------------------------------------------------------------------------
// Small m: no packing.

/** Stores an accumulated vector of w ≤ VW outputs of row i at columns j… */
inline void store_row(float* c, i64 csC, vf acc, int w, float alpha, float beta) {
  vf r = vmul(acc, vset1(alpha));
  if (csC == 1) {
    if (beta != 0.0f) r = vfma(vset1(beta), vld_n(c, w), r);
    vst_n(c, r, w);
  } else {
    alignas(64) float t[VW];
    vst(t, r);
    for (int q = 0; q < w; q++) {
      float& x = c[q * csC];
      x = beta == 0.0f ? t[q] : t[q] + beta * x;
    }
  }
}

/**
 * "axpy" form for B with unit column stride: for a block of JV·VW columns,
 * acc[i] += A(i, p)·B(p, j…) over p. B is read once per row block.
 */
template <int M, int JV>
void smallm_axpy_block(int n0, int n1, int k, float alpha, MatView A, MatView B, float beta, float* c, i64 rsC,
                       i64 csC) {
  for (int j = n0; j < n1; j += JV * VW) {
    const int wtot = std::min(JV * VW, n1 - j);
    vf acc[M][JV];
#pragma GCC unroll 8
    for (int i = 0; i < M; i++)
#pragma GCC unroll 4
      for (int v = 0; v < JV; v++) acc[i][v] = vzero();
    const float* bp = B.p + j;
    if (wtot == JV * VW) {
      for (int p = 0; p < k; p++) {
        const float* br = bp + p * B.rs;
        vf bv[JV];
#pragma GCC unroll 4
        for (int v = 0; v < JV; v++) {
          bv[v] = vld(br + v * VW);
          vkeep(bv[v]);
        }
#pragma GCC unroll 8
        for (int i = 0; i < M; i++) {
          vf av = vset1(A.p[i * A.rs + p * A.cs]);
#pragma GCC unroll 4
          for (int v = 0; v < JV; v++) acc[i][v] = vfma(av, bv[v], acc[i][v]);
        }
      }
    } else {
      for (int p = 0; p < k; p++) {
        const float* br = bp + p * B.rs;
        vf bv[JV];
#pragma GCC unroll 4
        for (int v = 0; v < JV; v++) {
          int w = std::max(0, std::min(VW, wtot - v * VW));
          bv[v] = vld_n(br + v * VW, w);
        }
#pragma GCC unroll 8
        for (int i = 0; i < M; i++) {
          vf av = vset1(A.p[i * A.rs + p * A.cs]);
#pragma GCC unroll 4
          for (int v = 0; v < JV; v++) acc[i][v] = vfma(av, bv[v], acc[i][v]);
        }
      }
    }
    for (int i = 0; i < M; i++)
      for (int v = 0; v < JV; v++) {
        int w = std::min(VW, wtot - v * VW);
        if (w <= 0) break;
        store_row(c + i * rsC + (i64)(j + v * VW) * csC, csC, acc[i][v], w, alpha, beta);
      }
  }
}

/**
 * "dot" form for B with unit row stride (B(p, j) = B[j·cs + p]) and A rows
 * contiguous: C(i, j) = Σ_p A(i, p)·B(p, j), vectorised over p, four columns
 * at a time.
 */
template <int M>
void smallm_dot_block(int n0, int n1, int k, float alpha, MatView A, MatView B, float beta, float* c, i64 rsC,
                      i64 csC) {
  // Columns per pass, a multiple of 4 for vhsum4 (8 measured slower for M = 1).
  constexpr int JG = 4;
  for (int j = n0; j < n1; j += JG) {
    const int jn = std::min(JG, n1 - j);
    vf acc[M][JG];
#pragma GCC unroll 8
    for (int i = 0; i < M; i++)
#pragma GCC unroll 4
      for (int q = 0; q < JG; q++) acc[i][q] = vzero();
    const float* bcol[JG];
    for (int q = 0; q < JG; q++) bcol[q] = B.p + (i64)(j + std::min(q, jn - 1)) * B.cs;
    int p = 0;
    for (; p + VW <= k; p += VW) {
      vf bv[JG];
#pragma GCC unroll 4
      for (int q = 0; q < JG; q++) {
        bv[q] = vld(bcol[q] + p);
        vkeep(bv[q]);
      }
#pragma GCC unroll 8
      for (int i = 0; i < M; i++) {
        vf av = vld(A.p + i * A.rs + p);
#pragma GCC unroll 4
        for (int q = 0; q < JG; q++) acc[i][q] = vfma(av, bv[q], acc[i][q]);
      }
    }
    if (p < k) {
      const int w = k - p;
      vf bv[JG];
      for (int q = 0; q < JG; q++) bv[q] = vld_n(bcol[q] + p, w);
      for (int i = 0; i < M; i++) {
        vf av = vld_n(A.p + i * A.rs + p, w);
        for (int q = 0; q < JG; q++) acc[i][q] = vfma(av, bv[q], acc[i][q]);
      }
    }
    for (int i = 0; i < M; i++) {
      alignas(16) float sums[JG];
      for (int q = 0; q < JG; q += 4) vhsum4(acc[i][q], acc[i][q + 1], acc[i][q + 2], acc[i][q + 3], sums + q);
      for (int q = 0; q < jn; q++) {
        float& x = c[i * rsC + (i64)(j + q) * csC];
        float r = alpha * sums[q];
        x = beta == 0.0f ? r : r + beta * x;
      }
    }
  }
}

template <int M>
void smallm_dispatch(bool dotForm, int n0, int n1, int k, float alpha, MatView A, MatView B, float beta, float* c,
                     i64 rsC, i64 csC) {
  constexpr int JV = ACC_BUDGET / M >= 4 ? 4 : (ACC_BUDGET / M >= 2 ? ACC_BUDGET / M : 1);
  if (dotForm)
    smallm_dot_block<(M < 4 ? M : 4)>(n0, n1, k, alpha, A, B, beta, c, rsC, csC);
  else
    smallm_axpy_block<M, JV>(n0, n1, k, alpha, A, B, beta, c, rsC, csC);
}

void smallm_rows(int m, bool dotForm, int n0, int n1, int k, float alpha, MatView A, MatView B, float beta, float* c,
                 i64 rsC, i64 csC) {
  switch (m) {
    case 1: smallm_dispatch<1>(dotForm, n0, n1, k, alpha, A, B, beta, c, rsC, csC); break;
    case 2: smallm_dispatch<2>(dotForm, n0, n1, k, alpha, A, B, beta, c, rsC, csC); break;
    case 3: smallm_dispatch<3>(dotForm, n0, n1, k, alpha, A, B, beta, c, rsC, csC); break;
    case 4: smallm_dispatch<4>(dotForm, n0, n1, k, alpha, A, B, beta, c, rsC, csC); break;
    case 5: smallm_dispatch<5>(dotForm, n0, n1, k, alpha, A, B, beta, c, rsC, csC); break;
    case 6: smallm_dispatch<6>(dotForm, n0, n1, k, alpha, A, B, beta, c, rsC, csC); break;
    case 7: smallm_dispatch<7>(dotForm, n0, n1, k, alpha, A, B, beta, c, rsC, csC); break;
    default: smallm_dispatch<8>(dotForm, n0, n1, k, alpha, A, B, beta, c, rsC, csC); break;
  }
}

/**
 * Up to SMALL_M rows (B with unit column stride) or SMALL_M_DOT rows (B with
 * unit row stride) skip packing: rows in groups of ≤ SMALL_GROUP, columns split
 * across threads. Measured: for m = 16, n = 512, k = 128 the unpacked path
 * beats packing (B stays in L2 and is read twice; packing it costs as much).
 */
constexpr int SMALL_M = 16;
constexpr int SMALL_M_DOT = 4;
constexpr int SMALL_GROUP = 8;

void gemm_smallm(int m, int n, int k, float alpha, MatView A, MatView B, float beta, float* c, i64 rsC, i64 csC,
                 int threads) {
  bool dotForm = B.cs != 1 && B.rs == 1;
  float* apack = nullptr;
  if (dotForm && A.cs != 1) {
    // The dot form wants A rows contiguous: copy them (m·k floats, tiny).
    apack = scratch((size_t)m * k, 2);
    for (int i = 0; i < m; i++)
      for (int p = 0; p < k; p++) apack[(i64)i * k + p] = A.at(i, p);
    A = MatView{apack, k, 1};
  }
  if (!dotForm && B.cs != 1) {
    // Neither unit stride (rare): plain loops.
    for (int i = 0; i < m; i++)
      for (int j = 0; j < n; j++) {
        double s = 0;
        for (int p = 0; p < k; p++) s += (double)A.at(i, p) * B.at(p, j);
        float& x = c[i * rsC + j * csC];
        x = beta == 0.0f ? alpha * (float)s : alpha * (float)s + beta * x;
      }
    return;
  }
  const int unit = dotForm ? 4 : VW;
  const int units = (n + unit - 1) / unit;
  if (threads > units) threads = std::max(1, units);
  // Column ranges claimed dynamically, four per thread.
  const int pieces = threads > 1 ? std::min(units, 4 * threads) : 1;
  parallel_items(threads, pieces, [&](i64 piece) {
    int u0 = (int)((i64)units * piece / pieces), u1 = (int)((i64)units * (piece + 1) / pieces);
    int n0 = u0 * unit, n1 = std::min(n, u1 * unit);
    if (n0 >= n1) return;
    // The dot form holds 4 accumulators per row: at most 4 rows at a time.
    const int group = dotForm ? 4 : SMALL_GROUP;
    for (int i = 0; i < m; i += group) {
      int mi = std::min(group, m - i);
      MatView Ai{A.p + i * A.rs, A.rs, A.cs};
      smallm_rows(mi, dotForm, n0, n1, k, alpha, Ai, B, beta, c + i * rsC, rsC, csC);
    }
  });
}

}  // namespace

void gemm_view(int m, int n, int k, float alpha, MatView A, MatView B, float beta, float* c, i64 rsC, i64 csC,
               int threads) {
  if (m <= 0 || n <= 0) return;
  if (k <= 0 || alpha == 0.0f) {
    scale_c(m, n, beta, c, rsC, csC);
    return;
  }
  if (m <= (B.cs == 1 ? SMALL_M : SMALL_M_DOT)) {
    gemm_smallm(m, n, k, alpha, A, B, beta, c, rsC, csC, threads);
    return;
  }
  if (n <= (A.rs == 1 ? SMALL_M : SMALL_M_DOT)) {
    // Cᵀ = op(B)ᵀ·op(A)ᵀ: the same small-m kernels with the roles swapped.
    MatView At{B.p, B.cs, B.rs}, Bt{A.p, A.cs, A.rs};
    gemm_smallm(n, m, k, alpha, At, Bt, beta, c, csC, rsC, threads);
    return;
  }
  if (csC != 1) {
    // Only the small paths write strided C; a column-major C is the transposed problem.
    if (rsC == 1) {
      MatView At{B.p, B.cs, B.rs}, Bt{A.p, A.cs, A.rs};
      gemm_view(n, m, k, alpha, At, Bt, beta, c, csC, rsC, threads);
      return;
    }
    for (int i = 0; i < m; i++)
      for (int j = 0; j < n; j++) {
        double s = 0;
        for (int p = 0; p < k; p++) s += (double)A.at(i, p) * B.at(p, j);
        float& x = c[i * rsC + j * csC];
        x = beta == 0.0f ? alpha * (float)s : alpha * (float)s + beta * x;
      }
    return;
  }
  // A ragged last column panel of 1–4 columns (e.g. a 65-token vocabulary)
  // would cost the microkernel a whole VW-wide panel; the unpacked small-n
  // path does it for a fraction of that. Each thread takes its share of those
  // columns' rows inside the same parallel region as its main slab.
  const int w = (n > NR && n % NR > 0 && n % NR <= SMALL_M_DOT) ? n % NR : 0;
  const int nMain = n - w;
  const MatView Btail{B.p + (i64)nMain * B.cs, B.rs, B.cs};
  if (threads <= 1) {
    gemm_packed(m, nMain, k, alpha, A, B, beta, c, rsC);
    if (w) gemm_view(m, w, k, alpha, A, Btail, beta, c + nMain, rsC, 1, 1);
    return;
  }
  // Split C in `threads` column slabs of whole NR panels: each thread packs
  // only its own part of B, and A (read in place) is shared. Too few
  // columns: split rows instead (each thread then packs all of B).
  const int mt = (m + MR - 1) / MR, nt = (nMain + NR - 1) / NR;
  const bool splitM = nt < threads || (nt < 2 * threads && mt >= 4 * threads);
  const int tiles = splitM ? mt : nt;
  if (tiles < threads) threads = std::max(1, tiles);
  parallel_run(threads, [&](int t, int T) {
    const int t0 = (int)((i64)tiles * t / T), t1 = (int)((i64)tiles * (t + 1) / T);
    if (splitM) {
      const int i0 = t0 * MR, i1 = std::min(m, t1 * MR);
      if (i0 < i1) gemm_packed(i1 - i0, nMain, k, alpha, MatView{A.p + i0 * A.rs, A.rs, A.cs}, B, beta, c + i0 * rsC, rsC);
    } else {
      const int j0 = t0 * NR, j1 = std::min(nMain, t1 * NR);
      if (j0 < j1) gemm_packed(m, j1 - j0, k, alpha, A, MatView{B.p + j0 * B.cs, B.rs, B.cs}, beta, c + j0, rsC);
    }
    if (w) {
      const int r0 = (int)((i64)m * t / T), r1 = (int)((i64)m * (t + 1) / T);
      if (r0 < r1)
        gemm_view(r1 - r0, w, k, alpha, MatView{A.p + r0 * A.rs, A.rs, A.cs}, Btail, beta, c + r0 * rsC + nMain, rsC, 1, 1);
    }
  });
}

void gemm_batched(const float* a, const float* b, float* c, int batch, int m, int n, int k, bool transA, bool transB,
                  float alpha, float beta, i64 sa, i64 sb, i64 sc) {
  if (batch <= 0) return;
  const i64 rsA = transA ? 1 : k, csA = transA ? m : 1;
  const i64 rsB = transB ? 1 : n, csB = transB ? k : 1;
  const double work = (double)m * n * k;
  // A thread must get ≥ ~2.5 µs of multiply-adds to repay waking it.
  constexpr double kMinFma = 500000.0;
  const int T = threads_for(work * batch, kMinFma);
  // Many independent products: one whole product per thread is the cheapest
  // split (no duplicated packing, no synchronisation). A few large ones:
  // split each product instead.
  const bool overBatch = T > 1 && batch > 1 && sc != 0 && (batch % T == 0 || batch >= 4 * T || work < kMinFma * T);
  if (overBatch) {
    parallel_items(T, batch, [&](i64 bi) {
      gemm_view(m, n, k, alpha, MatView{a + bi * sa, rsA, csA}, MatView{b + bi * sb, rsB, csB}, beta, c + bi * sc, n, 1,
                1);
    });
    return;
  }
  const int Ti = threads_for(work, kMinFma);
  for (int bi = 0; bi < batch; bi++)
    gemm_view(m, n, k, alpha, MatView{a + bi * sa, rsA, csA}, MatView{b + bi * sb, rsB, csB}, beta, c + bi * sc, n, 1,
              Ti);
}

const char* gemm_kernel_name() {
  static char name[64];
  std::snprintf(name, sizeof name, "%s %dx%d", MUSE_ISA, MR, NR);
  return name;
}

}  // namespace muse
