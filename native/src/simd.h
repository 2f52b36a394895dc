// One SIMD vocabulary for every kernel, chosen at compile time from what the
// compiler targets (-march=native): AVX-512 (16 floats), AVX2+FMA (8 floats),
// or portable GCC/Clang vector extensions (4 floats, any CPU). Kernels are
// written once against these inline functions.
//
// The transcendental functions (vexp, vtanh, vsigmoid, verfc) are our own
// range-reduced polynomials, accurate to a few float ulps, so that the native
// backend agrees with the js reference (which works in float64) to 1e-5.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

#if defined(__AVX512F__) || defined(__AVX2__)
#include <immintrin.h>
#endif

namespace muse {

#if defined(__AVX512F__)

#define MUSE_ISA "avx512"
using vf = __m512;
constexpr int VW = 16;

inline vf vzero() { return _mm512_setzero_ps(); }
inline vf vset1(float x) { return _mm512_set1_ps(x); }
inline vf vld(const float* p) { return _mm512_loadu_ps(p); }
inline void vst(float* p, vf v) { _mm512_storeu_ps(p, v); }
inline __mmask16 vmask_n(int n) { return (__mmask16)((1u << n) - 1u); }
/** Loads the first n (0..16) floats, zero elsewhere; never touches p[n..]. */
inline vf vld_n(const float* p, int n) { return _mm512_maskz_loadu_ps(vmask_n(n), p); }
inline void vst_n(float* p, vf v, int n) { _mm512_mask_storeu_ps(p, vmask_n(n), v); }
inline vf vadd(vf a, vf b) { return _mm512_add_ps(a, b); }
inline vf vsub(vf a, vf b) { return _mm512_sub_ps(a, b); }
inline vf vmul(vf a, vf b) { return _mm512_mul_ps(a, b); }
inline vf vdiv(vf a, vf b) { return _mm512_div_ps(a, b); }
/** a·b + c */
inline vf vfma(vf a, vf b, vf c) { return _mm512_fmadd_ps(a, b, c); }
/** c − a·b */
inline vf vfnma(vf a, vf b, vf c) { return _mm512_fnmadd_ps(a, b, c); }
// max/min return the second operand when either is NaN: call them as
// vmax(bound, x) so that a NaN in x propagates.
inline vf vmax(vf a, vf b) { return _mm512_max_ps(a, b); }
inline vf vmin(vf a, vf b) { return _mm512_min_ps(a, b); }
inline vf vabs(vf a) { return _mm512_abs_ps(a); }
inline vf vsqrt(vf a) { return _mm512_sqrt_ps(a); }
inline vf vround(vf a) { return _mm512_roundscale_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
/** a · 2^n for integral-valued n; exact, with IEEE overflow/underflow. */
inline vf vscale2(vf a, vf n) { return _mm512_scalef_ps(a, n); }
/** cond(a < b) ? x : y */
inline vf vsel_lt(vf a, vf b, vf x, vf y) { return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(a, b, _CMP_LT_OQ), y, x); }
inline vf vsel_gt(vf a, vf b, vf x, vf y) { return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(a, b, _CMP_GT_OQ), y, x); }
inline vf vsel_ge(vf a, vf b, vf x, vf y) { return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(a, b, _CMP_GE_OQ), y, x); }
inline vf vsel_le(vf a, vf b, vf x, vf y) { return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(a, b, _CMP_LE_OQ), y, x); }
inline float vhsum(vf a) { return _mm512_reduce_add_ps(a); }
inline float vhmax(vf a) { return _mm512_reduce_max_ps(a); }
/** The lane indices 0, 1, …, 15 as floats. */
inline vf viota() { return _mm512_setr_ps(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15); }
inline void vprefetch(const void* p) { _mm_prefetch((const char*)p, _MM_HINT_T0); }

#elif defined(__AVX2__) && defined(__FMA__)

#define MUSE_ISA "avx2"
using vf = __m256;
constexpr int VW = 8;

