// The BERT masked-LM training fast path: loss and every parameter gradient of
// a whole batch in two native calls, data-parallel over the batch (the BERT
// counterpart of train_step.h).
#pragma once

#include <cstdint>
#include <vector>

#include "common.h"

namespace muse {

struct BertTrainShape {
  int batch, t, nLayer, nHead, hidden, intermediate, vocab, nPositions, typeVocab;
  float eps;
  /** UnaryOp of `hidden_act` (U_GELU_ERF, U_GELU_TANH or U_RELU), also used in the head's transform. */
  int act;
  bool sameModel(const BertTrainShape& o) const {
    return nLayer == o.nLayer && nHead == o.nHead && hidden == o.hidden && intermediate == o.intermediate &&
           vocab == o.vocab && nPositions == o.nPositions && typeVocab == o.typeVocab && eps == o.eps && act == o.act;
  }
};

/** One encoder layer's tensors, HF names, nn.Linear weights `[out, in]`. */
struct BertLayerWeights {
  const float *qW, *qB, *kW, *kB, *vW, *vB;  // attention.self.{query,key,value}
  const float *aoW, *aoB, *ln1W, *ln1B;      // attention.output.{dense,LayerNorm}
  const float *iW, *iB;                      // intermediate.dense
  const float *oW, *oB, *ln2W, *ln2B;        // output.{dense,LayerNorm}
};

/**
 * BertForMaskedLM with the decoder tied to the word embeddings. Kernel order
 * of weights and gradients: the 5 embedding tensors, 16 per layer (the
 * fields of BertLayerWeights in order), then the 5 of the head.
 */
struct BertWeights {
  const float *wordEmb, *posEmb, *typeEmb, *embLnW, *embLnB;
  std::vector<BertLayerWeights> layers;
  const float *tW, *tB, *tLnW, *tLnB;  // cls.predictions.transform.{dense,LayerNorm}
  const float* decBias;                // cls.predictions.bias [vocab]
};

/** Element counts of the weights (and gradients) in the kernel order of BertWeights. */
std::vector<i64> bert_tensor_sizes(const BertTrainShape& s);

/** Activations saved between the forward and the backward call (see GptTrainWorkspace). */
struct BertTrainWorkspace {
  BertTrainShape capacity;
  BertTrainShape shape;
  std::vector<float> buf;
  /** Labelled rows of the latest forward, in row-major order, and their targets. */
  std::vector<int32_t> sel, selTargets;
  /** Labelled rows before each part (parts of the latest forward), and their total. */
  std::vector<i64> partOffset;
  i64 count = 0;
  explicit BertTrainWorkspace(const BertTrainShape& s);
  bool fits(const BertTrainShape& s) const;
};

/** Per-batch inputs, each `[batch, t]` row-major. */
struct BertTrainInputs {
  const int32_t* ids;
  /** Segment ids, or null for all zeros. */
  const int32_t* tokenTypes;
  /** 1 = real token, 0 = padding (keys masked, as HF), or null for all real. */
  const int32_t* attentionMask;
  /** The original token at masked positions, −100 elsewhere. */
  const int32_t* labels;
  /**
   * Inverted hidden-dropout masks (0 or 1/(1−p)) `[batch·t, hidden]` in the
   * op-by-op path's drawing order: after the embeddings' LayerNorm, then per
   * layer after attention.output.dense and after output.dense; null = no dropout.
   */
  const float* masks;
};

/**
 * Forward: the head runs on the labelled rows only. Writes their logits
 * `[count, vocab]` and losses `[count]` in row-major order of the labelled
 * positions (what BertForMaskedLM.forward with logitsFor 'labelled' returns)
 * and returns count. Positions 0…t−1.
 */
i64 bert_train_forward(const BertWeights& w, BertTrainWorkspace& ws, const BertTrainInputs& in, float* logits,
                       float* losses);

/**
 * Backward of `gScale · Σ losses`: writes (or adds to, when `accumulate`)
 * every gradient in the kernel order of BertWeights. Needs the inputs and
 * logits of the forward that filled `ws`.
 */
void bert_train_backward(const BertWeights& w, BertTrainWorkspace& ws, const BertTrainInputs& in,
                         const float* logits, float gScale, float* const* grads, bool accumulate);

}  // namespace muse
