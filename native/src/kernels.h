// The kernel set behind the N-API surface (see src/backend/backend.ts for the
// contract each function follows). Pure C++: pointers and sizes in, results
// written to caller-owned buffers; no JavaScript types here.
#pragma once

#include "common.h"

namespace muse {

// Op codes: the order of these enums is mirrored in src/backend/native.ts.
enum UnaryOp { U_NEG, U_EXP, U_LOG, U_SQRT, U_RSQRT, U_TANH, U_SIGMOID, U_RELU, U_GELU_TANH, U_GELU_ERF, U_ABS, U_COUNT };
enum BinaryOp { B_ADD, B_SUB, B_MUL, B_DIV, B_POW, B_MAX, B_MIN, B_EQ, B_NE, B_LT, B_LE, B_GT, B_GE, B_COUNT };
enum ReduceOp { R_SUM, R_MAX, R_MIN, R_COUNT };

// elementwise.cc
void unary(int op, const float* x, float* out, i64 n);
void unary_backward(int op, const float* x, const float* y, const float* dy, float* dx, i64 n);
/** shape/strides have `rank` entries; strides are element strides, 0 on broadcast axes. */
void binary(int op, const float* a, const i64* aStrides, const float* b, const i64* bStrides, float* out,
            const i64* shape, int rank);
void reduce(int op, const float* x, float* out, i64 outer, i64 dim, i64 inner);
void argmax(const float* x, int32_t* out, i64 outer, i64 dim, i64 inner);
/** 4-byte elements (float or int32 alike). */
void copy_strided(const uint32_t* src, i64 srcOffset, const i64* srcStrides, const i64* shape, int rank,
                  uint32_t* dst);

// nn.cc
void softmax(const float* x, float* out, i64 rows, i64 cols);
void softmax_backward(const float* y, const float* dy, float* dx, i64 rows, i64 cols);
void log_softmax(const float* x, float* out, i64 rows, i64 cols);
void log_softmax_backward(const float* y, const float* dy, float* dx, i64 rows, i64 cols);
void layer_norm(const float* x, const float* w, const float* b, float* out, float* mean, float* rstd, i64 rows,
                i64 cols, float eps);
void layer_norm_backward(const float* dy, const float* x, const float* w, const float* mean, const float* rstd,
                         float* dx, float* dw, float* db, i64 rows, i64 cols);
void embedding(const float* weight, const int32_t* ids, float* out, i64 n, i64 dim);
void embedding_backward(const float* dOut, const int32_t* ids, float* dWeight, i64 n, i64 dim);
i64 cross_entropy(const float* logits, const int32_t* targets, float* losses, float* lse, i64 rows, i64 classes,
                  i64 ignoreIndex, float labelSmoothing);
void cross_entropy_backward(const float* logits, const int32_t* targets, const float* lse, const float* rowScale,
                            float* dLogits, i64 rows, i64 classes, i64 ignoreIndex, float labelSmoothing);
void adamw(float* param, const float* grad, float* expAvg, float* expAvgSq, i64 n, double lr, double beta1,
           double beta2, double eps, double weightDecay, double step, double gradScale);
double sum_squares(const float* x, i64 n);
/** One tensor of a multi-tensor AdamW step (weight decay and 1-based step are per tensor). */
struct AdamWTensor {
  float* param;
  const float* grad;
  float* expAvg;
  float* expAvgSq;
  i64 n;
  double weightDecay, step;
};
/** adamw() on every tensor in one parallel region (same per-element arithmetic). */
void adamw_many(const AdamWTensor* ts, int count, double lr, double beta1, double beta2, double eps,
                double gradScale);
/** Σ_t sum_squares(xs[t], ns[t]), in one parallel region (same result). */
double sum_squares_many(const float* const* xs, const i64* ns, int count);

// attention.cc
struct AttnShape {
  int batch, heads, tq, tk, headDim;
  float scale;
  bool causal;
  const int32_t* keyPaddingMask;  // [batch, tk] or null
};
void attention_forward(const AttnShape& s, const float* q, const float* k, const float* v, float* out, float* lse);
void attention_backward(const AttnShape& s, const float* q, const float* k, const float* v, const float* out,
                        const float* lse, const float* dOut, float* dq, float* dk, float* dv);

}  // namespace muse
