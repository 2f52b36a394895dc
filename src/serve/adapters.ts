/**
 * Several LoRA adapters over one base in `muse serve` (`--adapter NAME=DIR`):
 * each adapter is served as a model id of its own. The base's float32
 * weights are held once: an adapter's model shares every base array and owns
 * copies only of the weights of the layers its adapter adapts, with ΔW merged
 * into them (so each adapter decodes on the base's fast paths, and requests
 * to different adapters interleave and batch safely).
 */
import { ConfigError } from '../errors.js';
import { Module } from '../nn/module.js';
import { loadModel, type LoadModelOptions } from '../models/registry.js';
import type { LoadedCausalLM } from '../models/loaded.js';
import { loadAdapter, mergeLora } from '../lora/index.js';

/** One `--adapter NAME=DIR`. */
export interface AdapterSpec {
  /** The model id requests use (`"model": NAME`). */
  name: string;
  /** A PEFT LoRA adapter directory (`adapter_config.json` + `adapter_model.safetensors`). */
  dir: string;
}

/**
 * Parses `--adapter NAME=DIR`.
 * @throws ConfigError when the name or the directory is missing
 */
export function parseAdapterSpec(s: string): AdapterSpec {
  const eq = s.indexOf('=');
  const name = eq > 0 ? s.slice(0, eq).trim() : '';
  const dir = eq > 0 ? s.slice(eq + 1).trim() : '';
  if (!name || !dir) throw new ConfigError(`--adapter ${s}: give NAME=DIR, e.g. --adapter aesop=runs/aesop-lora/best (NAME is the model id requests use)`);
  return { name, dir };
}

/**
 * A causal LM that is `base` plus the adapter in `adapterDir`, sharing the
 * base's weight arrays: the base directory's model is built again (its
 * weights read once more and then dropped in favour of the base's arrays),
 * the adapter attached, each adapted layer's weight copied, and ΔW merged
 * into the copy. Memory per adapter: the adapted layers' float32 weights
 * (plus the adapter's A and B, released after merging); the base is unchanged.
 * @param base a causal LM loaded in float32 (`dtype: 'float32'`)
 * @param adapterDir the PEFT adapter directory
 * @param opts the options `base` was loaded with (tokenizer directory, KV-cache type)
 * @throws ConfigError when `base` holds stored (half/quantized) weights; the errors of {@link loadAdapter}
 */
export function loadSharedAdapter(base: LoadedCausalLM, adapterDir: string, opts: LoadModelOptions = {}): LoadedCausalLM {
  if (!(base.model instanceof Module)) {
    throw new ConfigError(`--adapter ${adapterDir}: the base ${base.dir} holds its weights as stored (half precision or quantized); serve it with --dtype float32`);
  }
  const loaded = loadModel(base.dir, { ...opts, dtype: 'float32' });
  if (loaded.kind !== 'causal-lm') throw new ConfigError(`--adapter ${adapterDir}: ${base.dir} is not a causal LM`);
  loaded.model.loadStateDict(base.model.stateDict(), true, { adopt: true });
  const lm = loadAdapter(adapterDir, loaded.model);
  // The adapted layers get weights of their own; every other array stays the base's.
  for (const e of lm.layers) e.module.weight.data = Float32Array.from(e.module.weight.data as Float32Array);
  mergeLora(lm);
  loaded.model.eval();
  return loaded;
}
