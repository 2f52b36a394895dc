// Linear layers over stored weights (quant.h): block layouts, dequantization,
// activation quantization, and the row-dot kernels of three dispatch paths —
// portable C++, AVX2 (+FMA, F16C) and AVX-512 (F, BW, VL, VNNI) — chosen at
// run time from cpuid, so an addon built on one x86 machine picks what the
// machine it runs on has. The SIMD paths carry their own target attributes:
// they compile whatever -march says and are only called when the CPU reports
// the instructions.
#include "quant.h"

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "gemm.h"

#if defined(__x86_64__) || defined(_M_X64)
#define MUSE_QUANT_X86 1
#include <immintrin.h>
#endif

namespace muse {

// ---------------------------------------------------------------------------
// Types and scalar helpers

int qtype_block(int type) {
  switch (type) {
    case QT_F32: case QT_F16: case QT_BF16: return 1;
    case QT_Q4_0: case QT_Q5_0: case QT_Q8_0: return 32;
    case QT_Q4_K: case QT_Q5_K: case QT_Q6_K: return 256;
    default: return 0;
  }
}

int qtype_block_bytes(int type) {
  switch (type) {
    case QT_F32: return 4;
    case QT_F16: case QT_BF16: return 2;
    case QT_Q4_0: return 18;
    case QT_Q5_0: return 22;
    case QT_Q5_K: return 176;
    case QT_Q8_0: return 34;
    case QT_Q4_K: return 144;
    case QT_Q6_K: return 210;
    default: return 0;
  }
}

const char* qtype_name(int type) {
  switch (type) {
    case QT_F32: return "f32";
    case QT_F16: return "f16";
    case QT_BF16: return "bf16";
    case QT_Q4_0: return "q4_0";
    case QT_Q5_0: return "q5_0";
    case QT_Q5_K: return "q5_k";
    case QT_Q8_0: return "q8_0";
    case QT_Q4_K: return "q4_k";
    case QT_Q6_K: return "q6_k";
    default: return "unknown";
  }
}

static inline bool is_integer_type(int type) {
  return type == QT_Q4_0 || type == QT_Q5_0 || type == QT_Q8_0 || type == QT_Q4_K || type == QT_Q5_K ||
         type == QT_Q6_K;
}

float f16_to_f32(uint16_t h) {
  const uint32_t sign = (uint32_t)(h & 0x8000) << 16;
  uint32_t exp = (h >> 10) & 0x1F, man = h & 0x3FF, bits;
  if (exp == 0) {
    if (man == 0) {
      bits = sign;
    } else {
      // Subnormal: normalise.
      int e = -1;
      do {
        e++;
        man <<= 1;
      } while (!(man & 0x400));
      bits = sign | ((uint32_t)(127 - 15 - e) << 23) | ((man & 0x3FF) << 13);
    }
  } else if (exp == 31) {
    bits = sign | 0x7F800000u | (man << 13);
  } else {
    bits = sign | ((exp + 127 - 15) << 23) | (man << 13);
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

uint16_t f32_to_f16(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  const uint32_t sign = (x >> 16) & 0x8000;
  const uint32_t ax = x & 0x7FFFFFFFu;
  if (ax >= 0x7F800000u) return (uint16_t)(sign | 0x7C00 | (ax > 0x7F800000u ? 0x200 : 0));
  if (ax >= 0x477FF000u) return (uint16_t)(sign | 0x7C00);  // rounds to ≥ 65520: infinity
  if (ax < 0x38800000u) {
    // Subnormal or zero in half: round ax / 2^-24 to nearest even.
    float a;
    std::memcpy(&a, &ax, 4);
    const float scaled = a * 16777216.0f;  // exact
    return (uint16_t)(sign | (uint32_t)std::nearbyint(scaled));
  }
  const uint32_t e = ((ax >> 23) - 127 + 15), m = ax & 0x7FFFFF;
  uint32_t h = (e << 10) | (m >> 13);
  const uint32_t rest = m & 0x1FFF;
  if (rest > 0x1000 || (rest == 0x1000 && (h & 1))) h++;
  return (uint16_t)(sign | h);
}

static inline float ld_f16(const uint8_t* p) {
  uint16_t h;
  std::memcpy(&h, p, 2);
  return f16_to_f32(h);
}

static inline float bf16_to_f32(uint16_t h) {
  const uint32_t bits = (uint32_t)h << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

/** Q4_K's 12 scale bytes → eight 6-bit scales and mins (ggml's get_scale_min_k4). */
static inline void q4k_scales(const uint8_t* q, uint8_t* sc, uint8_t* mn) {
  for (int j = 0; j < 8; j++) {
    if (j < 4) {
      sc[j] = q[j] & 63;
      mn[j] = q[j + 4] & 63;
    } else {
      sc[j] = (uint8_t)((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
      mn[j] = (uint8_t)((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
    }
  }
}

// ---------------------------------------------------------------------------
// Dequantization (scalar; used for GEMM panels and by qdequantize)

/** out[0 … k1−k0) = dequant(row)[k0 … k1), k0 and k1 multiples of the type's block. */
static void dequant_range(int type, const uint8_t* row, i64 k0, i64 k1, float* out) {
  switch (type) {
    case QT_F32:
      std::memcpy(out, row + k0 * 4, sizeof(float) * (size_t)(k1 - k0));
      return;
    case QT_F16:
      for (i64 k = k0; k < k1; k++) out[k - k0] = ld_f16(row + 2 * k);
      return;
    case QT_BF16:
      for (i64 k = k0; k < k1; k++) {
        uint16_t h;
        std::memcpy(&h, row + 2 * k, 2);
        out[k - k0] = bf16_to_f32(h);
      }
      return;
    case QT_Q8_0:
      for (i64 b = k0 / 32; b < k1 / 32; b++) {
        const uint8_t* blk = row + b * 34;
        const float d = ld_f16(blk);
        const int8_t* q = (const int8_t*)(blk + 2);
        float* o = out + (b * 32 - k0);
        for (int i = 0; i < 32; i++) o[i] = (float)q[i] * d;
      }
      return;
    case QT_Q4_0:
      for (i64 b = k0 / 32; b < k1 / 32; b++) {
        const uint8_t* blk = row + b * 18;
        const float d = ld_f16(blk);
        float* o = out + (b * 32 - k0);
        for (int i = 0; i < 16; i++) {
          o[i] = (float)((blk[2 + i] & 0xF) - 8) * d;
          o[i + 16] = (float)((blk[2 + i] >> 4) - 8) * d;
        }
      }
      return;
    case QT_Q5_0:
      for (i64 b = k0 / 32; b < k1 / 32; b++) {
        const uint8_t* blk = row + b * 22;
        const float d = ld_f16(blk);
        uint32_t qh;
        std::memcpy(&qh, blk + 2, 4);
        float* o = out + (b * 32 - k0);
        for (int j = 0; j < 16; j++) {
          const int h0 = (int)(((qh >> j) << 4) & 0x10), h1 = (int)((qh >> (j + 12)) & 0x10);
          o[j] = (float)(((blk[6 + j] & 0xF) | h0) - 16) * d;
          o[j + 16] = (float)(((blk[6 + j] >> 4) | h1) - 16) * d;
        }
      }
      return;
    case QT_Q5_K:
      for (i64 sb = k0 / 256; sb < k1 / 256; sb++) {
        const uint8_t* blk = row + sb * 176;
        const float d = ld_f16(blk), dmin = ld_f16(blk + 2);
        uint8_t sc[8], mn[8];
        q4k_scales(blk + 4, sc, mn);
        const uint8_t* qh = blk + 16;
        const uint8_t* q = blk + 48;
        float* o = out + (sb * 256 - k0);
        for (int j = 0; j < 4; j++) {
          const float d1 = d * sc[2 * j], m1 = dmin * mn[2 * j];
          const float d2 = d * sc[2 * j + 1], m2 = dmin * mn[2 * j + 1];
          const int u1 = 1 << (2 * j), u2 = 2 << (2 * j);
          for (int l = 0; l < 32; l++) o[64 * j + l] = d1 * (float)((q[32 * j + l] & 0xF) + (qh[l] & u1 ? 16 : 0)) - m1;
          for (int l = 0; l < 32; l++) o[64 * j + 32 + l] = d2 * (float)((q[32 * j + l] >> 4) + (qh[l] & u2 ? 16 : 0)) - m2;
        }
      }
      return;
    case QT_Q4_K:
      for (i64 sb = k0 / 256; sb < k1 / 256; sb++) {
        const uint8_t* blk = row + sb * 144;
        const float d = ld_f16(blk), dmin = ld_f16(blk + 2);
        uint8_t sc[8], mn[8];
        q4k_scales(blk + 4, sc, mn);
        const uint8_t* q = blk + 16;
        float* o = out + (sb * 256 - k0);
        for (int j = 0; j < 4; j++) {
          const float d1 = d * sc[2 * j], m1 = dmin * mn[2 * j];
          const float d2 = d * sc[2 * j + 1], m2 = dmin * mn[2 * j + 1];
          for (int l = 0; l < 32; l++) o[64 * j + l] = d1 * (float)(q[32 * j + l] & 0xF) - m1;
          for (int l = 0; l < 32; l++) o[64 * j + 32 + l] = d2 * (float)(q[32 * j + l] >> 4) - m2;
        }
      }
      return;
    case QT_Q6_K:
      for (i64 sb = k0 / 256; sb < k1 / 256; sb++) {
        const uint8_t* blk = row + sb * 210;
        const float d = ld_f16(blk + 208);
        const int8_t* scales = (const int8_t*)(blk + 192);
        float* o = out + (sb * 256 - k0);
        for (int n = 0; n < 2; n++) {
          const uint8_t* ql = blk + 64 * n;
          const uint8_t* qh = blk + 128 + 32 * n;
          const int8_t* sc = scales + 8 * n;
          float* y = o + 128 * n;
          for (int l = 0; l < 32; l++) {
            const int is = l / 16;
            const int q1 = (int)((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
            const int q2 = (int)((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
            const int q3 = (int)((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
            const int q4 = (int)((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
            y[l] = d * (float)sc[is] * (float)q1;
            y[l + 32] = d * (float)sc[is + 2] * (float)q2;
            y[l + 64] = d * (float)sc[is + 4] * (float)q3;
            y[l + 96] = d * (float)sc[is + 6] * (float)q4;
          }
        }
      }
      return;
    default:
      return;
  }
}

void qdequantize(const QMat& W, i64 row0, i64 nrows, float* out) {
  const i64 rb = qtype_row_bytes(W.type, W.cols);
  for (i64 r = 0; r < nrows; r++) dequant_range(W.type, W.data + (row0 + r) * rb, 0, W.cols, out + r * W.cols);
}

// ---------------------------------------------------------------------------
// Activations: 8 bits per 32-element block

namespace {

/** One activation row as a row dot sees it: floats, and for integer types its 8-bit blocks. */
struct ActRow {
  const float* x;
  const int8_t* q;   // [K]
  const float* d;    // [K/32] block scales
  const int32_t* s;  // [K/32] Σ q over the block
};

/** Quantizes one row of K (a multiple of 32) floats: d = max|x|/127, q = round-half-even(x/d). */
void quantize_act_row(const float* x, i64 K, int8_t* q, float* d, int32_t* s) {
  for (i64 b = 0; b < K / 32; b++) {
    const float* xb = x + b * 32;
    float amax = 0.0f;
    for (int i = 0; i < 32; i++) {
      const float v = std::fabs(xb[i]);
      amax = v > amax ? v : amax;
    }
    const float db = amax / 127.0f;
    const float id = db != 0.0f ? 1.0f / db : 0.0f;
    int32_t sum = 0;
    for (int i = 0; i < 32; i++) {
      int v = (int)std::nearbyint(xb[i] * id);
      v = v > 127 ? 127 : (v < -127 ? -127 : v);
      q[b * 32 + i] = (int8_t)v;
      sum += v;
    }
    d[b] = db;
    s[b] = sum;
  }
}

/** Per-thread activation buffers for up to `rows` rows of K. */
struct ActBuf {
  std::vector<int8_t> q;
  std::vector<float> d, x;
  std::vector<int32_t> s;
};
ActBuf& act_buf() {
  static thread_local ActBuf b;
  return b;
}

using RowDot = float (*)(const uint8_t* w, const ActRow& a, i64 K);

// ---------------------------------------------------------------------------
// Portable path

float p_dot_f32(const uint8_t* w, const ActRow& a, i64 K) {
  float acc = 0.0f;
  const float* x = a.x;
  for (i64 k = 0; k < K; k++) {
    float v;
    std::memcpy(&v, w + 4 * k, 4);
    acc += v * x[k];
  }
  return acc;
}
float p_dot_f16(const uint8_t* w, const ActRow& a, i64 K) {
  float acc = 0.0f;
  for (i64 k = 0; k < K; k++) acc += ld_f16(w + 2 * k) * a.x[k];
  return acc;
}
float p_dot_bf16(const uint8_t* w, const ActRow& a, i64 K) {
  float acc = 0.0f;
  for (i64 k = 0; k < K; k++) {
    uint16_t h;
    std::memcpy(&h, w + 2 * k, 2);
    acc += bf16_to_f32(h) * a.x[k];
  }
  return acc;
}
float p_dot_q8_0(const uint8_t* w, const ActRow& a, i64 K) {
  float acc = 0.0f;
  for (i64 b = 0; b < K / 32; b++) {
    const uint8_t* blk = w + b * 34;
    const int8_t* q = (const int8_t*)(blk + 2);
    const int8_t* x = a.q + b * 32;
    int32_t isum = 0;
    for (int i = 0; i < 32; i++) isum += (int32_t)q[i] * x[i];
    acc += ld_f16(blk) * a.d[b] * (float)isum;
  }
  return acc;
}
float p_dot_q4_0(const uint8_t* w, const ActRow& a, i64 K) {
  float acc = 0.0f;
  for (i64 b = 0; b < K / 32; b++) {
    const uint8_t* blk = w + b * 18;
    const int8_t* x = a.q + b * 32;
    int32_t isum = 0;
    for (int i = 0; i < 16; i++) isum += (int32_t)(blk[2 + i] & 0xF) * x[i] + (int32_t)(blk[2 + i] >> 4) * x[i + 16];
    acc += ld_f16(blk) * a.d[b] * (float)(isum - 8 * a.s[b]);
  }
  return acc;
}
float p_dot_q5_0(const uint8_t* w, const ActRow& a, i64 K) {
  float acc = 0.0f;
  for (i64 b = 0; b < K / 32; b++) {
    const uint8_t* blk = w + b * 22;
    uint32_t qh;
    std::memcpy(&qh, blk + 2, 4);
    const int8_t* x = a.q + b * 32;
    int32_t isum = 0;
    for (int j = 0; j < 16; j++) {
      const int h0 = (int)(((qh >> j) << 4) & 0x10), h1 = (int)((qh >> (j + 12)) & 0x10);
      isum += ((blk[6 + j] & 0xF) | h0) * x[j] + ((blk[6 + j] >> 4) | h1) * x[j + 16];
    }
    acc += ld_f16(blk) * a.d[b] * (float)(isum - 16 * a.s[b]);
  }
  return acc;
}
float p_dot_q5_k(const uint8_t* w, const ActRow& a, i64 K) {
  float acc = 0.0f;
  for (i64 sb = 0; sb < K / 256; sb++) {
    const uint8_t* blk = w + sb * 176;
    const float d = ld_f16(blk), dmin = ld_f16(blk + 2);
    uint8_t sc[8], mn[8];
    q4k_scales(blk + 4, sc, mn);
    const uint8_t* qh = blk + 16;
    const uint8_t* qs = blk + 48;
    for (int j = 0; j < 4; j++) {
      const i64 b0 = sb * 8 + 2 * j, b1 = b0 + 1;
      const int8_t* x0 = a.q + b0 * 32;
      const int8_t* x1 = a.q + b1 * 32;
      const int u1 = 1 << (2 * j), u2 = 2 << (2 * j);
      int32_t i0 = 0, i1 = 0;
      for (int l = 0; l < 32; l++) {
        i0 += (int32_t)((qs[32 * j + l] & 0xF) + (qh[l] & u1 ? 16 : 0)) * x0[l];
        i1 += (int32_t)((qs[32 * j + l] >> 4) + (qh[l] & u2 ? 16 : 0)) * x1[l];
      }
      acc += a.d[b0] * (d * (float)sc[2 * j] * (float)i0 - dmin * (float)mn[2 * j] * (float)a.s[b0]);
      acc += a.d[b1] * (d * (float)sc[2 * j + 1] * (float)i1 - dmin * (float)mn[2 * j + 1] * (float)a.s[b1]);
    }
  }
  return acc;
}
float p_dot_q4_k(const uint8_t* w, const ActRow& a, i64 K) {
  float acc = 0.0f;
  for (i64 sb = 0; sb < K / 256; sb++) {
    const uint8_t* blk = w + sb * 144;
    const float d = ld_f16(blk), dmin = ld_f16(blk + 2);
    uint8_t sc[8], mn[8];
    q4k_scales(blk + 4, sc, mn);
    const uint8_t* qs = blk + 16;
    for (int j = 0; j < 4; j++) {
      const i64 b0 = sb * 8 + 2 * j, b1 = b0 + 1;
      const int8_t* x0 = a.q + b0 * 32;
      const int8_t* x1 = a.q + b1 * 32;
      int32_t i0 = 0, i1 = 0;
      for (int l = 0; l < 32; l++) {
        i0 += (int32_t)(qs[32 * j + l] & 0xF) * x0[l];
        i1 += (int32_t)(qs[32 * j + l] >> 4) * x1[l];
      }
      acc += a.d[b0] * (d * (float)sc[2 * j] * (float)i0 - dmin * (float)mn[2 * j] * (float)a.s[b0]);
      acc += a.d[b1] * (d * (float)sc[2 * j + 1] * (float)i1 - dmin * (float)mn[2 * j + 1] * (float)a.s[b1]);
    }
  }
  return acc;
}
float p_dot_q6_k(const uint8_t* w, const ActRow& a, i64 K) {
  float acc = 0.0f;
  for (i64 sb = 0; sb < K / 256; sb++) {
    const uint8_t* blk = w + sb * 210;
    const float d = ld_f16(blk + 208);
    const int8_t* scales = (const int8_t*)(blk + 192);
    for (int n = 0; n < 2; n++) {
      const uint8_t* ql = blk + 64 * n;
      const uint8_t* qh = blk + 128 + 32 * n;
      const int8_t* sc = scales + 8 * n;
      int32_t is[8] = {0, 0, 0, 0, 0, 0, 0, 0};  // [group t][half]
      const int8_t* x = a.q + (sb * 8 + 4 * n) * 32;
      for (int l = 0; l < 32; l++) {
        const int h = l / 16;
        const int q1 = (int)((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
        const int q2 = (int)((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
        const int q3 = (int)((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
        const int q4 = (int)((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
        is[0 + h] += q1 * x[l];
        is[2 + h] += q2 * x[32 + l];
        is[4 + h] += q3 * x[64 + l];
        is[6 + h] += q4 * x[96 + l];
      }
      for (int t = 0; t < 4; t++) {
        const i64 b = sb * 8 + 4 * n + t;
        acc += d * a.d[b] * ((float)sc[2 * t] * (float)is[2 * t] + (float)sc[2 * t + 1] * (float)is[2 * t + 1]);
      }
    }
  }
  return acc;
}

#ifdef MUSE_QUANT_X86

// ---------------------------------------------------------------------------
// AVX2 path (AVX2 + FMA + F16C)

namespace avx2 {
#define QATTR __attribute__((target("avx2,fma,f16c")))
#define QDOT32(u, s) _mm256_madd_epi16(_mm256_maddubs_epi16((u), (s)), _mm256_set1_epi16(1))
#include "quant_simd.inc"
#undef QDOT32

QATTR float dot_f32(const uint8_t* w, const ActRow& a, i64 K) {
  const float* wf = (const float*)w;
  __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
  i64 k = 0;
  for (; k + 16 <= K; k += 16) {
    s0 = _mm256_fmadd_ps(_mm256_loadu_ps(wf + k), _mm256_loadu_ps(a.x + k), s0);
    s1 = _mm256_fmadd_ps(_mm256_loadu_ps(wf + k + 8), _mm256_loadu_ps(a.x + k + 8), s1);
  }
  float acc = hsum8(_mm256_add_ps(s0, s1));
  for (; k < K; k++) acc += wf[k] * a.x[k];
  return acc;
}
QATTR float dot_f16(const uint8_t* w, const ActRow& a, i64 K) {
  __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
  i64 k = 0;
  for (; k + 16 <= K; k += 16) {
    s0 = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i*)(w + 2 * k))), _mm256_loadu_ps(a.x + k), s0);
    s1 = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i*)(w + 2 * k + 16))), _mm256_loadu_ps(a.x + k + 8),
                         s1);
  }
  float acc = hsum8(_mm256_add_ps(s0, s1));
  for (; k < K; k++) acc += h2f(w + 2 * k) * a.x[k];
  return acc;
}
QATTR float dot_bf16(const uint8_t* w, const ActRow& a, i64 K) {
  __m256 s0 = _mm256_setzero_ps();
  i64 k = 0;
  for (; k + 8 <= K; k += 8) {
    const __m256i v = _mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i*)(w + 2 * k))), 16);
    s0 = _mm256_fmadd_ps(_mm256_castsi256_ps(v), _mm256_loadu_ps(a.x + k), s0);
  }
  float acc = hsum8(s0);
  for (; k < K; k++) {
    uint16_t h;
    std::memcpy(&h, w + 2 * k, 2);
    acc += bf16_to_f32(h) * a.x[k];
  }
  return acc;
}
#undef QATTR
}  // namespace avx2

// ---------------------------------------------------------------------------
// AVX-512 path (F + BW + VL + VNNI): VNNI integer dots, 16-lane float dots

namespace avx512 {
#define QATTR __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c")))
#define QDOT32(u, s) _mm256_dpbusd_epi32(_mm256_setzero_si256(), (u), (s))
#include "quant_simd.inc"
#undef QDOT32

QATTR float dot_f32(const uint8_t* w, const ActRow& a, i64 K) {
  const float* wf = (const float*)w;
  __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
  i64 k = 0;
  for (; k + 32 <= K; k += 32) {
    s0 = _mm512_fmadd_ps(_mm512_loadu_ps(wf + k), _mm512_loadu_ps(a.x + k), s0);
    s1 = _mm512_fmadd_ps(_mm512_loadu_ps(wf + k + 16), _mm512_loadu_ps(a.x + k + 16), s1);
  }
  for (; k < K; k += 16) {
    const __mmask16 m = K - k >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (K - k)) - 1u);
    s0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, wf + k), _mm512_maskz_loadu_ps(m, a.x + k), s0);
  }
  return _mm512_reduce_add_ps(_mm512_add_ps(s0, s1));
}
QATTR float dot_f16(const uint8_t* w, const ActRow& a, i64 K) {
  __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
  i64 k = 0;
  for (; k + 32 <= K; k += 32) {
    s0 = _mm512_fmadd_ps(_mm512_cvtph_ps(_mm256_loadu_si256((const __m256i*)(w + 2 * k))), _mm512_loadu_ps(a.x + k), s0);
    s1 = _mm512_fmadd_ps(_mm512_cvtph_ps(_mm256_loadu_si256((const __m256i*)(w + 2 * k + 32))),
                         _mm512_loadu_ps(a.x + k + 16), s1);
  }
  for (; k < K; k += 16) {
    const __mmask16 m = K - k >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (K - k)) - 1u);
    s0 = _mm512_fmadd_ps(_mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, w + 2 * k)), _mm512_maskz_loadu_ps(m, a.x + k), s0);
  }
  return _mm512_reduce_add_ps(_mm512_add_ps(s0, s1));
}
QATTR static inline __m512 bf16x16(__m256i v) {
  return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(v), 16));
}
QATTR float dot_bf16(const uint8_t* w, const ActRow& a, i64 K) {
  __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
  i64 k = 0;
  for (; k + 32 <= K; k += 32) {
    s0 = _mm512_fmadd_ps(bf16x16(_mm256_loadu_si256((const __m256i*)(w + 2 * k))), _mm512_loadu_ps(a.x + k), s0);
    s1 = _mm512_fmadd_ps(bf16x16(_mm256_loadu_si256((const __m256i*)(w + 2 * k + 32))), _mm512_loadu_ps(a.x + k + 16), s1);
  }
  for (; k < K; k += 16) {
    const __mmask16 m = K - k >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (K - k)) - 1u);
    s0 = _mm512_fmadd_ps(bf16x16(_mm256_maskz_loadu_epi16(m, w + 2 * k)), _mm512_maskz_loadu_ps(m, a.x + k), s0);
  }
  return _mm512_reduce_add_ps(_mm512_add_ps(s0, s1));
}
#undef QATTR
}  // namespace avx512

#endif  // MUSE_QUANT_X86

RowDot row_dot(int path, int type) {
#ifdef MUSE_QUANT_X86
  if (path == QP_AVX512) {
    switch (type) {
      case QT_F32: return avx512::dot_f32;
      case QT_F16: return avx512::dot_f16;
      case QT_BF16: return avx512::dot_bf16;
      case QT_Q8_0: return avx512::dot_q8_0;
      case QT_Q4_0: return avx512::dot_q4_0;
      case QT_Q4_K: return avx512::dot_q4_k;
      case QT_Q5_0: return avx512::dot_q5_0;
      case QT_Q5_K: return avx512::dot_q5_k;
      case QT_Q6_K: return avx512::dot_q6_k;
    }
  } else if (path == QP_AVX2) {
    switch (type) {
      case QT_F32: return avx2::dot_f32;
      case QT_F16: return avx2::dot_f16;
      case QT_BF16: return avx2::dot_bf16;
      case QT_Q8_0: return avx2::dot_q8_0;
      case QT_Q4_0: return avx2::dot_q4_0;
      case QT_Q4_K: return avx2::dot_q4_k;
      case QT_Q5_0: return avx2::dot_q5_0;
      case QT_Q5_K: return avx2::dot_q5_k;
      case QT_Q6_K: return avx2::dot_q6_k;
    }
  }
#endif
  switch (type) {
    case QT_F32: return p_dot_f32;
    case QT_F16: return p_dot_f16;
    case QT_BF16: return p_dot_bf16;
    case QT_Q8_0: return p_dot_q8_0;
    case QT_Q4_0: return p_dot_q4_0;
    case QT_Q4_K: return p_dot_q4_k;
    case QT_Q5_0: return p_dot_q5_0;
    case QT_Q5_K: return p_dot_q5_k;
    case QT_Q6_K: return p_dot_q6_k;
  }
  return nullptr;
}

int detect_best() {
#ifdef MUSE_QUANT_X86
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
      __builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("f16c") && __builtin_cpu_supports("fma"))
    return QP_AVX512;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c")) return QP_AVX2;
#endif
  return QP_PORTABLE;
}

