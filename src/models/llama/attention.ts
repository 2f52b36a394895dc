/**
 * Attention kernels of the Llama family on the backend's fused attention:
 * grouped-query attention over a KV cache (the cache stores the
 * `num_key_value_heads` heads; each query head reads its group's), and a
 * differentiable sliding-window attention for training past the window.
 */
import { Tensor, fromArray, matmul, softmax, scaledDotProductAttention } from '../../tensor/index.js';
import { getBackend } from '../../backend/index.js';
import type { KVCache } from '../kv-cache.js';

/**
 * Cached grouped-query attention (inference only, no autograd). The new keys
 * and values are written at cache positions `[cache.length, cache.length + t)`;
 * the caller advances the cache once every layer has run.
 * @param q `[batch, heads, t, headDim]` (rotary already applied)
 * @param k `[batch, kvHeads, t, headDim]` (rotary applied), v the same shape
 * @param attentionMask `[batch, cache.length + t]` 1 = attend, 0 = padding, or null
 * @param window sliding window (query at cache index i sees keys `(i − window, i]`) or null
 * @returns `[batch, heads, t, headDim]`
 */
export function cachedGQA(q: Tensor, k: Tensor, v: Tensor, cache: KVCache, layer: number, attentionMask: Int32Array | null, window: number | null): Tensor {
  const [B, H, T, D] = q.shape as [number, number, number, number];
  const Hkv = k.shape[1];
  const rep = H / Hkv;
  const past = cache.length;
  const tk = past + T;
  cache.ensure(tk);
  const { k: K, v: V, capacity } = cache.layerBuffers(layer);
  const kd = k.data as Float32Array;
  const vd = v.data as Float32Array;
  for (let s = 0; s < B * Hkv; s++) {
    const base = s * capacity * D + past * D;
    K.set(kd.subarray(s * T * D, (s + 1) * T * D), base);
    V.set(vd.subarray(s * T * D, (s + 1) * T * D), base);
  }
  const qd = q.data as Float32Array;
  const out = new Float32Array(B * H * T * D);
  const lse = new Float32Array(T);
  const be = getBackend();
  const scale = 1 / Math.sqrt(D);
  const windowed = window !== null && tk > window;
  for (let b = 0; b < B; b++) {
    const rowMask = attentionMask ? attentionMask.subarray(b * tk, (b + 1) * tk) : null;
    for (let h = 0; h < H; h++) {
      const s = b * H + h;
      const base = (b * Hkv + Math.floor(h / rep)) * capacity * D;
      if (!windowed) {
        be.attention({
          q: qd.subarray(s * T * D, (s + 1) * T * D), k: K.subarray(base, base + tk * D), v: V.subarray(base, base + tk * D),
          out: out.subarray(s * T * D, (s + 1) * T * D), lse, batch: 1, heads: 1, tq: T, tk, headDim: D, scale, causal: true, keyPaddingMask: rowMask,
        });
        continue;
      }
      // One query at a time over its window of keys [lo, i].
      for (let t = 0; t < T; t++) {
        const i = past + t;
        const lo = Math.max(0, i - window + 1);
        const n = i + 1 - lo;
        be.attention({
          q: qd.subarray((s * T + t) * D, (s * T + t + 1) * D), k: K.subarray(base + lo * D, base + (i + 1) * D), v: V.subarray(base + lo * D, base + (i + 1) * D),
          out: out.subarray((s * T + t) * D, (s * T + t + 1) * D), lse, batch: 1, heads: 1, tq: 1, tk: n, headDim: D, scale, causal: false,
          keyPaddingMask: rowMask ? rowMask.subarray(lo, i + 1) : null,
        });
      }
    }
  }
  return fromArray(out, [B, H, T, D]);
}

/** Repeat each key/value head `rep` times (transformers' `repeat_kv`): `[B, Hkv, T, D]` → `[B, Hkv·rep, T, D]`, differentiable. */
export function repeatKV(x: Tensor, rep: number): Tensor {
  if (rep === 1) return x;
  const [B, Hkv, T, D] = x.shape as [number, number, number, number];
  return x.unsqueeze(2).expand([B, Hkv, rep, T, D]).reshape([B, Hkv * rep, T, D]);
}

/**
 * Differentiable causal attention (training path) with an optional sliding
 * window; q, k, v all `[B, H, T, D]`. Within the window it is the fused
 * kernel; past it, explicit scores with the band mask (`softmax` over keys
 * `(i − window, i]`).
 */
export function trainAttention(q: Tensor, k: Tensor, v: Tensor, window: number | null): Tensor {
  const T = q.shape[2];
  const D = q.shape[3];
  if (window === null || T <= window) return scaledDotProductAttention(q, k, v, { causal: true });
  const outside = new Float32Array(T * T);
  for (let i = 0; i < T; i++) for (let j = 0; j < T; j++) outside[i * T + j] = j > i || j <= i - window ? 1 : 0;
  const scores = matmul(q, k, { transB: true }).mul(1 / Math.sqrt(D)).maskedFill(fromArray(outside, [T, T]), -Infinity);
  return matmul(softmax(scores, -1), v);
}
