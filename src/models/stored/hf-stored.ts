/**
 * Hugging Face Llama-family directories loaded with half-precision weights
 * kept as stored: the matrices of an F16 or BF16 `model.safetensors` (or its
 * shards) are views into the file's bytes, read once; only norms and biases
 * become float32. The model is a {@link StoredLlamaLM} (inference only). An
 * F32 checkpoint is left to the float32 loader (`--dtype float32` asks for it
 * whatever the file holds).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FileFormatError } from '../../errors.js';
import { readJsonFile } from '../../io/json.js';
import { decodeSafetensorsRaw, type StRawTensor } from '../../io/safetensors.js';
import { llamaConfig, type LlamaConfig } from '../llama/config.js';
import { bf16ToFloat, halfToFloat } from '../../quant/half.js';
import { StoredLlamaLM, type LlamaTensorSource } from './llama.js';
import { quantizedWeight } from '../../quant/weight.js';
import type { KvCacheDtype } from './decoder.js';

/** Every tensor of a directory's `model.safetensors` (or shards), as stored. @throws FileFormatError for a missing or invalid file */
export function readRawCheckpoint(dir: string): Map<string, StRawTensor> {
  const single = join(dir, 'model.safetensors');
  const read = (path: string): Map<string, StRawTensor> => {
    let bytes: Uint8Array;
    try {
      bytes = readFileSync(path);
    } catch (err) {
      throw new FileFormatError(`${path}: cannot read (${(err as Error).message})`);
    }
    return decodeSafetensorsRaw(bytes, path).tensors;
  };
  if (existsSync(single)) return read(single);
  const indexPath = join(dir, 'model.safetensors.index.json');
  if (!existsSync(indexPath)) throw new FileFormatError(`${dir}: no model.safetensors or model.safetensors.index.json`);
  const index = readJsonFile(indexPath) as { weight_map?: Record<string, string> };
  const shards = new Set(Object.values(index.weight_map ?? {}));
  const out = new Map<string, StRawTensor>();
  for (const shard of shards) for (const [n, t] of read(join(dir, shard))) out.set(n, t);
  return out;
}

/** The dtype most matrices of a raw checkpoint are stored in (`F32`, `F16`, `BF16`, …). */
export function dominantDtype(raw: Map<string, StRawTensor>): string {
  const bytes = new Map<string, number>();
  for (const t of raw.values()) if (t.shape.length === 2) bytes.set(t.dtype, (bytes.get(t.dtype) ?? 0) + t.bytes.length);
  let best = 'F32';
  let n = -1;
  for (const [d, b] of bytes) if (b > n) [best, n] = [d, b];
  return best;
}

function toF32(t: StRawTensor): Float32Array {
  const n = t.shape.reduce((a, b) => a * b, 1);
  const v = new DataView(t.bytes.buffer, t.bytes.byteOffset, t.bytes.byteLength);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    if (t.dtype === 'F32') out[i] = v.getFloat32(4 * i, true);
    else if (t.dtype === 'F16') out[i] = halfToFloat(v.getUint16(2 * i, true));
    else if (t.dtype === 'BF16') out[i] = bf16ToFloat(v.getUint16(2 * i, true));
    else if (t.dtype === 'F64') out[i] = v.getFloat64(8 * i, true);
    else throw new FileFormatError(`tensor of dtype ${t.dtype} is not a float tensor`);
  }
  return out;
}

/** Raw tensors by HF name (a bare `LlamaModel`'s names get the `model.` prefix) as a {@link LlamaTensorSource}. */
export function rawTensorSource(raw: Map<string, StRawTensor>): LlamaTensorSource {
  const get = (name: string): StRawTensor | undefined => raw.get(name) ?? (name.startsWith('model.') ? raw.get(name.slice(6)) : undefined);
  return {
    matrix(name) {
      const t = get(name);
      if (!t || t.shape.length !== 2) return undefined;
      const [rows, cols] = t.shape as [number, number];
      if (t.dtype === 'F32' || t.dtype === 'F16' || t.dtype === 'BF16') return quantizedWeight(t.dtype, rows, cols, t.bytes);
      // F64 (rare): store as float32.
      const f = toF32(t);
      return quantizedWeight('F32', rows, cols, new Uint8Array(f.buffer));
    },
    vector(name) {
      const t = get(name);
      return t && t.shape.length === 1 ? toF32(t) : undefined;
    },
  };
}

/**
 * Loads a Llama-family directory with its F16/BF16 matrices kept in half
 * precision (views into the file bytes).
 * @throws FileFormatError for a missing/invalid file or a missing tensor (named)
 * @throws ConfigError for an invalid config or a missing native addon
 */
export function loadStoredLlamaDir(dir: string, opts: { kvCacheDtype?: KvCacheDtype } = {}): { model: StoredLlamaLM; config: LlamaConfig } {
  const config = llamaConfig(readJsonFile(join(dir, 'config.json')) as Record<string, unknown>);
  const model = new StoredLlamaLM(config, rawTensorSource(readRawCheckpoint(dir)), { ...opts, source: dir });
  return { model, config };
}
