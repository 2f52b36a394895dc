/**
 * The GPT-2 kernels' contracts (the parameter order of the native decode and
 * training steps, `native/src/decode.cc` / `train_step.cc`): family
 * knowledge, kept beside the model; the backend interface
 * (`src/backend/backend.ts`) names them only as optional kernels.
 */
import type { F32, I32 } from '../../backend/backend.js';

/** A GPT-2's dimensions as the kernels take them (`n_layer`, `n_head`, `n_embd`, `vocab_size`, `n_positions`, `layer_norm_epsilon`). */
export interface GptDims {
  nLayer: number;
  nHead: number;
  nEmbd: number;
  vocab: number;
  nPositions: number;
  eps: number;
}

/**
 * The GPT-2 decode fast path ({@link Backend.gptForwardCached}): a whole
 * inference forward with a key/value cache in one kernel call.
 * `weights` are, in order: `wte [vocab, nEmbd]`, `wpe [nPositions, nEmbd]`,
 * `ln_f.weight`, `ln_f.bias`, then per block `ln_1.weight`, `ln_1.bias`,
 * `attn.c_attn.weight [nEmbd, 3·nEmbd]`, `attn.c_attn.bias`,
 * `attn.c_proj.weight [nEmbd, nEmbd]`, `attn.c_proj.bias`, `ln_2.weight`,
 * `ln_2.bias`, `mlp.c_fc.weight [nEmbd, 4·nEmbd]`, `mlp.c_fc.bias`,
 * `mlp.c_proj.weight [4·nEmbd, nEmbd]`, `mlp.c_proj.bias` (HF Conv1D layouts).
 * `kCaches[l]`/`vCaches[l]` are `[batch, nHead, capacity, headDim]`; the new
 * keys/values are written at positions `past … past + t − 1`.
 * `ids`/`positionIds` are `[batch, t]`; `attentionMask` `[batch, past + t]`
 * (1 = attend) or null; `logits` receives `[batch, lastOnly ? 1 : t, vocab]`.
 * GELU is the tanh form (HF `gelu_new`), attention causal.
 */
export interface GptDecodeParams extends GptDims {
  weights: F32[];
  kCaches: F32[];
  vCaches: F32[];
  ids: I32;
  positionIds: I32;
  attentionMask: I32 | null;
  logits: F32;
  batch: number;
  t: number;
  past: number;
  capacity: number;
  lastOnly: boolean;
}

/**
 * The GPT-2 training fast path ({@link Backend.gptTrain}): the language-model
 * loss and every parameter gradient of a batch in two kernel calls. Weights
 * and gradients are listed as in {@link GptDecodeParams} (`wte`, `wpe`,
 * `ln_f.weight`, `ln_f.bias`, then 12 tensors per block). `ids`/`targets` are
 * `[batch, t]` (target −100 = ignored), positions 0…t−1, tanh GELU, causal
 * attention. `masks` holds the inverted-dropout masks `[batch·t, nEmbd]` in
 * the op-by-op path's drawing order: the embedding mask (when `maskEmbd`),
 * then per block the masks after `attn.c_proj` and after `mlp.c_proj` (when
 * `maskResid`); null without dropout.
 */
export interface GptTrainShape extends GptDims {
  batch: number;
  t: number;
}

/**
 * Saved activations between a forward and its backward (opaque,
 * backend-owned), for batches of the model in `shape` with
 * `batch·t ≤ shape.batch·shape.t`.
 */
export interface GptTrainWorkspace {
  readonly shape: GptTrainShape;
}

export interface GptTrainForwardParams {
  workspace: GptTrainWorkspace;
  /** This batch's shape (`batch·t` within the workspace's). */
  batch: number;
  t: number;
  weights: F32[];
  ids: I32;
  targets: I32;
  masks: F32 | null;
  maskEmbd: boolean;
  maskResid: boolean;
  /** Receives `[batch·t, vocab]`. */
  logits: F32;
  /** Receives the per-row losses `[batch·t]` (0 for ignored rows). */
  losses: F32;
}

/** The backward reads the shape of the latest forward on the workspace. */
export interface GptTrainBackwardParams extends Omit<GptTrainForwardParams, 'losses' | 'batch' | 't'> {
  /** Receive the gradients, in the order of `weights`: overwritten, or added to when `accumulate`. */
  grads: F32[];
  accumulate: boolean;
  /** dLoss/dΣlosses: the upstream gradient divided by the counted rows for a mean loss. */
  gScale: number;
}

/** See {@link GptTrainShape}. */
export interface GptTrainKernels {
  /** Allocates the activation buffers for one shape. @throws RangeError on an invalid shape */
  workspace(shape: GptTrainShape): GptTrainWorkspace;
  /** Forward pass; returns the number of rows whose target is not −100. @throws RangeError on an id/target outside the vocabulary */
  forward(p: GptTrainForwardParams): number;
  /** Backward of `gScale·Σ losses` for the forward that last filled `p.workspace`. */
  backward(p: GptTrainBackwardParams): void;
}
