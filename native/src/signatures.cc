// The N-API kernel signature table (see signatures.h). Keep it identical to
// src/backend/native-signatures.ts: the addon refuses to load otherwise, with
// an error naming the kernel and argument that differ. Lengths are written in
// the argument names, `*` for products; arrays of tensors give their count.
#include "signatures.h"

#include <cstring>
#include <stdexcept>
#include <string>

namespace muse {
namespace {

// In the order of ArgKind.
const char* const kKindNames[] = {"f32", "f32?",  "i32",   "i32?",   "u32", "f64", "f32|i32", "count",  "int",   "num",
                                  "num?", "bool", "op",   "f32[]", "num[]", "handle", "u8", "str", "object", "f32[]|u16[]"};

static_assert(sizeof(kKindNames) / sizeof(kKindNames[0]) == (size_t)ArgKind::F32_OR_U16_LIST + 1,
              "one name per ArgKind");

ArgKind parse_kind(const char* kernel, const ArgSig& a) {
  for (size_t k = 0; k < sizeof(kKindNames) / sizeof(kKindNames[0]); k++)
    if (std::strcmp(a.kind, kKindNames[k]) == 0) return (ArgKind)k;
  throw std::logic_error(std::string("muse native: signature of ") + kernel + ": argument " + a.name +
                         " has unknown kind \"" + a.kind + "\"");
}

// Shorthands for the rows below.
ArgSig in(const char* name, const char* kind, const char* length) { return {name, kind, "in", length}; }
ArgSig out(const char* name, const char* kind, const char* length) { return {name, kind, "out", length}; }
ArgSig inout(const char* name, const char* kind, const char* length) { return {name, kind, "inout", length}; }
ArgSig scalar(const char* name, const char* kind) { return {name, kind, "", ""}; }

std::vector<KernelSig> build() {
  const char* rowsCols = "rows*cols";
  const char* q = "batch*heads*tq*headDim";
  const char* kv = "batch*heads*tk*headDim";
  std::vector<KernelSig> t = {
      {"gemm", "void",
       {in("a", "f32", "aOffset+(batch-1)*aBatchStride+m*k"), in("b", "f32", "bOffset+(batch-1)*bBatchStride+k*n"),
        inout("c", "f32", "cOffset+(batch-1)*cBatchStride+m*n"), scalar("batch", "count"), scalar("m", "count"),
        scalar("n", "count"), scalar("k", "count"), scalar("transA", "bool"), scalar("transB", "bool"),
        scalar("alpha", "num"), scalar("beta", "num"), scalar("aOffset", "count"), scalar("bOffset", "count"),
        scalar("cOffset", "count"), scalar("aBatchStride", "count"), scalar("bBatchStride", "count"),
        scalar("cBatchStride", "count")}},
      {"unary", "void", {scalar("op", "op"), in("x", "f32", "n"), out("out", "f32", "n"), scalar("n", "count")}},
      {"unaryBackward", "void",
       {scalar("op", "op"), in("x", "f32", "n"), in("y", "f32", "n"), in("dy", "f32", "n"), out("dx", "f32", "n"),
        scalar("n", "count")}},
      {"binary", "void",
       {scalar("op", "op"), in("a", "f32", "span(shape, aStrides)"), in("b", "f32", "span(shape, bStrides)"),
        out("out", "f32", "prod(shape)"), in("meta", "f64", "1+3*rank: [rank, ...shape, ...aStrides, ...bStrides]")}},
      {"reduce", "void",
       {scalar("op", "op"), in("x", "f32", "outer*dim*inner"), out("out", "f32", "outer*inner"),
        scalar("outer", "count"), scalar("dim", "count"), scalar("inner", "count")}},
      {"argmax", "void",
       {in("x", "f32", "outer*dim*inner"), out("out", "i32", "outer*inner"), scalar("outer", "count"),
        scalar("dim", "count"), scalar("inner", "count")}},
      {"copyStrided", "void",
       {in("src", "f32|i32", "srcOffset+span(shape, srcStrides)"), scalar("srcOffset", "count"),
        out("dst", "f32|i32", "prod(shape)"), in("meta", "f64", "1+2*rank: [rank, ...shape, ...srcStrides]")}},
      {"softmax", "void",
       {in("x", "f32", rowsCols), out("out", "f32", rowsCols), scalar("rows", "count"), scalar("cols", "count")}},
      {"softmaxBackward", "void",
       {in("y", "f32", rowsCols), in("dy", "f32", rowsCols), out("dx", "f32", rowsCols), scalar("rows", "count"),
        scalar("cols", "count")}},
      {"logSoftmax", "void",
       {in("x", "f32", rowsCols), out("out", "f32", rowsCols), scalar("rows", "count"), scalar("cols", "count")}},
      {"logSoftmaxBackward", "void",
       {in("y", "f32", rowsCols), in("dy", "f32", rowsCols), out("dx", "f32", rowsCols), scalar("rows", "count"),
        scalar("cols", "count")}},
      {"layerNorm", "void",
       {in("x", "f32", rowsCols), in("weight", "f32?", "cols"), in("bias", "f32?", "cols"),
        out("out", "f32", rowsCols), out("mean", "f32", "rows"), out("rstd", "f32", "rows"), scalar("rows", "count"),
        scalar("cols", "count"), scalar("eps", "num")}},
      {"layerNormBackward", "void",
       {in("dy", "f32", rowsCols), in("x", "f32", rowsCols), in("weight", "f32?", "cols"), in("mean", "f32", "rows"),
        in("rstd", "f32", "rows"), out("dx", "f32", rowsCols), inout("dWeight", "f32?", "cols"),
        inout("dBias", "f32?", "cols"), scalar("rows", "count"), scalar("cols", "count")}},
      {"embedding", "void",
       {in("weight", "f32", "(max(ids)+1)*dim"), in("ids", "i32", "n"), out("out", "f32", "n*dim"),
        scalar("n", "count"), scalar("dim", "count")}},
      {"embeddingBackward", "void",
       {in("dOut", "f32", "n*dim"), in("ids", "i32", "n"), inout("dWeight", "f32", "(max(ids)+1)*dim"),
        scalar("n", "count"), scalar("dim", "count")}},
      {"crossEntropy", "num",
       {in("logits", "f32", "rows*classes"), in("targets", "i32", "rows"), out("losses", "f32", "rows"),
        out("lse", "f32", "rows"), scalar("rows", "count"), scalar("classes", "count"), scalar("ignoreIndex", "int"),
        scalar("labelSmoothing", "num")}},
      {"crossEntropyBackward", "void",
       {in("logits", "f32", "rows*classes"), in("targets", "i32", "rows"), in("lse", "f32", "rows"),
        in("rowScale", "f32", "rows"), out("dLogits", "f32", "rows*classes"), scalar("rows", "count"),
        scalar("classes", "count"), scalar("ignoreIndex", "int"), scalar("labelSmoothing", "num")}},
      {"attention", "void",
       {in("q", "f32", q), in("k", "f32", kv), in("v", "f32", kv), out("out", "f32", q),
        out("lse", "f32", "batch*heads*tq"), in("keyPaddingMask", "i32?", "batch*tk"), scalar("batch", "count"),
        scalar("heads", "count"), scalar("tq", "count"), scalar("tk", "count"), scalar("headDim", "count"),
        scalar("scale", "num"), scalar("causal", "bool")}},
      {"attentionBackward", "void",
       {in("q", "f32", q), in("k", "f32", kv), in("v", "f32", kv), in("out", "f32", q),
        in("lse", "f32", "batch*heads*tq"), in("keyPaddingMask", "i32?", "batch*tk"), in("dOut", "f32", q),
        out("dq", "f32", q), out("dk", "f32", kv), out("dv", "f32", kv), scalar("batch", "count"),
        scalar("heads", "count"), scalar("tq", "count"), scalar("tk", "count"), scalar("headDim", "count"),
        scalar("scale", "num"), scalar("causal", "bool")}},
      {"adamw", "void",
       {inout("param", "f32", "n"), in("grad", "f32", "n"), inout("expAvg", "f32", "n"),
        inout("expAvgSq", "f32", "n"), scalar("n", "count"), scalar("lr", "num"), scalar("beta1", "num"),
        scalar("beta2", "num"), scalar("eps", "num"), scalar("weightDecay", "num"), scalar("step", "num"),
        scalar("gradScale", "num")}},
      {"sumSquares", "num", {in("x", "f32", "n"), scalar("n", "count")}},
      {"fmaPeak", "num", {scalar("seconds", "num?")}},
      {"setThreads", "num", {scalar("n", "count")}},
      {"info", "info", {}},
      {"dropoutMask", "void",
       {inout("state", "u32", "4: PCG32 [hi, lo, incHi, incLo]"), out("mask", "f32", "n"), scalar("n", "count"),
        scalar("p", "num")}},
      {"gptForwardCached", "void",
       {in("weights", "f32[]", "4+12*nLayer tensors"), inout("kCaches", "f32[]", "nLayer tensors of batch*nEmbd*capacity"),
        inout("vCaches", "f32[]", "nLayer tensors of batch*nEmbd*capacity"), in("ids", "i32", "batch*t"),
        in("positionIds", "i32", "batch*t"), in("attentionMask", "i32?", "batch*(past+t)"),
        out("logits", "f32", "batch*(lastOnly ? 1 : t)*vocab"), scalar("batch", "count"), scalar("t", "count"),
        scalar("past", "count"), scalar("capacity", "count"), scalar("nLayer", "count"), scalar("nHead", "count"),
        scalar("nEmbd", "count"), scalar("vocab", "count"), scalar("nPositions", "count"), scalar("eps", "num"),
        scalar("lastOnly", "bool")}},
      {"adamwMany", "void",
       {inout("params", "f32[]", "count tensors"), in("grads", "f32[]", "count tensors"),
        inout("expAvgs", "f32[]", "count tensors"), inout("expAvgSqs", "f32[]", "count tensors"),
        in("weightDecays", "num[]", "count"), in("steps", "num[]", "count"), scalar("lr", "num"),
        scalar("beta1", "num"), scalar("beta2", "num"), scalar("eps", "num"), scalar("gradScale", "num")}},
      {"sumSquaresMany", "num", {in("xs", "f32[]", "any number of tensors")}},
      {"gptTrainWorkspace", "handle",
       {scalar("batch", "count"), scalar("t", "count"), scalar("nLayer", "count"), scalar("nHead", "count"),
        scalar("nEmbd", "count"), scalar("vocab", "count"), scalar("nPositions", "count"), scalar("eps", "num")}},
      {"gptTrainForward", "num",
       {scalar("workspace", "handle"), in("weights", "f32[]", "4+12*nLayer tensors"), in("ids", "i32", "batch*t"),
        in("targets", "i32", "batch*t"), in("masks", "f32?", "(maskEmbd+2*nLayer*maskResid)*batch*t*nEmbd"),
        scalar("maskEmbd", "bool"), scalar("maskResid", "bool"), out("logits", "f32", "batch*t*vocab"),
        out("losses", "f32", "batch*t"), scalar("batch", "count"), scalar("t", "count")}},
      {"gptTrainBackward", "void",
       {scalar("workspace", "handle"), in("weights", "f32[]", "4+12*nLayer tensors"),
        inout("grads", "f32[]", "4+12*nLayer tensors"), in("ids", "i32", "batch*t"), in("targets", "i32", "batch*t"),
        in("masks", "f32?", "(maskEmbd+2*nLayer*maskResid)*batch*t*nEmbd"), scalar("maskEmbd", "bool"),
        scalar("maskResid", "bool"), in("logits", "f32", "batch*t*vocab"), scalar("gScale", "num"),
        scalar("accumulate", "bool")}},
      {"bertTrainWorkspace", "handle",
       {scalar("batch", "count"), scalar("t", "count"), scalar("nLayer", "count"), scalar("nHead", "count"),
        scalar("hidden", "count"), scalar("intermediate", "count"), scalar("vocab", "count"),
        scalar("nPositions", "count"), scalar("typeVocab", "count"), scalar("eps", "num"), scalar("act", "op")}},
      {"bertTrainForward", "num",
       {scalar("workspace", "handle"), in("weights", "f32[]", "10+16*nLayer tensors"), in("ids", "i32", "batch*t"),
        in("tokenTypes", "i32?", "batch*t"), in("attentionMask", "i32?", "batch*t"), in("labels", "i32", "batch*t"),
        in("masks", "f32?", "(1+2*nLayer)*batch*t*hidden"), out("logits", "f32", "count(labels != -100)*vocab"),
        out("losses", "f32", "count(labels != -100)"), scalar("batch", "count"), scalar("t", "count")}},
      {"bertTrainBackward", "void",
       {scalar("workspace", "handle"), in("weights", "f32[]", "10+16*nLayer tensors"),
        inout("grads", "f32[]", "10+16*nLayer tensors"), in("ids", "i32", "batch*t"),
        in("tokenTypes", "i32?", "batch*t"), in("attentionMask", "i32?", "batch*t"), in("labels", "i32", "batch*t"),
        in("masks", "f32?", "(1+2*nLayer)*batch*t*hidden"), in("logits", "f32", "count(labels != -100)*vocab"),
        scalar("gScale", "num"), scalar("accumulate", "bool")}},
      // Stored-weight kernels (quant_addon.cc). `type` is a ggml type id; rowBytes(type, cols) its bytes per row.
      {"quantLinear", "void",
       {scalar("type", "count"), in("weight", "u8", "rows*rowBytes(type, cols)"), scalar("rows", "count"),
        scalar("cols", "count"), in("x", "f32", "m*cols"), scalar("m", "count"), in("bias", "f32?", "rows"),
        inout("out", "f32", "m*rows"), scalar("accumulate", "bool")}},
      {"quantDequantize", "void",
       {scalar("type", "count"), in("weight", "u8", "rows*rowBytes(type, cols)"), scalar("rows", "count"),
        scalar("cols", "count"), out("out", "f32", "rows*cols")}},
      {"quantActRoundtrip", "void",
       {in("x", "f32", "m*k"), scalar("m", "count"), scalar("k", "count"), out("out", "f32", "m*k")}},
      {"quantInfo", "quantInfo", {}},
      {"quantSetPath", "str", {scalar("path", "str")}},
      {"lmCreate", "handle", {scalar("spec", "object")}},
      {"quantReadBandwidth", "num", {in("buffer", "u8", "any"), scalar("seconds", "num")}},
      {"quantAdviseHugePages", "num", {in("buffer", "u8", "any")}},
      {"lmForward", "void",
       {scalar("model", "handle"), inout("kCaches", "f32[]|u16[]", "nLayer tensors of batch*nKvHead*capacity*headDim"),
        inout("vCaches", "f32[]|u16[]", "nLayer tensors of batch*nKvHead*capacity*headDim"), in("ids", "i32", "batch*t"),
        in("positionIds", "i32", "batch*t"), in("attentionMask", "i32?", "batch*(past+t)"),
        in("cos", "f32?", "batch*t*headDim/2"), in("sin", "f32?", "batch*t*headDim/2"),
        out("logits", "f32", "batch*(lastOnly ? 1 : t)*vocab"), scalar("batch", "count"), scalar("t", "count"),
        scalar("past", "count"), scalar("capacity", "count"), scalar("lastOnly", "bool"), scalar("kvHalf", "bool")}},
  };
  for (KernelSig& k : t) {
    k.required = 0;
    for (size_t i = 0; i < k.args.size(); i++) {
      const ArgKind kind = parse_kind(k.name, k.args[i]);
      k.kinds.push_back(kind);
      if (kind != ArgKind::NUM_OPTIONAL) k.required = i + 1;
    }
  }
  return t;
}

}  // namespace

const std::vector<KernelSig>& kernel_signatures() {
  static const std::vector<KernelSig> table = build();
  return table;
}

const KernelSig& kernel_signature(const char* name) {
  for (const KernelSig& k : kernel_signatures())
    if (std::strcmp(k.name, name) == 0) return k;
  throw std::logic_error(std::string("muse native: no signature for kernel ") + name + " in native/src/signatures.cc");
}

const char* kind_name(ArgKind k) { return kKindNames[(int)k]; }

}  // namespace muse
