/**
 * The BERT masked-LM training kernel's contract (the parameter order of
 * `native/src/bert_train_step.cc`): family knowledge, kept beside the model;
 * the backend interface (`src/backend/backend.ts`) names it only as an
 * optional kernel.
 */
import type { F32, I32 } from '../../backend/backend.js';
import type { GptTrainWorkspace } from '../gpt2/kernels.js';

/**
 * The BERT masked-LM training fast path ({@link Backend.bertTrain}): the loss
 * and every parameter gradient of a `BertForMaskedLM` with the decoder tied
 * to the word embeddings, in two kernel calls. Weights and gradients are
 * listed as: `word_embeddings`, `position_embeddings`,
 * `token_type_embeddings`, `embeddings.LayerNorm` weight and bias; per layer
 * the 16 tensors `query`, `key`, `value`, `attention.output.dense`
 * (weight, bias each, nn.Linear `[out, in]`), `attention.output.LayerNorm`,
 * `intermediate.dense`, `output.dense`, `output.LayerNorm`; then
 * `cls.predictions.transform.dense`, its `LayerNorm`, and the output `bias`.
 * Inputs are `[batch, t]`; positions 0…t−1; bidirectional attention over the
 * keys whose `attentionMask` is 1. `act` is `hidden_act` (also the head's).
 */
export interface BertTrainShape {
  batch: number;
  t: number;
  nLayer: number;
  nHead: number;
  hidden: number;
  intermediate: number;
  vocab: number;
  nPositions: number;
  typeVocab: number;
  eps: number;
  act: 'gelu_erf' | 'gelu_tanh' | 'relu';
}

/** Saved activations of the BERT fast path (opaque, backend-owned); see {@link GptTrainWorkspace}. */
export interface BertTrainWorkspace {
  readonly shape: BertTrainShape;
}

export interface BertTrainForwardParams {
  workspace: BertTrainWorkspace;
  batch: number;
  t: number;
  weights: F32[];
  ids: I32;
  /** Segment ids, or null for zeros. */
  tokenTypes: I32 | null;
  /** 1 = real token, 0 = padding; null = all real. */
  attentionMask: I32 | null;
  /** The original token at masked positions, −100 elsewhere. */
  labels: I32;
  /**
   * Inverted hidden-dropout masks `[batch·t, hidden]` each (0 or 1/(1−p)):
   * after the embeddings' LayerNorm, then per layer after
   * `attention.output.dense` and after `output.dense`; null = no dropout.
   */
  masks: F32 | null;
  /** Receives the logits of the labelled positions, `[count, vocab]` in row-major order of the positions. */
  logits: F32;
  /** Receives their losses, `[count]`. */
  losses: F32;
}

/** The backward reads the shape and labelled rows of the latest forward on the workspace. */
export interface BertTrainBackwardParams extends Omit<BertTrainForwardParams, 'losses' | 'batch' | 't'> {
  /** Receive the gradients in the order of `weights`: overwritten, or added to when `accumulate`. */
  grads: F32[];
  accumulate: boolean;
  /** dLoss/dΣlosses. */
  gScale: number;
}

/** See {@link BertTrainShape}. */
export interface BertTrainKernels {
  /** @throws RangeError on an invalid shape */
  workspace(shape: BertTrainShape): BertTrainWorkspace;
  /** Returns the number of labelled positions. @throws RangeError on an id, label or token type outside its range */
  forward(p: BertTrainForwardParams): number;
  /** Backward of `gScale·Σ losses` for the forward that last filled `p.workspace`. */
  backward(p: BertTrainBackwardParams): void;
}