inline vf vzero() { return _mm256_setzero_ps(); }
inline vf vset1(float x) { return _mm256_set1_ps(x); }
inline vf vld(const float* p) { return _mm256_loadu_ps(p); }
inline void vst(float* p, vf v) { _mm256_storeu_ps(p, v); }
inline __m256i vmask_n(int n) {
  const __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), idx);
}
inline vf vld_n(const float* p, int n) { return _mm256_maskload_ps(p, vmask_n(n)); }
inline void vst_n(float* p, vf v, int n) { _mm256_maskstore_ps(p, vmask_n(n), v); }
inline vf vadd(vf a, vf b) { return _mm256_add_ps(a, b); }
inline vf vsub(vf a, vf b) { return _mm256_sub_ps(a, b); }
inline vf vmul(vf a, vf b) { return _mm256_mul_ps(a, b); }
inline vf vdiv(vf a, vf b) { return _mm256_div_ps(a, b); }
inline vf vfma(vf a, vf b, vf c) { return _mm256_fmadd_ps(a, b, c); }
inline vf vfnma(vf a, vf b, vf c) { return _mm256_fnmadd_ps(a, b, c); }
inline vf vmax(vf a, vf b) { return _mm256_max_ps(a, b); }
inline vf vmin(vf a, vf b) { return _mm256_min_ps(a, b); }
inline vf vabs(vf a) { return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), a); }
inline vf vsqrt(vf a) { return _mm256_sqrt_ps(a); }
inline vf vround(vf a) { return _mm256_round_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
inline vf vscale2(vf a, vf n) {
  // Split 2^n into two factors so that n down to −252 and up to 254 stays exact
  // (the caller clamps n to that range).
  __m256i ni = _mm256_cvtps_epi32(n);
  __m256i h = _mm256_srai_epi32(ni, 1);
  __m256i l = _mm256_sub_epi32(ni, h);
  vf f1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(h, _mm256_set1_epi32(127)), 23));
  vf f2 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(l, _mm256_set1_epi32(127)), 23));
  return _mm256_mul_ps(_mm256_mul_ps(a, f1), f2);
}
inline vf vsel_lt(vf a, vf b, vf x, vf y) { return _mm256_blendv_ps(y, x, _mm256_cmp_ps(a, b, _CMP_LT_OQ)); }
inline vf vsel_gt(vf a, vf b, vf x, vf y) { return _mm256_blendv_ps(y, x, _mm256_cmp_ps(a, b, _CMP_GT_OQ)); }
inline vf vsel_ge(vf a, vf b, vf x, vf y) { return _mm256_blendv_ps(y, x, _mm256_cmp_ps(a, b, _CMP_GE_OQ)); }
inline vf vsel_le(vf a, vf b, vf x, vf y) { return _mm256_blendv_ps(y, x, _mm256_cmp_ps(a, b, _CMP_LE_OQ)); }
inline float vhsum(vf a) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}
inline float vhmax(vf a) {
  __m128 s = _mm_max_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
  s = _mm_max_ps(s, _mm_movehl_ps(s, s));
  s = _mm_max_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}
inline vf viota() { return _mm256_setr_ps(0, 1, 2, 3, 4, 5, 6, 7); }
inline void vprefetch(const void* p) { _mm_prefetch((const char*)p, _MM_HINT_T0); }

#else

#define MUSE_ISA "portable"
typedef float vf __attribute__((vector_size(16)));
typedef int32_t vi __attribute__((vector_size(16)));
constexpr int VW = 4;

