// N-API surface of the native backend (node-addon-api). Every function takes
// typed arrays zero-copy plus plain numbers, checks types and that every
// index the kernel will touch lies inside its array (a wrong size must throw a
// RangeError, never read or write out of bounds), then runs the kernel
// synchronously. Each function's arguments (order, kinds, lengths) are its row
// of the signature table in signatures.cc, which every accessor below checks
// and which src/backend/native.ts compares with its own copy at load.
#include <napi.h>

#include <cmath>
#include <stdexcept>
#include <utility>
#include <string>
#include <vector>

#include "decode.h"
#include "gemm.h"
#include "kernels.h"
#include "napi_args.h"
#include "peak.h"
#include "quant_addon.h"
#include "train_step.h"
#include "bert_train_step.h"
#include "signatures.h"
#include "simd.h"

namespace {

using muse::Args;
using muse::i64;
using muse::throw_range;
using muse::throw_type;

/** Highest element index + 1 touched by a batched strided operand, or 0 if empty. */
i64 extent(i64 offset, i64 batch, i64 stride, i64 size) {
  if (batch <= 0 || size <= 0) return 0;
  return offset + (batch - 1) * stride + size;
}

Napi::Value Gemm(const Napi::CallbackInfo& info) {
  Args a{info};
  const i64 batch = a.count(3), m = a.count(4), n = a.count(5), k = a.count(6);
  const bool ta = a.flag(7), tb = a.flag(8);
  const double alpha = a.num(9), beta = a.num(10);
  const i64 ao = a.count(11), bo = a.count(12), co = a.count(13);
  const i64 sa = a.count(14), sb = a.count(15), sc = a.count(16);
  if (m > INT32_MAX || n > INT32_MAX || k > INT32_MAX || batch > INT32_MAX) throw_range(a.env(), "gemm: size too large");
  float* A = a.f32(0, extent(ao, batch, sa, m * k));
  float* B = a.f32(1, extent(bo, batch, sb, k * n));
  float* C = a.f32(2, extent(co, batch, sc, m * n));
  muse::gemm_batched(A + ao, B + bo, C + co, (int)batch, (int)m, (int)n, (int)k, ta, tb, (float)alpha, (float)beta, sa,
                     sb, sc);
  return info.Env().Undefined();
}

Napi::Value Unary(const Napi::CallbackInfo& info) {
  Args a{info};
  const int op = a.op(0, muse::U_COUNT);
  const i64 n = a.count(3);
  float* x = a.f32(1, n);
  float* out = a.f32(2, n);
  muse::unary(op, x, out, n);
  return info.Env().Undefined();
}

Napi::Value UnaryBackward(const Napi::CallbackInfo& info) {
  Args a{info};
  const int op = a.op(0, muse::U_COUNT);
  const i64 n = a.count(5);
  float* x = a.f32(1, n);
  float* y = a.f32(2, n);
  float* dy = a.f32(3, n);
  float* dx = a.f32(4, n);
  muse::unary_backward(op, x, y, dy, dx, n);
  return info.Env().Undefined();
}

/** Reads `rank` then shape[rank] then `lists` stride arrays from a Float64Array. */
int read_meta(Args& a, size_t idx, int lists, i64* shape, i64 (*strides)[16]) {
  i64 len = 0;
  const double* meta = a.f64(idx, 1, &len);
  const double r = meta[0];
  if (!(r >= 0 && r <= 16) || r != std::floor(r)) throw_range(a.env(), a.where(idx) + ": rank must be 0..16");
  const int rank = (int)r;
  if (len < 1 + (i64)rank * (1 + lists)) throw_range(a.env(), a.where(idx) + ": metadata too short");
  for (int d = 0; d < rank; d++) {
    double s = meta[1 + d];
    if (!(s >= 0) || s != std::floor(s)) throw_range(a.env(), a.where(idx) + ": bad shape entry");
    shape[d] = (i64)s;
    for (int l = 0; l < lists; l++) {
      double st = meta[1 + rank * (1 + l) + d];
      if (st != std::floor(st) || std::fabs(st) > 9007199254740991.0)
        throw_range(a.env(), a.where(idx) + ": bad stride entry");
      strides[l][d] = (i64)st;
    }
  }
  return rank;
}

/** min and max+1 of offset + Σ idx·stride over the shape (0, 0 when empty). */
void span(const i64* shape, const i64* strides, int rank, i64 offset, i64* lo, i64* hi) {
  i64 mn = offset, mx = offset;
  for (int d = 0; d < rank; d++) {
    if (shape[d] == 0) {
      *lo = 0;
      *hi = 0;
      return;
    }
    i64 e = (shape[d] - 1) * strides[d];
    if (e > 0) mx += e; else mn += e;
  }
  *lo = mn;
  *hi = mx + 1;
}

Napi::Value Binary(const Napi::CallbackInfo& info) {
  Args a{info};
  const int op = a.op(0, muse::B_COUNT);
  i64 shape[16], st[2][16];
  const int rank = read_meta(a, 4, 2, shape, st);
  i64 total = 1;
  for (int d = 0; d < rank; d++) total *= shape[d];
  i64 lo, hi;
  span(shape, st[0], rank, 0, &lo, &hi);
  if (lo < 0) throw_range(a.env(), "binary: negative strides are not supported");
  float* A = a.f32(1, hi);
  span(shape, st[1], rank, 0, &lo, &hi);
  if (lo < 0) throw_range(a.env(), "binary: negative strides are not supported");
  float* B = a.f32(2, hi);
  float* out = a.f32(3, total);
  muse::binary(op, A, st[0], B, st[1], out, shape, rank);
  return info.Env().Undefined();
}

Napi::Value Reduce(const Napi::CallbackInfo& info) {
  Args a{info};
  const int op = a.op(0, muse::R_COUNT);
  const i64 outer = a.count(3), dim = a.count(4), inner = a.count(5);
  float* x = a.f32(1, outer * dim * inner);
  float* out = a.f32(2, outer * inner);
  muse::reduce(op, x, out, outer, dim, inner);
  return info.Env().Undefined();
}

Napi::Value Argmax(const Napi::CallbackInfo& info) {
  Args a{info};
  const i64 outer = a.count(2), dim = a.count(3), inner = a.count(4);
  float* x = a.f32(0, outer * dim * inner);
  int32_t* out = a.i32(1, outer * inner);
  muse::argmax(x, out, outer, dim, inner);
  return info.Env().Undefined();
}

Napi::Value CopyStrided(const Napi::CallbackInfo& info) {
  Args a{info};
  const i64 offset = a.count(1);
  i64 shape[16], st[1][16];
  const int rank = read_meta(a, 3, 1, shape, st);
  i64 total = 1;
  for (int d = 0; d < rank; d++) total *= shape[d];
  i64 lo, hi;
  span(shape, st[0], rank, offset, &lo, &hi);
  if (lo < 0) throw_range(a.env(), "copyStrided: the view reaches before the start of src");
  uint32_t* src = a.word(0, hi);
  uint32_t* dst = a.word(2, total);
  const bool srcInt = a.isInt32(0);
  const bool dstInt = a.isInt32(2);
  if (srcInt != dstInt) throw_type(a.env(), "copyStrided: src and dst must have the same element type");
  muse::copy_strided(src, offset, st[0], shape, rank, dst);
  return info.Env().Undefined();
}

template <void (*K)(const float*, float*, i64, i64)>
Napi::Value RowsUnary(const Napi::CallbackInfo& info) {
  Args a{info};
  const i64 rows = a.count(2), cols = a.count(3);
  float* x = a.f32(0, rows * cols);
  float* out = a.f32(1, rows * cols);
  K(x, out, rows, cols);
  return info.Env().Undefined();
}

template <void (*K)(const float*, const float*, float*, i64, i64)>
Napi::Value RowsBackward(const Napi::CallbackInfo& info) {
  Args a{info};
  const i64 rows = a.count(3), cols = a.count(4);
  float* y = a.f32(0, rows * cols);
  float* dy = a.f32(1, rows * cols);
  float* dx = a.f32(2, rows * cols);
  K(y, dy, dx, rows, cols);
  return info.Env().Undefined();
}

Napi::Value LayerNorm(const Napi::CallbackInfo& info) {
  Args a{info};
  const i64 rows = a.count(6), cols = a.count(7);
  const double eps = a.num(8);
  float* x = a.f32(0, rows * cols);
  float* w = a.f32orNull(1, cols);
  float* b = a.f32orNull(2, cols);
  float* out = a.f32(3, rows * cols);
  float* mean = a.f32(4, rows);
  float* rstd = a.f32(5, rows);
  muse::layer_norm(x, w, b, out, mean, rstd, rows, cols, (float)eps);
  return info.Env().Undefined();
}

Napi::Value LayerNormBackward(const Napi::CallbackInfo& info) {
  Args a{info};
  const i64 rows = a.count(8), cols = a.count(9);
  float* dy = a.f32(0, rows * cols);
  float* x = a.f32(1, rows * cols);
  float* w = a.f32orNull(2, cols);
  float* mean = a.f32(3, rows);
  float* rstd = a.f32(4, rows);
  float* dx = a.f32(5, rows * cols);
  float* dw = a.f32orNull(6, cols);
  float* db = a.f32orNull(7, cols);
  muse::layer_norm_backward(dy, x, w, mean, rstd, dx, dw, db, rows, cols);
  return info.Env().Undefined();
}

void check_ids(Args& a, const int32_t* ids, i64 n, i64 limit, const char* what) {
  for (i64 i = 0; i < n; i++)
    if (ids[i] < 0 || ids[i] >= limit)
      throw_range(a.env(), std::string(what) + " " + std::to_string(ids[i]) + " at position " + std::to_string(i) +
                               " is outside [0, " + std::to_string(limit) + ")");
}

Napi::Value Embedding(const Napi::CallbackInfo& info) {
  Args a{info};
  const i64 n = a.count(3), dim = a.count(4);
  i64 wlen = 0;
  float* w = a.f32(0, 0, &wlen);
  int32_t* ids = a.i32(1, n);
  float* out = a.f32(2, n * dim);
  check_ids(a, ids, n, dim > 0 ? wlen / dim : 0, "embedding: id");
  muse::embedding(w, ids, out, n, dim);
  return info.Env().Undefined();
}

Napi::Value EmbeddingBackward(const Napi::CallbackInfo& info) {
  Args a{info};
  const i64 n = a.count(3), dim = a.count(4);
  float* dOut = a.f32(0, n * dim);
  int32_t* ids = a.i32(1, n);
  i64 wlen = 0;
  float* dW = a.f32(2, 0, &wlen);
  check_ids(a, ids, n, dim > 0 ? wlen / dim : 0, "embeddingBackward: id");
  muse::embedding_backward(dOut, ids, dW, n, dim);
  return info.Env().Undefined();
}

void check_targets(Args& a, const int32_t* t, i64 rows, i64 classes, i64 ignoreIndex) {
  for (i64 r = 0; r < rows; r++)
    if (t[r] != ignoreIndex && (t[r] < 0 || t[r] >= classes))
      throw_range(a.env(), "crossEntropy: target " + std::to_string(t[r]) + " at row " + std::to_string(r) +
                               " is outside [0, " + std::to_string(classes) + ") and is not ignoreIndex");
}

Napi::Value CrossEntropy(const Napi::CallbackInfo& info) {
  Args a{info};
  const i64 rows = a.count(4), classes = a.count(5), ignoreIndex = a.integer(6);
  const double ls = a.num(7);
  float* logits = a.f32(0, rows * classes);
  int32_t* targets = a.i32(1, rows);
  float* losses = a.f32(2, rows);
  float* lse = a.f32(3, rows);
  check_targets(a, targets, rows, classes, ignoreIndex);
  i64 count = muse::cross_entropy(logits, targets, losses, lse, rows, classes, ignoreIndex, (float)ls);
  return Napi::Number::New(info.Env(), (double)count);
}

Napi::Value CrossEntropyBackward(const Napi::CallbackInfo& info) {
  Args a{info};
  const i64 rows = a.count(5), classes = a.count(6), ignoreIndex = a.integer(7);
  const double ls = a.num(8);
  float* logits = a.f32(0, rows * classes);
  int32_t* targets = a.i32(1, rows);
  float* lse = a.f32(2, rows);
  float* rowScale = a.f32(3, rows);
  float* dLogits = a.f32(4, rows * classes);
  check_targets(a, targets, rows, classes, ignoreIndex);
  muse::cross_entropy_backward(logits, targets, lse, rowScale, dLogits, rows, classes, ignoreIndex, (float)ls);
  return info.Env().Undefined();
}

muse::AttnShape attn_shape(Args& a, size_t first, const int32_t* mask) {
  muse::AttnShape s;
  const i64 batch = a.count(first), heads = a.count(first + 1), tq = a.count(first + 2), tk = a.count(first + 3),
            d = a.count(first + 4);
  if (batch > INT32_MAX || heads > INT32_MAX || tq > INT32_MAX || tk > INT32_MAX || d > INT32_MAX)
    throw_range(a.env(), "attention: size too large");
  s.batch = (int)batch;
  s.heads = (int)heads;
  s.tq = (int)tq;
  s.tk = (int)tk;
  s.headDim = (int)d;
  s.scale = (float)a.num(first + 5);
  s.causal = a.flag(first + 6);
  s.keyPaddingMask = mask;
  return s;
}

// attention(q, k, v, out, lse, mask|null, batch, heads, tq, tk, headDim, scale, causal)
Napi::Value Attention(const Napi::CallbackInfo& info) {
  Args a{info};
  muse::AttnShape s = attn_shape(a, 6, nullptr);
  const i64 BH = (i64)s.batch * s.heads;
  float* q = a.f32(0, BH * s.tq * s.headDim);
  float* k = a.f32(1, BH * s.tk * s.headDim);
  float* v = a.f32(2, BH * s.tk * s.headDim);
  float* out = a.f32(3, BH * s.tq * s.headDim);
  float* lse = a.f32(4, BH * s.tq);
  s.keyPaddingMask = a.isNull(5) ? nullptr : a.i32(5, (i64)s.batch * s.tk);
  muse::attention_forward(s, q, k, v, out, lse);
  return info.Env().Undefined();
}

// attentionBackward(q, k, v, out, lse, mask|null, dOut, dq, dk, dv, batch, heads, tq, tk, headDim, scale, causal)
Napi::Value AttentionBackward(const Napi::CallbackInfo& info) {
  Args a{info};
  muse::AttnShape s = attn_shape(a, 10, nullptr);
  const i64 BH = (i64)s.batch * s.heads;
  const i64 nq = BH * s.tq * s.headDim, nk = BH * s.tk * s.headDim;
  float* q = a.f32(0, nq);
  float* k = a.f32(1, nk);
  float* v = a.f32(2, nk);
  float* out = a.f32(3, nq);
  float* lse = a.f32(4, BH * s.tq);
  s.keyPaddingMask = a.isNull(5) ? nullptr : a.i32(5, (i64)s.batch * s.tk);
  float* dOut = a.f32(6, nq);
  float* dq = a.f32(7, nq);
  float* dk = a.f32(8, nk);
  float* dv = a.f32(9, nk);
  muse::attention_backward(s, q, k, v, out, lse, dOut, dq, dk, dv);
  return info.Env().Undefined();
}

// adamw(param, grad, expAvg, expAvgSq, n, lr, beta1, beta2, eps, weightDecay, step, gradScale)
Napi::Value AdamW(const Napi::CallbackInfo& info) {
  Args a{info};
  const i64 n = a.count(4);
  float* p = a.f32(0, n);
  float* g = a.f32(1, n);
  float* m = a.f32(2, n);
  float* v = a.f32(3, n);
  const double step = a.num(10);
  if (!(step >= 1)) throw_range(a.env(), "adamw: step must be ≥ 1 (it is 1-based)");
  muse::adamw(p, g, m, v, n, a.num(5), a.num(6), a.num(7), a.num(8), a.num(9), step, a.num(11));
  return info.Env().Undefined();
}

Napi::Value SumSquares(const Napi::CallbackInfo& info) {
  Args a{info};
  const i64 n = a.count(1);
  float* x = a.f32(0, n);
  return Napi::Number::New(info.Env(), muse::sum_squares(x, n));
}

Napi::Value FmaPeak(const Napi::CallbackInfo& info) {
  Args a{info};
  double seconds = info.Length() > 0 && info[0].IsNumber() ? a.num(0) : 0.5;
  if (!(seconds > 0) || seconds > 60) throw_range(a.env(), "fmaPeak: seconds must be in (0, 60]");
  return Napi::Number::New(info.Env(), muse::fma_peak(seconds));
}

Napi::Value SetThreads(const Napi::CallbackInfo& info) {
  Args a{info};
  const i64 n = a.count(0);
  if (n < 1) throw_range(a.env(), "setThreads: need at least 1 thread");
#ifdef _OPENMP
  omp_set_num_threads((int)n);
#endif
  return Napi::Number::New(info.Env(), muse::max_threads());
}

Napi::Value Info(const Napi::CallbackInfo& info) {
  Args a{info};
  Napi::Env env = a.env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("isa", MUSE_ISA);
  o.Set("gemmKernel", muse::gemm_kernel_name());
  o.Set("threads", muse::max_threads());
#ifdef _OPENMP
  o.Set("openmp", true);
#else
  o.Set("openmp", false);
#endif
  return o;
}


// dropoutMask(state Uint32Array[4] = [hi, lo, incHi, incLo], mask, n, p): PCG32 draws, state advanced.
Napi::Value DropoutMask(const Napi::CallbackInfo& info) {
  Args a{info};
  uint32_t* state = a.u32(0, 4);
  const i64 n = a.count(2);
  float* mask = a.f32(1, n);
  const double p = a.num(3);
  if (!(p >= 0 && p <= 1)) throw_range(a.env(), "dropoutMask: p must be in [0, 1]");
  uint64_t s = ((uint64_t)state[0] << 32) | state[1];
  const uint64_t inc = ((uint64_t)state[2] << 32) | state[3];
  const float keep = p == 1 ? 0.0f : (float)(1.0 / (1.0 - p));
  for (i64 i = 0; i < n; i++) {
    const uint64_t old = s;
    s = old * 6364136223846793005ULL + inc;
    const uint32_t xs = (uint32_t)(((old >> 18) ^ old) >> 27);
    const uint32_t rot = (uint32_t)(old >> 59);
    const uint32_t r = (xs >> rot) | (xs << ((32 - rot) & 31));
    mask[i] = (double)r / 4294967296.0 < p ? 0.0f : keep;
  }
  state[0] = (uint32_t)(s >> 32);
  state[1] = (uint32_t)s;
  return info.Env().Undefined();
}

/** Element i of a JS array argument as a Float32Array with at least `need` elements. */
float* array_f32(const Args& a, const Napi::Array& arr, uint32_t i, i64 need, const char* what) {
  Napi::Value v = arr.Get(i);
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)
    throw_type(a.env(), std::string(a.fn) + ": " + what + " " + std::to_string(i) + " must be a Float32Array");
  Napi::TypedArray ta = v.As<Napi::TypedArray>();
  if ((i64)ta.ElementLength() < need)
    throw_range(a.env(), std::string(a.fn) + ": " + what + " " + std::to_string(i) + " has " +
                             std::to_string(ta.ElementLength()) + " elements, needs " + std::to_string(need));
  return reinterpret_cast<float*>(static_cast<uint8_t*>(ta.ArrayBuffer().Data()) + ta.ByteOffset());
}

