/** LoRA adapters in PEFT's format: the layer, injection by target names, save/load, merge. */
import type { Module } from '../nn/module.js';
import { Generator } from '../tensor/index.js';
import { injectLora, type LoraModel } from './inject.js';
import { loadAdapterWeights, readAdapterConfig } from './peft.js';

export * from './layer.js';
export * from './inject.js';
export * from './peft.js';
export { applyAdapter, mergeAdapterToDir } from './apply.js';

/**
 * Attaches a PEFT LoRA adapter directory to `model` (PEFT
 * `PeftModel.from_pretrained`): reads `adapter_config.json`, injects the
 * adapters, copies `adapter_model.safetensors` in, and puts the model in eval mode.
 * @throws the errors of {@link readAdapterConfig}, {@link injectLora} and {@link loadAdapterWeights}
 */
export function loadAdapter<M extends Module>(dir: string, model: M): LoraModel<M> {
  const { config } = readAdapterConfig(dir);
  const lm = injectLora(model, config, { gen: new Generator(0) });
  loadAdapterWeights(dir, lm);
  model.eval();
  return lm;
}
