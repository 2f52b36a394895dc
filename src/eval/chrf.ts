/**
 * chrF (Popović, 2015) and chrF++ (Popović, 2017) with sacreBLEU 2.x's
 * semantics (`sacrebleu/metrics/chrf.py`): character n-grams up to order 6
 * on the text with all whitespace removed, optional word n-grams (chrF++:
 * order 2) on words with leading/trailing ASCII punctuation split off,
 * β = 2, the best-F reference per segment, and — by default — sacreBLEU's
 * effective-order averaging; `epsSmoothing` gives chrF++.py/NLTK/Moses'
 * ε-smoothed variant.
 */
import { ConfigError } from '../errors.js';
import { NgramMatcher } from './ngram-match.js';
import { codePoints, pyLower, pySplit, removeWhitespace } from './pytext.js';
import { checkReferenceStreams, type NumRefs, referencesOf } from './references.js';
import { LocalIds, Vocab } from './token-ids.js';
import { EVAL_VERSION } from './version.js';

/** Options of {@link corpusChrf} and {@link sentenceChrf}; defaults are sacreBLEU's. */
export interface ChrfOptions {
  /** Character n-gram order (default 6). */
  charOrder?: number;
  /** Word n-gram order: 0 for chrF (default), 2 for chrF++. */
  wordOrder?: number;
  /** Recall weight β (default 2). */
  beta?: number;
  /** Lowercase first (default false). */
  lowercase?: boolean;
  /** Keep whitespace inside character n-grams (default false: whitespace is removed). */
  whitespace?: boolean;
  /** ε-smoothing as chrF++.py, Moses and NLTK (default false: sacreBLEU's effective order). */
  epsSmoothing?: boolean;
}

/** A chrF result. */
export interface ChrfScore {
  /** chrF in [0, 100]. */
  score: number;
  /** `chrF2`, `chrF2++`, … as sacreBLEU names it. */
  name: string;
  charOrder: number;
  wordOrder: number;
  beta: number;
  /** e.g. `nrefs:1|case:mixed|eff:yes|nc:6|nw:0|space:no|version:muse-0.1.0`. */
  signature: string;
}

/** Per-segment sufficient statistics: `3 × (charOrder + wordOrder)` numbers per segment, `[hyp, ref, match]` per order. */
export interface ChrfStatistics {
  stats: Float64Array;
  width: number;
  segments: number;
  nrefs: NumRefs;
}

type Resolved = Required<ChrfOptions>;

function resolve(opts: ChrfOptions): Resolved {
  const o: Resolved = {
    charOrder: opts.charOrder ?? 6,
    wordOrder: opts.wordOrder ?? 0,
    beta: opts.beta ?? 2,
    lowercase: opts.lowercase ?? false,
    whitespace: opts.whitespace ?? false,
    epsSmoothing: opts.epsSmoothing ?? false,
  };
  if (!Number.isInteger(o.charOrder) || o.charOrder < 0) throw new ConfigError(`chrF charOrder must be an integer ≥ 0, got ${o.charOrder}`);
  if (!Number.isInteger(o.wordOrder) || o.wordOrder < 0) throw new ConfigError(`chrF wordOrder must be an integer ≥ 0, got ${o.wordOrder}`);
  if (o.charOrder + o.wordOrder === 0) throw new ConfigError('chrF needs charOrder + wordOrder ≥ 1');
  if (!(o.beta >= 0)) throw new ConfigError(`chrF beta must be ≥ 0, got ${o.beta}`);
  return o;
}

/** The signature string for these options (sacreBLEU's `CHRFSignature.format()`). */
export function chrfSignature(opts: ChrfOptions, nrefs: NumRefs, extra: { bootstrap?: number; seed?: number } = {}): string {
  const o = resolve(opts);
  const parts = [`nrefs:${nrefs}`];
  if (extra.bootstrap !== undefined) parts.push(`bs:${extra.bootstrap}`);
  if (extra.seed !== undefined) parts.push(`seed:${extra.seed}`);
  parts.push(
    `case:${o.lowercase ? 'lc' : 'mixed'}`,
    `eff:${o.epsSmoothing ? 'no' : 'yes'}`,
    `nc:${o.charOrder}`,
    `nw:${o.wordOrder}`,
    `space:${o.whitespace ? 'yes' : 'no'}`,
    `version:${EVAL_VERSION}`,
  );
  return parts.join('|');
}

