import { Tensor, fromArray } from '../tensor/index.js';
import { getBackend } from '../backend/index.js';
import { ShapeError } from '../errors.js';
import type { LMCache } from './causal-lm.js';

/**
 * Key/value cache for incremental decoding of a decoder-only transformer.
 * Per layer, keys and values are stored `[batch, heads, capacity, headDim]`
 * so that each (row, head) slice of the first `length` positions is one
 * contiguous block the fused attention kernel reads in place. Capacity grows
 * by doubling up to `maxPositions`.
 */
export class KVCache implements LMCache {
  private keys: Float32Array[] = [];
  private values: Float32Array[] = [];
  private capacity = 0;
  private len = 0;
  private rows: number;

  constructor(
    readonly nLayer: number,
    batch: number,
    readonly nHead: number,
    readonly headDim: number,
    readonly maxPositions: number,
  ) {
    this.rows = batch;
  }

  get length(): number {
    return this.len;
  }

  get batch(): number {
    return this.rows;
  }

  /** Make room for `needed` positions (keeps what is cached). */
  ensure(needed: number): void {
    if (needed <= this.capacity) return;
    if (needed > this.maxPositions) {
      throw new ShapeError(`KVCache: ${needed} positions exceed the model's maximum ${this.maxPositions}`);
    }
    const cap = grownCapacity(needed, this.capacity, this.maxPositions);
    const grow = (old: Float32Array | undefined): Float32Array => {
      const next = new Float32Array(this.rows * this.nHead * cap * this.headDim);
      if (old) copySlabs(old, next, this.rows * this.nHead, this.capacity, cap, this.len, this.headDim);
      return next;
    };
    for (let l = 0; l < this.nLayer; l++) {
      this.keys[l] = grow(this.keys[l]);
      this.values[l] = grow(this.values[l]);
    }
    this.capacity = cap;
  }

  /** Key and value buffers of `layer`, `[batch, heads, capacity, headDim]`. */
  layerBuffers(layer: number): { k: Float32Array; v: Float32Array; capacity: number } {
    return { k: this.keys[layer], v: this.values[layer], capacity: this.capacity };
  }

  /** Mark `t` more positions as filled (called once per forward, after every layer wrote them). */
  advance(t: number): void {
    this.len += t;
  }

  reorder(indices: Int32Array): void {
    const D = this.headDim;
    const H = this.nHead;
    const cap = this.capacity;
    for (const idx of indices) {
      if (idx < 0 || idx >= this.rows) throw new ShapeError(`KVCache.reorder: row ${idx} is outside [0, ${this.rows})`);
    }
    const pick = (old: Float32Array): Float32Array => {
      const next = new Float32Array(indices.length * H * cap * D);
      const block = H * cap * D;
      indices.forEach((src, dst) => next.set(old.subarray(src * block, (src + 1) * block), dst * block));
      return next;
    };
    if (cap > 0) {
      this.keys = this.keys.map(pick);
      this.values = this.values.map(pick);
    }
    this.rows = indices.length;
  }

  clear(): void {
    this.len = 0;
  }
}

/**
 * Attention of new queries over the cached keys/values plus the new ones.
 *
 * @param qkv `[3, batch, heads, t, headDim]` (q, k, v of the `t` new positions)
 * @param cache the cache; the new k, v are written at positions `[cache.length, cache.length + t)`
 * @param layer layer index
 * @param attentionMask `[batch, cache.length + t]` (1 = attend, 0 = padding) or null
 * @returns `[batch, heads, t, headDim]` (no autograd: inference only)
 */
export function cachedAttention(qkv: Tensor, cache: KVCache, layer: number, attentionMask: Int32Array | null): Tensor {
  const [, B, H, T, D] = qkv.shape as [number, number, number, number, number];
  const past = cache.length;
  const tk = past + T;
  cache.ensure(tk);
  const { k: K, v: V, capacity } = cache.layerBuffers(layer);
  const data = qkv.data as Float32Array;
  const n = B * H * T * D;
  const out = new Float32Array(n);
  const lse = new Float32Array(T);
  const be = getBackend();
  for (let s = 0; s < B * H; s++) {
    const base = s * capacity * D;
    K.set(data.subarray(n + s * T * D, n + (s + 1) * T * D), base + past * D);
    V.set(data.subarray(2 * n + s * T * D, 2 * n + (s + 1) * T * D), base + past * D);
    const b = Math.floor(s / H);
    be.attention({
      q: data.subarray(s * T * D, (s + 1) * T * D),
      k: K.subarray(base, base + tk * D),
      v: V.subarray(base, base + tk * D),
      out: out.subarray(s * T * D, (s + 1) * T * D),
      lse,
      batch: 1,
      heads: 1,
      tq: T,
      tk,
      headDim: D,
      scale: 1 / Math.sqrt(D),
      causal: true,
      keyPaddingMask: attentionMask ? attentionMask.subarray(b * tk, (b + 1) * tk) : null,
    });
  }
  return fromArray(out, [B, H, T, D]);
}

/**
 * The capacity a growing KV cache moves to: at least `needed`, at least double
 * the current one (amortised O(1) appends), at least 64, at most `maxPositions`.
 */
export function grownCapacity(needed: number, capacity: number, maxPositions: number): number {
  return Math.min(maxPositions, Math.max(needed, 2 * capacity, 64));
}

/**
 * Copy the first `len` positions of each of `slabs` (row, head) slabs from
 * `old` `[slabs, oldCap, headDim]` into `next` `[slabs, newCap, headDim]`
 * (same element type; `newCap ≥ len`).
 */
export function copySlabs<A extends Float32Array | Uint16Array>(old: A, next: A, slabs: number, oldCap: number, newCap: number, len: number, headDim: number): void {
  const D = headDim;
  for (let s = 0; s < slabs; s++) next.set(old.subarray(s * oldCap * D, (s * oldCap + len) * D), s * newCap * D);
}
