/**
 * Text vectorizers with scikit-learn's semantics: CountVectorizer,
 * TfidfVectorizer / TfidfTransformer, Normalizer, over a CSR sparse matrix.
 * See docs/features.md.
 */
export { CsrMatrix } from './sparse.js';
export { buildAnalyzer, wordNgrams, charNgrams, charWbNgrams, stripAccentsUnicode, DEFAULT_TOKEN_PATTERN, type AnalyzerKind, type AnalyzerOptions } from './analyzer.js';
export { pythonRegex } from './python-regex.js';
export { CountVectorizer, compareCodePoints, type CountVectorizerOptions, type CountVectorizerJSON, type DocumentFrequency } from './count-vectorizer.js';
export { TfidfTransformer, TfidfVectorizer, vectorizerFromJSON, type TfidfOptions, type TfidfVectorizerOptions } from './tfidf.js';
export { Normalizer, normalize, type Norm } from './normalizer.js';