int& current_path() {
  static int p = [] {
    int best = detect_best();
    const char* e = std::getenv("MUSE_QUANT_PATH");
    if (e) {
      int want = best;
      if (!std::strcmp(e, "portable")) want = QP_PORTABLE;
      else if (!std::strcmp(e, "avx2")) want = QP_AVX2;
      else if (!std::strcmp(e, "avx512")) want = QP_AVX512;
      return want < best ? want : best;
    }
    return best;
  }();
  return p;
}

}  // namespace

int qpath_best() {
  static const int b = detect_best();
  return b;
}
int qpath_current() { return current_path(); }
int qpath_set(int path) {
  const int best = qpath_best();
  current_path() = path < 0 ? 0 : (path > best ? best : path);
  return current_path();
}
const char* qpath_name(int path) {
  switch (path) {
    case QP_AVX512: return "avx512";
    case QP_AVX2: return "avx2";
    default: return "portable";
  }
}

void qact_roundtrip(const float* x, i64 M, i64 K, float* out) {
  std::vector<int8_t> q((size_t)K);
  std::vector<float> d((size_t)(K / 32));
  std::vector<int32_t> s((size_t)(K / 32));
  for (i64 m = 0; m < M; m++) {
    quantize_act_row(x + m * K, K, q.data(), d.data(), s.data());
    float* o = out + m * K;
    for (i64 k = 0; k < K; k++) o[k] = (float)q[k] * d[k / 32];
  }
}

