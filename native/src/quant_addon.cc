// N-API surface of the stored-weight kernels (quant.h): quantLinear,
// quantDequantize, quantActRoundtrip, quantInfo, quantSetPath, lmCreate,
// lmForward. Like the rest of the addon, each one's arguments are its row of
// the signature table (signatures.cc), read through napi_args.h's Args, and
// every size is checked against the arrays passed before a kernel runs; a
// wrong size throws a RangeError naming the argument.
#include <napi.h>

#include <cmath>
#include <string>
#include <vector>

#if defined(__linux__)
#include <sys/mman.h>
#endif

#include "common.h"

#include "lm_decode.h"
#include "napi_args.h"
#include "quant.h"
#include "quant_addon.h"

namespace {

using muse::Args;
using muse::i64;

[[noreturn]] void qthrow_type(Napi::Env env, const std::string& msg) { muse::throw_type(env, msg); }
[[noreturn]] void qthrow_range(Napi::Env env, const std::string& msg) { muse::throw_range(env, msg); }

/** Reads (type, bytes, rows, cols) at i…i+3 into a checked QMat. */
muse::QMat qmat(const Args& a, size_t i) {
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
  Args a{info};
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
  Args a{info};
  const muse::QMat W = qmat(a, 0);
  float* out = a.f32(4, W.rows * W.cols);
  muse::qdequantize(W, 0, W.rows, out);
  return info.Env().Undefined();
}

// quantActRoundtrip(x, m, k, out): x̃ of the kernel contract (k a multiple of 32).
Napi::Value QuantActRoundtrip(const Napi::CallbackInfo& info) {
  Args a{info};
  const i64 m = a.count(1), k = a.count(2);
  if (k % 32 != 0) qthrow_range(a.env(), "quantActRoundtrip: k must be a multiple of 32");
  const float* x = a.f32(0, m * k);
  float* out = a.f32(3, m * k);
  muse::qact_roundtrip(x, m, k, out);
  return info.Env().Undefined();
}

Napi::Value QuantInfo(const Napi::CallbackInfo& info) {
  Args a{info};
  Napi::Env env = a.env();
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
  Args a{info};
  const std::string name = a.str(0);
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


// ---------------------------------------------------------------------------
// The stored-weight decoder (lm_decode.h): lmCreate(spec) → handle, lmForward(handle, …)

struct LmHandle {
  muse::LmWeights w;
  int nHead, nKvHead, headDim, hidden, vocab, nLayer;
  i64 posRows;  // rows of the learned position table (0 = none)
  float eps;
  std::vector<Napi::Reference<Napi::Value>> keep;  // the typed arrays the pointers point into
};

struct SpecReader {
  Napi::Env env;
  LmHandle* h;
  std::string where;
  [[noreturn]] void fail(const std::string& m) const { qthrow_range(env, "lmCreate: " + where + m); }
  Napi::Value get(const Napi::Object& o, const char* key) const { return o.Get(key); }
  double num(const Napi::Object& o, const char* key) const {
    Napi::Value v = o.Get(key);
    if (!v.IsNumber()) qthrow_type(env, "lmCreate: " + where + key + " must be a number");
    return v.As<Napi::Number>().DoubleValue();
  }
  int count(const Napi::Object& o, const char* key) const {
    const double x = num(o, key);
    if (!(x >= 0) || x != std::floor(x) || x > 2147483647.0) fail(std::string(key) + " must be a non-negative integer");
    return (int)x;
  }
  /** A Float32Array of exactly n values, or null when absent and optional. */
  const float* f32(const Napi::Object& o, const char* key, i64 n, bool optional) {
    Napi::Value v = o.Get(key);
    if (v.IsNull() || v.IsUndefined()) {
      if (optional) return nullptr;
      fail(std::string(key) + " is missing");
    }
    if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)
      qthrow_type(env, "lmCreate: " + where + key + " must be a Float32Array");
    Napi::TypedArray ta = v.As<Napi::TypedArray>();
    if ((i64)ta.ElementLength() != n)
      fail(std::string(key) + " has " + std::to_string(ta.ElementLength()) + " values, expected " + std::to_string(n));
    h->keep.push_back(Napi::Persistent(v));
    return reinterpret_cast<const float*>(static_cast<uint8_t*>(ta.ArrayBuffer().Data()) + ta.ByteOffset());
  }
  /** A stored weight {type, rows, cols, bytes} with the expected shape (rows < 0: any). */
  muse::QMat mat(const Napi::Object& o, const char* key, i64 rows, i64 cols, bool optional) {
    Napi::Value v = o.Get(key);
    if (v.IsNull() || v.IsUndefined()) {
      if (optional) return muse::QMat{0, nullptr, 0, 0};
      fail(std::string(key) + " is missing");
    }
    if (!v.IsObject()) qthrow_type(env, "lmCreate: " + where + key + " must be a weight object");
    Napi::Object m = v.As<Napi::Object>();
    const int type = count(m, "type");
    const int blk = muse::qtype_block(type);
    if (blk == 0) fail(std::string(key) + ": unsupported weight type " + std::to_string(type));
    const i64 r = count(m, "rows"), c = count(m, "cols");
    if ((rows >= 0 && r != rows) || c != cols)
      fail(std::string(key) + " is " + std::to_string(r) + "×" + std::to_string(c) + ", expected " +
           (rows >= 0 ? std::to_string(rows) : std::string("?")) + "×" + std::to_string(cols));
    if (c % blk != 0) fail(std::string(key) + ": " + muse::qtype_name(type) + " needs columns in multiples of " + std::to_string(blk));
    Napi::Value b = m.Get("bytes");
    if (!b.IsTypedArray() || b.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array)
      qthrow_type(env, "lmCreate: " + where + key + ".bytes must be a Uint8Array");
    Napi::TypedArray ta = b.As<Napi::TypedArray>();
    if ((i64)ta.ElementLength() < r * muse::qtype_row_bytes(type, c))
      fail(std::string(key) + ".bytes is too short for a " + std::to_string(r) + "×" + std::to_string(c) + " " +
           muse::qtype_name(type) + " matrix");
    h->keep.push_back(Napi::Persistent(b));
    return muse::QMat{type, static_cast<uint8_t*>(ta.ArrayBuffer().Data()) + ta.ByteOffset(), r, c};
  }
};

Napi::Value LmCreate(const Napi::CallbackInfo& info) {
  Args a{info};
  Napi::Env env = a.env();
  Napi::Object spec = a.object(0);
  auto* h = new LmHandle();
  try {
    SpecReader r{env, h, ""};
    muse::LmWeights& w = h->w;
    w.norm = r.count(spec, "norm");
    w.mlp = r.count(spec, "mlp");
    if (w.norm > 1 || w.mlp > 1) r.fail("norm and mlp must be 0 or 1");
    h->hidden = r.count(spec, "hidden");
    h->nHead = r.count(spec, "nHead");
    h->nKvHead = r.count(spec, "nKvHead");
    h->headDim = r.count(spec, "headDim");
    h->vocab = r.count(spec, "vocab");
    h->eps = (float)r.num(spec, "eps");
    const int C = h->hidden, H = h->nHead, Hk = h->nKvHead, D = h->headDim;
    if (C < 1 || H < 1 || Hk < 1 || H % Hk != 0 || D < 2 || D % 2 != 0 || h->vocab < 1)
      r.fail("invalid shape (hidden, nHead, nKvHead dividing nHead, even headDim, vocab)");
    w.embed = r.mat(spec, "embed", h->vocab, C, false);
    w.posEmbed = r.mat(spec, "posEmbed", -1, C, true);
    h->posRows = w.posEmbed.rows;
    w.head = r.mat(spec, "head", h->vocab, C, false);
    w.normFw = r.f32(spec, "normW", C, false);
    w.normFb = r.f32(spec, "normB", C, true);
    Napi::Value lv = spec.Get("layers");
    if (!lv.IsArray()) qthrow_type(env, "lmCreate: layers must be an array");
    Napi::Array layers = lv.As<Napi::Array>();
    h->nLayer = (int)layers.Length();
    for (uint32_t l = 0; l < layers.Length(); l++) {
      Napi::Value v = layers.Get(l);
      if (!v.IsObject()) qthrow_type(env, "lmCreate: layers[" + std::to_string(l) + "] must be an object");
      Napi::Object o = v.As<Napi::Object>();
      SpecReader lr{env, h, "layers[" + std::to_string(l) + "]."};
      muse::LmLayer L{};
      L.norm1w = lr.f32(o, "norm1W", C, false);
      L.norm1b = lr.f32(o, "norm1B", C, true);
      L.qkv = lr.mat(o, "qkv", (i64)(H + 2 * Hk) * D, C, true);
      if (L.qkv.data) {
        L.qkvb = lr.f32(o, "qkvB", (i64)(H + 2 * Hk) * D, true);
      } else {
        L.q = lr.mat(o, "q", (i64)H * D, C, false);
        L.k = lr.mat(o, "k", (i64)Hk * D, C, false);
        L.v = lr.mat(o, "v", (i64)Hk * D, C, false);
        L.qb = lr.f32(o, "qB", (i64)H * D, true);
        L.kb = lr.f32(o, "kB", (i64)Hk * D, true);
        L.vb = lr.f32(o, "vB", (i64)Hk * D, true);
      }
      L.qNorm = lr.f32(o, "qNorm", D, true);
      L.kNorm = lr.f32(o, "kNorm", D, true);
      L.o = lr.mat(o, "o", C, (i64)H * D, false);
      L.ob = lr.f32(o, "oB", C, true);
      L.norm2w = lr.f32(o, "norm2W", C, false);
      L.norm2b = lr.f32(o, "norm2B", C, true);
      L.up = lr.mat(o, "up", -1, C, false);
      const i64 F = L.up.rows;
      L.gate = lr.mat(o, "gate", F, C, w.mlp != muse::LM_SWIGLU);
      if (w.mlp == muse::LM_SWIGLU && !L.gate.data) lr.fail("gate is missing (SwiGLU MLP)");
      L.down = lr.mat(o, "down", C, F, false);
      L.upb = lr.f32(o, "upB", F, true);
      L.gateb = lr.f32(o, "gateB", F, true);
      L.downb = lr.f32(o, "downB", C, true);
      L.window = lr.count(o, "window");
      w.layers.push_back(L);
    }
  } catch (...) {
    delete h;
    throw;
  }
  return Napi::External<LmHandle>::New(env, h, [](Napi::Env, LmHandle* p) { delete p; });
}

// lmForward(handle, kCaches[], vCaches[], ids, pos, mask|null, cos|null, sin|null, logits,
//           batch, t, past, capacity, lastOnly, kvHalf)
Napi::Value LmForward(const Napi::CallbackInfo& info) {
  Args a{info};
  LmHandle* h = a.handle<LmHandle>(0, "lmCreate");
  muse::LmShape s{};
  s.batch = (int)a.count(9);
  s.t = (int)a.count(10);
  s.past = (int)a.count(11);
  s.capacity = (int)a.count(12);
  s.lastOnly = a.flag(13);
  s.kvHalf = a.flag(14);
  s.nHead = h->nHead;
  s.nKvHead = h->nKvHead;
  s.headDim = h->headDim;
  s.hidden = h->hidden;
  s.vocab = h->vocab;
  s.eps = h->eps;
  const i64 B = s.batch, T = s.t, L = h->nLayer;
  if (B < 1 || T < 1) qthrow_range(a.env(), "lmForward: batch and t must be at least 1");
  if (s.past + T > s.capacity) qthrow_range(a.env(), "lmForward: past + t exceeds the cache capacity");
  Napi::Array ka = a.array(1), va = a.array(2);
  if ((i64)ka.Length() != L || (i64)va.Length() != L) qthrow_range(a.env(), "lmForward: expected one key and one value cache per layer");
  const i64 need = B * s.nKvHead * (i64)s.capacity * s.headDim;
  std::vector<void*> kc((size_t)L), vc((size_t)L);
  for (uint32_t l = 0; l < (uint32_t)L; l++) {
    for (int kv = 0; kv < 2; kv++) {
      Napi::Value v = (kv ? va : ka).Get(l);
      const napi_typedarray_type want = s.kvHalf ? napi_uint16_array : napi_float32_array;
      if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != want)
        qthrow_type(a.env(), std::string("lmForward: caches must be ") + (s.kvHalf ? "Uint16Arrays (kvHalf)" : "Float32Arrays"));
      Napi::TypedArray ta = v.As<Napi::TypedArray>();
      if ((i64)ta.ElementLength() < need) qthrow_range(a.env(), "lmForward: a cache is smaller than batch·kvHeads·capacity·headDim");
      void* p = static_cast<uint8_t*>(ta.ArrayBuffer().Data()) + ta.ByteOffset();
      (kv ? vc : kc)[l] = p;
    }
  }
  const int32_t* ids = a.i32(3, B * T);
  const int32_t* pos = a.i32(4, B * T);
  for (i64 i = 0; i < B * T; i++) {
    if (ids[i] < 0 || ids[i] >= h->vocab) qthrow_range(a.env(), "lmForward: token id " + std::to_string(ids[i]) + " outside the vocabulary");
    if (h->posRows > 0 && (pos[i] < 0 || pos[i] >= h->posRows))
      qthrow_range(a.env(), "lmForward: position " + std::to_string(pos[i]) + " outside the position table");
  }
  const int32_t* mask = a.isNull(5) ? nullptr
                                    : a.i32(5, B * (s.past + T));
  const float* cs = a.isNull(6) ? nullptr : a.f32(6, B * T * (s.headDim / 2));
  const float* sn = a.isNull(7) ? nullptr : a.f32(7, B * T * (s.headDim / 2));
  if ((cs == nullptr) != (sn == nullptr)) qthrow_type(a.env(), "lmForward: pass both cos and sin, or neither");
  float* logits = a.f32(8, B * (s.lastOnly ? 1 : T) * s.vocab);
  muse::lm_forward_cached(h->w, s, ids, pos, mask, cs, sn, kc.data(), vc.data(), logits);
  return info.Env().Undefined();
}