/**
 * The chrF F-score in [0, 100] from `[hyp, ref, match]` triples per order,
 * as sacreBLEU's `CHRF._compute_f_score` computes it.
 */
export function chrfFScore(stats: ArrayLike<number>, opts: ChrfOptions = {}): number {
  const o = resolve(opts);
  const order = o.charOrder + o.wordOrder;
  const eps = 1e-16;
  const factor = o.beta ** 2;
  let score = 0;
  let effectiveOrder = 0;
  let avgPrec = 0;
  let avgRec = 0;
  for (let i = 0; i < order; i++) {
    const nHyp = stats[3 * i];
    const nRef = stats[3 * i + 1];
    const nMatch = stats[3 * i + 2];
    const prec = nHyp > 0 ? nMatch / nHyp : eps;
    const rec = nRef > 0 ? nMatch / nRef : eps;
    const denom = factor * prec + rec;
    score += denom > 0 ? ((1 + factor) * prec * rec) / denom : eps;
    if (nHyp > 0 && nRef > 0) {
      avgPrec += prec;
      avgRec += rec;
      effectiveOrder++;
    }
  }
  if (o.epsSmoothing) return (100 * score) / order;
  if (effectiveOrder === 0) {
    avgPrec = 0;
    avgRec = 0;
  } else {
    avgPrec /= effectiveOrder;
    avgRec /= effectiveOrder;
  }
  if (avgPrec + avgRec) {
    score = (1 + factor) * avgPrec * avgRec;
    score /= factor * avgPrec + avgRec;
    return 100 * score;
  }
  return 0;
}

const PUNCTS = new Set('!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~');

/**
 * chrF++'s word splitting (sacreBLEU's `_remove_punctuation`): whitespace
 * split, then one trailing — or else one leading — ASCII punctuation mark is
 * split off each word longer than one character.
 */
export function chrfWords(sent: string): string[] {
  const out: string[] = [];
  for (const w of pySplit(sent)) {
    // Python indexes code points; w[-1] / w[0] / len(w) below do the same
    const cps = codePoints(w);
    if (cps.length === 1) out.push(w);
    else {
      const last = String.fromCodePoint(cps[cps.length - 1]);
      const first = String.fromCodePoint(cps[0]);
      if (PUNCTS.has(last)) out.push(w.slice(0, w.length - last.length), last);
      else if (PUNCTS.has(first)) out.push(first, w.slice(first.length));
      else out.push(w);
    }
  }
  return out;
}

/** A segment side prepared for matching: code points and word ids. */
interface Prepared {
  chars: number[];
  words: Int32Array;
}

class ChrfPreprocessor {
  private readonly cache = new Map<string, Prepared>();
  readonly words = new Vocab();
  constructor(private readonly o: Resolved) {}

  get(line: string): Prepared {
    let p = this.cache.get(line);
    if (p === undefined) {
      const text = this.o.lowercase ? pyLower(line) : line;
      const chars = codePoints(this.o.whitespace ? text : removeWhitespace(text));
      const words = this.o.wordOrder > 0 ? this.words.encode(chrfWords(text)) : new Int32Array(0);
      p = { chars, words };
      if (this.cache.size > 1 << 20) this.cache.clear();
      this.cache.set(line, p);
    }
    return p;
  }
}

/** `[hyp, ref, match]` of one order; `hyp` is 0 when the reference has no n-gram of that order (sacreBLEU's rule). */
function triple(out: Float64Array, at: number, nHyp: number, nRef: number, match: number): void {
  out[at] = nRef > 0 ? nHyp : 0;
  out[at + 1] = nRef;
  out[at + 2] = match;
}

/**
 * Per-segment chrF statistics (best-F reference per segment), the input of
 * {@link chrfFScore} after summing, and of bootstrap resampling.
 * @throws ConfigError for mismatched stream lengths or a segment without references
 */
