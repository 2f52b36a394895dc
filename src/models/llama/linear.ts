import { Tensor, Generator, linear, zeros } from '../../tensor/index.js';
import { Module } from '../../nn/module.js';
import { normalInit } from '../../nn/layers.js';

/**
 * A projection of the Llama family (PyTorch `nn.Linear`, HF layout: `weight`
 * `[outFeatures, inFeatures]`, optional `bias` `[outFeatures]`). Every
 * matrix product against a layer's weights goes through {@link LlamaLinear.forward},
 * so a quantized or fused implementation replaces this one method.
 */
export class LlamaLinear extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;

  constructor(readonly inFeatures: number, readonly outFeatures: number, opts: { bias: boolean; std: number; gen: Generator; init: boolean }) {
    super();
    this.weight = this.registerParameter('weight', normalInit([outFeatures, inFeatures], opts.std, opts.gen, opts.init));
    this.bias = opts.bias ? this.registerParameter('bias', zeros([outFeatures])) : null;
  }

  /** `x` `[..., inFeatures]` → `[..., outFeatures]` = `x·Wᵀ + b`. */
  forward(x: Tensor): Tensor {
    return linear(x, this.weight, this.bias, { weightLayout: 'outIn' });
  }
}
