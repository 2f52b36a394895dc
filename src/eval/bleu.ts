/**
 * BLEU (Papineni et al., 2002) with sacreBLEU 2.x's exact semantics
 * (`sacrebleu/metrics/bleu.py`): tokenization, clipped n-gram counts against
 * the per-n-gram maximum over references, closest reference length (ties go
 * to the shorter), brevity penalty, the four smoothing methods of Chen &
 * Cherry (2014) as sacreBLEU implements them, effective order, and the
 * reproducibility signature.
 */
import { ConfigError } from '../errors.js';
import { NgramMatcher } from './ngram-match.js';
import { pyLower, pyRstrip } from './pytext.js';
import { type BleuTokenizerName, getBleuTokenizer, type Tokenizer } from './sacrebleu-tokenizers.js';
import { LocalIds, Vocab } from './token-ids.js';
import { EVAL_VERSION } from './version.js';
import { checkReferenceStreams, type NumRefs, referencesOf } from './references.js';

/** sacreBLEU's smoothing methods: `exp` (NIST, default), `floor`, `add-k`, `none`. */
export type SmoothMethod = 'exp' | 'floor' | 'add-k' | 'none';

/** Default `smoothValue` per method (sacreBLEU's `SMOOTH_DEFAULTS`); `null`: takes no value. */
export const SMOOTH_DEFAULTS: Readonly<Record<SmoothMethod, number | null>> = {
  none: null,
  floor: 0.1,
  'add-k': 1,
  exp: null,
};

/** Options of {@link corpusBleu} and {@link sentenceBleu}; defaults are sacreBLEU's. */
export interface BleuOptions {
  /** Tokenizer (default `13a`). */
  tokenize?: BleuTokenizerName;
  /** Smoothing (default `exp`). */
  smoothMethod?: SmoothMethod;
  /** Value for `floor` (default 0.1) and `add-k` (default 1); ignored by the others. */
  smoothValue?: number;
  /** Lowercase hypotheses and references first (default false). */
  lowercase?: boolean;
  /**
   * Average only over n-gram orders the hypothesis has (default false for
   * corpus BLEU, true for sentence BLEU, as in sacreBLEU's `sentence_bleu`).
   */
  effectiveOrder?: boolean;
  /** Highest n-gram order (default 4). */
  maxNgramOrder?: number;
}

/** A BLEU result; field meanings follow sacreBLEU's `BLEUScore`. */
export interface BleuScore {
  /** BLEU in [0, 100]. */
  score: number;
  /** Clipped n-gram matches for n = 1…maxNgramOrder (with `add-k`, including the added k for n ≥ 2, as sacreBLEU reports them). */
  counts: number[];
  /** Hypothesis n-gram totals for n = 1…maxNgramOrder (same `add-k` note). */
  totals: number[];
  /** Smoothed n-gram precisions in percent. */
  precisions: number[];
  /** Brevity penalty in [0, 1]. */
  bp: number;
  /** Hypothesis length in tokens (summed over the corpus). */
  sysLen: number;
  /** Effective reference length in tokens (closest reference per segment, summed). */
  refLen: number;
  /** sacreBLEU-style signature, e.g. `nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:muse-0.1.0`. */
  signature: string;
}

/** Per-segment sufficient statistics: `width` numbers per segment, `[sysLen, refLen, correct₁…N, total₁…N]`. */
export interface BleuStatistics {
  stats: Float64Array;
  width: number;
  segments: number;
  nrefs: NumRefs;
}

interface ResolvedBleuOptions {
  tokenize: BleuTokenizerName;
  smoothMethod: SmoothMethod;
  smoothValue: number | undefined;
  lowercase: boolean;
  effectiveOrder: boolean;
  maxNgramOrder: number;
}

function resolve(opts: BleuOptions, effectiveDefault: boolean): ResolvedBleuOptions {
  const smoothMethod = opts.smoothMethod ?? 'exp';
  if (!(smoothMethod in SMOOTH_DEFAULTS)) {
    throw new ConfigError(`unknown BLEU smoothing "${smoothMethod}"; use one of exp, floor, add-k, none`);
  }
  const maxNgramOrder = opts.maxNgramOrder ?? 4;
  if (!Number.isInteger(maxNgramOrder) || maxNgramOrder < 1) {
    throw new ConfigError(`maxNgramOrder must be a positive integer, got ${maxNgramOrder}`);
  }
  const tokenize = opts.tokenize ?? '13a';
  getBleuTokenizer(tokenize); // validates the name
  return {
    tokenize,
    smoothMethod,
    smoothValue: opts.smoothValue,
    lowercase: opts.lowercase ?? false,
    effectiveOrder: opts.effectiveOrder ?? effectiveDefault,
    maxNgramOrder,
  };
}

