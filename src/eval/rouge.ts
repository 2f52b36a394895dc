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
import { NgramMatcher } from './ngram-match.js';
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

function write(out: Float64Array, at: number, precision: number, recall: number): void {
  out[at] = precision;
  out[at + 1] = recall;
  out[at + 2] = fmeasure(precision, recall);
}

const ZERO: RougeScore = { precision: 0, recall: 0, fmeasure: 0 };

/** Reusable state: interning, tokenization caches, buffers. */
class RougeScorer {
  private readonly vocab = new Vocab();
  private readonly local = new LocalIds(1024);
  private readonly stemmer: PorterStemmer | null;
  private readonly cache = new Map<string, Int32Array>();
  private readonly matcher = new NgramMatcher();
  private matches = new Float64Array(9);
  private readonly cjkCache = new Map<string, boolean>();
  private readonly seqs: Int32Array[] = [new Int32Array(0), new Int32Array(0)];
  private readonly lens: number[] = [0, 0];
  /** n of each rouge-N type (0 for the others), and the largest. */
  private readonly orderOf: number[];
  private readonly maxOrder: number;
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
    this.orderOf = this.types.map((t) => (/^rouge[0-9]$/.test(t) ? Number(t.slice(5)) : 0));
    this.maxOrder = Math.max(1, ...this.orderOf);
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

  private isCjk(text: string): boolean {
    let c = this.cjkCache.get(text);
    if (c === undefined) {
      c = hasCjk(text);
      if (this.cjkCache.size > 1 << 20) this.cjkCache.clear();
      this.cjkCache.set(text, c);
    }
    return c;
  }

  /** Scores as objects keyed by type. */
  score(prediction: string, target: string): RougeResult {
    const buf = new Float64Array(3 * this.types.length);
    this.scoreInto(prediction, target, buf, 0);
    return this.toResult(buf, 0);
  }

  /** `[precision, recall, fmeasure]` per type, in `types` order, from `buf[at]`. */
  toResult(buf: Float64Array, at: number): RougeResult {
    const result: RougeResult = {};
    this.types.forEach((type, k) => {
      result[type] = { precision: buf[at + 3 * k], recall: buf[at + 3 * k + 1], fmeasure: buf[at + 3 * k + 2] };
    });
    return result;
  }

  /**
   * Writes `[precision, recall, fmeasure]` for each type (in `types` order)
   * into `out` from `at`; allocation-free on the common path.
   */
  scoreInto(prediction: string, target: string, out: Float64Array, at: number): void {
    const cjk = this.mode === 'zh' || (this.mode === 'auto' && (this.isCjk(prediction) || this.isCjk(target)));
    let p: Int32Array | null = null;
    let t: Int32Array | null = null;
    let matched = false;
    for (let k = 0; k < this.types.length; k++) {
      const type = this.types[k];
      const o = at + 3 * k;
      if (type === 'rougeLsum') {
        const sc = this.summaryLevelLcs(this.sentences(target, cjk), this.sentences(prediction, cjk));
        out[o] = sc.precision;
        out[o + 1] = sc.recall;
        out[o + 2] = sc.fmeasure;
        continue;
      }
      p ??= this.ids(prediction, cjk);
      t ??= this.ids(target, cjk);
      if (type === 'rougeL') {
        // rouge-score's _score_lcs
        if (t.length === 0 || p.length === 0) write(out, o, 0, 0);
        else {
          const lcs = this.lcsLength(t, p);
          write(out, o, lcs / p.length, lcs / t.length);
        }
        continue;
      }
      // rouge-score's _score_ngrams: clipped overlap over max(count, 1)
      const n = this.orderOf[k];
      const nt = Math.max(0, t.length - n + 1);
      const np = Math.max(0, p.length - n + 1);
      let overlap = 0;
      if (nt > 0 && np > 0) {
        if (!matched) {
          this.matchNgrams(p, t);
          matched = true;
        }
        overlap = this.matches[n - 1];
      }
      write(out, o, overlap / Math.max(np, 1), overlap / Math.max(nt, 1));
    }
  }

  private sentences(text: string, cjk: boolean): Int32Array[] {
    return text
      .split('\n')
      .filter((s) => s.length > 0)
      .map((s) => this.ids(s, cjk));
  }

  /** Clipped n-gram overlaps of orders 1…maxOrder into `this.matches`. */
  private matchNgrams(pred: Int32Array, target: Int32Array): void {
    this.local.begin(this.vocab.size);
    if (this.lidA.length < target.length) this.lidA = new Int32Array(2 * target.length);
    if (this.lidB.length < pred.length) this.lidB = new Int32Array(2 * pred.length);
    this.local.map(target, target.length, this.lidA);
    this.local.map(pred, pred.length, this.lidB);
    this.seqs[0] = this.lidB;
    this.seqs[1] = this.lidA;
    this.lens[0] = pred.length;
    this.lens[1] = target.length;
    this.matcher.match(this.seqs, this.lens, Math.max(this.local.distinct, 1), this.maxOrder, this.matches);
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

/** Options of {@link corpusRouge}. */
export interface CorpusRougeOptions extends RougeOptions {
  /** Also return every segment's scores (default false; costs memory on large corpora). */
  returnSegments?: boolean;
}

/** Mean precision/recall/F per type over a corpus, and optionally the per-segment scores. */
export interface CorpusRougeResult {
  /** Mean of each measure over segments (what rouge-score's `BootstrapAggregator` estimates as `mid`). */
  mean: RougeResult;
  /** One result per segment, when `returnSegments` was set. */
  segments?: RougeResult[];
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
  opts: CorpusRougeOptions = {},
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
  const width = 3 * scorer.types.length;
  const sums = new Float64Array(width);
  const seg = new Float64Array(width);
  const cand = new Float64Array(width);
  const segments: RougeResult[] | undefined = opts.returnSegments ? [] : undefined;
  for (let i = 0; i < hyps.length; i++) {
    let first = true;
    for (const stream of streams) {
      const ref = stream[i];
      if (ref === '' || ref === undefined || ref === null) continue;
      if (first) {
        scorer.scoreInto(hyps[i], ref, seg, 0);
        first = false;
      } else {
        scorer.scoreInto(hyps[i], ref, cand, 0);
        // per type, keep the reference with the higher F (first one on ties)
        for (let k = 0; k < width; k += 3) {
          if (cand[k + 2] > seg[k + 2]) {
            seg[k] = cand[k];
            seg[k + 1] = cand[k + 1];
            seg[k + 2] = cand[k + 2];
          }
        }
      }
    }
    if (first) scorer.scoreInto(hyps[i], '', seg, 0);
    for (let k = 0; k < width; k++) sums[k] += seg[k];
    segments?.push(scorer.toResult(seg, 0));
  }
  const n = Math.max(hyps.length, 1);
  for (let k = 0; k < width; k++) sums[k] /= n;
  return { mean: scorer.toResult(sums, 0), ...(segments ? { segments } : {}) };
}
