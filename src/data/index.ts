// The data layer: corpora, script normalisation, splits, LM batches, story pairs, PII redaction.
export { readCorpus, BLANK_LINE, type ReadCorpusOptions } from './corpus.js';
export { toSimplified, toTraditional, toScript, isChinese, HAN_RANGES, type TraditionalVariant, type ScriptChoice } from './script.js';
export { readTextFile, readTextPrefix, parseJsonLines, warnOnStderr, type WarningSink } from './text-file.js';
export { splitDocuments, splitText, splitTokens, type SplitDocumentsOptions } from './split.js';
export { getBatch, sequentialBatches, countSequentialBatches, type LMBatch, type RandomSource } from './lm-batches.js';
export {
  readPairs,
  splitSentences,
  fablesToPairs,
  pairsToFinetuneExamples,
  collateExamples,
  type StoryPair,
  type ReadPairsOptions,
  type FablesToPairsOptions,
  type FinetuneExample,
  type FinetuneExampleOptions,
} from './pairs.js';
export { findPii, redactPii, luhnValid, type PiiMatch, type PiiType, type PiiOptions } from './pii.js';