/**
 * The 4 + 12·nLayer tensors of a GPT-2 (wte, wpe, ln_f.weight, ln_f.bias, then
 * per block ln_1.weight … mlp.c_proj.bias) from a JS array of Float32Array,
 * each checked to hold its size.
 */
std::vector<float*> gpt_tensors(const Args& a, const Napi::Array& arr, i64 L, i64 C, i64 V, i64 nPos, const char* what) {
  if ((i64)arr.Length() != 4 + 12 * L)
    throw_range(a.env(), std::string(a.fn) + ": expected 4 + 12·nLayer " + what + "s, got " + std::to_string(arr.Length()));
  std::vector<float*> out;
  out.push_back(array_f32(a, arr, 0, V * C, what));
  out.push_back(array_f32(a, arr, 1, nPos * C, what));
  out.push_back(array_f32(a, arr, 2, C, what));
  out.push_back(array_f32(a, arr, 3, C, what));
  const i64 sizes[12] = {C, C, C * 3 * C, 3 * C, C * C, C, C, C, C * 4 * C, 4 * C, 4 * C * C, C};
  for (i64 l = 0; l < L; l++)
    for (int j = 0; j < 12; j++) out.push_back(array_f32(a, arr, (uint32_t)(4 + 12 * l + j), sizes[j], what));
  return out;
}

