/**
 * scikit-learn's `TfidfTransformer` and `TfidfVectorizer` (1.2 behaviour).
 */
import { ConfigError } from '../errors.js';
import { CountVectorizer, jsonOptions, type CountVectorizerJSON, type CountVectorizerOptions } from './count-vectorizer.js';
import { normalize, type Norm } from './normalizer.js';
import { CsrMatrix } from './sparse.js';

/** Options of {@link TfidfTransformer}. */
export interface TfidfOptions {
  /** Row normalisation after weighting (default `l2`; null = none). */
  norm?: Norm | null;
  /** Weight by idf (default true). */
  useIdf?: boolean;
  /** idf = ln((1 + n)/(1 + df)) + 1, as if one extra document held every term (default true); else ln(n/df) + 1. */
  smoothIdf?: boolean;
  /** tf → 1 + ln(tf) (default false). */
  sublinearTf?: boolean;
}

/**
 * Count matrix → tf-idf, as scikit-learn's `TfidfTransformer`: tf (or
 * 1 + ln tf), times idf (the "+1" keeps terms in every document), then each
 * row normalised.
 */
export class TfidfTransformer {
  /** Per-feature idf after `fit` (null with `useIdf: false`). */
  idf: Float64Array | null = null;
  readonly norm: Norm | null;
  readonly useIdf: boolean;
  readonly smoothIdf: boolean;
  readonly sublinearTf: boolean;

  constructor(opts: TfidfOptions = {}) {
    this.norm = opts.norm === undefined ? 'l2' : opts.norm;
    this.useIdf = opts.useIdf ?? true;
    this.smoothIdf = opts.smoothIdf ?? true;
    this.sublinearTf = opts.sublinearTf ?? false;
  }

  /** Learn idf from a count matrix `[docs, features]`. */
  fit(x: CsrMatrix): this {
    if (!this.useIdf) return this;
    const df = new Float64Array(x.cols);
    for (let k = 0; k < x.nnz; k++) if (x.data[k] !== 0) df[x.indices[k]] += 1;
    const s = this.smoothIdf ? 1 : 0;
    const n = x.rows + s;
    this.idf = Float64Array.from(df, (d) => Math.log(n / (d + s)) + 1);
    return this;
  }

  /** Weight and normalise. @throws ConfigError when idf is needed but not fitted, or the width differs */
  transform(x: CsrMatrix): CsrMatrix {
    if (this.useIdf && !this.idf) throw new ConfigError('TfidfTransformer is not fitted; call fit() first');
    if (this.idf && this.idf.length !== x.cols) throw new ConfigError(`TfidfTransformer was fitted on ${this.idf.length} features, got ${x.cols}`);
    const idf = this.idf;
    let y = x.mapValues((v, _i, j) => (this.sublinearTf ? Math.log(v) + 1 : v) * (idf ? idf[j] : 1));
    if (this.norm) y = normalize(y, this.norm);
    return y;
  }

  fitTransform(x: CsrMatrix): CsrMatrix {
    return this.fit(x).transform(x);
  }
}

/** Options of {@link TfidfVectorizer}: those of the counts plus those of the weighting. */
export type TfidfVectorizerOptions = CountVectorizerOptions & TfidfOptions;

/**
 * scikit-learn's `TfidfVectorizer`: {@link CountVectorizer} followed by
 * {@link TfidfTransformer}, with the same option names and defaults.
 */
export class TfidfVectorizer extends CountVectorizer {
  readonly transformer: TfidfTransformer;

  constructor(options: TfidfVectorizerOptions = {}) {
    super(options);
    this.transformer = new TfidfTransformer(options);
  }

  /** Per-feature idf (after `fit`). */
  get idf(): Float64Array | null {
    return this.transformer.idf;
  }

  override fitTransform(docs: readonly string[]): CsrMatrix {
    return this.transformer.fitTransform(super.fitTransform(docs));
  }

  override transform(docs: readonly string[]): CsrMatrix {
    return this.transformer.transform(super.transform(docs));
  }

  override toJSON(): CountVectorizerJSON {
    const t = this.transformer;
    return { ...super.toJSON(), type: 'TfidfVectorizer', tfidf: { norm: t.norm, useIdf: t.useIdf, smoothIdf: t.smoothIdf, sublinearTf: t.sublinearTf, idf: t.idf ? [...t.idf] : null } };
  }

  /** Restore a fitted TfidfVectorizer. @throws ConfigError when the JSON lacks the tf-idf part */
  static override fromJSON(json: CountVectorizerJSON): TfidfVectorizer {
    if (!json.tfidf) throw new ConfigError('TfidfVectorizer.fromJSON: the JSON has no "tfidf" part (it is a CountVectorizer)');
    const t = json.tfidf;
    const v = new TfidfVectorizer({ ...jsonOptions(json.options), vocabulary: json.featureNames, norm: t.norm, useIdf: t.useIdf, smoothIdf: t.smoothIdf, sublinearTf: t.sublinearTf });
    if (t.idf) v.transformer.idf = Float64Array.from(t.idf);
    return v;
  }
}

/** Load either vectorizer from its JSON. */
export function vectorizerFromJSON(json: CountVectorizerJSON): CountVectorizer {
  return json.type === 'TfidfVectorizer' ? TfidfVectorizer.fromJSON(json) : CountVectorizer.fromJSON(json);
}
