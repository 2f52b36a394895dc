/**
 * Masked-language-model data: examples cut from documents, whole-word spans
 * for Chinese, and the dynamic-masking collator of BERT/RoBERTa (Devlin et al.
 * 2019 §3.1: 15% of tokens are predicted, of which 80% become `[MASK]`, 10% a
 * random token and 10% stay unchanged; RoBERTa (Liu et al. 2019 §4.1) draws a
 * fresh mask every time a sequence is batched). Behaviour follows Hugging Face's
 * `DataCollatorForLanguageModeling` and `DataCollatorForWholeWordMask`.
 * No tensor code: batches are flat `Int32Array`s.
 */
import { ConfigError } from '../../errors.js';
import type { RandomSource } from '../../data/lm-batches.js';

/** Random numbers the collator needs (the engine's `Generator` fits). */
export interface MlmRandom extends RandomSource {
  /** Uniform in [0, 1). */
  random(): number;
}

/** One MLM example: token ids with `[CLS]`/`[SEP]` already in place, and optional word ids. */
export interface MlmExample {
  ids: Int32Array;
  /** Per token, the index of the word it belongs to (whole-word masking); −1 = never masked. Absent = each token is its own word. */
  wordIds?: Int32Array;
}

/** A padded MLM batch, `[batchSize, seqLen]` row-major. */
export interface MlmBatch {
  /** Input ids after masking. */
  inputIds: Int32Array;
  /** 1 = real token, 0 = padding. */
  attentionMask: Int32Array;
  /** The original id at positions to predict, −100 elsewhere (PyTorch `ignore_index`). */
  labels: Int32Array;
  batchSize: number;
  seqLen: number;
}

/** Options of {@link MlmCollator}. */
export interface MlmCollatorOptions {
  maskTokenId: number;
  padTokenId: number;
  /** Ids never selected for prediction (`[CLS]`, `[SEP]`, `[PAD]`, …). */
  specialIds: Iterable<number>;
  /** Ids a "random token" replacement draws from, uniformly (default: every id below `vocabSize` that is not special). */
  randomTokenIds?: Int32Array;
  vocabSize: number;
  /** Probability a token (or word) is selected for prediction. Default 0.15. */
  mlmProbability?: number;
  /** Share of selected tokens replaced by `[MASK]`. Default 0.8. */
  maskReplaceProbability?: number;
  /** Share of selected tokens replaced by a random token. Default 0.1 (the rest stay unchanged). */
  randomReplaceProbability?: number;
  /** Mask whole words ({@link MlmExample.wordIds}) instead of single tokens. Default false. */
  wholeWordMask?: boolean;
}

/**
 * Dynamic masking: every call to {@link MlmCollator.collate} draws new
 * masks. Token mode selects each non-special token independently with
 * probability `mlmProbability` (HF `DataCollatorForLanguageModeling`);
 * whole-word mode shuffles the words of a row and selects whole words until
 * `max(1, round(nTokens · mlmProbability))` tokens are covered, skipping a word
 * that would overshoot (HF `DataCollatorForWholeWordMask`). Then each
 * selected token becomes `[MASK]` (80%), a random token (10%) or stays (10%).
 * A batch with no selected token gets one (so its loss is defined).
 */
export class MlmCollator {
  readonly opts: Required<Omit<MlmCollatorOptions, 'specialIds' | 'randomTokenIds'>>;
  private readonly special: Set<number>;
  private readonly randomIds: Int32Array;

  /** @throws ConfigError for probabilities outside [0, 1] or ids outside the vocabulary */
  constructor(opts: MlmCollatorOptions) {
    this.opts = {
      maskTokenId: opts.maskTokenId,
      padTokenId: opts.padTokenId,
      vocabSize: opts.vocabSize,
      mlmProbability: opts.mlmProbability ?? 0.15,
      maskReplaceProbability: opts.maskReplaceProbability ?? 0.8,
      randomReplaceProbability: opts.randomReplaceProbability ?? 0.1,
      wholeWordMask: opts.wholeWordMask ?? false,
    };
    const o = this.opts;
    if (!(o.mlmProbability > 0 && o.mlmProbability <= 1)) throw new ConfigError(`mlmProbability must be in (0, 1], got ${o.mlmProbability}`);
    if (!(o.maskReplaceProbability >= 0 && o.randomReplaceProbability >= 0 && o.maskReplaceProbability + o.randomReplaceProbability <= 1)) {
      throw new ConfigError(`maskReplaceProbability (${o.maskReplaceProbability}) + randomReplaceProbability (${o.randomReplaceProbability}) must be within [0, 1]`);
    }
    if (!(o.maskTokenId >= 0 && o.maskTokenId < o.vocabSize)) throw new ConfigError(`maskTokenId ${o.maskTokenId} is outside the vocabulary of ${o.vocabSize}; the tokenizer needs a [MASK] token`);
    this.special = new Set(opts.specialIds);
    this.special.add(o.padTokenId);
    this.special.add(o.maskTokenId);
    if (opts.randomTokenIds) this.randomIds = opts.randomTokenIds;
    else {
      const ids: number[] = [];
      for (let i = 0; i < o.vocabSize; i++) if (!this.special.has(i)) ids.push(i);
      this.randomIds = Int32Array.from(ids);
    }
    if (this.randomIds.length === 0) throw new ConfigError('MlmCollator: no ids left for random replacement');
  }

