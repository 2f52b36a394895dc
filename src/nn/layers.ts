import { Tensor, Generator, zeros, ones, randn, linear, layerNorm, embedding, dropout } from '../tensor/index.js';
import { Module } from './module.js';

/**
 * A normal initialiser `N(0, std²)` drawn from `gen` (GPT-2/BERT initialise
 * weights with std `initializer_range` = 0.02).
 */
export function normalInit(shape: number[], std: number, gen: Generator, init = true): Tensor {
  // Skipped (zeros) when weights are about to be loaded: drawing them costs as much as reading them.
  if (!init) return zeros(shape);
  return randn(shape, gen).mul(std).detach();
}

/** Options shared by the layers with weights. */
export interface InitOptions {
  /** Standard deviation of the normal initialisation (default 0.02). */
  std?: number;
  /** Source of the initial weights. */
  gen: Generator;
  /** false = start from zeros because a checkpoint will be loaded (default true). */
  init?: boolean;
}

/**
 * PyTorch `nn.Linear`: `y = x·Wᵀ + b` with `weight` `[outFeatures, inFeatures]`.
 * Input `[..., inFeatures]` → output `[..., outFeatures]`. Used by BERT and the
 * seq2seq Transformer (their HF parameter layout).
 */
export class Linear extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;
  constructor(inFeatures: number, outFeatures: number, opts: InitOptions & { bias?: boolean }) {
    super();
    this.weight = this.registerParameter('weight', normalInit([outFeatures, inFeatures], opts.std ?? 0.02, opts.gen, opts.init));
    this.bias = opts.bias === false ? null : this.registerParameter('bias', zeros([outFeatures]));
  }
  /** `x` `[..., in]` → `[..., out]`. */
  forward(x: Tensor): Tensor {
    return linear(x, this.weight, this.bias, { weightLayout: 'outIn' });
  }
}

/**
 * Hugging Face's GPT-2 `Conv1D`: a linear layer whose `weight` is stored
 * `[inFeatures, outFeatures]` (transposed relative to `nn.Linear`), so that
 * checkpoints round-trip with `transformers`' `GPT2LMHeadModel`.
 * Input `[..., inFeatures]` → output `[..., outFeatures]`.
 */
export class Conv1D extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor;
  constructor(inFeatures: number, outFeatures: number, opts: InitOptions) {
    super();
    this.weight = this.registerParameter('weight', normalInit([inFeatures, outFeatures], opts.std ?? 0.02, opts.gen, opts.init));
    this.bias = this.registerParameter('bias', zeros([outFeatures]));
  }
  /** `x` `[..., in]` → `[..., out]`. */
  forward(x: Tensor): Tensor {
    return linear(x, this.weight, this.bias, { weightLayout: 'inOut' });
  }
}

/** PyTorch `nn.Embedding`: `weight` `[numEmbeddings, dim]`; int32 ids `[...]` → `[..., dim]`. */
export class Embedding extends Module {
  readonly weight: Tensor;
  constructor(numEmbeddings: number, dim: number, opts: InitOptions) {
    super();
    this.weight = this.registerParameter('weight', normalInit([numEmbeddings, dim], opts.std ?? 0.02, opts.gen, opts.init));
  }
  /** @throws when an id is outside `[0, numEmbeddings)` (checked by the embedding op) */
  forward(ids: Tensor): Tensor {
    return embedding(ids, this.weight);
  }
}

/** PyTorch `nn.LayerNorm` over the last axis (biased variance), `weight` = 1, `bias` = 0 at init. */
export class LayerNorm extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor;
  constructor(readonly dim: number, readonly eps = 1e-5) {
    super();
    this.weight = this.registerParameter('weight', ones([dim]));
    this.bias = this.registerParameter('bias', zeros([dim]));
  }
  /** `x` `[..., dim]` → same shape. */
  forward(x: Tensor): Tensor {
    return layerNorm(x, this.weight, this.bias, this.eps);
  }
}

/** Inverted dropout with probability `p`, active only in training mode; draws its masks from `gen`. */
export class Dropout extends Module {
  constructor(readonly p: number, private readonly gen: Generator) {
    super();
  }
  forward(x: Tensor): Tensor {
    if (!this.training || this.p === 0) return x;
    return dropout(x, this.p, true, this.gen);
  }
}