/** GptWeights over the pointers of gpt_tensors(). */
muse::GptWeights gpt_weights(const std::vector<float*>& p) {
  muse::GptWeights w;
  w.wte = p[0];
  w.wpe = p[1];
  w.lnfW = p[2];
  w.lnfB = p[3];
  for (size_t i = 4; i + 12 <= p.size(); i += 12)
    w.layers.push_back({p[i], p[i + 1], p[i + 2], p[i + 3], p[i + 4], p[i + 5], p[i + 6], p[i + 7], p[i + 8], p[i + 9],
                        p[i + 10], p[i + 11]});
  return w;
}

// gptForwardCached(weights[4 + 12·nLayer], kCaches[nLayer], vCaches[nLayer], ids, pos, mask|null, logits,
//                  batch, t, past, capacity, nLayer, nHead, nEmbd, vocab, nPositions, eps, lastOnly)
Napi::Value GptForwardCached(const Napi::CallbackInfo& info) {
  Args a{info};
  muse::GptDecodeShape s{};
  s.batch = (int)a.count(7);
  s.t = (int)a.count(8);
  s.past = (int)a.count(9);
  s.capacity = (int)a.count(10);
  s.nLayer = (int)a.count(11);
  s.nHead = (int)a.count(12);
  s.nEmbd = (int)a.count(13);
  s.vocab = (int)a.count(14);
  const i64 nPos = a.count(15);
  s.eps = (float)a.num(16);
  s.lastOnly = a.flag(17);
  const i64 B = s.batch, T = s.t, C = s.nEmbd, L = s.nLayer, V = s.vocab;
  if (B < 1 || T < 1 || s.nHead < 1 || C % s.nHead != 0 || L < 1 || V < 1)
    throw_range(a.env(), "gptForwardCached: invalid model or batch shape");
  if (s.past + T > s.capacity) throw_range(a.env(), "gptForwardCached: past + t exceeds the cache capacity");
  Napi::Array wa = a.array(0), ka = a.array(1), va = a.array(2);
  if (ka.Length() != L || va.Length() != L)
    throw_range(a.env(), "gptForwardCached: expected nLayer key and value caches");
  const muse::GptWeights w = gpt_weights(gpt_tensors(a, wa, L, C, V, nPos, "weight"));
  std::vector<float*> kc(L), vc(L);
  const i64 cacheNeed = B * C / s.nHead * s.nHead * s.capacity;
  for (i64 l = 0; l < L; l++) {
    kc[l] = array_f32(a, ka, (uint32_t)l, cacheNeed, "key cache");
    vc[l] = array_f32(a, va, (uint32_t)l, cacheNeed, "value cache");
  }
  const int32_t* ids = a.i32(3, B * T);
  const int32_t* pos = a.i32(4, B * T);
  for (i64 i = 0; i < B * T; i++) {
    if (ids[i] < 0 || ids[i] >= V) throw_range(a.env(), "gptForwardCached: token id " + std::to_string(ids[i]) + " outside the vocabulary");
    if (pos[i] < 0 || pos[i] >= nPos) throw_range(a.env(), "gptForwardCached: position " + std::to_string(pos[i]) + " outside n_positions");
  }
  const int32_t* mask = a.isNull(5) ? nullptr : a.i32(5, B * (s.past + T));
  float* logits = a.f32(6, B * (s.lastOnly ? 1 : T) * V);
  muse::gpt_forward_cached(w, s, ids, pos, mask, kc.data(), vc.data(), logits);
  return info.Env().Undefined();
}