  /**
   * Pad `examples` to the longest and mask them.
   * @returns the batch; `rng` is advanced (a different mask every call)
   */
  collate(examples: readonly MlmExample[], rng: MlmRandom): MlmBatch {
    const B = examples.length;
    let T = 0;
    for (const e of examples) T = Math.max(T, e.ids.length);
    const inputIds = new Int32Array(B * T).fill(this.opts.padTokenId);
    const attentionMask = new Int32Array(B * T);
    const labels = new Int32Array(B * T).fill(-100);
    const selected = new Uint8Array(B * T);
    let count = 0;
    for (let b = 0; b < B; b++) {
      const e = examples[b];
      inputIds.set(e.ids, b * T);
      attentionMask.fill(1, b * T, b * T + e.ids.length);
      count += this.opts.wholeWordMask ? this.selectWords(e, selected, b * T, rng) : this.selectTokens(e, selected, b * T, rng);
    }
    if (count === 0) {
      // Force one prediction so the mean loss is defined (HF would return NaN).
      const cands: number[] = [];
      for (let b = 0; b < B; b++) {
        const e = examples[b];
        for (let i = 0; i < e.ids.length; i++) if (!this.special.has(e.ids[i])) cands.push(b * T + i);
      }
      if (cands.length) selected[cands[rng.randint(0, cands.length)]] = 1;
    }
    const { maskReplaceProbability: pm, randomReplaceProbability: pr, maskTokenId } = this.opts;
    for (let i = 0; i < B * T; i++) {
      if (!selected[i]) continue;
      labels[i] = inputIds[i]!;
      const u = rng.random();
      if (u < pm) inputIds[i] = maskTokenId;
      else if (u < pm + pr) inputIds[i] = this.randomIds[rng.randint(0, this.randomIds.length)]!;
    }
    return { inputIds, attentionMask, labels, batchSize: B, seqLen: T };
  }

  private selectTokens(e: MlmExample, selected: Uint8Array, base: number, rng: MlmRandom): number {
    let n = 0;
    for (let i = 0; i < e.ids.length; i++) {
      if (this.special.has(e.ids[i]) || (e.wordIds && e.wordIds[i] < 0)) continue;
      if (rng.random() < this.opts.mlmProbability) {
        selected[base + i] = 1;
        n++;
      }
    }
    return n;
  }

  private selectWords(e: MlmExample, selected: Uint8Array, base: number, rng: MlmRandom): number {
    const words = new Map<number, number[]>();
    let nTokens = 0;
    for (let i = 0; i < e.ids.length; i++) {
      if (this.special.has(e.ids[i])) continue;
      const w = e.wordIds ? e.wordIds[i] : i;
      if (w < 0) continue;
      nTokens++;
      const list = words.get(w);
      if (list) list.push(i);
      else words.set(w, [i]);
    }
    if (nTokens === 0) return 0;
    const groups = [...words.values()];
    for (let i = groups.length - 1; i > 0; i--) {
      const j = rng.randint(0, i + 1);
      [groups[i], groups[j]] = [groups[j], groups[i]];
    }
    const budget = Math.max(1, Math.round(nTokens * this.opts.mlmProbability));
    let n = 0;
    for (const g of groups) {
      if (n >= budget) break;
      if (n + g.length > budget) continue;
      for (const i of g) selected[base + i] = 1;
      n += g.length;
    }
    return n;
  }
}

/**
 * Cut a document's token ids into pieces of at most `maxTokens`, ending each
 * piece after the last boundary token (e.g. `。`) that fits, or at `maxTokens`
 * when no boundary fits, so examples hold whole sentences where possible.
 * @param ids `[n]` token ids (no special tokens)
 * @param isBoundary true for ids after which a piece may end
 * @returns `[start, end)` index pairs covering `ids` in order
 * @throws ConfigError when `maxTokens` < 1
 */
