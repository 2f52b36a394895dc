// Linear layers over stored (half-precision or block-quantized) weights.
//
// A weight matrix W is `rows` × `cols` (nn.Linear's [out, in]); each row is
// stored contiguously in one of ggml's types, with the blocks running along
// `cols` (the input dimension), byte for byte as ggml and GGUF define them:
//
// | type | ggml id | block | bytes | layout |
// | --- | --- | --- | --- | --- |
// | F32  | 0  | 1   | 4   | float |
// | F16  | 1  | 1   | 2   | IEEE half |
// | Q4_0 | 2  | 32  | 18  | f16 d; u8 qs[16]: x[i] = (lo nibble − 8)·d, x[i+16] = (hi nibble − 8)·d |
// | Q5_0 | 6  | 32  | 22  | f16 d; u32 qh; u8 qs[16]: Q4_0 with a fifth bit from qh, offset 16 |
// | Q8_0 | 8  | 32  | 34  | f16 d; i8 qs[32]: x = q·d |
// | Q4_K | 12 | 256 | 144 | f16 d, dmin; u8 scales[12] (8 × 6-bit scale/min); u8 qs[128] |
// | Q5_K | 13 | 256 | 176 | f16 d, dmin; u8 scales[12]; u8 qh[32]; u8 qs[128] |
// | Q6_K | 14 | 256 | 210 | u8 ql[128], qh[64]; i8 scales[16]; f16 d |
// | BF16 | 30 | 1   | 2   | bfloat16 |
//
// The kernel contract (what every dispatch path and the js reference in
// src/quant/ compute, up to float summation order):
//   out[m, n] (+)= Σ_k x̃[m, k] · dequant(W)[n, k] (+ bias[n])
// where x̃ = x for F32/F16/BF16 weights, and for the integer types (Q8_0,
// Q4_0, Q5_0, Q4_K, Q5_K, Q6_K) x̃ is x quantized to 8 bits per 32-element block as ggml
// quantizes activations (d = max|x|/127 in float, q = round-half-even(x/d))
// and dequantized again: the products are integer dot products of 8-bit
// activations with the stored codes, as in ggml (whose K-quant activations
// use 256-element blocks; ours are 32, slightly more precise).
#pragma once

#include <cstddef>
#include <cstdint>

#include "common.h"

namespace muse {

enum QType : int { QT_F32 = 0, QT_F16 = 1, QT_Q4_0 = 2, QT_Q5_0 = 6, QT_Q8_0 = 8, QT_Q4_K = 12, QT_Q5_K = 13, QT_Q6_K = 14,
                    QT_BF16 = 30 };

/** Elements per block of `type` (1 for float types), or 0 for an unsupported type. */
int qtype_block(int type);
/** Bytes per block of `type`, or 0 for an unsupported type. */
int qtype_block_bytes(int type);
/** Bytes of one row of `cols` elements (cols must be a multiple of the block). */
inline i64 qtype_row_bytes(int type, i64 cols) {
  const int b = qtype_block(type);
  return b > 0 ? cols / b * qtype_block_bytes(type) : 0;
}
/** Short name ("q4_k", …) for messages. */
const char* qtype_name(int type);

/** A stored weight matrix: `rows` × `cols` in `type`, rows contiguous. */
struct QMat {
  int type;
  const uint8_t* data;
  i64 rows, cols;
};

/** Dispatch paths, best last. */
enum QPath : int { QP_PORTABLE = 0, QP_AVX2 = 1, QP_AVX512 = 2 };

/** The best path this CPU supports (cpuid via __builtin_cpu_supports). */
int qpath_best();
/** The path kernels use now: MUSE_QUANT_PATH=portable|avx2|avx512 at first use, else the best. */
int qpath_current();
/** Forces a path (capped to what the CPU supports); returns the path now used. */
int qpath_set(int path);
const char* qpath_name(int path);

/**
 * out[m·ldo + n] (+)= Σ_k x̃[m, k]·W[n, k] (+ bias[n]) for m < M, n < W.rows;
 * x is M × W.cols row-major. M ≤ 4 streams W once through row dot products
 * (decode); larger M dequantizes W in panels of 256 columns and runs the
 * packed F32 GEMM (prefill). Uses up to max_threads() threads.
 */
void qlinear(const QMat& W, const float* x, int M, const float* bias, float* out, i64 ldo, bool accumulate);

/** out[r, k] = dequant(W)[row0 + r, k] for r < nrows (float rows of W.cols). */
void qdequantize(const QMat& W, i64 row0, i64 nrows, float* out);

/** x̃ for integer types: x (M × K) quantized to 8 bits per 32-block and back (the kernel contract). */
void qact_roundtrip(const float* x, i64 M, i64 K, float* out);

/** One IEEE half → float (exact), for callers outside the kernels. */
float f16_to_f32(uint16_t h);
/** float → IEEE half, round to nearest even. */
uint16_t f32_to_f16(float f);

}  // namespace muse