// quantAdviseHugePages(buffer Uint8Array) → offset: the byte offset of the first 2 MiB boundary inside the
// buffer (where a weight matrix should start: its rows then start on cache lines, and every page it spans is
// whole), after asking the kernel to back the whole 2 MiB pages from there to the buffer's end with transparent
// huge pages (madvise MADV_HUGEPAGE). Called on a fresh buffer before a weight matrix is read into it: a
// decode step streams every weight once, and with 4 KiB pages the hardware prefetchers stop at each page
// boundary and the TLB misses every few rows, while loads that straddle two cache lines cost two (a 1-thread
// F32 matrix–vector product over Llama-3.2-1B's matrices ran ~35 GB/s on 4 KiB pages at a 16-byte offset,
// ~42 GB/s on aligned 2 MiB pages, AMD EPYC Zen 4). Pages already touched keep their size; where the OS
// has no such advice the offset is still returned.
Napi::Value QuantAdviseHugePages(const Napi::CallbackInfo& info) {
  Args a{info};
  Napi::TypedArray ta = info[0].As<Napi::TypedArray>();
  const uint8_t* p = a.u8(0, 0);
  const uintptr_t huge = (uintptr_t)2 << 20;
  const uintptr_t lo = ((uintptr_t)p + huge - 1) & ~(huge - 1);
  const uintptr_t end = (uintptr_t)p + (uintptr_t)ta.ByteLength();
  if (lo > end) return Napi::Number::New(info.Env(), 0);
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  const uintptr_t hi = end & ~(huge - 1);
  if (hi > lo) madvise((void*)lo, hi - lo, MADV_HUGEPAGE);
#endif
  return Napi::Number::New(info.Env(), (double)(lo - (uintptr_t)p));
}

