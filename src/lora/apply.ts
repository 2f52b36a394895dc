/** Using a trained adapter: attached and merged for inference, or merged into a saved model directory. */
import { ConfigError } from '../errors.js';
import { Module } from '../nn/module.js';
import { familyOfPath } from '../models/registry.js';
import type { LoadedModelAny } from '../models/loaded.js';
import type { SaveParts } from '../models/registry.js';
import { mergeLora } from './inject.js';
import { loadAdapter } from './index.js';

/**
 * Attaches the PEFT adapter in `adapterDir` to a float32 model and merges it
 * (ΔW added into the weights): generation then runs at the base model's speed
 * on its fast decode paths.
 * @param loaded a model loaded with `dtype: 'float32'`
 * @throws ConfigError when the model was loaded with stored (half/quantized) weights; the errors of {@link loadAdapter}
 */
export function applyAdapter<L extends LoadedModelAny>(loaded: L, adapterDir: string): L {
  if (!(loaded.model instanceof Module)) {
    throw new ConfigError(`--adapter ${adapterDir}: the base was loaded with its weights as stored (half precision or quantized); load it with --dtype float32 to apply an adapter`);
  }
  mergeLora(loadAdapter(adapterDir, loaded.model));
  return loaded;
}

/**
 * `muse merge`: base + adapter → a plain model directory of the base's family
 * (PEFT `merge_and_unload` then `save_pretrained`), loadable anywhere the base is.
 * @param baseDir the base model directory
 * @param adapterDir a PEFT LoRA adapter directory
 * @param outDir the merged model directory (replaced crash-safely)
 * @returns the number of merged layers
 * @throws the errors of loading the base, {@link loadAdapter} and the family's save
 */
export function mergeAdapterToDir(baseDir: string, adapterDir: string, outDir: string): number {
  const family = familyOfPath(baseDir);
  const loaded = family.load(baseDir, { dtype: 'float32' });
  const lm = loadAdapter(adapterDir, loaded.model as Parameters<typeof loadAdapter>[1]);
  mergeLora(lm);
  family.save(outDir, loaded);
  return lm.layers.length;
}