inline vf vzero() { return vf{0, 0, 0, 0}; }
inline vf vset1(float x) { return vf{x, x, x, x}; }
inline vf vld(const float* p) { vf v; std::memcpy(&v, p, sizeof v); return v; }
inline void vst(float* p, vf v) { std::memcpy(p, &v, sizeof v); }
inline vf vld_n(const float* p, int n) { vf v = vzero(); for (int i = 0; i < n; i++) v[i] = p[i]; return v; }
inline void vst_n(float* p, vf v, int n) { for (int i = 0; i < n; i++) p[i] = v[i]; }
inline vf vadd(vf a, vf b) { return a + b; }
inline vf vsub(vf a, vf b) { return a - b; }
inline vf vmul(vf a, vf b) { return a * b; }
inline vf vdiv(vf a, vf b) { return a / b; }
inline vf vfma(vf a, vf b, vf c) { return a * b + c; }
inline vf vfnma(vf a, vf b, vf c) { return c - a * b; }
inline vf vmax(vf a, vf b) { vf r; for (int i = 0; i < 4; i++) r[i] = a[i] > b[i] ? a[i] : b[i]; return r; }
inline vf vmin(vf a, vf b) { vf r; for (int i = 0; i < 4; i++) r[i] = a[i] < b[i] ? a[i] : b[i]; return r; }
inline vf vabs(vf a) { vf r; for (int i = 0; i < 4; i++) r[i] = std::fabs(a[i]); return r; }
inline vf vsqrt(vf a) { vf r; for (int i = 0; i < 4; i++) r[i] = std::sqrt(a[i]); return r; }
inline vf vround(vf a) { vf r; for (int i = 0; i < 4; i++) r[i] = std::nearbyint(a[i]); return r; }
inline vf vscale2(vf a, vf n) { vf r; for (int i = 0; i < 4; i++) r[i] = std::ldexp(a[i], (int)n[i]); return r; }
inline vf vsel_lt(vf a, vf b, vf x, vf y) { vf r; for (int i = 0; i < 4; i++) r[i] = a[i] < b[i] ? x[i] : y[i]; return r; }
inline vf vsel_gt(vf a, vf b, vf x, vf y) { vf r; for (int i = 0; i < 4; i++) r[i] = a[i] > b[i] ? x[i] : y[i]; return r; }
inline vf vsel_ge(vf a, vf b, vf x, vf y) { vf r; for (int i = 0; i < 4; i++) r[i] = a[i] >= b[i] ? x[i] : y[i]; return r; }
inline vf vsel_le(vf a, vf b, vf x, vf y) { vf r; for (int i = 0; i < 4; i++) r[i] = a[i] <= b[i] ? x[i] : y[i]; return r; }
inline float vhsum(vf a) { return (a[0] + a[1]) + (a[2] + a[3]); }
inline float vhmax(vf a) { float m = a[0]; for (int i = 1; i < 4; i++) m = a[i] > m ? a[i] : m; return m; }
inline vf viota() { return vf{0, 1, 2, 3}; }
inline void vprefetch(const void* p) { __builtin_prefetch(p); }

#endif

#if defined(__AVX__)
/** In-register transpose of eight 8-float rows (AVX). */
inline void transpose8x8(__m256& r0, __m256& r1, __m256& r2, __m256& r3, __m256& r4, __m256& r5, __m256& r6,
                         __m256& r7) {
  __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1);
  __m256 t2 = _mm256_unpacklo_ps(r2, r3), t3 = _mm256_unpackhi_ps(r2, r3);
  __m256 t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5);
  __m256 t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
  __m256 s0 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(1, 0, 1, 0));
  __m256 s1 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(3, 2, 3, 2));
  __m256 s2 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(1, 0, 1, 0));
  __m256 s3 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(3, 2, 3, 2));
  __m256 s4 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(1, 0, 1, 0));
  __m256 s5 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(3, 2, 3, 2));
  __m256 s6 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(1, 0, 1, 0));
  __m256 s7 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(3, 2, 3, 2));
  r0 = _mm256_permute2f128_ps(s0, s4, 0x20);
  r1 = _mm256_permute2f128_ps(s1, s5, 0x20);
  r2 = _mm256_permute2f128_ps(s2, s6, 0x20);
  r3 = _mm256_permute2f128_ps(s3, s7, 0x20);
  r4 = _mm256_permute2f128_ps(s0, s4, 0x31);
  r5 = _mm256_permute2f128_ps(s1, s5, 0x31);
  r6 = _mm256_permute2f128_ps(s2, s6, 0x31);
  r7 = _mm256_permute2f128_ps(s3, s7, 0x31);
}
#endif

/** out[0..4) = the lane sums of a, b, c, d (a transpose-and-add tree, cheaper than four vhsum). */
inline void vhsum4(vf a, vf b, vf c, vf d, float* out) {
#if defined(__AVX512F__) || defined(__AVX2__)
  __m256 x0, x1, x2, x3;
#if defined(__AVX512F__)
  x0 = _mm256_add_ps(_mm512_castps512_ps256(a), _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(a), 1)));
  x1 = _mm256_add_ps(_mm512_castps512_ps256(b), _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(b), 1)));
  x2 = _mm256_add_ps(_mm512_castps512_ps256(c), _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(c), 1)));
  x3 = _mm256_add_ps(_mm512_castps512_ps256(d), _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(d), 1)));