// ---------------------------------------------------------------------------
// The linear layer

void qlinear(const QMat& W, const float* x, int M, const float* bias, float* out, i64 ldo, bool accumulate) {
  const int type = W.type;
  const i64 N = W.rows, K = W.cols;
  if (M <= 0 || N <= 0) return;
  const bool integer = is_integer_type(type);
  const i64 rb = qtype_row_bytes(type, K);
  ActBuf& ab = act_buf();

  if (M <= 4) {
    ActRow act[4];
    if (integer) {
      ab.q.resize((size_t)(M * K));
      ab.d.resize((size_t)(M * (K / 32)));
      ab.s.resize((size_t)(M * (K / 32)));
      for (int m = 0; m < M; m++) {
        quantize_act_row(x + m * K, K, ab.q.data() + m * K, ab.d.data() + m * (K / 32), ab.s.data() + m * (K / 32));
        act[m] = ActRow{x + m * K, ab.q.data() + m * K, ab.d.data() + m * (K / 32), ab.s.data() + m * (K / 32)};
      }
    } else {
      for (int m = 0; m < M; m++) act[m] = ActRow{x + m * K, nullptr, nullptr, nullptr};
    }
    const RowDot dot = row_dot(qpath_current(), type);
    // Memory-bound: each thread streams a range of weight rows once.
    const double grain = 65536.0 / (double)(K > 0 ? K : 1);
    parallel_ranges(N, grain < 1.0 ? 1.0 : grain, [&](i64 n0, i64 n1) {
      for (i64 n = n0; n < n1; n++) {
        const uint8_t* wr = W.data + n * rb;
        const float b = bias ? bias[n] : 0.0f;
        for (int m = 0; m < M; m++) {
          const float v = dot(wr, act[m], K) + b;
          float& o = out[m * ldo + n];
          o = accumulate ? o + v : v;
        }
      }
    });
    return;
  }

  // Prefill / batches: x̃ once, then panels of NB weight rows × 256 columns
  // dequantized to floats and multiplied with the packed GEMM, one panel
  // column strip per claimed item.
  const float* xt = x;
  if (integer) {
    ab.x.resize((size_t)(M * K));
    qact_roundtrip(x, M, K, ab.x.data());
    xt = ab.x.data();
  }
  constexpr i64 NB = 256, KB = 256;
  const i64 strips = (N + NB - 1) / NB;
  const int T = threads_for((double)M * N * K, 262144.0);
  parallel_items(T > strips ? (int)strips : T, strips, [&](i64 strip) {
    const i64 n0 = strip * NB, nb = N - n0 < NB ? N - n0 : NB;
    static thread_local std::vector<float> panel;
    if ((i64)panel.size() < nb * KB) panel.resize((size_t)(nb * KB));
    for (i64 k0 = 0; k0 < K; k0 += KB) {
      const i64 kl = K - k0 < KB ? K - k0 : KB;
      for (i64 r = 0; r < nb; r++) dequant_range(type, W.data + (n0 + r) * rb, k0, k0 + kl, panel.data() + r * kl);
      const float beta = (k0 > 0 || accumulate) ? 1.0f : 0.0f;
      gemm_view(M, (int)nb, (int)kl, 1.0f, MatView{xt + k0, K, 1}, MatView{panel.data(), 1, kl}, beta, out + n0, ldo,
                1, 1);
    }
    if (bias) {
      for (int m = 0; m < M; m++) {
        float* o = out + m * ldo + n0;
        for (i64 j = 0; j < nb; j++) o[j] += bias[n0 + j];
      }
    }
  });
}

}  // namespace muse