/** Element i of a JS array argument as a number. */
double array_num(const Args& a, const Napi::Array& arr, uint32_t i, const char* what) {
  Napi::Value v = arr.Get(i);
  if (!v.IsNumber()) throw_type(a.env(), std::string(a.fn) + ": " + what + " " + std::to_string(i) + " must be a number");
  return v.As<Napi::Number>().DoubleValue();
}

/** Float32Array element count of element i of a JS array argument. */
i64 array_len(const Args& a, const Napi::Array& arr, uint32_t i, const char* what) {
  Napi::Value v = arr.Get(i);
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)
    throw_type(a.env(), std::string(a.fn) + ": " + what + " " + std::to_string(i) + " must be a Float32Array");
  return (i64)v.As<Napi::TypedArray>().ElementLength();
}

// adamwMany(params[], grads[], expAvgs[], expAvgSqs[], weightDecays number[], steps number[], lr, beta1, beta2, eps, gradScale)
Napi::Value AdamWMany(const Napi::CallbackInfo& info) {
  Args a{info};
  Napi::Array P = a.array(0), G = a.array(1), M = a.array(2), V = a.array(3), WD = a.array(4), S = a.array(5);
  const uint32_t count = P.Length();
  if (G.Length() != count || M.Length() != count || V.Length() != count || WD.Length() != count || S.Length() != count)
    throw_range(a.env(), "adamwMany: the six arrays must have the same length");
  std::vector<muse::AdamWTensor> ts(count);
  for (uint32_t t = 0; t < count; t++) {
    const i64 n = array_len(a, P, t, "parameter");
    ts[t].param = array_f32(a, P, t, n, "parameter");
    ts[t].grad = array_f32(a, G, t, n, "gradient");
    ts[t].expAvg = array_f32(a, M, t, n, "exp_avg");
    ts[t].expAvgSq = array_f32(a, V, t, n, "exp_avg_sq");
    ts[t].n = n;
    ts[t].weightDecay = array_num(a, WD, t, "weight decay");
    ts[t].step = array_num(a, S, t, "step");
    if (!(ts[t].step >= 1)) throw_range(a.env(), "adamwMany: step must be ≥ 1 (it is 1-based)");
  }
  muse::adamw_many(ts.data(), (int)count, a.num(6), a.num(7), a.num(8), a.num(9), a.num(10));
  return info.Env().Undefined();
}

