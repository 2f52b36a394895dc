/**
 * Evaluation metrics for generated text: sacreBLEU-exact BLEU and chrF,
 * rouge-score-exact ROUGE (plus a CJK-aware tokenizer), sliding-window
 * perplexity, diversity measures and bootstrap significance tests.
 */
export {
  type BleuOptions,
  type BleuScore,
  type BleuStatistics,
  type SmoothMethod,
  SMOOTH_DEFAULTS,
  bleuSignature,
  bleuStatistics,
  computeBleu,
  corpusBleu,
  sentenceBleu,
  sumStatistics,
} from './bleu.js';
export {
  type ChrfOptions,
  type ChrfScore,
  type ChrfStatistics,
  chrfFScore,
  chrfSignature,
  chrfStatistics,
  chrfWords,
  corpusChrf,
  sentenceChrf,
} from './chrf.js';
export {
  type CorpusRougeOptions,
  type CorpusRougeResult,
  type RougeOptions,
  type RougeResult,
  type RougeScore,
  type RougeTokenizerName,
  DEFAULT_ROUGE_TYPES,
  corpusRouge,
  hasCjk,
  rougeScores,
  rougeTokenize,
} from './rouge.js';
export { type PorterMode, PorterStemmer } from './porter.js';
export {
  type BleuTokenizerName,
  type Tokenizer,
  BLEU_TOKENIZERS,
  getBleuTokenizer,
  isSacrebleuZhChar,
  tokenize13a,
  tokenizeChar,
  tokenizeIntl,
  tokenizeNone,
  tokenizeZh,
} from './sacrebleu-tokenizers.js';
export { type DiversityOptions, distinctN, repetitionRate, selfBleu } from './diversity.js';
export {
  type NllSum,
  type PerplexityOptions,
  type PerplexityResult,
  type ScoreFn,
  IGNORE_INDEX,
  perplexity,
} from './perplexity.js';
export {
  type BootstrapOptions,
  type ConfidenceInterval,
  type PairedBootstrapResult,
  type PairedMetric,
  type SegmentStatistics,
  Xoshiro128,
  bootstrapConfidence,
  confidenceInterval,
  estimateCi,
  pValue,
  pairedBootstrap,
  pairedBootstrapFromStatistics,
} from './significance.js';
export { type NumRefs, emptyReferenceSegments } from './references.js';
export { EVAL_VERSION } from './version.js';
