/**
 * ROUGE-N, ROUGE-L and ROUGE-Lsum (Lin, 2004) with the semantics of Google's
 * `rouge-score` package (`rouge_scorer.py`, `tokenize.py`): its tokenizer
 * (lowercase, every character outside [a-z0-9] becomes a space, optional
 * NLTK Porter stemming of tokens longer than 3 characters), clipped n-gram
 * overlap, LCS, and summary-level LCS over newline-separated sentences with
 * the union-LCS and no-double-counting rule of ROUGE-1.5.5.
 *
 * rouge-score's tokenizer deletes every non-ASCII character, so Chinese text
 * scores 0. The `zh` tokenizer here keeps each CJK character (Han, kana,
 * Hangul) as a token of its own and treats the rest exactly as rouge-score;
 * `auto` (the default) uses it only for pairs that contain CJK text, so
 * scores on other text are rouge-score's.
 */
import { ConfigError } from '../errors.js';
import { clippedMatches, MAX_EXACT, sortedNgramKeys } from './ngram-match.js';
import { PorterStemmer } from './porter.js';
import { LocalIds, Vocab } from './token-ids.js';

/** ROUGE tokenizer: rouge-score's (`default`), CJK-aware (`zh`), or `zh` only when the text has CJK (`auto`). */
export type RougeTokenizerName = 'default' | 'zh' | 'auto';

/** Options of {@link rougeScores} and {@link corpusRouge}. */
export interface RougeOptions {
  /** Any of `rouge1`…`rouge9`, `rougeL`, `rougeLsum` (default: `rouge1`, `rouge2`, `rougeL`, `rougeLsum`). */
  rougeTypes?: readonly string[];
  /** Porter-stem tokens longer than 3 characters (NLTK's default mode, as rouge-score). Default false. */
  useStemmer?: boolean;
  /** Tokenizer (default `auto`). */
  tokenize?: RougeTokenizerName;
}

/** Precision, recall and F1 of one ROUGE type, each in [0, 1]. */
export interface RougeScore {
  precision: number;
  recall: number;
  fmeasure: number;
}

/** Scores keyed by ROUGE type (`rouge1`, `rougeL`, …). */
export type RougeResult = Record<string, RougeScore>;

/** The ROUGE types computed when none are named. */
export const DEFAULT_ROUGE_TYPES: readonly string[] = ['rouge1', 'rouge2', 'rougeL', 'rougeLsum'];

const CJK = '\\p{Script=Han}\\p{Script=Hiragana}\\p{Script=Katakana}\\p{Script=Hangul}';
const CJK_TEST = new RegExp(`[${CJK}]`, 'u');
const CJK_CHAR = new RegExp(`([${CJK}])`, 'gu');
const NON_ALNUM = /[^a-z0-9]+/g;
const NON_ALNUM_CJK = new RegExp(`[^a-z0-9${CJK}]+`, 'gu');

/** True when the text holds a CJK character (what `auto` looks for). */
export function hasCjk(text: string): boolean {
  return CJK_TEST.test(text);
}

/**
 * rouge-score's tokenizer (`tokenize.tokenize`), or with `cjk` the CJK-aware
 * variant: each CJK character one token, everything else unchanged.
 * @param stemmer when given, tokens longer than 3 characters are stemmed
 */
export function rougeTokenize(text: string, stemmer: PorterStemmer | null = null, cjk = false): string[] {
  let t = text.toLowerCase();
  t = cjk ? t.replace(CJK_CHAR, ' $1 ').replace(NON_ALNUM_CJK, ' ') : t.replace(NON_ALNUM, ' ');
  const out: string[] = [];
  for (const tok of t.split(' ')) {
    if (tok === '') continue;
    // only ASCII tokens can be longer than one character here, so CJK
    // tokens are never stemmed
    out.push(stemmer !== null && tok.length > 3 ? stemmer.stem(tok) : tok);
  }
  return out;
}

