// The GPT-2 decode fast path: a whole inference forward with a KV cache in one call.
#pragma once

#include <vector>

#include "common.h"

namespace muse {

/** One block's weights, HF GPT-2 layouts (Conv1D weights are [in, out]). */
struct GptLayerWeights {
  const float *ln1w, *ln1b, *attnW, *attnB, *projW, *projB, *ln2w, *ln2b, *fcW, *fcB, *fc2W, *fc2B;
};

/** The whole model: wte [vocab, C] (tied lm_head), wpe [nPositions, C], blocks, ln_f. */
struct GptWeights {
  const float *wte, *wpe, *lnfW, *lnfB;
  std::vector<GptLayerWeights> layers;
};

struct GptDecodeShape {
  int batch, t, past, capacity, nLayer, nHead, nEmbd, vocab;
  float eps;
  bool lastOnly;
};

/**
 * Feed `t` tokens per row through the model: ids/pos [batch, t]; mask
 * [batch, past + t] (1 = attend) or null; kCache[l]/vCache[l] are
 * [batch, nHead, capacity, headDim] and receive the new keys/values at
 * positions past…past+t−1; logits [batch, lastOnly ? 1 : t, vocab].
 */
void gpt_forward_cached(const GptWeights& w, const GptDecodeShape& s, const int32_t* ids, const int32_t* pos,
                        const int32_t* mask, float* const* kCache, float* const* vCache, float* logits);

}  // namespace muse
