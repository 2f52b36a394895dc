/**
 * Logits processors: each rewrites one row of next-token scores in place,
 * given the row's tokens so far. The built-in ones follow Hugging Face
 * transformers' `generation/logits_process.py` (class names kept), applied in
 * HF's order by {@link buildLogitsProcessors}: repetition penalty,
 * no-repeat-n-gram, bad words, min-new-tokens, prefix-allowed-tokens, then
 * user processors and muse's creative constraints.
 *
 * One deliberate difference: HF sees left-padding tokens as part of
 * `input_ids` (so it penalises the pad id in padded rows); here a row's
 * context holds its real tokens only, so a batched row decodes exactly like
 * the same prompt alone.
 */
import type { ResolvedGenerationConfig } from './config.js';

/** What a processor knows about the row it is processing. */
export interface RowContext {
  /** The row's real tokens so far, prompt then generated, oldest first (a view: do not keep it). */
  readonly inputIds: Int32Array;
  /** How many of `inputIds` are prompt tokens (after any left truncation). */
  readonly promptLength: number;
  /** Index of the prompt (input row) this row continues. */
  readonly batchIndex: number;
}

/**
 * A logits processor (HF `LogitsProcessor`): rewrites `scores`
 * (`[vocabSize]`, float32) in place. Setting a score to -Infinity removes the token.
 */
export interface LogitsProcessor {
  process(scores: Float32Array, ctx: RowContext): void;
}

/**
 * CTRL repetition penalty (Keskar et al. 2019, §4.1; HF
 * `RepetitionPenaltyLogitsProcessor`): for every distinct token of the
 * context (prompt + generated), a positive score is divided by `penalty`, a
 * negative one multiplied by it, once per token.
 */
export class RepetitionPenaltyLogitsProcessor implements LogitsProcessor {
  private readonly stamp: Int32Array;
  private tick = 0;

  /** @param penalty > 0; 1 is a no-op, > 1 discourages repeats. @param vocabSize scores per row */
  constructor(
    readonly penalty: number,
    vocabSize: number,
  ) {
    this.stamp = new Int32Array(vocabSize);
  }

  process(scores: Float32Array, ctx: RowContext): void {
    // A per-call stamp dedupes tokens without allocating a set.
    if (++this.tick === 0x7fffffff) {
      this.stamp.fill(0);
      this.tick = 1;
    }
    const t = this.tick;
    const ids = ctx.inputIds;
    const p = this.penalty;
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      if (id < 0 || id >= scores.length || this.stamp[id] === t) continue;
      this.stamp[id] = t;
      const s = scores[id];
      scores[id] = s < 0 ? s * p : s / p;
    }
  }
}

/**
 * No n-gram may occur twice (Paulus et al. 2017; HF
 * `NoRepeatNGramLogitsProcessor`): every token that would complete an n-gram
 * already present in the context is removed. No ban while the context is
 * shorter than n − 1 tokens.
 */
export class NoRepeatNGramLogitsProcessor implements LogitsProcessor {
  /** @param ngramSize n ≥ 1 */
  constructor(readonly ngramSize: number) {}

  process(scores: Float32Array, ctx: RowContext): void {
    const n = this.ngramSize;
    const ids = ctx.inputIds;
    const len = ids.length;
    if (len + 1 < n) return;
    const prefix = len - (n - 1); // start of the last n−1 tokens
    // Scan every earlier n-gram start j whose first n−1 tokens equal the last n−1.
    for (let j = 0; j + n <= len; j++) {
      let k = 0;
      while (k < n - 1 && ids[j + k] === ids[prefix + k]) k++;
      if (k === n - 1) {
        const banned = ids[j + n - 1];
        if (banned >= 0 && banned < scores.length) scores[banned] = -Infinity;
      }
    }
  }
}

/**
 * Bad words (HF `NoBadWordsLogitsProcessor`): a single-token bad word is
 * always removed; for a longer one, its last token is removed when the
 * context ends with the rest of it. Sequences equal to `[eos]` are dropped,
 * as HF does, so EOS stays reachable.
 */
export class NoBadWordsLogitsProcessor implements LogitsProcessor {
  private readonly single: Int32Array;
  private readonly multi: Int32Array[];

