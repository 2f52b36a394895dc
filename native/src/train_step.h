// The GPT-2 training fast path: loss and every parameter gradient of a whole
// batch in two native calls, data-parallel over the batch.
#pragma once

#include <vector>

#include "common.h"
#include "decode.h"

namespace muse {

struct GptTrainShape {
  int batch, t, nLayer, nHead, nEmbd, vocab, nPositions;
  float eps;
  bool operator==(const GptTrainShape& o) const {
    return batch == o.batch && t == o.t && nLayer == o.nLayer && nHead == o.nHead && nEmbd == o.nEmbd &&
           vocab == o.vocab && nPositions == o.nPositions && eps == o.eps;
  }
};

/**
 * Activations saved between the forward and the backward call, for one shape.
 * Every buffer is indexed by the global row (batch·seqLen) or batch element,
 * so the backward may split the batch differently from the forward.
 */
struct GptTrainWorkspace {
  /** The largest batch·t it holds (with the model's dimensions). */
  GptTrainShape capacity;
  /** The shape of the latest forward, which the backward reads. */
  GptTrainShape shape;
  std::vector<float> buf;
  explicit GptTrainWorkspace(const GptTrainShape& s);
  /** Whether a batch of this shape fits: same model, batch·t within the capacity. */
  bool fits(const GptTrainShape& s) const;
};

/**
 * Dropout masks (inverted: 0 or 1/(1−p)) in the op-by-op path's drawing
 * order: the embedding mask `[N, C]` when `embd`, then per block the mask
 * after attn.c_proj and the one after mlp.c_proj, `[N, C]` each, when `resid`.
 */
struct GptTrainMasks {
  const float* data;
  bool embd, resid;
};

/**
 * Forward: per-row next-token losses `[N]` (0 where the target is −100),
 * logits `[N, vocab]`, activations into `ws`. Returns the number of counted
 * rows. ids/targets `[batch, t]`, positions 0…t−1, tanh GELU, causal attention.
 */
i64 gpt_train_forward(const GptWeights& w, GptTrainWorkspace& ws, const int32_t* ids, const int32_t* targets,
                      const GptTrainMasks& masks, float* logits, float* losses);

/**
 * Backward of `gScale · Σ losses` (gScale = dLoss/count for a mean): writes
 * (overwrites, or adds to when `accumulate`) every gradient, in the order wte, wpe, ln_f.weight, ln_f.bias,
 * then per block the 12 tensors of {@link GptLayerWeights}. Needs the same
 * ids, targets, masks and logits as the forward that filled `ws`.
 */
void gpt_train_backward(const GptWeights& w, GptTrainWorkspace& ws, const int32_t* ids, const int32_t* targets,
                        const GptTrainMasks& masks, const float* logits, float gScale, float* const* grads,
                        bool accumulate);

}  // namespace muse