// sumSquaresMany(arrays[]) → Σ_t Σ_i x_t[i]² (float64)
Napi::Value SumSquaresMany(const Napi::CallbackInfo& info) {
  Args a{info};
  Napi::Array X = a.array(0);
  std::vector<const float*> xs(X.Length());
  std::vector<i64> ns(X.Length());
  for (uint32_t t = 0; t < X.Length(); t++) {
    ns[t] = array_len(a, X, t, "array");
    xs[t] = array_f32(a, X, t, ns[t], "array");
  }
  return Napi::Number::New(info.Env(), muse::sum_squares_many(xs.data(), ns.data(), (int)xs.size()));
}

// --- GPT training fast path -------------------------------------------------

// gptTrainWorkspace(batch, t, nLayer, nHead, nEmbd, vocab, nPositions, eps) → External
Napi::Value GptTrainWorkspaceNew(const Napi::CallbackInfo& info) {
  Args a{info};
  muse::GptTrainShape s{};
  s.batch = (int)a.count(0);
  s.t = (int)a.count(1);
  s.nLayer = (int)a.count(2);
  s.nHead = (int)a.count(3);
  s.nEmbd = (int)a.count(4);
  s.vocab = (int)a.count(5);
  s.nPositions = (int)a.count(6);
  s.eps = (float)a.num(7);
  if (s.batch < 1 || s.t < 1 || s.nLayer < 1 || s.nHead < 1 || s.nEmbd % s.nHead != 0 || s.vocab < 1 ||
      s.t > s.nPositions)
    throw_range(a.env(), "gptTrainWorkspace: invalid model or batch shape");
  auto* ws = new muse::GptTrainWorkspace(s);
  const size_t bytes = ws->buf.size() * sizeof(float);
  Napi::External<muse::GptTrainWorkspace> ext = Napi::External<muse::GptTrainWorkspace>::New(
      info.Env(), ws, [bytes](Napi::Env env, muse::GptTrainWorkspace* p) {
        delete p;
        Napi::MemoryManagement::AdjustExternalMemory(env, -(int64_t)bytes);
      });
  // Tell V8 how much memory the handle holds, so that dropped workspaces are collected.
  Napi::MemoryManagement::AdjustExternalMemory(info.Env(), (int64_t)bytes);
  return ext;
}

