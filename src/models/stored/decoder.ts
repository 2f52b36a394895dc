/**
 * The stored-weight decode fast path (native/src/lm_decode.cc): a whole
 * KV-cached forward of a GPT-2 or Llama-family decoder in one native call,
 * with every linear layer a {@link QuantizedWeight} of any ggml type (F32,
 * F16, BF16, Q8_0, Q4_0, Q5_0, Q4_K, Q5_K, Q6_K) read in place, and the KV
 * cache in float32 or float16 ({@link DecodeCache}).
 *
 * Models build a {@link DecoderSpec} from their weights once
 * ({@link NativeDecoder}) and call {@link NativeDecoder.forward} per step with
 * the rotary tables of the new positions (the model computes them, so every
 * rope scaling variant stays in one place).
 */
import { ConfigError, ShapeError } from '../../errors.js';
import type { LMCache } from '../causal-lm.js';
import { KVCache, copySlabs, grownCapacity } from '../kv-cache.js';
import { GGML_TYPE_ID } from '../../quant/formats.js';
import { loadNativeAddon } from '../../backend/native.js';
import type { NativeHandle, NativeKernels } from '../../backend/native-signatures.js';
import type { QuantizedWeight } from '../../quant/weight.js';
import { Module } from '../../nn/module.js';

/** One decoder block. Absent optional fields are absent in the architecture (no bias, no q/k norm, …). */
export interface DecoderLayerSpec {
  /** Attention norm weight (and bias for LayerNorm) `[hidden]`. */
  norm1W: Float32Array;
  norm1B?: Float32Array | null;
  /** Fused `[(H + 2·Hkv)·D, hidden]` projection (GPT-2's c_attn as `[out, in]`), or q/k/v apart. */
  qkv?: QuantizedWeight | null;
  qkvB?: Float32Array | null;
  q?: QuantizedWeight | null;
  k?: QuantizedWeight | null;
  v?: QuantizedWeight | null;
  qB?: Float32Array | null;
  kB?: Float32Array | null;
  vB?: Float32Array | null;
  /** Qwen3's per-head RMSNorm weights `[headDim]`. */
  qNorm?: Float32Array | null;
  kNorm?: Float32Array | null;
  /** Output projection `[hidden, H·D]`. */
  o: QuantizedWeight;
  oB?: Float32Array | null;
  norm2W: Float32Array;
  norm2B?: Float32Array | null;
  /** SwiGLU gate `[F, hidden]` (absent for GELU MLPs). */
  gate?: QuantizedWeight | null;
  /** `[F, hidden]` (GPT-2's c_fc as `[out, in]`). */
  up: QuantizedWeight;
  /** `[hidden, F]`. */
  down: QuantizedWeight;
  gateB?: Float32Array | null;
  upB?: Float32Array | null;
  downB?: Float32Array | null;
  /** Sliding window of this layer (a query at i sees keys (i − window, i]); 0 or absent = full attention. */
  window?: number;
}

/** A whole decoder for {@link NativeDecoder}. */
export interface DecoderSpec {
  /** `layernorm` (GPT-2, with biases) or `rmsnorm` (Llama family). */
  norm: 'layernorm' | 'rmsnorm';
  /** `gelu_tanh` (GPT-2: down(gelu(up x))) or `swiglu` (down(silu(gate x)·up x)). */
  mlp: 'gelu_tanh' | 'swiglu';
  hidden: number;
  nHead: number;
  nKvHead: number;
  headDim: number;
  vocab: number;
  eps: number;
  /** Token embeddings `[vocab, hidden]` (any type; rows are dequantized on lookup). */
  embed: QuantizedWeight;
  /** Learned position embeddings `[nPositions, hidden]` (GPT-2), or null. */
  posEmbed?: QuantizedWeight | null;
  normW: Float32Array;
  normB?: Float32Array | null;
  /** Output projection `[vocab, hidden]`: `embed` itself when tied. */
  head: QuantizedWeight;
  layers: DecoderLayerSpec[];
}

/** Element type of a {@link DecodeCache}: float32, or IEEE half (halves the cache's memory and reads). */
export type KvCacheDtype = 'float32' | 'float16';

/**
 * A KV cache for {@link NativeDecoder}: per layer, keys and values
 * `[batch, kvHeads, capacity, headDim]` in float32 (Float32Array) or float16
 * (Uint16Array of IEEE halves). Capacity grows by doubling up to `maxPositions`.
 */
export class DecodeCache implements LMCache {
  keys: Array<Float32Array | Uint16Array> = [];
  values: Array<Float32Array | Uint16Array> = [];
  capacity = 0;
  private len = 0;
  private rows: number;

  constructor(
    readonly nLayer: number,
    batch: number,
    readonly nKvHead: number,
    readonly headDim: number,
    readonly maxPositions: number,
    readonly dtype: KvCacheDtype = 'float32',
  ) {
    this.rows = batch;
  }