#else
  x0 = a, x1 = b, x2 = c, x3 = d;
#endif
  __m256 h01 = _mm256_hadd_ps(x0, x1);  // a01 a23 b01 b23 | a45 a67 b45 b67
  __m256 h23 = _mm256_hadd_ps(x2, x3);
  __m256 h = _mm256_hadd_ps(h01, h23);  // a b c d (low half sums) | a b c d (high half sums)
  __m128 r = _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
  _mm_storeu_ps(out, r);
#else
  out[0] = vhsum(a), out[1] = vhsum(b), out[2] = vhsum(c), out[3] = vhsum(d);
#endif
}

/** An empty asm that pins v in a vector register (stops load folding). */
inline void vkeep(vf& v) {
#if defined(__AVX512F__) || defined(__AVX2__)
  __asm__("" : "+v"(v));
#else
  (void)v;
#endif
}

// ---------------------------------------------------------------------------
// Transcendentals.

/**
 * e^x. Cody–Waite reduction x = n·ln2 + r, |r| ≤ ln2/2, then the degree-7
 * Taylor polynomial of e^r (truncation error < 1e-8 relative) and an exact
 * scaling by 2^n. exp(−inf) = 0, exp(+inf) = +inf, NaN propagates.
 */
inline vf vexp(vf x) {
  const vf lo = vset1(-104.0f), hi = vset1(88.8f);
  vf xc = vmin(hi, vmax(lo, x));  // NaN in x survives both (second operand)
  vf n = vround(vmul(xc, vset1(1.44269504088896341f)));
  vf r = vfnma(n, vset1(0.693145751953125f), xc);  // ln2 high part (exact product)
  r = vfnma(n, vset1(1.42860682030941723212e-6f), r);  // ln2 low part
  vf p = vset1(1.0f / 5040.0f);
  p = vfma(p, r, vset1(1.0f / 720.0f));
  p = vfma(p, r, vset1(1.0f / 120.0f));
  p = vfma(p, r, vset1(1.0f / 24.0f));
  p = vfma(p, r, vset1(1.0f / 6.0f));
  p = vfma(p, r, vset1(0.5f));
  p = vfma(p, r, vset1(1.0f));
  p = vfma(p, r, vset1(1.0f));
  vf res = vscale2(p, n);
  return res;
}

/** 1 / (1 + e^−x), accurate in relative terms on both tails. */
inline vf vsigmoid(vf x) { return vdiv(vset1(1.0f), vadd(vset1(1.0f), vexp(vsub(vzero(), x)))); }

/**
 * tanh x. For |x| < 0.3 the odd Taylor series to x¹³ (relative error < 1e-9);
 * otherwise sign(x)·(1 − 2/(e^{2|x|} + 1)), which has no cancellation there.
 */
inline vf vtanh(vf x) {
  vf ax = vabs(x);
  vf e = vexp(vmul(vset1(2.0f), vmin(vset1(20.0f), ax)));
  vf big = vsub(vset1(1.0f), vdiv(vset1(2.0f), vadd(e, vset1(1.0f))));
  // copy the sign of x onto big (tanh is odd)
  vf negbig = vsub(vzero(), big);
  big = vsel_lt(x, vzero(), negbig, big);
  vf x2 = vmul(x, x);
  vf p = vset1(-0.00359212803657248101f);  // −(21844/6081075)·… coefficients of tanh's series
  p = vfma(p, x2, vset1(0.00886323552990219656f));
  p = vfma(p, x2, vset1(-0.0218694885361552028f));
  p = vfma(p, x2, vset1(0.0539682539682539683f));
  p = vfma(p, x2, vset1(-0.133333333333333333f));
  p = vfma(p, x2, vset1(0.333333333333333333f));
  vf small = vfnma(vmul(p, x2), x, x);  // x − x³(1/3 − 2x²/15 + …)
  vf r = vsel_lt(ax, vset1(0.3f), small, big);
  // NaN: ax < 0.3 is false, big is NaN — propagates.
  return r;
}

/**
 * erfc(x) for all real x, after Numerical Recipes' Chebyshev fit
 * (Press et al., "Numerical Recipes in C", 2nd ed., §6.2, erfcc): fractional
 * error below 1.2e-7 everywhere, so Φ(x) = erfc(−x/√2)/2 stays accurate in
 * relative terms even far into the negative tail (what GELU needs).
 */