export function chrfStatistics(hyps: readonly string[], refs: readonly (readonly string[])[], opts: ChrfOptions = {}): ChrfStatistics {
  const o = resolve(opts);
  checkReferenceStreams(hyps, refs);
  const order = o.charOrder + o.wordOrder;
  const width = 3 * order;
  const stats = new Float64Array(hyps.length * width);
  const pre = new ChrfPreprocessor(o);
  const charIds = new LocalIds(256);
  const wordIds = new LocalIds(1024);
  const matcher = new NgramMatcher();
  const matches = new Float64Array(Math.max(o.charOrder, o.wordOrder, 1));
  const cand = new Float64Array(width);
  let hypLocal = new Int32Array(256);
  let refLocal = new Int32Array(256);
  const refCounts = new Set<number>();

  for (let s = 0; s < hyps.length; s++) {
    const refLines = referencesOf(refs, s);
    refCounts.add(refLines.length);
    const hyp = pre.get(hyps[s]);
    const base = s * width;
    let bestF = -1;
    for (const refLine of refLines) {
      const ref = pre.get(refLine);
      // character orders
      let maxCp = 0;
      for (const c of hyp.chars) if (c > maxCp) maxCp = c;
      for (const c of ref.chars) if (c > maxCp) maxCp = c;
      charIds.begin(maxCp);
      if (hypLocal.length < hyp.chars.length) hypLocal = new Int32Array(2 * hyp.chars.length);
      if (refLocal.length < ref.chars.length) refLocal = new Int32Array(2 * ref.chars.length);
      charIds.map(hyp.chars, hyp.chars.length, hypLocal);
      charIds.map(ref.chars, ref.chars.length, refLocal);
      fillOrders(cand, 0, o.charOrder, hypLocal, hyp.chars.length, refLocal, ref.chars.length, Math.max(charIds.distinct, 1), matcher, matches);
      if (o.wordOrder > 0) {
        wordIds.begin(pre.words.size);
        const hw = new Int32Array(hyp.words.length);
        const rw = new Int32Array(ref.words.length);
        wordIds.map(hyp.words, hyp.words.length, hw);
        wordIds.map(ref.words, ref.words.length, rw);
        fillOrders(cand, 3 * o.charOrder, o.wordOrder, hw, hw.length, rw, rw.length, Math.max(wordIds.distinct, 1), matcher, matches);
      }
      const f = chrfFScore(cand, o);
      if (f > bestF) {
        bestF = f;
        stats.set(cand, base);
      }
    }
  }
  const nrefs: NumRefs = refCounts.size === 1 ? [...refCounts][0] : 'var';
  return { stats, width, segments: hyps.length, nrefs };
}

/** Fills `[hyp, ref, match]` triples for orders 1…`orders` starting at `out[at]`. */
function fillOrders(
  out: Float64Array,
  at: number,
  orders: number,
  h: Int32Array,
  hLen: number,
  r: Int32Array,
  rLen: number,
  alphabet: number,
  matcher: NgramMatcher,
  matches: Float64Array,
): void {
  matcher.match([h, r], [hLen, rLen], alphabet, orders, matches);
  for (let n = 1; n <= orders; n++) {
    triple(out, at + 3 * (n - 1), Math.max(0, hLen - n + 1), Math.max(0, rLen - n + 1), matches[n - 1]);
  }
}

function sum(st: ChrfStatistics): Float64Array {
  const out = new Float64Array(st.width);
  for (let s = 0; s < st.segments; s++) for (let j = 0; j < st.width; j++) out[j] += st.stats[s * st.width + j];
  return out;
}

function makeScore(score: number, o: Resolved, nrefs: NumRefs): ChrfScore {
  return {
    score,
    name: `chrF${o.beta}${'+'.repeat(o.wordOrder)}`,
    charOrder: o.charOrder,
    wordOrder: o.wordOrder,
    beta: o.beta,
    signature: chrfSignature(o, nrefs),
  };
}

/**
 * Corpus-level chrF / chrF++, as `sacrebleu.corpus_chrf(hyps, refs, …)`:
 * statistics summed over segments, then one F-score.
 *
 * @param refs reference streams, `refs[stream][segment]`
 * @throws ConfigError for mismatched stream lengths, bad options, or a
 *   segment without any non-empty reference
 */
export function corpusChrf(hyps: readonly string[], refs: readonly (readonly string[])[], opts: ChrfOptions = {}): ChrfScore {
  const o = resolve(opts);
  const st = chrfStatistics(hyps, refs, o);
  return makeScore(chrfFScore(sum(st), o), o, st.nrefs);
}

/** Sentence-level chrF of one hypothesis against its references (`sacrebleu.sentence_chrf`). */
export function sentenceChrf(hyp: string, refs: readonly string[], opts: ChrfOptions = {}): ChrfScore {
  return corpusChrf([hyp], refs.map((r) => [r]), opts);
}