  get length(): number {
    return this.len;
  }

  get batch(): number {
    return this.rows;
  }

  private alloc(n: number): Float32Array | Uint16Array {
    return this.dtype === 'float16' ? new Uint16Array(n) : new Float32Array(n);
  }

  /** Make room for `needed` positions (keeps what is cached). @throws ShapeError past maxPositions */
  ensure(needed: number): void {
    if (needed <= this.capacity) return;
    if (needed > this.maxPositions) throw new ShapeError(`KV cache: ${needed} positions exceed the model's maximum ${this.maxPositions}`);
    const cap = grownCapacity(needed, this.capacity, this.maxPositions);
    const grow = (old: Float32Array | Uint16Array | undefined): Float32Array | Uint16Array => {
      const next = this.alloc(this.rows * this.nKvHead * cap * this.headDim);
      if (old) copySlabs(old, next, this.rows * this.nKvHead, this.capacity, cap, this.len, this.headDim);
      return next;
    };
    for (let l = 0; l < this.nLayer; l++) {
      this.keys[l] = grow(this.keys[l]);
      this.values[l] = grow(this.values[l]);
    }
    this.capacity = cap;
  }

  /** Mark `t` more positions as filled. */
  advance(t: number): void {
    this.len += t;
  }

  reorder(indices: Int32Array): void {
    for (const idx of indices) {
      if (idx < 0 || idx >= this.rows) throw new ShapeError(`KV cache reorder: row ${idx} is outside [0, ${this.rows})`);
    }
    const block = this.nKvHead * this.capacity * this.headDim;
    const pick = (old: Float32Array | Uint16Array): Float32Array | Uint16Array => {
      const next = this.alloc(indices.length * block);
      indices.forEach((src, dst) => next.set(old.subarray(src * block, (src + 1) * block), dst * block));
      return next;
    };
    if (this.capacity > 0) {
      this.keys = this.keys.map(pick);
      this.values = this.values.map(pick);
    }
    this.rows = indices.length;
  }

  clear(): void {
    this.len = 0;
  }

  /** Bytes the cache holds now. */
  get bytes(): number {
    let n = 0;
    for (const a of [...this.keys, ...this.values]) n += a.byteLength;
    return n;
  }
}

/**
 * The checks every stored-weight LM's `forward` makes before a decode step.
 * @param who the message prefix, e.g. `StoredLlamaLM.forward`
 * @param limitText how the error names the limit, e.g. `the model's 2048 positions`
 * @throws ShapeError when `cache` is not a {@link DecodeCache}, or `cache.length + t` exceeds `maxPositions`
 */
export function checkDecodeCache(who: string, cache: LMCache, t: number, maxPositions: number, limitText: string): asserts cache is DecodeCache {
  if (!(cache instanceof DecodeCache)) throw new ShapeError(`${who}: the cache must come from this model's newCache()`);
  if (cache.length + t > maxPositions) throw new ShapeError(`${who}: ${cache.length} cached + ${t} new tokens exceed ${limitText}`);
}

/** Per-step inputs of {@link NativeDecoder.forward} besides the ids. */
export interface DecodeStepOptions {
  /** `[batch, past + t]`, 1 = attend; null = every position. */
  attentionMask?: Int32Array | null;
  /** `[batch, t]` positions (for learned position embeddings); default past + i. */
  positionIds?: Int32Array | null;
  /** Rotary tables `[batch·t, headDim/2]` for the new positions (rotate-half layout); null = no rotary. */
  cos?: Float32Array | null;
  sin?: Float32Array | null;
  /** Logits of the last new position only (`[batch, vocab]`). */
  lastOnly?: boolean;
}

function wire(w: QuantizedWeight | null | undefined): { type: number; rows: number; cols: number; bytes: Uint8Array } | null {
  return w ? { type: GGML_TYPE_ID[w.type], rows: w.rows, cols: w.cols, bytes: w.bytes } : null;
}

/** True when the native decoder is available (the addon is built). */
export function nativeDecoderAvailable(): boolean {
  return loadNativeAddon() !== null;
}

/** lmCreate and lmForward, typed from their rows of the kernel signature table (src/backend/native-signatures.ts). */
type LmAddon = Pick<NativeKernels, 'lmCreate' | 'lmForward'>;

/**
 * A decoder held by the native addon: weights are referenced in place (the
 * typed arrays stay alive as long as this object), never copied.
 */
export class NativeDecoder {
  private readonly handle: NativeHandle;
  private readonly addon: LmAddon;
  readonly nLayer: number;