inline vf verfc(vf x) {
  vf z = vabs(x);
  vf t = vdiv(vset1(1.0f), vfma(vset1(0.5f), z, vset1(1.0f)));
  vf p = vset1(0.17087277f);
  p = vfma(p, t, vset1(-0.82215223f));
  p = vfma(p, t, vset1(1.48851587f));
  p = vfma(p, t, vset1(-1.13520398f));
  p = vfma(p, t, vset1(0.27886807f));
  p = vfma(p, t, vset1(-0.18628806f));
  p = vfma(p, t, vset1(0.09678418f));
  p = vfma(p, t, vset1(0.37409196f));
  p = vfma(p, t, vset1(1.00002368f));
  p = vfma(p, t, vset1(-1.26551223f));
  vf ans = vmul(t, vexp(vfnma(z, z, p)));
  return vsel_lt(x, vzero(), vsub(vset1(2.0f), ans), ans);
}

/** ln x for x > 0 (scalar use only: logs are per row, never per element in hot loops). */
inline float slog(float x) { return std::log(x); }

// ---------------------------------------------------------------------------
// Reductions with float64 accumulators (what the js reference computes),
// written out because GCC keeps `omp simd reduction` accumulators of a lambda
// in memory (a store-to-load chain per element, ~5x slower).

/** Σ a[i]·b[i] in float64. */
inline double dot_f64(const float* a, const float* b, int64_t n) {
  int64_t i = 0;
  double s = 0;
#if defined(__AVX512F__)
  __m512d s0 = _mm512_setzero_pd(), s1 = s0, s2 = s0, s3 = s0;
  for (; i + 32 <= n; i += 32) {
    s0 = _mm512_fmadd_pd(_mm512_cvtps_pd(_mm256_loadu_ps(a + i)), _mm512_cvtps_pd(_mm256_loadu_ps(b + i)), s0);
    s1 = _mm512_fmadd_pd(_mm512_cvtps_pd(_mm256_loadu_ps(a + i + 8)), _mm512_cvtps_pd(_mm256_loadu_ps(b + i + 8)), s1);
    s2 = _mm512_fmadd_pd(_mm512_cvtps_pd(_mm256_loadu_ps(a + i + 16)), _mm512_cvtps_pd(_mm256_loadu_ps(b + i + 16)), s2);
    s3 = _mm512_fmadd_pd(_mm512_cvtps_pd(_mm256_loadu_ps(a + i + 24)), _mm512_cvtps_pd(_mm256_loadu_ps(b + i + 24)), s3);
  }
  for (; i + 8 <= n; i += 8)
    s0 = _mm512_fmadd_pd(_mm512_cvtps_pd(_mm256_loadu_ps(a + i)), _mm512_cvtps_pd(_mm256_loadu_ps(b + i)), s0);
  s = _mm512_reduce_add_pd(_mm512_add_pd(_mm512_add_pd(s0, s1), _mm512_add_pd(s2, s3)));
#elif defined(__AVX2__) && defined(__FMA__)
  __m256d s0 = _mm256_setzero_pd(), s1 = s0, s2 = s0, s3 = s0;
  for (; i + 16 <= n; i += 16) {
    s0 = _mm256_fmadd_pd(_mm256_cvtps_pd(_mm_loadu_ps(a + i)), _mm256_cvtps_pd(_mm_loadu_ps(b + i)), s0);
    s1 = _mm256_fmadd_pd(_mm256_cvtps_pd(_mm_loadu_ps(a + i + 4)), _mm256_cvtps_pd(_mm_loadu_ps(b + i + 4)), s1);
    s2 = _mm256_fmadd_pd(_mm256_cvtps_pd(_mm_loadu_ps(a + i + 8)), _mm256_cvtps_pd(_mm_loadu_ps(b + i + 8)), s2);
    s3 = _mm256_fmadd_pd(_mm256_cvtps_pd(_mm_loadu_ps(a + i + 12)), _mm256_cvtps_pd(_mm_loadu_ps(b + i + 12)), s3);
  }
  __m256d t4 = _mm256_add_pd(_mm256_add_pd(s0, s1), _mm256_add_pd(s2, s3));
  __m128d t2 = _mm_add_pd(_mm256_castpd256_pd128(t4), _mm256_extractf128_pd(t4, 1));
  s = _mm_cvtsd_f64(_mm_add_sd(t2, _mm_unpackhi_pd(t2, t2)));
#else
  double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  for (; i + 4 <= n; i += 4) {
    s0 += (double)a[i] * b[i];
    s1 += (double)a[i + 1] * b[i + 1];
    s2 += (double)a[i + 2] * b[i + 2];
    s3 += (double)a[i + 3] * b[i + 3];
  }
  s = (s0 + s1) + (s2 + s3);
#endif
  for (; i < n; i++) s += (double)a[i] * b[i];
  return s;
}

