/**
 * The Llama family's decode fast path: KV-cached inference of a
 * {@link LlamaForCausalLM} in one native call per step (the stored-weight
 * decoder of src/models/stored/decoder.ts, reading the float32 parameters in place),
 * instead of an op-by-op forward. Logits equal the op-by-op path's within
 * 1e-4 (test/quant/decoder-llama.test.ts).
 */
import { getBackend } from '../../backend/index.js';
import { NativeDecoder, nativeDecoderAvailable } from '../stored/decoder.js';
import { llamaDecoderSpec, llamaStepInputs } from '../stored/llama.js';
import { f32Weight } from '../../quant/weight.js';
import type { KVCache } from '../kv-cache.js';
import type { LlamaForCausalLM } from './model.js';

/** A built decoder and the parameter arrays it reads (a changed array means rebuild). */
export interface LlamaFastState {
  decoder: NativeDecoder;
  arrays: unknown[];
}

function paramArrays(model: LlamaForCausalLM): unknown[] {
  return [...model.namedParameters()].map(([, p]) => p.data);
}

/**
 * Runs one cached step on the native decoder, or returns null when the
 * backend is not the native one or the addon has no decoder (the caller then
 * runs the op-by-op path).
 */
export function llamaFastForward(
  model: LlamaForCausalLM, state: LlamaFastState | null, ids: Int32Array, batch: number, t: number, cache: KVCache,
  positions: Int32Array, mask: Int32Array | null, lastOnly: boolean,
): { logits: Float32Array; state: LlamaFastState } | null {
  if (getBackend().name !== 'native' || !nativeDecoderAvailable()) return null;
  const arrays = paramArrays(model);
  if (!state || state.arrays.length !== arrays.length || state.arrays.some((a, i) => a !== arrays[i])) {
    const params = new Map([...model.namedParameters()].map(([n, p]) => [n, p]));
    const decoder = new NativeDecoder(
      llamaDecoderSpec(model.config, {
        matrix: (n) => {
          const p = params.get(n);
          return p && p.shape.length === 2 ? f32Weight(p.data as Float32Array, p.shape[0], p.shape[1]) : undefined;
        },
        vector: (n) => {
          const p = params.get(n);
          return p && p.shape.length === 1 ? (p.data as Float32Array) : undefined;
        },
      }),
    );
    state = { decoder, arrays };
  }
  const { cos, sin } = llamaStepInputs(model.config, batch, t, cache.length, positions);
  const logits = state.decoder.forward(ids, batch, t, cache, { attentionMask: mask, positionIds: positions, cos, sin, lastOnly });
  return { logits, state };
}
