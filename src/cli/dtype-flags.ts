/**
 * `--dtype` and `--kv-cache-dtype` of \`muse generate\` and \`muse serve\`:
 * how a model's weights and KV cache are held in memory (see docs/models.md,
 * "Data types and memory").
 */
import { ConfigError } from '../errors.js';
import type { LoadModelOptions } from '../models/registry.js';

/** The two flags as commander gives them. */
export interface DtypeFlags {
  dtype?: string;
  kvCacheDtype?: string;
}

/**
 * Load options from the flags: `--dtype auto` (default: weights as the file
 * stores them — half precision or quantized — on the native decoder) or
 * `float32`; `--kv-cache-dtype float32` (default) or `float16`.
 * @throws ConfigError naming the flag and the values it takes
 */
export function dtypeLoadOptions(flags: DtypeFlags): Pick<LoadModelOptions, 'dtype' | 'kvCacheDtype'> {
  const dtype = flags.dtype ?? 'auto';
  if (dtype !== 'auto' && dtype !== 'float32') throw new ConfigError(`--dtype ${dtype}: use auto (keep the stored half-precision or quantized weights) or float32`);
  const kv = flags.kvCacheDtype ?? 'float32';
  if (kv !== 'float32' && kv !== 'float16') throw new ConfigError(`--kv-cache-dtype ${kv}: use float32 or float16`);
  return { dtype, kvCacheDtype: kv };
}