/** The signature string for these options (sacreBLEU's `BLEUSignature.format()`). */
export function bleuSignature(opts: BleuOptions, nrefs: NumRefs, extra: { bootstrap?: number; seed?: number } = {}): string {
  const o = resolve(opts, false);
  let smooth: string = o.smoothMethod;
  const def = SMOOTH_DEFAULTS[o.smoothMethod];
  if (def !== null) smooth += `[${(o.smoothValue ?? def).toFixed(2)}]`;
  const parts = [`nrefs:${nrefs}`];
  if (extra.bootstrap !== undefined) parts.push(`bs:${extra.bootstrap}`);
  if (extra.seed !== undefined) parts.push(`seed:${extra.seed}`);
  parts.push(
    `case:${o.lowercase ? 'lc' : 'mixed'}`,
    `eff:${o.effectiveOrder ? 'yes' : 'no'}`,
    `tok:${o.tokenize}`,
    `smooth:${smooth}`,
    `version:${EVAL_VERSION}`,
  );
  return parts.join('|');
}

/**
 * Computes BLEU from summed sufficient statistics exactly as sacreBLEU's
 * `BLEU.compute_bleu` does (same operations in the same order, so the same
 * floating-point result).
 *
 * @param stats `[sysLen, refLen, correct₁…N, total₁…N]` summed over segments
 * @param opts smoothing, effective order and n-gram order
 * @param signature signature string to carry in the result
 */
export function computeBleu(stats: ArrayLike<number>, opts: BleuOptions = {}, signature = ''): BleuScore {
  const o = resolve(opts, false);
  const N = o.maxNgramOrder;
  if (stats.length !== 2 + 2 * N) {
    throw new ConfigError(`BLEU statistics need ${2 + 2 * N} numbers for maxNgramOrder ${N}, got ${stats.length}`);
  }
  const sysLen = Math.trunc(stats[0]);
  const refLen = Math.trunc(stats[1]);
  const correct: number[] = [];
  const total: number[] = [];
  for (let n = 0; n < N; n++) {
    correct.push(stats[2 + n]);
    total.push(stats[2 + N + n]);
  }
  const smoothValue = o.smoothValue ?? SMOOTH_DEFAULTS[o.smoothMethod] ?? 0;

  let bp: number;
  if (sysLen < refLen) bp = sysLen > 0 ? Math.exp(1 - refLen / sysLen) : 0.0;
  else bp = 1.0;

  const precisions = new Array<number>(N).fill(0);
  // no match at all: score 0 without smoothing (sacreBLEU #141)
  if (!correct.some((c) => c !== 0)) {
    return { score: 0, counts: correct, totals: total, precisions, bp, sysLen, refLen, signature };
  }

  let smoothMteval = 1;
  let effOrder = N;
  for (let n = 1; n <= N; n++) {
    if (o.smoothMethod === 'add-k' && n > 1) {
      correct[n - 1] += smoothValue;
      total[n - 1] += smoothValue;
    }
    if (total[n - 1] === 0) break;
    if (o.effectiveOrder) effOrder = n;
    if (correct[n - 1] === 0) {
      if (o.smoothMethod === 'exp') {
        smoothMteval *= 2;
        precisions[n - 1] = 100 / (smoothMteval * total[n - 1]);
      } else if (o.smoothMethod === 'floor') {
        precisions[n - 1] = (100 * smoothValue) / total[n - 1];
      }
    } else {
      precisions[n - 1] = (100 * correct[n - 1]) / total[n - 1];
    }
  }
  let logSum = 0;
  for (let n = 0; n < effOrder; n++) logSum += precisions[n] === 0 ? -9999999999 : Math.log(precisions[n]);
  const score = bp * Math.exp(logSum / effOrder);
  return { score, counts: correct, totals: total, precisions, bp, sysLen, refLen, signature };
}

/** Preprocessing shared by hypotheses and references, with sacreBLEU's tokenization cache. */
class BleuPreprocessor {
  private readonly tokenizer: Tokenizer;
  private readonly cache = new Map<string, Int32Array>();
  readonly vocab = new Vocab();

  constructor(private readonly opts: ResolvedBleuOptions) {
    this.tokenizer = getBleuTokenizer(opts.tokenize);
  }

  ids(line: string): Int32Array {
    let ids = this.cache.get(line);
    if (ids === undefined) {
      const text = this.opts.lowercase ? pyLower(line) : line;
      ids = this.vocab.encode(this.tokenizer(pyRstrip(text)));
      if (this.cache.size > 1 << 20) this.cache.clear();
      this.cache.set(line, ids);
    }
    return ids;
  }
}

/** Scratch buffers reused across segments. */
class Scratch {
  ints: Int32Array[] = [];
  int(i: number, len: number): Int32Array {
    if (!this.ints[i] || this.ints[i].length < len) this.ints[i] = new Int32Array(Math.max(len, 64) * 2);
    return this.ints[i];
  }
}

function closestRefLen(hypLen: number, refLens: number[]): number {
  let closestDiff = -1;
  let closestLen = -1;
  for (const refLen of refLens) {
    const diff = Math.abs(hypLen - refLen);
    if (closestDiff === -1 || diff < closestDiff) {
      closestDiff = diff;
      closestLen = refLen;
    } else if (diff === closestDiff && refLen < closestLen) {
      closestLen = refLen;
    }
  }
  return closestLen;
}

