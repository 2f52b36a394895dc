// Reading N-API arguments through the kernel signature table (signatures.h):
// every N-API function of the addon (addon.cc, quant_addon.cc) starts with
// `Args a{info};` and reads each argument with the accessor of its kind. The
// function must be exported with export_kernel(), which hands it its table
// row. See docs/native.md, "The seam".
#pragma once

#include <napi.h>

#include <cmath>
#include <cstdint>
#include <string>

#include "common.h"
#include "signatures.h"

namespace muse {

[[noreturn]] inline void throw_type(Napi::Env env, const std::string& msg) {
  throw Napi::TypeError::New(env, "muse native: " + msg);
}
[[noreturn]] inline void throw_range(Napi::Env env, const std::string& msg) {
  throw Napi::RangeError::New(env, "muse native: " + msg);
}

/**
 * The arguments of one call, read through the kernel's row of the signature
 * table (signatures.cc), which node-addon-api hands each function as its data.
 * The constructor checks the argument count; every accessor checks that the
 * table declares the kind it reads (an addon bug otherwise, reported as a
 * TypeError naming kernel and argument), then the value's type and size.
 */
struct Args {
  const Napi::CallbackInfo& info;
  const muse::KernelSig& sig;
  const char* fn;

  explicit Args(const Napi::CallbackInfo& callInfo)
      : info(callInfo), sig(*static_cast<const muse::KernelSig*>(callInfo.Data())), fn(sig.name) {
    const size_t n = info.Length();
    if (n < sig.required || n > sig.args.size()) {
      std::string names;
      for (const muse::ArgSig& arg : sig.args) names += (names.empty() ? "" : ", ") + std::string(arg.name);
      throw_type(env(), std::string(fn) + " takes " + std::to_string(sig.args.size()) + " arguments (" + names +
                            "), got " + std::to_string(n));
    }
  }
  Napi::Env env() const { return info.Env(); }

  std::string where(size_t i) const {
    return std::string(fn) + " argument " + std::to_string(i) + (i < sig.args.size() ? std::string(" (") + sig.args[i].name + ")" : "");
  }

  /** Throws unless the table declares argument i as `k` (or `alt`). */
  void expect(size_t i, muse::ArgKind k, muse::ArgKind alt) const {
    if (i < sig.kinds.size() && (sig.kinds[i] == k || sig.kinds[i] == alt)) return;
    throw_type(env(), std::string("addon bug: ") + where(i) + " is read as " + muse::kind_name(k) +
                          " but native/src/signatures.cc declares " +
                          (i < sig.kinds.size() ? std::string(muse::kind_name(sig.kinds[i])) : std::string("no such argument")));
  }
  void expect(size_t i, muse::ArgKind k) const { expect(i, k, k); }

  double rawNum(size_t i) const {
    if (i >= info.Length() || !info[i].IsNumber()) throw_type(env(), where(i) + " must be a number");
    return info[i].As<Napi::Number>().DoubleValue();
  }
  /** A non-negative integer that fits comfortably in 2^53 (no kind check). */
  i64 rawCount(size_t i) const {
    double x = rawNum(i);
    if (!(x >= 0) || x != std::floor(x) || x > 9007199254740991.0)
      throw_range(env(), where(i) + " must be a non-negative integer, got " + std::to_string(x));
    return (i64)x;
  }
  double num(size_t i) const {
    expect(i, muse::ArgKind::NUM, muse::ArgKind::NUM_OPTIONAL);
    return rawNum(i);
  }
  /** A "count": a non-negative integer that fits comfortably in 2^53. */
  i64 count(size_t i) const {
    expect(i, muse::ArgKind::COUNT);
    return rawCount(i);
  }
  i64 integer(size_t i) const {
    expect(i, muse::ArgKind::INT);
    double x = rawNum(i);
    if (x != std::floor(x) || std::fabs(x) > 9007199254740991.0)
      throw_range(env(), where(i) + " must be an integer");
    return (i64)x;
  }
  bool flag(size_t i) const {
    expect(i, muse::ArgKind::BOOL);
    if (i >= info.Length() || !info[i].IsBoolean()) throw_type(env(), where(i) + " must be a boolean");
    return info[i].As<Napi::Boolean>().Value();
  }
  /** Whether a nullable array argument is null (or undefined). */
  bool isNull(size_t i) const {
    expect(i, muse::ArgKind::F32_OR_NULL, muse::ArgKind::I32_OR_NULL);
    return i >= info.Length() || info[i].IsNull() || info[i].IsUndefined();
  }

