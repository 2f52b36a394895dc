/**
 * scikit-learn's `CountVectorizer` (`sklearn.feature_extraction.text`, 1.2
 * behaviour): documents → a sparse matrix of feature counts over a learned,
 * sorted vocabulary.
 */
import { ConfigError } from '../errors.js';
import { buildAnalyzer, type AnalyzerKind, type AnalyzerOptions } from './analyzer.js';
import { CsrMatrix } from './sparse.js';

/**
 * A document-frequency bound. A number follows scikit-learn: an integer is a
 * document count, a fraction in [0, 1) a proportion of the documents — except
 * `1`, which (as scikit-learn's default `max_df=1.0`) means all documents.
 * Use `{ count }` or `{ proportion }` to say which explicitly.
 */
export type DocumentFrequency = number | { count: number } | { proportion: number };

/** Options of {@link CountVectorizer} (scikit-learn's names in camelCase). */
export interface CountVectorizerOptions extends AnalyzerOptions {
  /** Ignore features in more documents than this (default all: `1`, i.e. 100 %). */
  maxDf?: DocumentFrequency;
  /** Ignore features in fewer documents than this (default `1` document). */
  minDf?: DocumentFrequency;
  /** Keep only the most frequent features (by count over the corpus). */
  maxFeatures?: number | null;
  /** Counts become 0/1. */
  binary?: boolean;
  /** A fixed vocabulary (feature → column, or a list in column order); `fit` then learns nothing. */
  vocabulary?: ReadonlyMap<string, number> | readonly string[];
}

/** The JSON form of a fitted vectorizer (no function-valued options). */
export interface CountVectorizerJSON {
  type: 'CountVectorizer' | 'TfidfVectorizer';
  options: {
    analyzer: AnalyzerKind;
    lowercase: boolean;
    stripAccents: 'unicode' | null;
    tokenPattern: string | null;
    stopWords: string[] | null;
    ngramRange: [number, number];
    binary: boolean;
  };
  /** Feature names in column order. */
  featureNames: string[];
  /** TfidfVectorizer only. */
  tfidf?: { norm: 'l1' | 'l2' | 'max' | null; useIdf: boolean; smoothIdf: boolean; sublinearTf: boolean; idf: number[] | null };
}

/** Python's string order (code points), not JavaScript's UTF-16 code units. */
export function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.codePointAt(i)!;
    const y = b.codePointAt(i)!;
    if (x !== y) return x - y;
    if (x > 0xffff) i++;
  }
  return a.length - b.length;
}

function docCount(bound: DocumentFrequency, nDocs: number, name: string): number {
  if (typeof bound === 'object') {
    if ('count' in bound) {
      if (!(Number.isInteger(bound.count) && bound.count >= 0)) throw new ConfigError(`${name}.count must be an integer ≥ 0, got ${bound.count}`);
      return bound.count;
    }
    if (!(bound.proportion >= 0 && bound.proportion <= 1)) throw new ConfigError(`${name}.proportion must be in [0, 1], got ${bound.proportion}`);
    return bound.proportion * nDocs;
  }
  if (!(bound >= 0)) throw new ConfigError(`${name} must be ≥ 0, got ${bound}`);
  if (bound === 1 && name === 'maxDf') return nDocs;
  if (Number.isInteger(bound)) return bound;
  if (bound > 1) throw new ConfigError(`${name} ${bound} is neither a document count (an integer) nor a proportion (in [0, 1])`);
  return bound * nDocs;
}

/**
 * Convert documents to a matrix of feature counts, as scikit-learn's
 * `CountVectorizer`: the analyzer (word tokens by `(?u)\b\w\w+\b` after
 * lowercasing, or character n-grams) yields features; `fit` builds the
 * vocabulary sorted by code point, prunes it by `maxDf`/`minDf` and
 * `maxFeatures` (most frequent over the corpus; ties by vocabulary order),
 * and numbers the columns; `transform` counts known features and ignores
 * the rest.
 *
 * Unsegmented Chinese: the default token pattern takes each run of Han
 * characters between punctuation as one "word" (床前明月光) and drops
 * single characters, so use `analyzer: 'char'` (with `ngramRange: [1, 2]`
 * for character bigrams) or pass a word segmenter as `tokenizer`.
 */