/**
 * Per-segment BLEU sufficient statistics (sacreBLEU's
 * `_extract_corpus_statistics`), the input of {@link computeBleu} and of
 * bootstrap resampling.
 *
 * @param hyps hypotheses, one per segment
 * @param refs reference streams, `refs[stream][segment]`; an empty string
 *   means "no reference from this stream for this segment"
 * @throws ConfigError when stream lengths differ from `hyps`, or a segment
 *   has no non-empty reference
 */
export function bleuStatistics(hyps: readonly string[], refs: readonly (readonly string[])[], opts: BleuOptions = {}): BleuStatistics {
  const o = resolve(opts, false);
  checkReferenceStreams(hyps, refs);
  const N = o.maxNgramOrder;
  const width = 2 + 2 * N;
  const stats = new Float64Array(hyps.length * width);
  const pre = new BleuPreprocessor(o);
  const local = new LocalIds();
  const scratch = new Scratch();
  const matcher = new NgramMatcher();
  const lens: number[] = [];
  const seqs: Int32Array[] = [];
  const refCounts = new Set<number>();

  const single = refs.length === 1 ? refs[0] : null;
  const refIds: Int32Array[] = [];
  const refLens: number[] = [];
  const r: Int32Array[] = [];
  for (let s = 0; s < hyps.length; s++) {
    // one stream (the common case) without per-segment allocations
    refIds.length = 0;
    if (single !== null) {
      const line = single[s];
      refIds.push(pre.ids(line === undefined || line === null ? '' : line));
    } else {
      for (const line of referencesOf(refs, s)) refIds.push(pre.ids(line));
    }
    refCounts.add(refIds.length);
    const hypIds = pre.ids(hyps[s]);
    const base = s * width;
    const hypLen = hypIds.length;
    stats[base] = hypLen;
    refLens.length = 0;
    for (const ids of refIds) refLens.push(ids.length);
    stats[base + 1] = closestRefLen(hypLen, refLens);

    local.begin(pre.vocab.size);
    const h = scratch.int(0, hypLen);
    local.map(hypIds, hypLen, h);
    r.length = 0;
    for (let k = 0; k < refIds.length; k++) {
      const buf = scratch.int(k + 1, refIds[k].length);
      local.map(refIds[k], refIds[k].length, buf);
      r.push(buf);
    }
    lens.length = 0;
    seqs.length = 0;
    lens.push(hypLen);
    seqs.push(h);
    for (let k = 0; k < r.length; k++) {
      lens.push(refLens[k]);
      seqs.push(r[k]);
    }
    for (let n = 1; n <= N; n++) stats[base + 2 + N + n - 1] = Math.max(0, hypLen - n + 1);
    matcher.match(seqs, lens, Math.max(local.distinct, 1), N, stats, base + 2, 1);
  }
  const nrefs: NumRefs = refCounts.size === 1 ? [...refCounts][0] : 'var';
  return { stats, width, segments: hyps.length, nrefs };
}

/** Sums the per-segment statistics selected by `indices` (all segments when omitted). */
export function sumStatistics(st: { stats: Float64Array; width: number; segments: number }, indices?: ArrayLike<number>): Float64Array {
  const out = new Float64Array(st.width);
  const count = indices ? indices.length : st.segments;
  for (let i = 0; i < count; i++) {
    const base = (indices ? indices[i] : i) * st.width;
    for (let j = 0; j < st.width; j++) out[j] += st.stats[base + j];
  }
  return out;
}

/**
 * Corpus-level BLEU, as `sacrebleu.corpus_bleu(hyps, refs, …)` /
 * `BLEU(…).corpus_score(hyps, refs)`.
 *
 * @param hyps system outputs, one per segment
 * @param refs reference streams, `refs[stream][segment]` (any number of
 *   streams; an empty line in a stream drops that reference for the segment)
 * @param opts tokenizer, smoothing, lowercasing, effective order (default off)
 * @returns the score with its counts, precisions, brevity penalty and signature
 * @throws ConfigError for mismatched stream lengths, an unknown option value,
 *   or a segment without any non-empty reference
 */
export function corpusBleu(hyps: readonly string[], refs: readonly (readonly string[])[], opts: BleuOptions = {}): BleuScore {
  const o = resolve(opts, false);
  const st = bleuStatistics(hyps, refs, o);
  return computeBleu(sumStatistics(st), o, bleuSignature(o, st.nrefs));
}

/**
 * Sentence-level BLEU of one hypothesis against its references, as
 * `sacrebleu.sentence_bleu(hyp, refs)` (effective order on by default).
 *
 * @throws ConfigError when every reference is empty
 */
export function sentenceBleu(hyp: string, refs: readonly string[], opts: BleuOptions = {}): BleuScore {
  const o = resolve(opts, true);
  return corpusBleu([hyp], refs.map((r) => [r]), o);
}