  template <class T>
  T* typed(size_t i, napi_typedarray_type want, const char* wantName, i64 need, i64* lengthOut) const {
    if (i >= info.Length() || !info[i].IsTypedArray()) throw_type(env(), where(i) + " must be a " + wantName);
    Napi::TypedArray ta = info[i].As<Napi::TypedArray>();
    if (ta.TypedArrayType() != want) throw_type(env(), where(i) + " must be a " + wantName);
    i64 len = (i64)ta.ElementLength();
    if (need > len)
      throw_range(env(), where(i) + " has " + std::to_string(len) + " elements, the kernel needs " + std::to_string(need) +
                             " (" + sig.args[i].length + ")");
    if (lengthOut) *lengthOut = len;
    Napi::ArrayBuffer buf = ta.ArrayBuffer();
    return reinterpret_cast<T*>(static_cast<uint8_t*>(buf.Data()) + ta.ByteOffset());
  }
  /** A Float32Array ("f32", or a non-null "f32?") with at least `need` elements; its length in *lengthOut. */
  float* f32(size_t i, i64 need, i64* lengthOut = nullptr) const {
    expect(i, muse::ArgKind::F32, muse::ArgKind::F32_OR_NULL);
    return typed<float>(i, napi_float32_array, "Float32Array", need, lengthOut);
  }
  float* f32orNull(size_t i, i64 need) const { return isNull(i) ? nullptr : f32(i, need); }
  int32_t* i32(size_t i, i64 need) const {
    expect(i, muse::ArgKind::I32, muse::ArgKind::I32_OR_NULL);
    return typed<int32_t>(i, napi_int32_array, "Int32Array", need, nullptr);
  }
  uint32_t* u32(size_t i, i64 need) const {
    expect(i, muse::ArgKind::U32);
    return typed<uint32_t>(i, napi_uint32_array, "Uint32Array", need, nullptr);
  }
  const double* f64(size_t i, i64 need, i64* lengthOut = nullptr) const {
    expect(i, muse::ArgKind::F64);
    return typed<double>(i, napi_float64_array, "Float64Array", need, lengthOut);
  }
  /** A Float32Array or an Int32Array (4-byte elements), for copyStrided. */
  uint32_t* word(size_t i, i64 need) const {
    expect(i, muse::ArgKind::F32_OR_I32);
    if (isInt32(i)) return typed<uint32_t>(i, napi_int32_array, "Int32Array", need, nullptr);
    return typed<uint32_t>(i, napi_float32_array, "Float32Array or Int32Array", need, nullptr);
  }
  bool isInt32(size_t i) const {
    return i < info.Length() && info[i].IsTypedArray() &&
           info[i].As<Napi::TypedArray>().TypedArrayType() == napi_int32_array;
  }
  int op(size_t i, int count) const {
    expect(i, muse::ArgKind::OP);
    i64 v = rawCount(i);
    if (v >= count) throw_range(env(), where(i) + ": unknown op code " + std::to_string(v));
    return (int)v;
  }
  /** An "f32[]", "f32[]|u16[]" or "num[]" argument: a JS array (its elements are checked by the kernel). */
  Napi::Array array(size_t i) const {
    if (i >= sig.kinds.size() || sig.kinds[i] != muse::ArgKind::F32_OR_U16_LIST) expect(i, muse::ArgKind::F32_LIST, muse::ArgKind::NUM_LIST);
    if (i >= info.Length() || !info[i].IsArray())
      throw_type(env(), where(i) + " must be an array of " +
                            (sig.kinds[i] == muse::ArgKind::NUM_LIST ? "numbers" : "typed arrays"));
    return info[i].As<Napi::Array>();
  }
  /** A Uint8Array ("u8") with at least `need` elements (raw stored-weight bytes). */
  const uint8_t* u8(size_t i, i64 need) const {
    expect(i, muse::ArgKind::U8);
    return typed<uint8_t>(i, napi_uint8_array, "Uint8Array", need, nullptr);
  }
  /** A string ("str"). */
  std::string str(size_t i) const {
    expect(i, muse::ArgKind::STR);
    if (i >= info.Length() || !info[i].IsString()) throw_type(env(), where(i) + " must be a string");
    return info[i].As<Napi::String>().Utf8Value();
  }
  /** A plain object ("object") read field by field by the kernel. */
  Napi::Object object(size_t i) const {
    expect(i, muse::ArgKind::OBJECT);
    if (i >= info.Length() || !info[i].IsObject()) throw_type(env(), where(i) + " must be an object");
    return info[i].As<Napi::Object>();
  }
  /** A "handle" argument: a workspace made by `maker`. */
  template <class T>
  T* handle(size_t i, const char* maker) const {
    expect(i, muse::ArgKind::HANDLE);
    if (i >= info.Length() || !info[i].IsExternal()) throw_type(env(), where(i) + " must be a workspace from " + maker);
    return info[i].As<Napi::External<T>>().Data();
  }
};

/**
 * Exports `fn` as `name` with its row of the signature table as its data.
 * @throws Napi::Error when the table has no row `name`, or `name` is already exported (the addon then fails to load)
 */
void export_kernel(Napi::Env env, Napi::Object exports, const char* name, Napi::Value (*fn)(const Napi::CallbackInfo&));

}  // namespace muse