export class CountVectorizer {
  /** Feature → column, after `fit` (sorted by code point unless fixed). */
  vocabulary: Map<string, number> | null = null;
  /** Features dropped by `maxDf`/`minDf`/`maxFeatures` (scikit-learn's `stop_words_`). */
  prunedFeatures: Set<string> = new Set();
  protected readonly analyze: (doc: string) => string[];
  private readonly fixed: boolean;

  /** @throws ConfigError on a bad option (named in the message) */
  constructor(readonly options: CountVectorizerOptions = {}) {
    this.analyze = buildAnalyzer(options);
    if (options.maxFeatures !== undefined && options.maxFeatures !== null && !(Number.isInteger(options.maxFeatures) && options.maxFeatures > 0)) {
      throw new ConfigError(`maxFeatures must be a positive integer or null, got ${options.maxFeatures}`);
    }
    this.fixed = options.vocabulary !== undefined;
    if (options.vocabulary) {
      const v = options.vocabulary;
      const map = Array.isArray(v) ? new Map((v as readonly string[]).map((t, i) => [t, i])) : new Map(v as ReadonlyMap<string, number>);
      const cols = [...map.values()].sort((a, b) => a - b);
      if (map.size === 0 || cols.some((c, i) => c !== i)) throw new ConfigError('vocabulary must be non-empty and number its features 0 … n−1 without gaps or repeats');
      this.vocabulary = map;
    }
  }

  /** The analyzer of these options (doc → features), scikit-learn's `build_analyzer()`. */
  buildAnalyzer(): (doc: string) => string[] {
    return this.analyze;
  }

  /** Feature names in column order (`get_feature_names_out`). @throws ConfigError before `fit` */
  featureNames(): string[] {
    const v = this.requireVocabulary();
    const out = new Array<string>(v.size);
    for (const [t, i] of v) out[i] = t;
    return out;
  }

  /** Learn the vocabulary. */
  fit(docs: readonly string[]): this {
    this.fitTransform(docs);
    return this;
  }

  /**
   * Learn the vocabulary and return the count matrix `[docs, features]`.
   * @throws ConfigError when the vocabulary comes out empty (only stop words) or pruning leaves nothing
   */
  fitTransform(docs: readonly string[]): CsrMatrix {
    if (this.fixed) return this.transform(docs);
    const vocab = new Map<string, number>();
    const rows = docs.map((d) => {
      const counts = new Map<number, number>();
      for (const f of this.analyze(d)) {
        let j = vocab.get(f);
        if (j === undefined) {
          j = vocab.size;
          vocab.set(f, j);
        }
        counts.set(j, (counts.get(j) ?? 0) + 1);
      }
      return counts;
    });
    if (vocab.size === 0) throw new ConfigError('empty vocabulary; perhaps the documents only contain stop words, or the token pattern matches nothing (for unsegmented Chinese use analyzer "char")');
    // Sort by code point and renumber (scikit-learn's _sort_features).
    const terms = [...vocab.keys()].sort(compareCodePoints);
    const remap = new Int32Array(terms.length);
    terms.forEach((t, i) => (remap[vocab.get(t)!] = i));
    let x = CsrMatrix.fromRowMaps(rows.map((r) => new Map([...r].map(([j, c]) => [remap[j], c]))), terms.length);
    // As scikit-learn: binary before pruning, so maxFeatures ranks by document counts.
    if (this.options.binary) x = x.mapValues(() => 1);
    const n = docs.length;
    const high = docCount(this.options.maxDf ?? 1, n, 'maxDf');
    const low = docCount(this.options.minDf ?? 1, n, 'minDf');
    if (high < low) throw new ConfigError('maxDf corresponds to fewer documents than minDf');
    const keep = this.limitFeatures(x, high, low, this.options.maxFeatures ?? null);
    const kept = terms.filter((_, i) => keep[i]);
    if (kept.length === 0) throw new ConfigError('after pruning, no terms remain; try a lower minDf or a higher maxDf');
    this.prunedFeatures = new Set(terms.filter((_, i) => !keep[i]));
    const newCol = new Int32Array(terms.length).fill(-1);
    let c = 0;
    for (let i = 0; i < terms.length; i++) if (keep[i]) newCol[i] = c++;
    x = CsrMatrix.fromRowMaps(
      Array.from({ length: x.rows }, (_, i) => {
        const r = x.row(i);
        const m = new Map<number, number>();
        r.indices.forEach((j, k) => {
          if (newCol[j] >= 0) m.set(newCol[j], r.values[k]);
        });
        return m;
      }),
      kept.length,
    );
    this.vocabulary = new Map(kept.map((t, i) => [t, i]));
    return x;
  }