export function chunkAtBoundaries(ids: ArrayLike<number>, maxTokens: number, isBoundary: (id: number) => boolean): [number, number][] {
  if (!Number.isInteger(maxTokens) || maxTokens < 1) throw new ConfigError(`maxTokens must be a positive integer, got ${maxTokens}`);
  const out: [number, number][] = [];
  let start = 0;
  while (start < ids.length) {
    const limit = Math.min(ids.length, start + maxTokens);
    let end = limit;
    if (limit < ids.length) {
      for (let i = limit - 1; i > start; i--) if (isBoundary(ids[i])) {
        end = i + 1;
        break;
      }
    }
    out.push([start, end]);
    start = end;
  }
  return out;
}

/**
 * Word spans of Chinese text for whole-word masking, from ICU's dictionary
 * word segmenter (`Intl.Segmenter('zh', {granularity: 'word'})`, built into
 * Node.js) in place of the LTP segmenter Chinese BERT-wwm used (Cui et al. 2019).
 * @returns per code point of `text`, the index of its word; −1 for
 *   non-word segments (punctuation, spaces)
 */
export function chineseWordIds(text: string): Int32Array {
  const seg = new Intl.Segmenter('zh', { granularity: 'word' });
  const chars = [...text];
  const out = new Int32Array(chars.length).fill(-1);
  let cp = 0;
  let word = 0;
  for (const s of seg.segment(text)) {
    const len = [...s.segment].length;
    if (s.isWordLike) {
      out.fill(word, cp, cp + len);
      word++;
    }
    cp += len;
  }
  return out;
}

/**
 * Random batches of examples with (nearly) the same length, so that little of
 * a padded batch is padding: the purpose of Hugging Face's `group_by_length`
 * (`LengthGroupedSampler`, which sorts shuffled megabatches). Here sampling is
 * stateless, so a resumed run draws exactly the batches it would have drawn:
 * the first example of a batch is drawn uniformly from all examples, the
 * others uniformly (with replacement) from its length bucket. Every example
 * therefore has the same chance 1/n per draw, as with plain uniform batches;
 * only which examples share a batch changes.
 *
 * Buckets: examples sorted by length, consecutive lengths merged until a
 * bucket holds at least `minBucketSize` examples (a short tail joins the
 * bucket before it), so a bucket spans few lengths when the corpus has many
 * examples of each (regulated verse: 26, 34, 50, 66 tokens).
 */
export class LengthGroupedSampler {
  /** Example indices of each bucket. */
  readonly buckets: Int32Array[];
  private readonly bucketOf: Int32Array;

  /**
   * @param lengths `[n]` example lengths in tokens
   * @param minBucketSize smallest bucket (e.g. 8 × batch size, so batches still mix many examples)
   * @throws ConfigError when there are no examples or `minBucketSize` < 1
   */
  constructor(lengths: ArrayLike<number>, minBucketSize: number) {
    const n = lengths.length;
    if (n === 0) throw new ConfigError('LengthGroupedSampler: no examples');
    if (!Number.isInteger(minBucketSize) || minBucketSize < 1) throw new ConfigError(`LengthGroupedSampler: minBucketSize must be a positive integer, got ${minBucketSize}`);
    const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => lengths[a] - lengths[b] || a - b);
    const groups: number[][] = [];
    let cur: number[] = [];
    for (let k = 0; k < n; k++) {
      cur.push(order[k]);
      const lengthEnds = k + 1 === n || lengths[order[k + 1]] !== lengths[order[k]];
      if (lengthEnds && cur.length >= minBucketSize) {
        groups.push(cur);
        cur = [];
      }
    }
    if (cur.length) {
      if (groups.length) groups[groups.length - 1].push(...cur);
      else groups.push(cur);
    }
    this.buckets = groups.map((g) => Int32Array.from(g));
    this.bucketOf = new Int32Array(n);
    this.buckets.forEach((g, b) => g.forEach((i) => (this.bucketOf[i] = b)));
  }

  /**
   * Indices of one batch.
   * @param batchSize examples per batch
   * @returns `[batchSize]` example indices, all from one bucket
   */
  sample(batchSize: number, rng: RandomSource): number[] {
    const first = rng.randint(0, this.bucketOf.length);
    const bucket = this.buckets[this.bucketOf[first]];
    const out = [first];
    for (let i = 1; i < batchSize; i++) out.push(bucket[rng.randint(0, bucket.length)]);
    return out;
  }
}
