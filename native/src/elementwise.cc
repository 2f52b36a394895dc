// Elementwise kernels: unary ops and their derivatives, broadcast binary ops,
// axis reductions, argmax and the strided gather behind permute/narrow/expand.
// Transcendentals go through the vector functions of simd.h; plain arithmetic
// is left to the compiler's auto-vectoriser (-O3 -march=native).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "kernels.h"
#include "simd.h"

namespace muse {
namespace {

constexpr double kGrain = 32768;  // elements per thread below which one thread is faster
constexpr float kSqrt2OverPi = 0.7978845608028654f;
constexpr float kGeluC = 0.044715f;
constexpr float kInvSqrt2 = 0.7071067811865476f;
constexpr float kInvSqrt2Pi = 0.3989422804014327f;

/** Applies a vector function to [i0, i1), with a masked tail. */
template <class F>
inline void vmap(const float* x, float* out, i64 i0, i64 i1, F f) {
  i64 i = i0;
  for (; i + VW <= i1; i += VW) vst(out + i, f(vld(x + i)));
  if (i < i1) {
    int w = (int)(i1 - i);
    vst_n(out + i, f(vld_n(x + i, w)), w);
  }
}

inline vf gelu_tanh_v(vf x) {
  vf u = vmul(vset1(kSqrt2OverPi), vfma(vmul(vset1(kGeluC), x), vmul(x, x), x));
  // 0.5·x·(1 + tanh u) = x·σ(2u): no cancellation in the negative tail.
  return vmul(x, vsigmoid(vadd(u, u)));
}

inline vf gelu_erf_v(vf x) {
  // x·Φ(x), Φ(x) = erfc(−x/√2)/2.
  return vmul(vmul(vset1(0.5f), x), verfc(vmul(vset1(-kInvSqrt2), x)));
}

}  // namespace

void unary(int op, const float* x, float* out, i64 n) {
  parallel_ranges(n, kGrain, [&](i64 i0, i64 i1) {
    switch (op) {
      case U_NEG:
        for (i64 i = i0; i < i1; i++) out[i] = -x[i];
        break;
      case U_EXP: vmap(x, out, i0, i1, [](vf v) { return vexp(v); }); break;
      case U_LOG:
        for (i64 i = i0; i < i1; i++) out[i] = std::log(x[i]);
        break;
      case U_SQRT:
        for (i64 i = i0; i < i1; i++) out[i] = std::sqrt(x[i]);
        break;
      case U_RSQRT:
        for (i64 i = i0; i < i1; i++) out[i] = 1.0f / std::sqrt(x[i]);
        break;
      case U_TANH: vmap(x, out, i0, i1, [](vf v) { return vtanh(v); }); break;
      case U_SIGMOID: vmap(x, out, i0, i1, [](vf v) { return vsigmoid(v); }); break;
      case U_RELU:
        // x > 0 ? x : 0 keeps NaN as NaN (PyTorch's relu propagates NaN).
        for (i64 i = i0; i < i1; i++) out[i] = x[i] > 0.0f ? x[i] : (x[i] != x[i] ? x[i] : 0.0f);
        break;
      case U_GELU_TANH: vmap(x, out, i0, i1, [](vf v) { return gelu_tanh_v(v); }); break;
      case U_GELU_ERF: vmap(x, out, i0, i1, [](vf v) { return gelu_erf_v(v); }); break;
      case U_ABS:
        for (i64 i = i0; i < i1; i++) out[i] = std::fabs(x[i]);
        break;
      default: break;
    }
  });
}

void unary_backward(int op, const float* x, const float* y, const float* dy, float* dx, i64 n) {
  parallel_ranges(n, kGrain, [&](i64 i0, i64 i1) {
    switch (op) {
      case U_NEG:
        for (i64 i = i0; i < i1; i++) dx[i] = -dy[i];
        break;
      case U_EXP:
        for (i64 i = i0; i < i1; i++) dx[i] = dy[i] * y[i];
        break;
      case U_LOG:
        for (i64 i = i0; i < i1; i++) dx[i] = dy[i] / x[i];
        break;
      case U_SQRT:
        for (i64 i = i0; i < i1; i++) dx[i] = dy[i] * 0.5f / y[i];
        break;
      case U_RSQRT:
        // d/dx x^−½ = −½·x^−3/2 = −½·y³
        for (i64 i = i0; i < i1; i++) dx[i] = -0.5f * dy[i] * y[i] * y[i] * y[i];
        break;
      case U_TANH:
        for (i64 i = i0; i < i1; i++) dx[i] = dy[i] * (1.0f - y[i] * y[i]);
        break;
      case U_SIGMOID:
        for (i64 i = i0; i < i1; i++) dx[i] = dy[i] * y[i] * (1.0f - y[i]);
        break;
      case U_RELU:
        for (i64 i = i0; i < i1; i++) dx[i] = x[i] > 0.0f ? dy[i] : 0.0f;
        break;
      case U_GELU_TANH: {
        i64 i = i0;
        auto f = [](vf xv, vf g) {
          vf x2 = vmul(xv, xv);
          vf u = vmul(vset1(kSqrt2OverPi), vfma(vmul(vset1(kGeluC), x2), xv, xv));
          vf du = vmul(vset1(kSqrt2OverPi), vfma(vset1(3.0f * kGeluC), x2, vset1(1.0f)));
          vf s = vsigmoid(vadd(u, u));
          // d/dx [x·σ(2u)] = σ + 2x·σ(1−σ)·u'
          vf d = vfma(vmul(vmul(vset1(2.0f), xv), vmul(s, vsub(vset1(1.0f), s))), du, s);
          return vmul(g, d);
        };
        for (; i + VW <= i1; i += VW) vst(dx + i, f(vld(x + i), vld(dy + i)));
        if (i < i1) {
          int w = (int)(i1 - i);
          vst_n(dx + i, f(vld_n(x + i, w), vld_n(dy + i, w)), w);
        }
        break;
      }
      case U_GELU_ERF: {
        i64 i = i0;
        auto f = [](vf xv, vf g) {
          vf cdf = vmul(vset1(0.5f), verfc(vmul(vset1(-kInvSqrt2), xv)));
          vf pdf = vmul(vset1(kInvSqrt2Pi), vexp(vmul(vset1(-0.5f), vmul(xv, xv))));
          return vmul(g, vfma(xv, pdf, cdf));
        };
        for (; i + VW <= i1; i += VW) vst(dx + i, f(vld(x + i), vld(dy + i)));
        if (i < i1) {
          int w = (int)(i1 - i);
          vst_n(dx + i, f(vld_n(x + i, w), vld_n(dy + i, w)), w);
        }
        break;
      }
      case U_ABS:
        // sign(x)·dy, with sign(0) = 0 (PyTorch's abs backward).
        for (i64 i = i0; i < i1; i++) dx[i] = x[i] > 0.0f ? dy[i] : (x[i] < 0.0f ? -dy[i] : 0.0f);
        break;
      default: break;
    }
  });
}

// ---------------------------------------------------------------------------
// Binary ops with broadcasting.

namespace {

struct OpAdd { float operator()(float a, float b) const { return a + b; } };
struct OpSub { float operator()(float a, float b) const { return a - b; } };
struct OpMul { float operator()(float a, float b) const { return a * b; } };
struct OpDiv { float operator()(float a, float b) const { return a / b; } };
// JavaScript's Math.pow (the js reference) differs from C's pow in two corners:
// pow(1, NaN) and pow(±1, ±inf) are NaN there, 1 in C. Follow the reference.
struct OpPow {
  float operator()(float a, float b) const {
    if (b == 2.0f) return a * a;
    if (b != b || (std::fabs(b) == INFINITY && std::fabs(a) == 1.0f)) return NAN;
    return std::pow(a, b);
  }
};
// maximum/minimum propagate NaN from either side (torch.maximum semantics).
struct OpMax { float operator()(float a, float b) const { return (a > b || a != a) ? a : b; } };
struct OpMin { float operator()(float a, float b) const { return (a < b || a != a) ? a : b; } };
struct OpEq { float operator()(float a, float b) const { return a == b ? 1.0f : 0.0f; } };
struct OpNe { float operator()(float a, float b) const { return a != b ? 1.0f : 0.0f; } };
struct OpLt { float operator()(float a, float b) const { return a < b ? 1.0f : 0.0f; } };
struct OpLe { float operator()(float a, float b) const { return a <= b ? 1.0f : 0.0f; } };
struct OpGt { float operator()(float a, float b) const { return a > b ? 1.0f : 0.0f; } };
struct OpGe { float operator()(float a, float b) const { return a >= b ? 1.0f : 0.0f; } };

/** out[0..len) = f(a[i·sa], b[i·sb]), with unit-stride and broadcast fast paths. */
template <class F>
inline void binary_row(F f, const float* a, i64 sa, const float* b, i64 sb, float* out, i64 len) {
  if (sa == 1 && sb == 1) {
#pragma omp simd
    for (i64 i = 0; i < len; i++) out[i] = f(a[i], b[i]);
  } else if (sa == 1 && sb == 0) {
    const float bv = b[0];
#pragma omp simd
    for (i64 i = 0; i < len; i++) out[i] = f(a[i], bv);
  } else if (sa == 0 && sb == 1) {
    const float av = a[0];
#pragma omp simd
    for (i64 i = 0; i < len; i++) out[i] = f(av, b[i]);
  } else {
    for (i64 i = 0; i < len; i++) out[i] = f(a[i * sa], b[i * sb]);
  }
}

template <class F>
void binary_impl(F f, const float* a, const i64* as, const float* b, const i64* bs, float* out, const i64* shape,
                 int rank) {
  // Collapse: drop size-1 axes, merge neighbours that are contiguous for both
  // operands (also true of two broadcast axes: 0 = 0·n).
  i64 sh[16], sa[16], sb[16];
  int r = 0;
  i64 total = 1;
  for (int d = 0; d < rank; d++) {
    total *= shape[d];
    if (shape[d] == 1) continue;
    if (r > 0 && sa[r - 1] == as[d] * shape[d] && sb[r - 1] == bs[d] * shape[d]) {
      sh[r - 1] *= shape[d];
      sa[r - 1] = as[d];
      sb[r - 1] = bs[d];
    } else {
      sh[r] = shape[d];
      sa[r] = as[d];
      sb[r] = bs[d];
      r++;
    }
  }
  if (total == 0) return;
  if (r == 0) {
    out[0] = f(a[0], b[0]);
    return;
  }
  const i64 len = sh[r - 1];
  const i64 rows = total / len;
  const int outer = r - 1;
  parallel_ranges(rows, kGrain / (double)std::max<i64>(1, len) + 1, [&](i64 r0, i64 r1) {
    // Decompose the first row index into outer coordinates, then step.
    i64 idx[16];
    i64 offA = 0, offB = 0, rem = r0;
    for (int d = outer - 1; d >= 0; d--) {
      idx[d] = rem % sh[d];
      rem /= sh[d];
      offA += idx[d] * sa[d];
      offB += idx[d] * sb[d];
    }
    for (i64 row = r0; row < r1; row++) {
      binary_row(f, a + offA, sa[r - 1], b + offB, sb[r - 1], out + row * len, len);
      for (int d = outer - 1; d >= 0; d--) {
        idx[d]++;
        offA += sa[d];
        offB += sb[d];
        if (idx[d] < sh[d]) break;
        offA -= sa[d] * sh[d];
        offB -= sb[d] * sh[d];
        idx[d] = 0;
      }
    }
  });
}

}  // namespace

void binary(int op, const float* a, const i64* as, const float* b, const i64* bs, float* out, const i64* shape,
            int rank) {
  switch (op) {
    case B_ADD: binary_impl(OpAdd{}, a, as, b, bs, out, shape, rank); break;
    case B_SUB: binary_impl(OpSub{}, a, as, b, bs, out, shape, rank); break;
    case B_MUL: binary_impl(OpMul{}, a, as, b, bs, out, shape, rank); break;
    case B_DIV: binary_impl(OpDiv{}, a, as, b, bs, out, shape, rank); break;
    case B_POW: binary_impl(OpPow{}, a, as, b, bs, out, shape, rank); break;
    case B_MAX: binary_impl(OpMax{}, a, as, b, bs, out, shape, rank); break;
    case B_MIN: binary_impl(OpMin{}, a, as, b, bs, out, shape, rank); break;
    case B_EQ: binary_impl(OpEq{}, a, as, b, bs, out, shape, rank); break;
    case B_NE: binary_impl(OpNe{}, a, as, b, bs, out, shape, rank); break;
    case B_LT: binary_impl(OpLt{}, a, as, b, bs, out, shape, rank); break;
    case B_LE: binary_impl(OpLe{}, a, as, b, bs, out, shape, rank); break;
    case B_GT: binary_impl(OpGt{}, a, as, b, bs, out, shape, rank); break;
    case B_GE: binary_impl(OpGe{}, a, as, b, bs, out, shape, rank); break;
    default: break;
  }
}

// ---------------------------------------------------------------------------
// Reductions over the middle axis of [outer, dim, inner].

void reduce(int op, const float* x, float* out, i64 outer, i64 dim, i64 inner) {
  const float init = op == R_SUM ? 0.0f : (op == R_MAX ? -INFINITY : INFINITY);
  if (dim == 0) {
    for (i64 i = 0; i < outer * inner; i++) out[i] = init;
    return;
  }
  if (inner == 1) {
    parallel_ranges(outer, kGrain / (double)dim + 1, [&](i64 o0, i64 o1) {
      for (i64 o = o0; o < o1; o++) {
        const float* row = x + o * dim;
        if (op == R_SUM) {
          // float64 accumulation, as the js reference (JavaScript numbers) does.
          out[o] = (float)sum_f64(row, dim);
        } else {
          float m = row[0];
          bool nan = false;
          for (i64 d = 0; d < dim; d++) {
            float v = row[d];
            nan |= v != v;
            m = op == R_MAX ? (v > m ? v : m) : (v < m ? v : m);
          }
          out[o] = nan ? NAN : m;
        }
      }
    });
    return;
  }
  // inner > 1: accumulate whole rows of `inner` values, vectorised along inner.
  const i64 units = outer * ((inner + 1023) / 1024);
  const i64 chunks = (inner + 1023) / 1024;
  parallel_ranges(units, kGrain / (double)(dim * std::min<i64>(inner, 1024)) + 1, [&](i64 u0, i64 u1) {
    double* acc = reinterpret_cast<double*>(scratch(2048 + 16, 3));
    for (i64 u = u0; u < u1; u++) {
      const i64 o = u / chunks, c = u % chunks;
      const i64 j0 = c * 1024, j1 = std::min(inner, j0 + 1024), w = j1 - j0;
      const float* base = x + o * dim * inner + j0;
      float* dst = out + o * inner + j0;
      if (op == R_SUM) {
        for (i64 j = 0; j < w; j++) acc[j] = 0.0;
        for (i64 d = 0; d < dim; d++) {
          const float* row = base + d * inner;
#pragma omp simd
          for (i64 j = 0; j < w; j++) acc[j] += (double)row[j];
        }
        for (i64 j = 0; j < w; j++) dst[j] = (float)acc[j];
      } else {
        for (i64 j = 0; j < w; j++) dst[j] = base[j];
        for (i64 d = 1; d < dim; d++) {
          const float* row = base + d * inner;
          if (op == R_MAX) {
            for (i64 j = 0; j < w; j++) dst[j] = (row[j] > dst[j] || row[j] != row[j]) ? row[j] : dst[j];
          } else {
            for (i64 j = 0; j < w; j++) dst[j] = (row[j] < dst[j] || row[j] != row[j]) ? row[j] : dst[j];
          }
        }
      }
    }
  });
}

void argmax(const float* x, int32_t* out, i64 outer, i64 dim, i64 inner) {
  parallel_ranges(outer * inner, kGrain / (double)std::max<i64>(dim, 1) + 1, [&](i64 u0, i64 u1) {
    for (i64 u = u0; u < u1; u++) {
      const i64 o = u / inner, j = u % inner;
      const float* p = x + o * dim * inner + j;
      // Same rule as the js reference: strict > from −inf, so the first
      // maximum wins and NaN never does (an all-NaN row gives 0).
      i64 best = 0;
      float bv = -INFINITY;
      for (i64 d = 0; d < dim; d++) {
        float v = p[d * inner];
        if (v > bv) {
          bv = v;
          best = d;
        }
      }
      out[u] = (int32_t)best;
    }
  });
}

// ---------------------------------------------------------------------------
// Strided gather.

void copy_strided(const uint32_t* src, i64 srcOffset, const i64* strides, const i64* shape, int rank,
                  uint32_t* dst) {
  i64 sh[16], st[16];
  int r = 0;
  i64 total = 1;
  for (int d = 0; d < rank; d++) {
    total *= shape[d];
    if (shape[d] == 1) continue;
    if (r > 0 && st[r - 1] == strides[d] * shape[d]) {
      sh[r - 1] *= shape[d];
      st[r - 1] = strides[d];
    } else {
      sh[r] = shape[d];
      st[r] = strides[d];
      r++;
    }
  }
  if (total == 0) return;
  src += srcOffset;
  if (r == 0) {
    dst[0] = src[0];
    return;
  }
  // A transpose of the last two axes (source unit stride on the second-last):
  // copy in 16×16 tiles so that both sides stay within a few cache lines.
  if (r >= 2 && st[r - 1] != 1 && st[r - 2] == 1 && sh[r - 1] >= 8 && sh[r - 2] >= 8) {
    const i64 R = sh[r - 2], C = sh[r - 1], sC = st[r - 1];
    const i64 planes = total / (R * C);
    const i64 tilesR = (R + 15) / 16;
    parallel_ranges(planes * tilesR, kGrain / (16.0 * C) + 1, [&](i64 u0, i64 u1) {
      for (i64 u = u0; u < u1; u++) {
        const i64 plane = u / tilesR, tr = u % tilesR;
        i64 off = 0, rem = plane;
        for (int d = r - 3; d >= 0; d--) {
          off += (rem % sh[d]) * st[d];
          rem /= sh[d];
        }
        const uint32_t* s = src + off;
        uint32_t* o = dst + plane * R * C;
        const i64 i0 = tr * 16, i1 = std::min(R, i0 + 16);
        for (i64 j0 = 0; j0 < C; j0 += 16) {
          const i64 j1 = std::min(C, j0 + 16);
          for (i64 i = i0; i < i1; i++)
            for (i64 j = j0; j < j1; j++) o[i * C + j] = s[i + j * sC];
        }
      }
    });
    return;
  }
  const i64 len = sh[r - 1], sl = st[r - 1];
  const i64 rows = total / len;
  const int outer = r - 1;
  parallel_ranges(rows, kGrain / (double)len + 1, [&](i64 r0, i64 r1) {
    i64 idx[16];
    i64 off = 0, rem = r0;
    for (int d = outer - 1; d >= 0; d--) {
      idx[d] = rem % sh[d];
      rem /= sh[d];
      off += idx[d] * st[d];
    }
    for (i64 row = r0; row < r1; row++) {
      uint32_t* o = dst + row * len;
      const uint32_t* s = src + off;
      if (sl == 1)
        std::memcpy(o, s, sizeof(uint32_t) * len);
      else if (sl == 0)
        std::fill(o, o + len, s[0]);
      else
        for (i64 j = 0; j < len; j++) o[j] = s[j * sl];
      for (int d = outer - 1; d >= 0; d--) {
        idx[d]++;
        off += st[d];
        if (idx[d] < sh[d]) break;
        off -= st[d] * sh[d];
        idx[d] = 0;
      }
    }
  });
}

}  // namespace muse