  /**
   * Count the known features of `docs`: `[docs, features]`.
   * @throws ConfigError before `fit`
   */
  transform(docs: readonly string[]): CsrMatrix {
    const v = this.requireVocabulary();
    const rows = docs.map((d) => {
      const counts = new Map<number, number>();
      for (const f of this.analyze(d)) {
        const j = v.get(f);
        if (j !== undefined) counts.set(j, this.options.binary ? 1 : (counts.get(j) ?? 0) + 1);
      }
      return counts;
    });
    return CsrMatrix.fromRowMaps(rows, v.size);
  }

  /** The fitted state as JSON (only for string-valued analysis options). @throws ConfigError with function-valued options */
  toJSON(): CountVectorizerJSON {
    const o = this.options;
    if (typeof o.analyzer === 'function' || o.tokenizer || o.preprocessor) {
      throw new ConfigError('a vectorizer with a custom analyzer, tokenizer or preprocessor function cannot be saved as JSON; re-create it in code');
    }
    return {
      type: 'CountVectorizer',
      options: {
        analyzer: o.analyzer ?? 'word',
        lowercase: o.lowercase ?? true,
        stripAccents: o.stripAccents ?? null,
        tokenPattern: o.tokenPattern ?? null,
        stopWords: o.stopWords ? [...o.stopWords] : null,
        ngramRange: [o.ngramRange?.[0] ?? 1, o.ngramRange?.[1] ?? 1],
        binary: o.binary ?? false,
      },
      featureNames: this.featureNames(),
    };
  }

  /** Restore a fitted CountVectorizer from {@link CountVectorizer.toJSON}. */
  static fromJSON(json: CountVectorizerJSON): CountVectorizer {
    const o = json.options;
    return new CountVectorizer({ ...jsonOptions(o), vocabulary: json.featureNames });
  }

  /** The keep-mask of scikit-learn's `_limit_features`. */
  private limitFeatures(x: CsrMatrix, high: number, low: number, limit: number | null): boolean[] {
    const df = new Float64Array(x.cols);
    for (let k = 0; k < x.nnz; k++) df[x.indices[k]] += 1;
    const keep = Array.from(df, (d) => d <= high && d >= low);
    const nKept = keep.filter(Boolean).length;
    if (limit !== null && nKept > limit) {
      const tfs = x.columnSums();
      const idx = keep.flatMap((k, i) => (k ? [i] : [])).sort((a, b) => tfs[b] - tfs[a] || a - b);
      const chosen = new Set(idx.slice(0, limit));
      return keep.map((_, i) => chosen.has(i));
    }
    return keep;
  }

  protected requireVocabulary(): Map<string, number> {
    if (!this.vocabulary) throw new ConfigError('the vectorizer is not fitted yet; call fit() or fitTransform() first');
    return this.vocabulary;
  }
}

/** Analysis options from their JSON form. */
export function jsonOptions(o: CountVectorizerJSON['options']): CountVectorizerOptions {
  return {
    analyzer: o.analyzer,
    lowercase: o.lowercase,
    stripAccents: o.stripAccents,
    tokenPattern: o.tokenPattern ?? undefined,
    stopWords: o.stopWords,
    ngramRange: o.ngramRange,
    binary: o.binary,
  };
}
