/**
 * scikit-learn's text analysis (`sklearn.feature_extraction.text`,
 * `_VectorizerMixin`): preprocessing (lowercase, accent stripping), the
 * word tokenizer of `token_pattern`, stop-word removal and word n-grams, and
 * the `char` / `char_wb` character n-gram analyzers — same tokens, same
 * order. Strings are handled as code points, as Python does.
 */
import { ConfigError } from '../errors.js';
import { captureGroups, pythonRegex } from './python-regex.js';

/** scikit-learn's default `token_pattern`: two or more word characters. */
export const DEFAULT_TOKEN_PATTERN = '(?u)\\b\\w\\w+\\b';

/** Which units become features. */
export type AnalyzerKind = 'word' | 'char' | 'char_wb';

/** Options of {@link buildAnalyzer} (scikit-learn's names in camelCase). */
export interface AnalyzerOptions {
  /** `word` (default), `char` (n-grams over the whole text), `char_wb` (n-grams inside words padded with spaces), or a function doc → features. */
  analyzer?: AnalyzerKind | ((doc: string) => string[]);
  /** Lowercase before tokenizing (default true). */
  lowercase?: boolean;
  /** `unicode`: NFKD and drop combining marks (scikit-learn `strip_accents='unicode'`); default none. */
  stripAccents?: 'unicode' | null;
  /** Replaces lowercasing and accent stripping. */
  preprocessor?: (doc: string) => string;
  /** `word` analyzer: Python-syntax regex of a token (default {@link DEFAULT_TOKEN_PATTERN}); with one capturing group, the group is the token. */
  tokenPattern?: string;
  /** `word` analyzer: replaces `tokenPattern`. */
  tokenizer?: (doc: string) => string[];
  /** `word` analyzer: tokens removed before n-grams are formed. */
  stopWords?: readonly string[] | null;
  /** `[minN, maxN]` inclusive (default `[1, 1]`). */
  ngramRange?: readonly [number, number];
}

const WHITE_SPACES = /\s\s+/gu;

/** scikit-learn's `strip_accents_unicode`: NFKD, then drop combining characters. */
export function stripAccentsUnicode(s: string): string {
  const norm = s.normalize('NFKD');
  return norm === s && !/\p{Mn}/u.test(s) ? s : norm.replace(/\p{Mn}/gu, '');
}

/** `_word_ngrams`: stop words out, then the n-grams of `[minN, maxN]` joined by spaces (unigrams first). */
export function wordNgrams(tokens: string[], ngramRange: readonly [number, number], stopWords?: ReadonlySet<string> | null): string[] {
  if (stopWords) tokens = tokens.filter((t) => !stopWords.has(t));
  let [minN, maxN] = ngramRange;
  if (maxN === 1) return tokens;
  const original = tokens;
  let out: string[];
  if (minN === 1) {
    out = [...original];
    minN += 1;
  } else out = [];
  const n0 = original.length;
  for (let n = minN; n < Math.min(maxN + 1, n0 + 1); n++) {
    for (let i = 0; i < n0 - n + 1; i++) out.push(original.slice(i, i + n).join(' '));
  }
  return out;
}

/** `_char_ngrams`: runs of 2+ whitespace become one space, then every n-gram of the text. */
export function charNgrams(text: string, ngramRange: readonly [number, number]): string[] {
  const cps = Array.from(text.replace(WHITE_SPACES, ' '));
  let [minN, maxN] = ngramRange;
  const len = cps.length;
  let out: string[];
  if (minN === 1) {
    out = [...cps];
    minN += 1;
  } else out = [];
  for (let n = minN; n < Math.min(maxN + 1, len + 1); n++) {
    for (let i = 0; i < len - n + 1; i++) out.push(cps.slice(i, i + n).join(''));
  }
  return out;
}

/** `_char_wb_ngrams`: n-grams inside each whitespace-separated word padded with one space on each side; a word shorter than n counts once. */
export function charWbNgrams(text: string, ngramRange: readonly [number, number]): string[] {
  const [minN, maxN] = ngramRange;
  const out: string[] = [];
  for (const word of text.replace(WHITE_SPACES, ' ').split(/\s+/u)) {
    if (word === '') continue;
    const w = Array.from(` ${word} `);
    for (let n = minN; n <= maxN; n++) {
      let offset = 0;
      out.push(w.slice(offset, offset + n).join(''));
      while (offset + n < w.length) {
        offset += 1;
        out.push(w.slice(offset, offset + n).join(''));
      }
      if (offset === 0) break;
    }
  }
  return out;
}

/**
 * The function doc → features of scikit-learn's `build_analyzer()`.
 * @throws ConfigError on a bad n-gram range, or a token pattern with more than one capturing group
 */
export function buildAnalyzer(opts: AnalyzerOptions = {}): (doc: string) => string[] {
  const analyzer = opts.analyzer ?? 'word';
  if (typeof analyzer === 'function') return analyzer;
  const range = opts.ngramRange ?? [1, 1];
  if (!(Number.isInteger(range[0]) && Number.isInteger(range[1]) && range[0] >= 1 && range[1] >= range[0])) {
    throw new ConfigError(`ngramRange must be [minN, maxN] with 1 ≤ minN ≤ maxN, got [${range.join(', ')}]`);
  }
  const lower = opts.lowercase ?? true;
  const strip = opts.stripAccents === 'unicode';
  const preprocess = opts.preprocessor ?? ((d: string) => {
    let s = lower ? d.toLowerCase() : d;
    if (strip) s = stripAccentsUnicode(s);
    return s;
  });
  if (analyzer === 'char') return (doc) => charNgrams(preprocess(doc), range);
  if (analyzer === 'char_wb') return (doc) => charWbNgrams(preprocess(doc), range);
  if (analyzer !== 'word') throw new ConfigError(`analyzer must be 'word', 'char', 'char_wb' or a function, got ${JSON.stringify(analyzer)}`);
  let tokenize = opts.tokenizer;
  if (!tokenize) {
    const re = pythonRegex(opts.tokenPattern ?? DEFAULT_TOKEN_PATTERN);
    const groups = captureGroups(re);
    if (groups > 1) throw new ConfigError(`tokenPattern ${JSON.stringify(opts.tokenPattern)} has ${groups} capturing groups; use at most one (its text is the token) or non-capturing groups (?:…)`);
    tokenize = (doc) => Array.from(doc.matchAll(re), (m) => (groups === 1 ? m[1] ?? '' : m[0]));
  }
  const stop = opts.stopWords ? new Set(opts.stopWords) : null;
  const tok = tokenize;
  return (doc) => wordNgrams(tok(preprocess(doc)), range, stop);
}
