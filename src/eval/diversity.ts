/**
 * Diversity and degeneration measures for a set of generated texts:
 * distinct-n (Li et al., 2016, "A Diversity-Promoting Objective Function for
 * Neural Conversation Models", §4.3), self-BLEU (Zhu et al., 2018, "Texygen",
 * §3.2) and the sequence-level repetition rate seq-rep-n (Welleck et al.,
 * 2019, "Neural Text Generation with Unlikelihood Training", §6).
 */
import { ConfigError } from '../errors.js';
import { type BleuOptions, bleuSignature, computeBleu } from './bleu.js';
import { pyLower, pyRstrip } from './pytext.js';
import { type BleuTokenizerName, getBleuTokenizer } from './sacrebleu-tokenizers.js';

/** Tokenization options shared by the diversity measures. */
export interface DiversityOptions {
  /** sacreBLEU tokenizer used to split texts into tokens (default `13a`; `char` for Chinese). */
  tokenize?: BleuTokenizerName;
  /** Lowercase first (default false). */
  lowercase?: boolean;
}

function tokenizeAll(texts: readonly string[], opts: DiversityOptions): string[][] {
  const tok = getBleuTokenizer(opts.tokenize ?? '13a');
  return texts.map((t) => tok(pyRstrip(opts.lowercase ? pyLower(t) : t)));
}

function ngramKeys(tokens: readonly string[], n: number): string[] {
  const out: string[] = [];
  // tokens come from whitespace splitting, so none contains a space: joining
  // with one gives collision-free keys
  for (let i = 0; i + n <= tokens.length; i++) out.push(tokens.slice(i, i + n).join(' '));
  return out;
}

function checkOrder(n: number): void {
  if (!Number.isInteger(n) || n < 1) throw new ConfigError(`n-gram order must be a positive integer, got ${n}`);
}

/**
 * distinct-n: the number of distinct n-grams divided by the total number of
 * n-grams, pooled over all texts. 1 means no n-gram repeats anywhere in the
 * set; 0 is returned when the texts have no n-gram at all.
 *
 * @param texts generated texts
 * @param n n-gram order (1 and 2 are the usual reports)
 */
export function distinctN(texts: readonly string[], n: number, opts: DiversityOptions = {}): number {
  checkOrder(n);
  const seen = new Set<string>();
  let total = 0;
  for (const tokens of tokenizeAll(texts, opts)) {
    for (const k of ngramKeys(tokens, n)) {
      seen.add(k);
      total++;
    }
  }
  return total === 0 ? 0 : seen.size / total;
}

/**
 * seq-rep-n: for each text, 1 − (distinct n-grams / n-grams) within that
 * text, averaged over the texts that have at least one n-gram. 0 means no
 * text repeats an n-gram of its own; values near 1 mean degenerate loops.
 *
 * @param n n-gram order (default 4, as in Welleck et al.)
 */
export function repetitionRate(texts: readonly string[], n = 4, opts: DiversityOptions = {}): number {
  checkOrder(n);
  let sum = 0;
  let counted = 0;
  for (const tokens of tokenizeAll(texts, opts)) {
    const keys = ngramKeys(tokens, n);
    if (keys.length === 0) continue;
    sum += 1 - new Set(keys).size / keys.length;
    counted++;
  }
  return counted === 0 ? 0 : sum / counted;
}

/**
 * Self-BLEU: each text's sentence BLEU against all the other texts as
 * references, averaged (in [0, 100]; higher means less diverse). BLEU
 * follows sacreBLEU's sentence-level semantics and options (default: `13a`,
 * `exp` smoothing, effective order); empty texts are not used as references.
 * Runs in time linear in the total number of n-grams: per n-gram the two
 * largest per-text counts suffice to clip against "all others".
 *
 * @param texts at least two generated texts
 * @throws ConfigError with fewer than two non-empty texts
 */
export function selfBleu(texts: readonly string[], opts: BleuOptions = {}): number {
  const o: BleuOptions = { ...opts, effectiveOrder: opts.effectiveOrder ?? true };
  const N = o.maxNgramOrder ?? 4;
  const tok = getBleuTokenizer(o.tokenize ?? '13a');
  const tokens = texts.map((t) => tok(pyRstrip(o.lowercase ? pyLower(t) : t)));
  const isRef = texts.map((t) => t !== '');
  const refCount = isRef.filter(Boolean).length;
  if (texts.length < 2 || refCount < 2) throw new ConfigError('self-BLEU needs at least two non-empty texts');

  // per n-gram: largest and second-largest count over reference texts, and who holds the largest
  const top = new Map<string, { max1: number; owner: number; max2: number }>();
  const perText: Map<string, number>[][] = [];
  for (let i = 0; i < texts.length; i++) {
    const orders: Map<string, number>[] = [];
    for (let n = 1; n <= N; n++) {
      const counts = new Map<string, number>();
      for (const k of ngramKeys(tokens[i], n)) counts.set(k, (counts.get(k) ?? 0) + 1);
      orders.push(counts);
      if (!isRef[i]) continue;
      for (const [k, c] of counts) {
        const e = top.get(k);
        if (e === undefined) top.set(k, { max1: c, owner: i, max2: 0 });
        else if (c > e.max1) {
          e.max2 = e.max1;
          e.max1 = c;
          e.owner = i;
        } else if (c > e.max2) e.max2 = c;
      }
    }
    perText.push(orders);
  }
  // reference lengths as a multiset, to find the closest length among the others
  const lenCount = new Map<number, number>();
  for (let i = 0; i < texts.length; i++) if (isRef[i]) lenCount.set(tokens[i].length, (lenCount.get(tokens[i].length) ?? 0) + 1);

  const signature = bleuSignature(o, refCount - 1);
  let sum = 0;
  for (let i = 0; i < texts.length; i++) {
    const hypLen = tokens[i].length;
    let closestDiff = -1;
    let closestLen = -1;
    for (const [len, count] of lenCount) {
      if (count - (isRef[i] && len === hypLen ? 1 : 0) <= 0) continue;
      const diff = Math.abs(hypLen - len);
      if (closestDiff === -1 || diff < closestDiff || (diff === closestDiff && len < closestLen)) {
        closestDiff = diff;
        closestLen = len;
      }
    }
    const stats = [hypLen, closestLen];
    const correct: number[] = [];
    const totals: number[] = [];
    for (let n = 1; n <= N; n++) {
      let c = 0;
      for (const [k, cnt] of perText[i][n - 1]) {
        const e = top.get(k);
        if (e === undefined) continue;
        const other = isRef[i] && e.owner === i ? e.max2 : e.max1;
        c += Math.min(cnt, other);
      }
      correct.push(c);
      totals.push(Math.max(0, hypLen - n + 1));
    }
    sum += computeBleu([...stats, ...correct, ...totals], o, signature).score;
  }
  return sum / texts.length;
}