/** Shared argument checks of gptTrainForward/Backward. */
struct TrainArgs {
  muse::GptTrainWorkspace* ws;
  muse::GptWeights w;
  const int32_t* ids;
  const int32_t* targets;
  muse::GptTrainMasks masks;
};

TrainArgs train_args(const Args& a, size_t wsAt, size_t weightsAt, size_t idsAt, size_t masksAt) {
  TrainArgs t{};
  t.ws = a.handle<muse::GptTrainWorkspace>(wsAt, "gptTrainWorkspace");
  const muse::GptTrainShape& s = t.ws->shape;
  const i64 C = s.nEmbd, L = s.nLayer, V = s.vocab, N = (i64)s.batch * s.t;
  t.w = gpt_weights(gpt_tensors(a, a.array(weightsAt), L, C, V, s.nPositions, "weight"));
  t.ids = a.i32(idsAt, N);
  t.targets = a.i32(idsAt + 1, N);
  for (i64 i = 0; i < N; i++) {
    if (t.ids[i] < 0 || t.ids[i] >= V)
      throw_range(a.env(), std::string(a.fn) + ": token id " + std::to_string(t.ids[i]) + " outside the vocabulary");
    if (t.targets[i] != -100 && (t.targets[i] < 0 || t.targets[i] >= V))
      throw_range(a.env(), std::string(a.fn) + ": target " + std::to_string(t.targets[i]) + " outside the vocabulary");
  }
  t.masks.embd = a.flag(masksAt + 1);
  t.masks.resid = a.flag(masksAt + 2);
  const i64 nMasks = (t.masks.embd ? 1 : 0) + (t.masks.resid ? 2 * L : 0);
  t.masks.data = a.isNull(masksAt) ? nullptr : a.f32(masksAt, nMasks * N * C);
  if (!t.masks.data && nMasks > 0) throw_type(a.env(), std::string(a.fn) + ": dropout masks are missing");
  return t;
}

// gptTrainForward(ws, weights, ids, targets, masks|null, maskEmbd, maskResid, logits, losses, batch, t) → count
Napi::Value GptTrainForward(const Napi::CallbackInfo& info) {
  Args a{info};
  muse::GptTrainWorkspace* ws = a.handle<muse::GptTrainWorkspace>(0, "gptTrainWorkspace");
  muse::GptTrainShape want = ws->capacity;
  want.batch = (int)a.count(9);
  want.t = (int)a.count(10);
  if (want.batch < 1 || want.t < 1 || !ws->fits(want))
    throw_range(a.env(), "gptTrainForward: batch " + std::to_string(want.batch) + " × t " + std::to_string(want.t) +
                             " does not fit this workspace (make a larger one)");
  ws->shape = want;
  TrainArgs t = train_args(a, 0, 1, 2, 4);
  const muse::GptTrainShape& s = t.ws->shape;
  const i64 N = (i64)s.batch * s.t;
  float* logits = a.f32(7, N * s.vocab);
  float* losses = a.f32(8, N);
  const i64 count = muse::gpt_train_forward(t.w, *t.ws, t.ids, t.targets, t.masks, logits, losses);
  return Napi::Number::New(info.Env(), (double)count);
}

// gptTrainBackward(ws, weights, grads, ids, targets, masks|null, maskEmbd, maskResid, logits, gScale, accumulate)
Napi::Value GptTrainBackward(const Napi::CallbackInfo& info) {
  Args a{info};
  TrainArgs t = train_args(a, 0, 1, 3, 5);
  const muse::GptTrainShape& s = t.ws->shape;
  const i64 C = s.nEmbd, L = s.nLayer, V = s.vocab, N = (i64)s.batch * s.t;
  std::vector<float*> g = gpt_tensors(a, a.array(2), L, C, V, s.nPositions, "gradient");
  const float* logits = a.f32(8, N * V);
  const float gScale = (float)a.num(9);
  const bool accumulate = a.flag(10);
  muse::gpt_train_backward(t.w, *t.ws, t.ids, t.targets, t.masks, logits, gScale, g.data(), accumulate);
  return info.Env().Undefined();
}

// --- BERT masked-LM training fast path --------------------------------------

/**
 * The 10 + 16·nLayer tensors of a BertForMaskedLM with a tied decoder, in the
 * kernel order of muse::BertWeights, each checked to hold its size.
 */
