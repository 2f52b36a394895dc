/**
 * The interface between decoder language models and everything that drives
 * them (generation, perplexity, fine-tuning evaluation). It speaks in flat
 * typed arrays so that decoding code needs no tensor machinery.
 */

/** A key/value cache for incremental decoding. */
export interface LMCache {
  /** Number of positions already cached (the same for every batch row). */
  readonly length: number;
  /** Batch size this cache holds. */
  readonly batch: number;
  /**
   * Reorder/select batch rows: new row `i` becomes old row `indices[i]`
   * (`indices.length` may differ from the old batch: beam expansion/selection).
   */
  reorder(indices: Int32Array): void;
  /** Empty the cache (e.g. to re-prefill a sliding window). */
  clear(): void;
}

/** Options of {@link CausalLM.forward}. */
export interface CausalLMForwardOptions {
  /** `[batch, cache.length + t]`, 1 = real token, 0 = padding; null = all real. */
  attentionMask?: Int32Array | null;
  /** `[batch, t]`; null = `cache.length + i` for every row. */
  positionIds?: Int32Array | null;
  /** Return the logits of the last new position only (`[batch, vocabSize]`). */
  lastOnly?: boolean;
}

/**
 * The arguments of {@link CausalLM.forward} (`inputIds`, `batch`, `t`, `cache`,
 * `opts`), for classes that overload `forward` with this cached form.
 */
export type CausalLMForwardArgs = [inputIds: Int32Array, batch: number, t: number, cache: LMCache, opts?: CausalLMForwardOptions];

/** A decoder-only language model usable for generation. */
export interface CausalLM {
  /** Number of logits per position. */
  readonly vocabSize: number;
  /** Longest sequence (cache + new tokens) the model accepts (`n_positions`). */
  readonly maxPositions: number;
  /**
   * Bytes the cache holds per row and position (keys and values of every
   * layer), for the memory check of `generate()`; omitted = unknown (only the
   * logits and token history are then counted).
   */
  readonly cacheBytesPerPosition?: number;
  /** An empty cache for `batch` rows. */
  newCache(batch: number): LMCache;
  /**
   * Feed `t` new tokens per row and append them to `cache`.
   *
   * @param inputIds `[batch, t]` token ids, row-major
   * @param attentionMask `[batch, cache.length + t]`, 1 = real token, 0 = padding; null = all real
   * @param positionIds `[batch, t]`; null = `cache.length + i` for every row
   * @param lastOnly when true return logits `[batch, vocabSize]` of the last new
   *   position only; otherwise `[batch, t, vocabSize]`
   * @returns logits (float32, unnormalised)
   * @throws ShapeError when `cache.length + t > maxPositions` or sizes disagree
   */
  forward(
    inputIds: Int32Array,
    batch: number,
    t: number,
    cache: LMCache,
    opts?: CausalLMForwardOptions,
  ): Float32Array;
}
