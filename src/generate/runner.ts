/**
 * Drives a {@link CausalLM} over a {@link TokenHistory} with a KV cache:
 * prefill, one-token steps, beam reordering, left padding (attention mask and
 * position ids as HF computes them: `position_ids = cumsum(attention_mask) − 1`)
 * and the sliding window used once the context is full.
 *
 * Sliding window: GPT-2's learned absolute positions rule out shifting the
 * cache, so when the next token would exceed `maxPositions` the cache is
 * cleared and the last `windowKeep` tokens are fed again in one batched
 * forward (positions restart at 0). With the default `windowKeep` =
 * ⌊3·maxPositions/4⌋ the model always sees at least three quarters of its
 * context and the re-prefill is amortised over the following
 * maxPositions − windowKeep cached steps. `windowKeep = maxPositions` gives
 * nanoGPT's `sample.py` behaviour exactly (the last maxPositions tokens are
 * recomputed at every step, no reuse).
 */
import type { CausalLM, LMCache } from '../models/causal-lm.js';
import { ConfigError } from '../errors.js';
import type { TokenHistory } from './history.js';

export class CachedRunner {
  private cache: LMCache;
  /** First history column held in the cache. */
  private winStart = 0;
  private inputBuf: Int32Array;
  private posBuf: Int32Array;
  private maskBuf: Int32Array;
  private slid = false;
  readonly windowKeep: number;

  /**
   * @param windowKeep tokens re-fed when the window slides (1…maxPositions)
   * @param onSlide called once, the first time the window slides
   * @throws ConfigError when windowKeep is out of range
   */
  constructor(
    readonly model: CausalLM,
    private readonly history: TokenHistory,
    windowKeep: number | undefined,
    private readonly onSlide: (keep: number) => void,
  ) {
    const maxPos = model.maxPositions;
    const keep = windowKeep ?? Math.max(1, Math.floor((3 * maxPos) / 4));
    if (!Number.isInteger(keep) || keep < 1 || keep > maxPos) {
      throw new ConfigError(`windowKeep must be an integer in [1, ${maxPos}] (the model's maxPositions), got ${keep}`);
    }
    this.windowKeep = keep;
    this.cache = model.newCache(history.rows);
    const rows = history.rows;
    this.inputBuf = new Int32Array(rows * maxPos);
    this.posBuf = new Int32Array(rows * maxPos);
    this.maskBuf = new Int32Array(rows * maxPos);
  }

  /** Cached positions. */
  get cacheLength(): number {
    return this.cache.length;
  }

  /**
   * Feed every history column not yet in the cache (the prompt at first).
   * @returns logits `[rows, vocabSize]` of the last column
   */
  prefill(): Float32Array {
    return this.feed(this.winStart + this.cache.length, this.history.length);
  }

  /**
   * Feed the newest history column (the token just chosen), sliding the
   * window first when the cache is full.
   * @returns logits `[rows, vocabSize]`
   */
  step(): Float32Array {
    const len = this.history.length;
    if (this.cache.length + 1 > this.model.maxPositions) {
      if (!this.slid) {
        this.slid = true;
        this.onSlide(this.windowKeep);
      }
      this.cache.clear();
      this.winStart = len - this.windowKeep;
      return this.feed(this.winStart, len);
    }
    return this.feed(len - 1, len);
  }

  /** New row i = old row `indices[i]`, in the cache (the history is reordered by its owner). */
  reorder(indices: Int32Array): void {
    this.cache.reorder(indices);
    this.ensureRows(indices.length);
  }

  private ensureRows(rows: number): void {
    const need = rows * this.model.maxPositions;
    if (this.inputBuf.length < need) {
      this.inputBuf = new Int32Array(need);
      this.posBuf = new Int32Array(need);
      this.maskBuf = new Int32Array(need);
    }
  }

  /** Feed history columns [from, to) for every row. */
  private feed(from: number, to: number): Float32Array {
    const h = this.history;
    const rows = h.rows;
    const t = to - from;
    const past = this.cache.length;
    const total = past + t;
    if (this.cache.batch !== rows) {
      throw new RangeError(`CachedRunner: cache holds ${this.cache.batch} rows, history ${rows}`);
    }
    this.ensureRows(rows);
    const input = this.inputBuf.subarray(0, rows * t);
    const pos = this.posBuf.subarray(0, rows * t);
    let padded = false;
    for (let r = 0; r < rows; r++) {
      const first = Math.max(h.start[r], this.winStart); // first real column inside the window
      if (first > this.winStart) padded = true;
      for (let i = 0; i < t; i++) {
        const c = from + i;
        input[r * t + i] = h.at(r, c);
        pos[r * t + i] = c >= first ? c - first : 0;
      }
    }
    let mask: Int32Array | null = null;
    if (padded) {
      mask = this.maskBuf.subarray(0, rows * total);
      for (let r = 0; r < rows; r++) {
        const first = Math.max(h.start[r], this.winStart);
        for (let j = 0; j < total; j++) mask[r * total + j] = this.winStart + j >= first ? 1 : 0;
      }
    }
    // Without padding the positions are the model's default (cache.length + i): let it use its fast path.
    const positionIds = padded ? pos : null;
    return this.model.forward(input, rows, t, this.cache, { attentionMask: mask, positionIds, lastOnly: true });
  }
}