function checkTypes(types: readonly string[]): void {
  if (types.length === 0) throw new ConfigError('no ROUGE type requested; use e.g. rouge1, rouge2, rougeL, rougeLsum');
  for (const t of types) {
    if (t === 'rougeL' || t === 'rougeLsum') continue;
    const m = /^rouge([0-9])$/.exec(t);
    if (!m || Number(m[1]) <= 0) {
      throw new ConfigError(`invalid ROUGE type "${t}"; use rouge1…rouge9, rougeL or rougeLsum`);
    }
  }
}

function fmeasure(p: number, r: number): number {
  return p + r > 0 ? (2 * p * r) / (p + r) : 0;
}

const ZERO: RougeScore = { precision: 0, recall: 0, fmeasure: 0 };

/** Reusable state: interning, tokenization caches, buffers. */
class RougeScorer {
  private readonly vocab = new Vocab();
  private readonly local = new LocalIds(1024);
  private readonly stemmer: PorterStemmer | null;
  private readonly cache = new Map<string, Int32Array>();
  private keysA = new Float64Array(256);
  private keysB = new Float64Array(256);
  private lidA = new Int32Array(256);
  private lidB = new Int32Array(256);
  private row = new Int32Array(256);
  readonly types: readonly string[];
  private readonly mode: RougeTokenizerName;

  constructor(opts: RougeOptions) {
    this.types = opts.rougeTypes ?? DEFAULT_ROUGE_TYPES;
    checkTypes(this.types);
    this.mode = opts.tokenize ?? 'auto';
    if (!['default', 'zh', 'auto'].includes(this.mode)) {
      throw new ConfigError(`unknown ROUGE tokenizer "${this.mode}"; use default, zh or auto`);
    }
    this.stemmer = opts.useStemmer ? new PorterStemmer('NLTK_EXTENSIONS') : null;
  }

  private ids(text: string, cjk: boolean): Int32Array {
    const key = cjk ? '\u0001' + text : text;
    let ids = this.cache.get(key);
    if (ids === undefined) {
      ids = this.vocab.encode(rougeTokenize(text, this.stemmer, cjk));
      if (this.cache.size > 1 << 20) this.cache.clear();
      this.cache.set(key, ids);
    }
    return ids;
  }

  score(prediction: string, target: string): RougeResult {
    const cjk = this.mode === 'zh' || (this.mode === 'auto' && (hasCjk(prediction) || hasCjk(target)));
    const result: RougeResult = {};
    let p: Int32Array | null = null;
    let t: Int32Array | null = null;
    for (const type of this.types) {
      if (type === 'rougeLsum') {
        result[type] = this.summaryLevelLcs(this.sentences(target, cjk), this.sentences(prediction, cjk));
        continue;
      }
      p ??= this.ids(prediction, cjk);
      t ??= this.ids(target, cjk);
      result[type] = type === 'rougeL' ? this.lcsScore(t, p) : this.ngramScore(t, p, Number(type.slice(5)));
    }
    return result;
  }

  private sentences(text: string, cjk: boolean): Int32Array[] {
    return text
      .split('\n')
      .filter((s) => s.length > 0)
      .map((s) => this.ids(s, cjk));
  }

  /** rouge-score's `_score_ngrams`: clipped overlap over max(count, 1). */
  private ngramScore(target: Int32Array, pred: Int32Array, n: number): RougeScore {
    const nt = Math.max(0, target.length - n + 1);
    const np = Math.max(0, pred.length - n + 1);
    let overlap = 0;
    if (nt > 0 && np > 0) {
      this.local.begin(this.vocab.size);
      if (this.lidA.length < target.length) this.lidA = new Int32Array(2 * target.length);
      if (this.lidB.length < pred.length) this.lidB = new Int32Array(2 * pred.length);
      this.local.map(target, target.length, this.lidA);
      this.local.map(pred, pred.length, this.lidB);
      const radix = Math.max(this.local.distinct, 1);
      if (radix ** n < MAX_EXACT) {
        if (this.keysA.length < nt) this.keysA = new Float64Array(2 * nt);
        if (this.keysB.length < np) this.keysB = new Float64Array(2 * np);
        sortedNgramKeys(this.lidA, target.length, n, radix, this.keysA);
        sortedNgramKeys(this.lidB, pred.length, n, radix, this.keysB);
        overlap = clippedMatches(this.keysA, nt, this.keysB, np);
      } else {
        const count = (ids: Int32Array): Map<string, number> => {
          const m = new Map<string, number>();
          for (let i = 0; i + n <= ids.length; i++) {
            const k = Array.prototype.join.call(ids.subarray(i, i + n), ',');
            m.set(k, (m.get(k) ?? 0) + 1);
          }
          return m;
        };
        const tm = count(target);
        const pm = count(pred);
        for (const [k, c] of tm) overlap += Math.min(c, pm.get(k) ?? 0);
      }
    }
    const precision = overlap / Math.max(np, 1);
    const recall = overlap / Math.max(nt, 1);
    return { precision, recall, fmeasure: fmeasure(precision, recall) };
  }

