// N-API surface of the stored-weight kernels (quant.h): quantLinear,
// quantDequantize, quantActRoundtrip, quantInfo, quantSetPath. Like the rest
// of the addon, every size is checked against the arrays passed before a
// kernel runs; a wrong size throws a RangeError naming the argument.
#include <napi.h>

#include <cmath>
#include <string>

#include "quant.h"
#include "quant_addon.h"

namespace {

using muse::i64;

[[noreturn]] void qthrow_type(Napi::Env env, const std::string& msg) {
  throw Napi::TypeError::New(env, "muse native: " + msg);
}
[[noreturn]] void qthrow_range(Napi::Env env, const std::string& msg) {
  throw Napi::RangeError::New(env, "muse native: " + msg);
}

struct QArgs {
  const Napi::CallbackInfo& info;
  const char* fn;
  Napi::Env env() const { return info.Env(); }
  std::string where(size_t i) const { return std::string(fn) + " argument " + std::to_string(i); }
  i64 count(size_t i) const {
    if (i >= info.Length() || !info[i].IsNumber()) qthrow_type(env(), where(i) + " must be a number");
    const double x = info[i].As<Napi::Number>().DoubleValue();
    if (!(x >= 0) || x != std::floor(x) || x > 9007199254740991.0)
      qthrow_range(env(), where(i) + " must be a non-negative integer");
    return (i64)x;
  }
  bool flag(size_t i) const {
    if (i >= info.Length() || !info[i].IsBoolean()) qthrow_type(env(), where(i) + " must be a boolean");
    return info[i].As<Napi::Boolean>().Value();
  }
  bool isNull(size_t i) const { return i >= info.Length() || info[i].IsNull() || info[i].IsUndefined(); }
  uint8_t* bytes(size_t i, napi_typedarray_type want, const char* name, int elemBytes, i64 need) const {
    if (i >= info.Length() || !info[i].IsTypedArray()) qthrow_type(env(), where(i) + " must be a " + name);
    Napi::TypedArray ta = info[i].As<Napi::TypedArray>();
    if (ta.TypedArrayType() != want) qthrow_type(env(), where(i) + " must be a " + name);
    const i64 len = (i64)ta.ElementLength();
    if (need > len)
      qthrow_range(env(), where(i) + " has " + std::to_string(len) + " elements, the kernel needs " + std::to_string(need));
    (void)elemBytes;
    return static_cast<uint8_t*>(ta.ArrayBuffer().Data()) + ta.ByteOffset();
  }
  float* f32(size_t i, i64 need) const {
    return reinterpret_cast<float*>(bytes(i, napi_float32_array, "Float32Array", 4, need));
  }
  const uint8_t* u8(size_t i, i64 need) const { return bytes(i, napi_uint8_array, "Uint8Array", 1, need); }
};

/** Reads (type, bytes, rows, cols) at i…i+3 into a checked QMat. */
muse::QMat qmat(const QArgs& a, size_t i) {
  const i64 type = a.count(i);
  const int blk = muse::qtype_block((int)type);
  if (blk == 0 || type > 64) qthrow_range(a.env(), a.where(i) + ": unsupported weight type " + std::to_string(type));
  const i64 rows = a.count(i + 2), cols = a.count(i + 3);
  if (cols % blk != 0)
    qthrow_range(a.env(), std::string(a.fn) + ": " + muse::qtype_name((int)type) + " rows need a multiple of " +
                              std::to_string(blk) + " columns, got " + std::to_string(cols));
  if (rows > INT32_MAX || cols > INT32_MAX) qthrow_range(a.env(), std::string(a.fn) + ": matrix too large");
  const uint8_t* data = a.u8(i + 1, rows * muse::qtype_row_bytes((int)type, cols));
  return muse::QMat{(int)type, data, rows, cols};
}

// quantLinear(type, weight Uint8Array, rows, cols, x, m, bias|null, out, accumulate)
Napi::Value QuantLinear(const Napi::CallbackInfo& info) {
  QArgs a{info, "quantLinear"};
  const muse::QMat W = qmat(a, 0);
  const i64 m = a.count(5);
  if (m > INT32_MAX) qthrow_range(a.env(), "quantLinear: too many rows");
  const float* x = a.f32(4, m * W.cols);
  const float* bias = a.isNull(6) ? nullptr : a.f32(6, W.rows);
  float* out = a.f32(7, m * W.rows);
  const bool acc = a.flag(8);
  muse::qlinear(W, x, (int)m, bias, out, W.rows, acc);
  return info.Env().Undefined();
}

// quantDequantize(type, weight, rows, cols, out)
Napi::Value QuantDequantize(const Napi::CallbackInfo& info) {
  QArgs a{info, "quantDequantize"};
  const muse::QMat W = qmat(a, 0);
  float* out = a.f32(4, W.rows * W.cols);
  muse::qdequantize(W, 0, W.rows, out);
  return info.Env().Undefined();
}

// quantActRoundtrip(x, m, k, out): x̃ of the kernel contract (k a multiple of 32).
Napi::Value QuantActRoundtrip(const Napi::CallbackInfo& info) {
  QArgs a{info, "quantActRoundtrip"};
  const i64 m = a.count(1), k = a.count(2);
  if (k % 32 != 0) qthrow_range(a.env(), "quantActRoundtrip: k must be a multiple of 32");
  const float* x = a.f32(0, m * k);
  float* out = a.f32(3, m * k);
  muse::qact_roundtrip(x, m, k, out);
  return info.Env().Undefined();
}

Napi::Value QuantInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("path", muse::qpath_name(muse::qpath_current()));
  o.Set("best", muse::qpath_name(muse::qpath_best()));
  Napi::Array paths = Napi::Array::New(env);
  for (int p = 0; p <= muse::qpath_best(); p++) paths.Set((uint32_t)p, muse::qpath_name(p));
  o.Set("paths", paths);
  return o;
}

// quantSetPath(name): forces a dispatch path; returns the path now used.
Napi::Value QuantSetPath(const Napi::CallbackInfo& info) {
  QArgs a{info, "quantSetPath"};
  if (info.Length() < 1 || !info[0].IsString()) qthrow_type(a.env(), "quantSetPath argument 0 must be a string");
  const std::string name = info[0].As<Napi::String>().Utf8Value();
  int want;
  if (name == "portable") want = muse::QP_PORTABLE;
  else if (name == "avx2") want = muse::QP_AVX2;
  else if (name == "avx512") want = muse::QP_AVX512;
  else if (name == "best") want = muse::qpath_best();
  else qthrow_range(a.env(), "quantSetPath: unknown path '" + name + "' (portable, avx2, avx512 or best)");
  if (want > muse::qpath_best())
    qthrow_range(a.env(), "quantSetPath: this CPU does not support the " + name + " path (best: " +
                              muse::qpath_name(muse::qpath_best()) + ")");
  return Napi::String::New(info.Env(), muse::qpath_name(muse::qpath_set(want)));
}

}  // namespace

namespace muse {

void register_quant(Napi::Env env, Napi::Object exports) {
  exports.Set("quantLinear", Napi::Function::New(env, QuantLinear));
  exports.Set("quantDequantize", Napi::Function::New(env, QuantDequantize));
  exports.Set("quantActRoundtrip", Napi::Function::New(env, QuantActRoundtrip));
  exports.Set("quantInfo", Napi::Function::New(env, QuantInfo));
  exports.Set("quantSetPath", Napi::Function::New(env, QuantSetPath));
}

}  // namespace muse