std::vector<float*> bert_tensors(const Args& a, size_t at, const muse::BertTrainShape& s, const char* what) {
  const Napi::Array arr = a.array(at);
  const std::vector<i64> size = muse::bert_tensor_sizes(s);
  if (arr.Length() != size.size())
    throw_range(a.env(), std::string(a.fn) + ": expected 10 + 16·nLayer " + what + "s, got " + std::to_string(arr.Length()));
  std::vector<float*> out;
  for (uint32_t i = 0; i < size.size(); i++) out.push_back(array_f32(a, arr, i, size[i], what));
  return out;
}

muse::BertWeights bert_weights(const std::vector<float*>& p) {
  muse::BertWeights w;
  w.wordEmb = p[0];
  w.posEmb = p[1];
  w.typeEmb = p[2];
  w.embLnW = p[3];
  w.embLnB = p[4];
  size_t i = 5;
  for (; i + 16 <= p.size() - 5; i += 16)
    w.layers.push_back({p[i], p[i + 1], p[i + 2], p[i + 3], p[i + 4], p[i + 5], p[i + 6], p[i + 7], p[i + 8], p[i + 9],
                        p[i + 10], p[i + 11], p[i + 12], p[i + 13], p[i + 14], p[i + 15]});
  w.tW = p[i];
  w.tB = p[i + 1];
  w.tLnW = p[i + 2];
  w.tLnB = p[i + 3];
  w.decBias = p[i + 4];
  return w;
}

// bertTrainWorkspace(batch, t, nLayer, nHead, hidden, intermediate, vocab, nPositions, typeVocab, eps, act) → External
Napi::Value BertTrainWorkspaceNew(const Napi::CallbackInfo& info) {
  Args a{info};
  muse::BertTrainShape s{};
  s.batch = (int)a.count(0);
  s.t = (int)a.count(1);
  s.nLayer = (int)a.count(2);
  s.nHead = (int)a.count(3);
  s.hidden = (int)a.count(4);
  s.intermediate = (int)a.count(5);
  s.vocab = (int)a.count(6);
  s.nPositions = (int)a.count(7);
  s.typeVocab = (int)a.count(8);
  s.eps = (float)a.num(9);
  s.act = a.op(10, muse::U_COUNT);
  if (s.batch < 1 || s.t < 1 || s.nLayer < 1 || s.nHead < 1 || s.hidden % s.nHead != 0 || s.intermediate < 1 ||
      s.vocab < 1 || s.typeVocab < 1 || s.t > s.nPositions)
    throw_range(a.env(), "bertTrainWorkspace: invalid model or batch shape");
  if (s.act != muse::U_GELU_ERF && s.act != muse::U_GELU_TANH && s.act != muse::U_RELU)
    throw_range(a.env(), "bertTrainWorkspace: act must be gelu_erf, gelu_tanh or relu");
  auto* ws = new muse::BertTrainWorkspace(s);
  const size_t bytes = ws->buf.size() * sizeof(float);
  Napi::External<muse::BertTrainWorkspace> ext = Napi::External<muse::BertTrainWorkspace>::New(
      info.Env(), ws, [bytes](Napi::Env env, muse::BertTrainWorkspace* p) {
        delete p;
        Napi::MemoryManagement::AdjustExternalMemory(env, -(int64_t)bytes);
      });
  Napi::MemoryManagement::AdjustExternalMemory(info.Env(), (int64_t)bytes);
  return ext;
}

muse::BertTrainWorkspace* bert_workspace(const Args& a, size_t i) {
  return a.handle<muse::BertTrainWorkspace>(i, "bertTrainWorkspace");
}

/** ids, tokenTypes|null, attentionMask|null, labels, masks|null from argument `at` on, checked against `s`. */
muse::BertTrainInputs bert_inputs(const Args& a, size_t at, const muse::BertTrainShape& s) {
  const i64 N = (i64)s.batch * s.t;
  muse::BertTrainInputs in{};
  in.ids = a.i32(at, N);
  in.tokenTypes = a.isNull(at + 1) ? nullptr : a.i32(at + 1, N);
  in.attentionMask = a.isNull(at + 2) ? nullptr : a.i32(at + 2, N);
  in.labels = a.i32(at + 3, N);
  in.masks = a.isNull(at + 4) ? nullptr : a.f32(at + 4, (1 + 2 * (i64)s.nLayer) * N * s.hidden);
  for (i64 i = 0; i < N; i++) {
    if (in.ids[i] < 0 || in.ids[i] >= s.vocab)
      throw_range(a.env(), std::string(a.fn) + ": token id " + std::to_string(in.ids[i]) + " outside the vocabulary");
    if (in.labels[i] != -100 && (in.labels[i] < 0 || in.labels[i] >= s.vocab))
      throw_range(a.env(), std::string(a.fn) + ": label " + std::to_string(in.labels[i]) + " outside the vocabulary");
    if (in.tokenTypes && (in.tokenTypes[i] < 0 || in.tokenTypes[i] >= s.typeVocab))
      throw_range(a.env(), std::string(a.fn) + ": token type " + std::to_string(in.tokenTypes[i]) + " outside type_vocab_size");
  }
  return in;
}