// quantReadBandwidth(buffer Uint8Array, seconds) → GB/s: the best of repeated passes that read the whole
// buffer (64-bit loads summed, split over the OpenMP threads), for the decode bench's floor.
Napi::Value QuantReadBandwidth(const Napi::CallbackInfo& info) {
  Args a{info};
  const double seconds = a.num(1);
  Napi::TypedArray ta = info[0].As<Napi::TypedArray>();
  const uint8_t* p = a.u8(0, 0);
  const i64 words = (i64)ta.ElementLength() / 8;
  double best = 0.0;
  const i64 start = muse::now_ns();
  volatile uint64_t sink = 0;
  do {
    const int T = muse::max_threads();
    std::vector<uint64_t> part((size_t)T * 8, 0);
    const i64 t0 = muse::now_ns();
#pragma omp parallel num_threads(T)
    {
      const int t = muse::thread_id();
      const int nt = T;
      const i64 w0 = words * t / nt, w1 = words * (t + 1) / nt;
      uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      const uint64_t* q = reinterpret_cast<const uint64_t*>(p);
      i64 i = w0;
      for (; i + 4 <= w1; i += 4) {
        s0 += q[i];
        s1 += q[i + 1];
        s2 += q[i + 2];
        s3 += q[i + 3];
      }
      for (; i < w1; i++) s0 += q[i];
      part[(size_t)t * 8] = s0 + s1 + s2 + s3;
    }
    const double dt = (double)(muse::now_ns() - t0) * 1e-9;
    for (int t = 0; t < T; t++) sink = sink + part[(size_t)t * 8];
    const double gbs = (double)words * 8.0 / dt * 1e-9;
    if (gbs > best) best = gbs;
  } while ((double)(muse::now_ns() - start) * 1e-9 < seconds);
  return Napi::Number::New(info.Env(), best);
}

}  // namespace

namespace muse {

void register_quant(Napi::Env env, Napi::Object exports) {
  export_kernel(env, exports, "quantLinear", QuantLinear);
  export_kernel(env, exports, "quantDequantize", QuantDequantize);
  export_kernel(env, exports, "quantActRoundtrip", QuantActRoundtrip);
  export_kernel(env, exports, "quantInfo", QuantInfo);
  export_kernel(env, exports, "quantSetPath", QuantSetPath);
  export_kernel(env, exports, "lmCreate", LmCreate);
  export_kernel(env, exports, "lmForward", LmForward);
  export_kernel(env, exports, "quantReadBandwidth", QuantReadBandwidth);
  export_kernel(env, exports, "quantAdviseHugePages", QuantAdviseHugePages);
}

}  // namespace muse
