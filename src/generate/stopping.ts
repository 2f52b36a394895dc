/**
 * Stopping criteria besides the token budget: EOS ids and stop strings.
 */
import type { GenerationTokenizer } from './tokenizer.js';

/**
 * Why a sequence ended: `eos` (an EOS token, included in the output), `stop`
 * (a stop string, included, or a completed acrostic/poem form), `length`
 * (maxNewTokens / maxLength reached), `abort` (the caller's AbortSignal).
 */
export type FinishReason = 'eos' | 'stop' | 'length' | 'abort';

/**
 * Stop strings as HF's `StopStringCriteria` matches them: a sequence stops
 * when its last token completes an occurrence of a stop string in the decoded
 * text — the occurrence may start in earlier tokens (even in the prompt) and
 * the token may run past it ("overhang"); an occurrence that ends before the
 * last token does not count (it would have stopped earlier).
 *
 * Only a short window of trailing tokens is decoded per check, so a check is
 * O(longest stop string), independent of the sequence length.
 */
export class StopStringMatcher {
  private readonly maxChars: number;
  private readonly window: number;

  constructor(
    private readonly tokenizer: GenerationTokenizer,
    readonly stopStrings: readonly string[],
  ) {
    this.maxChars = Math.max(0, ...stopStrings.map((s) => s.length));
    // A character may take up to 4 byte-level tokens; a few extra for a split first character.
    this.window = 4 * this.maxChars + 4;
  }

  /** True when `ids` (prompt + generated, real tokens) ends a stop string with its last token. */
  matches(ids: Int32Array): boolean {
    const n = ids.length;
    if (n === 0 || this.stopStrings.length === 0) return false;
    const from = Math.max(0, n - this.window);
    const win: number[] = Array.from(ids.subarray(from, n));
    const full = this.tokenizer.decode(win);
    const before = this.tokenizer.decode(win.slice(0, -1));
    // Text common to both is "old"; an occurrence must end after it.
    let common = 0;
    const lim = Math.min(full.length, before.length);
    while (common < lim && full.charCodeAt(common) === before.charCodeAt(common)) common++;
    if (common === full.length) return false;
    for (const s of this.stopStrings) {
      if (full.indexOf(s, Math.max(0, common - s.length + 1)) >= 0) return true;
    }
    return false;
  }
}
