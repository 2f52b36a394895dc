// One-call KV-cached inference forward of a decoder-only transformer whose
// linear layers are stored weights (quant.h): the GPT-2 and Llama-family
// (Llama, Mistral, Qwen2, Qwen3) decode fast path for any weight type.
#pragma once

#include <vector>

#include "quant.h"

namespace muse {

/** Architecture switches (what differs between GPT-2 and the Llama family). */
enum LmNorm : int { LM_LAYERNORM = 0, LM_RMSNORM = 1 };
enum LmMlp : int { LM_GELU_TANH = 0, LM_SWIGLU = 1 };

/** One block. A QMat with data == nullptr is absent; biases and norms may be null. */
struct LmLayer {
  const float *norm1w, *norm1b;
  QMat qkv;           // fused [(H + 2·Hkv)·D, C], or absent with q, k, v given
  QMat q, k, v;       // [H·D, C], [Hkv·D, C], [Hkv·D, C]
  const float *qkvb;  // fused bias, or null
  const float *qb, *kb, *vb;
  const float *qNorm, *kNorm;  // Qwen3 per-head RMSNorm weights [D], or null
  QMat o;
  const float* ob;
  const float *norm2w, *norm2b;
  QMat gate, up, down;  // gate absent for GELU MLPs (up = c_fc, down = c_proj)
  const float *gateb, *upb, *downb;
  int window;  // sliding window of this layer (keys (i − window, i]), 0 = full attention
};

struct LmWeights {
  int norm, mlp;
  QMat embed;     // [vocab, C]
  QMat posEmbed;  // learned positions [nPositions, C] (GPT-2), or absent
  const float *normFw, *normFb;
  QMat head;  // [vocab, C] (the embeddings when tied)
  std::vector<LmLayer> layers;
};

struct LmShape {
  int batch, t, past, capacity;
  int nHead, nKvHead, headDim, hidden, vocab;
  float eps;
  bool lastOnly;
  bool kvHalf;  // caches hold IEEE halves (uint16) instead of floats
};

/**
 * Feeds `t` tokens per row: ids/pos [batch, t]; mask [batch, past + t] (1 =
 * attend) or null; cos/sin [batch·t, headDim/2] rotary tables (rotate-half
 * layout) or null for no rotary; kCache[l]/vCache[l] [batch, nKvHead,
 * capacity, headDim] (float or half) receive positions past…past+t−1;
 * logits [batch, lastOnly ? 1 : t, vocab].
 */
void lm_forward_cached(const LmWeights& w, const LmShape& s, const int32_t* ids, const int32_t* pos,
                       const int32_t* mask, const float* cos, const float* sin, void* const* kCache,
                       void* const* vCache, float* logits);

}  // namespace muse
