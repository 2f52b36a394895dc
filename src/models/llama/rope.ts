/**
 * Rotary position embeddings (Su et al. 2021, RoFormer) in the "rotate half"
 * (NeoX) layout transformers uses for Llama, Mistral and Qwen: the head
 * vector's first and second halves form the pairs `(x[i], x[i + D/2])`,
 * rotated by angle `position · inv_freq[i]`. The inverse frequencies follow
 * transformers' `_compute_default_rope_parameters`,
 * `_compute_linear_scaling_rope_parameters`,
 * `_compute_dynamic_ntk_parameters` and `_compute_llama3_parameters`
 * (`modeling_rope_utils.py`), computed here in float64.
 */
import type { LlamaConfig } from './config.js';

/** Default inverse frequencies `1 / θ^(2i/D)`, i = 0 … D/2 − 1. */
function defaultInvFreq(theta: number, dim: number): Float64Array {
  const out = new Float64Array(dim / 2);
  for (let i = 0; i < dim / 2; i++) out[i] = 1 / Math.pow(theta, (2 * i) / dim);
  return out;
}

/**
 * The inverse frequencies `[head_dim / 2]` for a forward pass whose largest
 * position is `maxPosition` (only dynamic NTK scaling depends on it: above
 * `max_position_embeddings` the base grows to
 * `θ·(factor·L/max − (factor − 1))^(D/(D−2))` with `L = maxPosition + 1`,
 * transformers' `dynamic_rope_update` for positions that only grow).
 */
export function ropeInvFreq(cfg: LlamaConfig, maxPosition = 0): Float64Array {
  const D = cfg.head_dim;
  const r = cfg.rope_scaling;
  if (!r || r.rope_type === 'default') return defaultInvFreq(cfg.rope_theta, D);
  if (r.rope_type === 'linear') return defaultInvFreq(cfg.rope_theta, D).map((f) => f / r.factor);
  if (r.rope_type === 'dynamic') {
    const maxPos = cfg.max_position_embeddings;
    const seqLen = Math.max(maxPosition + 1, maxPos);
    const base = cfg.rope_theta * Math.pow((r.factor * seqLen) / maxPos - (r.factor - 1), D / (D - 2));
    return defaultInvFreq(base, D);
  }
  // llama3
  const inv = defaultInvFreq(cfg.rope_theta, D);
  const factor = r.factor;
  const low = r.low_freq_factor as number;
  const high = r.high_freq_factor as number;
  const oldLen = r.original_max_position_embeddings as number;
  const lowWavelen = oldLen / low;
  const highWavelen = oldLen / high;
  return inv.map((f) => {
    const wavelen = (2 * Math.PI) / f;
    if (wavelen > lowWavelen) return f / factor;
    if (wavelen < highWavelen) return f;
    const smooth = (oldLen / wavelen - low) / (high - low);
    return (1 - smooth) * (f / factor) + smooth * f;
  });
}

/**
 * cos and sin tables for `positions` (any length n): `[n, D/2]` each,
 * `angle = position · inv_freq[i]` in float64, stored as float32.
 */
export function ropeTables(invFreq: Float64Array, positions: Int32Array): { cos: Float32Array; sin: Float32Array } {
  const half = invFreq.length;
  const n = positions.length;
  const cos = new Float32Array(n * half);
  const sin = new Float32Array(n * half);
  for (let p = 0; p < n; p++) {
    const pos = positions[p];
    for (let i = 0; i < half; i++) {
      const a = pos * invFreq[i];
      cos[p * half + i] = Math.cos(a);
      sin[p * half + i] = Math.sin(a);
    }
  }
  return { cos, sin };
}