  /**
   * @throws ConfigError when the native addon is not built
   * @throws RangeError/TypeError (from the addon) naming a weight whose shape or type does not fit the spec
   */
  constructor(readonly spec: DecoderSpec) {
    const addon: LmAddon | null = loadNativeAddon();
    if (!addon) {
      throw new ConfigError('the stored-weight decoder needs the native addon; build it with `node scripts/build-native.mjs`');
    }
    this.addon = addon;
    this.nLayer = spec.layers.length;
    this.handle = addon.lmCreate({
      ...spec,
      norm: spec.norm === 'rmsnorm' ? 1 : 0,
      mlp: spec.mlp === 'swiglu' ? 1 : 0,
      embed: wire(spec.embed),
      posEmbed: wire(spec.posEmbed),
      head: wire(spec.head),
      layers: spec.layers.map((l) => ({
        ...l, qkv: wire(l.qkv), q: wire(l.q), k: wire(l.k), v: wire(l.v), o: wire(l.o),
        gate: wire(l.gate), up: wire(l.up), down: wire(l.down), window: l.window ?? 0,
      })),
    });
  }

  /** An empty cache for `batch` rows. */
  newCache(batch: number, maxPositions: number, dtype: KvCacheDtype = 'float32'): DecodeCache {
    return new DecodeCache(this.nLayer, batch, this.spec.nKvHead, this.spec.headDim, maxPositions, dtype);
  }

  /**
   * Feeds `t` tokens per row, appends them to `cache` and returns logits
   * `[batch, lastOnly ? 1 : t, vocab]`.
   * @throws ShapeError when sizes disagree or the cache is full
   */
  forward(ids: Int32Array, batch: number, t: number, cache: DecodeCache | KVCache, opts: DecodeStepOptions = {}): Float32Array {
    if (ids.length !== batch * t) throw new ShapeError(`decoder: ${ids.length} ids, expected batch·t = ${batch}·${t}`);
    if (cache.batch !== batch) throw new ShapeError(`decoder: the cache holds ${cache.batch} rows but batch is ${batch}`);
    const past = cache.length;
    cache.ensure(past + t);
    let keys: Array<Float32Array | Uint16Array>;
    let values: Array<Float32Array | Uint16Array>;
    let capacity: number;
    let half = false;
    if (cache instanceof DecodeCache) {
      ({ keys, values, capacity } = cache);
      half = cache.dtype === 'float16';
    } else {
      const bufs = Array.from({ length: this.nLayer }, (_, l) => cache.layerBuffers(l));
      keys = bufs.map((b) => b.k);
      values = bufs.map((b) => b.v);
      capacity = bufs[0]?.capacity ?? 0;
    }
    let pos = opts.positionIds ?? null;
    if (!pos) {
      pos = new Int32Array(batch * t);
      for (let b = 0; b < batch; b++) for (let i = 0; i < t; i++) pos[b * t + i] = past + i;
    }
    const logits = new Float32Array(batch * (opts.lastOnly ? 1 : t) * this.spec.vocab);
    this.addon.lmForward(
      this.handle, keys, values, ids, pos, opts.attentionMask ?? null, opts.cos ?? null, opts.sin ?? null, logits,
      batch, t, past, capacity, opts.lastOnly ?? false, half,
    );
    cache.advance(t);
    return logits;
  }
}

/** Bytes of the stored weights a decoder streams per generated token (each matrix once; a tied head counted once). */
export function decoderWeightBytes(spec: DecoderSpec): number {
  const seen = new Set<Uint8Array>();
  let n = 0;
  const add = (w: QuantizedWeight | null | undefined): void => {
    if (w && !seen.has(w.bytes)) {
      seen.add(w.bytes);
      n += w.bytes.byteLength;
    }
  };
  add(spec.head);
  for (const l of spec.layers) [l.qkv, l.q, l.k, l.v, l.o, l.gate, l.up, l.down].forEach(add);
  return n;
}

/**
 * What every inference-only causal LM over stored weights shares (GPT-2's
 * `StoredGpt2LM`, the Llama family's `StoredLlamaLM`): a {@link NativeDecoder},
 * the KV-cache element type, caches sized to the model's context, and the
 * bytes one token reads. Each family adds its config, `vocabSize` and
 * `forward` (its own position handling).
 */
export abstract class StoredDecoderLM extends Module {
  /** The native decoder over the model's stored weights. */
  protected abstract readonly decoder: NativeDecoder;
  /** Longest sequence a cache holds (the model's context), in tokens. */
  abstract readonly maxPositions: number;
  /** Element type of the caches {@link newCache} makes (`--kv-cache-dtype`). */
  kvCacheDtype: KvCacheDtype = 'float32';

  /** Bytes of every weight the decoder reads per token (matrices as stored, the head once). */
  get weightBytes(): number {
    return decoderWeightBytes(this.decoder.spec);
  }

  /** An empty cache for `batch` rows, `maxPositions` long, of {@link kvCacheDtype} elements. */
  newCache(batch: number): LMCache {
    return this.decoder.newCache(batch, this.maxPositions, this.kvCacheDtype);
  }
}