  constructor(badWordsIds: readonly (readonly number[])[], eosTokenIds: readonly number[]) {
    const kept = badWordsIds.filter((seq) => !(seq.length === 1 && eosTokenIds.includes(seq[0])));
    this.single = Int32Array.from(kept.filter((s) => s.length === 1).map((s) => s[0]));
    this.multi = kept.filter((s) => s.length > 1).map((s) => Int32Array.from(s));
  }

  process(scores: Float32Array, ctx: RowContext): void {
    for (let i = 0; i < this.single.length; i++) {
      const id = this.single[i];
      if (id < scores.length) scores[id] = -Infinity;
    }
    const ids = ctx.inputIds;
    for (const seq of this.multi) {
      const m = seq.length - 1;
      if (ids.length < m) continue;
      let match = true;
      for (let k = 0; k < m; k++) {
        if (ids[ids.length - m + k] !== seq[k]) {
          match = false;
          break;
        }
      }
      if (match && seq[m] < scores.length) scores[seq[m]] = -Infinity;
    }
  }
}

/** EOS is removed until `minNewTokens` tokens have been generated (HF `MinNewTokensLengthLogitsProcessor`). */
export class MinNewTokensLengthLogitsProcessor implements LogitsProcessor {
  constructor(
    readonly minNewTokens: number,
    readonly eosTokenIds: readonly number[],
  ) {}

  process(scores: Float32Array, ctx: RowContext): void {
    if (ctx.inputIds.length - ctx.promptLength >= this.minNewTokens) return;
    for (const e of this.eosTokenIds) if (e < scores.length) scores[e] = -Infinity;
  }
}

/**
 * Only the tokens the hook allows (HF `PrefixConstrainedLogitsProcessor`,
 * `prefix_allowed_tokens_fn`); a null/undefined answer allows everything.
 */
export class PrefixConstrainedLogitsProcessor implements LogitsProcessor {
  private readonly keep: Float32Array;

  constructor(
    readonly fn: (batchId: number, inputIds: Int32Array) => readonly number[] | null | undefined,
    vocabSize: number,
  ) {
    this.keep = new Float32Array(vocabSize);
  }

  process(scores: Float32Array, ctx: RowContext): void {
    const allowed = this.fn(ctx.batchIndex, ctx.inputIds);
    if (allowed === null || allowed === undefined) return;
    const keep = this.keep;
    for (const id of allowed) if (id >= 0 && id < scores.length) keep[id] = scores[id];
    scores.fill(-Infinity);
    for (const id of allowed) if (id >= 0 && id < scores.length) scores[id] = keep[id];
  }
}

/** Removes a fixed set of ids, e.g. model logits beyond the tokenizer's vocabulary (padded vocab rows). */
export class SuppressTokensLogitsProcessor implements LogitsProcessor {
  constructor(
    readonly from: number,
    readonly to: number,
  ) {}

  process(scores: Float32Array): void {
    scores.fill(-Infinity, this.from, Math.min(this.to, scores.length));
  }
}

/**
 * The processors `cfg` asks for, in HF's order (see the module comment),
 * followed by `extra` (user processors, creative constraints).
 */
export function buildLogitsProcessors(
  cfg: ResolvedGenerationConfig,
  vocabSize: number,
  extra: readonly LogitsProcessor[] = [],
): LogitsProcessor[] {
  const out: LogitsProcessor[] = [];
  if (cfg.repetitionPenalty !== 1) out.push(new RepetitionPenaltyLogitsProcessor(cfg.repetitionPenalty, vocabSize));
  if (cfg.noRepeatNgramSize > 0) out.push(new NoRepeatNGramLogitsProcessor(cfg.noRepeatNgramSize));
  if (cfg.badWordsIds.length > 0) out.push(new NoBadWordsLogitsProcessor(cfg.badWordsIds, cfg.eosTokenId));
  if (cfg.minNewTokens > 0 && cfg.eosTokenId.length > 0) {
    out.push(new MinNewTokensLengthLogitsProcessor(cfg.minNewTokens, cfg.eosTokenId));
  }
  if (cfg.prefixAllowedTokensFn) out.push(new PrefixConstrainedLogitsProcessor(cfg.prefixAllowedTokensFn, vocabSize));
  out.push(...extra);
  return out;
}