  /** Length of the longest common subsequence, in O(min) memory. */
  private lcsLength(a: Int32Array, b: Int32Array): number {
    const cols = b.length;
    if (this.row.length < cols + 1) this.row = new Int32Array(2 * (cols + 1));
    const row = this.row;
    row.fill(0, 0, cols + 1);
    for (let i = 0; i < a.length; i++) {
      const ai = a[i];
      let diag = 0; // row[j-1] of the previous row
      for (let j = 1; j <= cols; j++) {
        const up = row[j];
        row[j] = ai === b[j - 1] ? diag + 1 : up > row[j - 1] ? up : row[j - 1];
        diag = up;
      }
    }
    return row[cols];
  }

  /** rouge-score's `_score_lcs`. */
  private lcsScore(target: Int32Array, pred: Int32Array): RougeScore {
    if (target.length === 0 || pred.length === 0) return { ...ZERO };
    const lcs = this.lcsLength(target, pred);
    const precision = lcs / pred.length;
    const recall = lcs / target.length;
    return { precision, recall, fmeasure: fmeasure(precision, recall) };
  }

  /**
   * Indices into `ref` of one LCS with `can`, read out of the full DP table
   * exactly as rouge-score's `_backtrack_norec` does (the union in ROUGE-Lsum
   * depends on which of several LCSs is taken).
   */
  private lcsIndices(ref: Int32Array, can: Int32Array): number[] {
    const rows = ref.length;
    const cols = can.length;
    const w = cols + 1;
    const t = new Int32Array((rows + 1) * w);
    for (let i = 1; i <= rows; i++) {
      for (let j = 1; j <= cols; j++) {
        t[i * w + j] = ref[i - 1] === can[j - 1] ? t[(i - 1) * w + j - 1] + 1 : Math.max(t[(i - 1) * w + j], t[i * w + j - 1]);
      }
    }
    const out: number[] = [];
    let i = rows;
    let j = cols;
    while (i > 0 && j > 0) {
      if (ref[i - 1] === can[j - 1]) {
        out.push(i - 1);
        i--;
        j--;
      } else if (t[i * w + j - 1] > t[(i - 1) * w + j]) j--;
      else i--;
    }
    return out.reverse();
  }

  /** rouge-score's `_summary_level_lcs` (ROUGE paper §3.2, with ROUGE-1.5.5's no-double-counting). */
  private summaryLevelLcs(refSents: Int32Array[], canSents: Int32Array[]): RougeScore {
    if (refSents.length === 0 || canSents.length === 0) return { ...ZERO };
    let m = 0;
    let n = 0;
    for (const s of refSents) m += s.length;
    for (const s of canSents) n += s.length;
    if (m === 0 || n === 0) return { ...ZERO };
    const cntR = new Map<number, number>();
    const cntC = new Map<number, number>();
    for (const s of refSents) for (const t of s) cntR.set(t, (cntR.get(t) ?? 0) + 1);
    for (const s of canSents) for (const t of s) cntC.set(t, (cntC.get(t) ?? 0) + 1);
    let hits = 0;
    for (const r of refSents) {
      const union = new Set<number>();
      for (const c of canSents) for (const idx of this.lcsIndices(r, c)) union.add(idx);
      const idxs = [...union].sort((a, b) => a - b);
      for (const idx of idxs) {
        const tok = r[idx];
        const c = cntC.get(tok) ?? 0;
        const rr = cntR.get(tok) ?? 0;
        if (c > 0 && rr > 0) {
          hits++;
          cntC.set(tok, c - 1);
          cntR.set(tok, rr - 1);
        }
      }
    }
    const recall = hits / m;
    const precision = hits / n;
    return { precision, recall, fmeasure: fmeasure(precision, recall) };
  }
}