// bertTrainForward(ws, weights, ids, tokenTypes|null, attentionMask|null, labels, masks|null, logits, losses, batch, t) → count
Napi::Value BertTrainForward(const Napi::CallbackInfo& info) {
  Args a{info};
  muse::BertTrainWorkspace* ws = bert_workspace(a, 0);
  muse::BertTrainShape want = ws->capacity;
  want.batch = (int)a.count(9);
  want.t = (int)a.count(10);
  if (want.batch < 1 || want.t < 1 || !ws->fits(want))
    throw_range(a.env(), "bertTrainForward: batch " + std::to_string(want.batch) + " × t " + std::to_string(want.t) +
                             " does not fit this workspace (make a larger one)");
  const muse::BertTrainInputs in = bert_inputs(a, 2, want);
  const i64 N = (i64)want.batch * want.t;
  i64 count = 0;
  for (i64 i = 0; i < N; i++) count += in.labels[i] != -100;
  float* logits = a.f32(7, count * want.vocab);
  float* losses = a.f32(8, count);
  ws->shape = want;
  const muse::BertWeights w = bert_weights(bert_tensors(a, 1, want, "weight"));
  return Napi::Number::New(info.Env(), (double)muse::bert_train_forward(w, *ws, in, logits, losses));
}

// bertTrainBackward(ws, weights, grads, ids, tokenTypes|null, attentionMask|null, labels, masks|null, logits, gScale, accumulate)
Napi::Value BertTrainBackward(const Napi::CallbackInfo& info) {
  Args a{info};
  muse::BertTrainWorkspace* ws = bert_workspace(a, 0);
  const muse::BertTrainShape& s = ws->shape;
  const muse::BertWeights w = bert_weights(bert_tensors(a, 1, s, "weight"));
  std::vector<float*> g = bert_tensors(a, 2, s, "gradient");
  const muse::BertTrainInputs in = bert_inputs(a, 3, s);
  const float* logits = a.f32(8, ws->count * s.vocab);
  muse::bert_train_backward(w, *ws, in, logits, (float)a.num(9), g.data(), a.flag(10));
  return info.Env().Undefined();
}

// signatures() → the table of signatures.cc as plain objects, which
// src/backend/native.ts compares with its own table when it loads the addon.
Napi::Value Signatures(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object table = Napi::Object::New(env);
  for (const muse::KernelSig& k : muse::kernel_signatures()) {
    Napi::Array args = Napi::Array::New(env, k.args.size());
    for (uint32_t i = 0; i < k.args.size(); i++) {
      const muse::ArgSig& arg = k.args[i];
      Napi::Object o = Napi::Object::New(env);
      o.Set("name", arg.name);
      o.Set("kind", arg.kind);
      if (*arg.role) o.Set("role", arg.role);
      if (*arg.length) o.Set("length", arg.length);
      args.Set(i, o);
    }
    Napi::Object row = Napi::Object::New(env);
    row.Set("args", args);
    row.Set("returns", k.returns);
    table.Set(k.name, row);
  }
  return table;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  // Every export has a row in the signature table (its data pointer), and every row an export.
  const std::pair<const char*, Napi::Value (*)(const Napi::CallbackInfo&)> kernels[] = {
      {"gemm", Gemm},
      {"unary", Unary},
      {"unaryBackward", UnaryBackward},
      {"binary", Binary},
      {"reduce", Reduce},
      {"argmax", Argmax},
      {"copyStrided", CopyStrided},
      {"softmax", RowsUnary<muse::softmax>},
      {"softmaxBackward", RowsBackward<muse::softmax_backward>},
      {"logSoftmax", RowsUnary<muse::log_softmax>},
      {"logSoftmaxBackward", RowsBackward<muse::log_softmax_backward>},
      {"layerNorm", LayerNorm},
      {"layerNormBackward", LayerNormBackward},
      {"embedding", Embedding},
      {"embeddingBackward", EmbeddingBackward},
      {"crossEntropy", CrossEntropy},
      {"crossEntropyBackward", CrossEntropyBackward},
      {"attention", Attention},
      {"attentionBackward", AttentionBackward},
      {"adamw", AdamW},
      {"sumSquares", SumSquares},
      {"fmaPeak", FmaPeak},
      {"setThreads", SetThreads},
      {"info", Info},
      {"dropoutMask", DropoutMask},
      {"gptForwardCached", GptForwardCached},
      {"adamwMany", AdamWMany},
      {"sumSquaresMany", SumSquaresMany},
      {"gptTrainWorkspace", GptTrainWorkspaceNew},
      {"gptTrainForward", GptTrainForward},
      {"gptTrainBackward", GptTrainBackward},
      {"bertTrainWorkspace", BertTrainWorkspaceNew},
      {"bertTrainForward", BertTrainForward},
      {"bertTrainBackward", BertTrainBackward},
  };
  for (const auto& [name, fn] : kernels) muse::export_kernel(env, exports, name, fn);
  // The stored-weight kernels (quant_addon.cc) export themselves the same way.
  muse::register_quant(env, exports);
  for (const muse::KernelSig& k : muse::kernel_signatures())
    if (!exports.Has(k.name))
      throw Napi::Error::New(env, std::string("muse native: native/src/signatures.cc lists kernel ") + k.name +
                                      " but the addon does not export it");
  exports.Set("signatures", Napi::Function::New(env, Signatures, "signatures"));
  return exports;
}

}  // namespace

namespace muse {

void export_kernel(Napi::Env env, Napi::Object exports, const char* name, Napi::Value (*fn)(const Napi::CallbackInfo&)) {
  const KernelSig* sig = nullptr;
  try {
    sig = &kernel_signature(name);
  } catch (const std::logic_error& e) {
    throw Napi::Error::New(env, e.what());
  }
  if (exports.Has(name)) throw Napi::Error::New(env, std::string("muse native: kernel ") + name + " is exported twice");
  exports.Set(name, Napi::Function::New(env, fn, name, const_cast<KernelSig*>(sig)));
}

}  // namespace muse

NODE_API_MODULE(muse_native, Init)
