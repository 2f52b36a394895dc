/**
 * The Llama family on the stored-weight decoder: the native fast path of
 * LlamaForCausalLM equals its op-by-op path within 1e-4 for every variant
 * (GQA with llama3 rope scaling, Qwen2 biases, Qwen3 q/k norm, Mistral's
 * sliding window) over a left-padded batch prompt and cached steps; and
 * StoredLlamaLM (weights as stored: F16, BF16, Q8_0, Q4_K, with a float16 KV
 * cache) stays close to the float32 model. (test/models/llama.test.ts also
 * checks the fast path against the float64 PyTorch fixtures.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CausalLM } from '../../src/models/causal-lm.js';
import { getBackend } from '../../src/backend/index.js';
import { LlamaForCausalLM } from '../../src/models/llama/model.js';
import { nativeDecoderAvailable } from '../../src/models/stored/decoder.js';
import { StoredLlamaLM } from '../../src/models/stored/llama.js';
import { quantizeMatrix } from '../../src/quant/quantize.js';
import type { GgmlType } from '../../src/quant/formats.js';
import { assertClose } from '../backend/native-util.js';

const skip = nativeDecoderAvailable() && getBackend().name === 'native' ? false : 'native addon not built (node scripts/build-native.mjs)';

const VARIANTS: Record<string, Record<string, unknown>> = {
  'llama-gqa-llama3': { model_type: 'llama', num_attention_heads: 4, num_key_value_heads: 2, rope_scaling: { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 16 }, tie_word_embeddings: true },
  'qwen2-bias': { model_type: 'qwen2', num_attention_heads: 4, num_key_value_heads: 1, tie_word_embeddings: false },
  'qwen3-qknorm': { model_type: 'qwen3', num_attention_heads: 4, num_key_value_heads: 2, head_dim: 32 },
  'mistral-window': { model_type: 'mistral', num_attention_heads: 4, num_key_value_heads: 2, sliding_window: 4 },
};

function model(over: Record<string, unknown>): LlamaForCausalLM {
  const m = new LlamaForCausalLM({ vocab_size: 61, hidden_size: 64, intermediate_size: 96, num_hidden_layers: 2, max_position_embeddings: 64, rms_norm_eps: 1e-5, ...over }, { seed: 3 });
  let s = 1;
  for (const [, p] of m.namedParameters()) {
    const d = p.data as Float32Array;
    if (p.shape.length === 1) for (let i = 0; i < d.length; i++) d[i] += 0.1 * Math.sin(s++ * 0.37);
  }
  return m;
}

/** A left-padded batch of two: prompt of 9 (the fused prefill attention), then two single-token steps. */
function run(lm: CausalLM): Float32Array[] {
  const cache = lm.newCache(2);
  const ids = Int32Array.from([4, 8, 15, 16, 23, 42, 7, 33, 21, 0, 0, 9, 19, 29, 39, 49, 50, 51]);
  const mask = [1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 1, 1, 1];
  const posOf = (m: number[], t: number, past: number): Int32Array => {
    const tk = past + t;
    const out = new Int32Array(2 * t);
    for (let b = 0; b < 2; b++) for (let j = past; j < tk; j++) out[b * t + j - past] = Math.max(0, m.slice(b * tk, b * tk + j).reduce((a, x) => a + x, 0));
    return out;
  };
  const outs = [lm.forward(ids, 2, 9, cache, { attentionMask: Int32Array.from(mask), positionIds: posOf(mask, 9, 0) })];
  let m = mask;
  for (const next of [[11, 12], [13, 14]]) {
    const past = cache.length;
    const nm: number[] = [];
    for (let b = 0; b < 2; b++) nm.push(...m.slice(b * past, (b + 1) * past), 1);
    m = nm;
    outs.push(lm.forward(Int32Array.from(next), 2, 1, cache, { attentionMask: Int32Array.from(m), positionIds: posOf(m, 1, past), lastOnly: true }));
  }
  return outs;
}

for (const [name, over] of Object.entries(VARIANTS)) {
  test(`llama fast decode equals the op-by-op path (${name}, 1e-4)`, { skip }, () => {
    const m = model(over);
    m.fastDecode = false;
    const want = run(m);
    m.fastDecode = true;
    const got = run(m);
    for (let i = 0; i < want.length; i++) assertClose(got[i], want[i], 1e-4, `${name} step ${i}`);
  });
}

test('StoredLlamaLM: F16, BF16, Q8_0, Q4_K weights and a float16 KV cache stay near float32', { skip }, () => {
  const m = model({ ...VARIANTS['qwen2-bias'], hidden_size: 256, intermediate_size: 512 });
  m.fastDecode = false;
  const want = run(m);
  const params = new Map([...m.namedParameters()].map(([n, p]) => [n, p]));
  // Relative L2 error of the logits: what the storage type costs on this small random model.
  const cases: Array<[GgmlType, 'float32' | 'float16', number]> = [['F16', 'float32', 2e-3], ['BF16', 'float16', 2e-2], ['Q8_0', 'float16', 3e-2], ['Q4_K', 'float32', 0.25]];
  for (const [type, kv, tol] of cases) {
    const lm = new StoredLlamaLM(m.config, {
      matrix: (n) => {
        const p = params.get(n);
        return p && p.shape.length === 2 ? quantizeMatrix(p.data as Float32Array, p.shape[0], p.shape[1], type) : undefined;
      },
      vector: (n) => {
        const p = params.get(n);
        return p && p.shape.length === 1 ? (p.data as Float32Array) : undefined;
      },
    }, { kvCacheDtype: kv });
    const got = run(lm);
    for (let i = 0; i < want.length; i++) {
      let num = 0;
      let den = 0;
      for (let j = 0; j < want[i].length; j++) {
        num += (got[i][j] - want[i][j]) ** 2;
        den += want[i][j] ** 2;
      }
      const rel = Math.sqrt(num / den);
      assert.ok(rel < tol, `${type} kv=${kv} step ${i}: relative error ${rel.toFixed(4)} ≥ ${tol}`);
    }
  }
});