/**
 * ROUGE scores of one hypothesis against one reference, as
 * `rouge_scorer.RougeScorer(types, use_stemmer).score(ref, hyp)` (note
 * rouge-score's argument order is target first). Precision is relative to
 * the hypothesis, recall to the reference. For `rougeLsum`, sentences are
 * the newline-separated lines.
 *
 * @throws ConfigError for an invalid ROUGE type or tokenizer name
 */
export function rougeScores(hyp: string, ref: string, opts: RougeOptions = {}): RougeResult {
  return new RougeScorer(opts).score(hyp, ref);
}

/** Mean precision/recall/F per type over a corpus, plus the per-segment scores. */
export interface CorpusRougeResult {
  /** Mean of each measure over segments (what rouge-score's `BootstrapAggregator` estimates as `mid`). */
  mean: RougeResult;
  /** One result per segment. */
  segments: RougeResult[];
}

/**
 * ROUGE over a corpus: each hypothesis scored against its reference(s), then
 * averaged. With several reference streams a segment takes, per ROUGE type,
 * the reference with the highest F (rouge-score's `score_multi`); empty
 * reference lines are skipped, and a segment with none scores 0.
 *
 * @param hyps hypotheses, one per segment
 * @param refs one reference per segment, or streams `refs[stream][segment]`
 * @throws ConfigError when lengths differ or an option is invalid
 */
export function corpusRouge(
  hyps: readonly string[],
  refs: readonly string[] | readonly (readonly string[])[],
  opts: RougeOptions = {},
): CorpusRougeResult {
  const streams: readonly (readonly string[])[] =
    refs.length > 0 && typeof refs[0] === 'string' ? [refs as readonly string[]] : (refs as readonly (readonly string[])[]);
  if (streams.length === 0) throw new ConfigError('no references given for ROUGE');
  streams.forEach((s, k) => {
    if (s.length !== hyps.length) {
      throw new ConfigError(`ROUGE reference stream ${k + 1} has ${s.length} lines but there are ${hyps.length} hypotheses`);
    }
  });
  const scorer = new RougeScorer(opts);
  const segments: RougeResult[] = [];
  const sums: Record<string, RougeScore> = {};
  for (const t of scorer.types) sums[t] = { precision: 0, recall: 0, fmeasure: 0 };
  for (let i = 0; i < hyps.length; i++) {
    const targets = streams.map((s) => s[i]).filter((r) => r !== '' && r !== undefined && r !== null);
    let best: RougeResult;
    if (targets.length <= 1) best = scorer.score(hyps[i], targets[0] ?? '');
    else {
      const all = targets.map((t) => scorer.score(hyps[i], t));
      best = {};
      for (const type of scorer.types) {
        let k = 0;
        for (let j = 1; j < all.length; j++) if (all[j][type].fmeasure > all[k][type].fmeasure) k = j;
        best[type] = all[k][type];
      }
    }
    segments.push(best);
    for (const t of scorer.types) {
      sums[t].precision += best[t].precision;
      sums[t].recall += best[t].recall;
      sums[t].fmeasure += best[t].fmeasure;
    }
  }
  const mean: RougeResult = {};
  const n = Math.max(hyps.length, 1);
  for (const t of scorer.types) {
    mean[t] = { precision: sums[t].precision / n, recall: sums[t].recall / n, fmeasure: sums[t].fmeasure / n };
  }
  return { mean, segments };
}
