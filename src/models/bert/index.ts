// The BERT family: config, masked-LM model, HF weight names, loader, MLM data, and its task entry points.
export { BertForMaskedLM, BertEncoderModel, type BertForwardOptions, type BertMaskedLMOutput } from './model.js';
export { bertConfig, bertParameterCount, BERT_DEFAULTS, type BertConfig } from './config.js';
export { bertStateDict, loadBert, type LoadedBert } from './weights.js';
export { loadMaskedLMDir, saveBertDir, bertFamily } from './family.js';
export { fillMask, joinCjk, type FillMaskCandidate, type FillMaskOptions } from './fill-mask.js';
export { pretrainMLM, readMlmCorpus, charWordPieceTokenizer, mlmExamples, collatorFor, type MlmRecipeFields, type MlmCorpus } from './pretrain.js';
export { maskedTokenAccuracy, type MaskedAccuracy, type MaskedAccuracyOptions } from './mlm-eval.js';
export { MlmCollator, LengthGroupedSampler, chunkAtBoundaries, chineseWordIds, type MlmBatch, type MlmExample, type MlmCollatorOptions } from './mlm-data.js';