/** Σ a[i] in float64. */
inline double sum_f64(const float* a, int64_t n) {
  int64_t i = 0;
  double s = 0;
#if defined(__AVX512F__)
  __m512d s0 = _mm512_setzero_pd(), s1 = s0;
  for (; i + 16 <= n; i += 16) {
    s0 = _mm512_add_pd(_mm512_cvtps_pd(_mm256_loadu_ps(a + i)), s0);
    s1 = _mm512_add_pd(_mm512_cvtps_pd(_mm256_loadu_ps(a + i + 8)), s1);
  }
  s = _mm512_reduce_add_pd(_mm512_add_pd(s0, s1));
#elif defined(__AVX2__)
  __m256d s0 = _mm256_setzero_pd(), s1 = s0;
  for (; i + 8 <= n; i += 8) {
    s0 = _mm256_add_pd(_mm256_cvtps_pd(_mm_loadu_ps(a + i)), s0);
    s1 = _mm256_add_pd(_mm256_cvtps_pd(_mm_loadu_ps(a + i + 4)), s1);
  }
  __m256d t4 = _mm256_add_pd(s0, s1);
  __m128d t2 = _mm_add_pd(_mm256_castpd256_pd128(t4), _mm256_extractf128_pd(t4, 1));
  s = _mm_cvtsd_f64(_mm_add_sd(t2, _mm_unpackhi_pd(t2, t2)));
#else
  double s0 = 0, s1 = 0;
  for (; i + 2 <= n; i += 2) {
    s0 += a[i];
    s1 += a[i + 1];
  }
  s = s0 + s1;
#endif
  for (; i < n; i++) s += a[i];
  return s;
}

/** Σ (a[i] − mu)² in float64 (the two-pass variance). */
inline double sumsq_dev_f64(const float* a, double mu, int64_t n) {
  int64_t i = 0;
  double s = 0;
#if defined(__AVX512F__)
  const __m512d m = _mm512_set1_pd(mu);
  __m512d s0 = _mm512_setzero_pd(), s1 = s0;
  for (; i + 16 <= n; i += 16) {
    __m512d d0 = _mm512_sub_pd(_mm512_cvtps_pd(_mm256_loadu_ps(a + i)), m);
    __m512d d1 = _mm512_sub_pd(_mm512_cvtps_pd(_mm256_loadu_ps(a + i + 8)), m);
    s0 = _mm512_fmadd_pd(d0, d0, s0);
    s1 = _mm512_fmadd_pd(d1, d1, s1);
  }
  s = _mm512_reduce_add_pd(_mm512_add_pd(s0, s1));
#endif
  for (; i < n; i++) {
    double d = (double)a[i] - mu;
    s += d * d;
  }
  return s;
}

/** Σ a[i]·b[i] in float32 (8 independent vector chains). */
inline float dot_f32(const float* a, const float* b, int64_t n) {
  int64_t i = 0;
  vf s0 = vzero(), s1 = vzero();
  for (; i + 2 * VW <= n; i += 2 * VW) {
    s0 = vfma(vld(a + i), vld(b + i), s0);
    s1 = vfma(vld(a + i + VW), vld(b + i + VW), s1);
  }
  if (i + VW <= n) {
    s0 = vfma(vld(a + i), vld(b + i), s0);
    i += VW;
  }
  if (i < n) s1 = vfma(vld_n(a + i, (int)(n - i)), vld_n(b + i, (int)(n - i)), s1);
  return vhsum(vadd(s0, s1));
}

}  // namespace muse
