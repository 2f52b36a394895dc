// The encoder–decoder family (muse-seq2seq): config, model, loader, decoding helpers, fine-tuning.
export { Seq2SeqTransformer, Seq2SeqDecoderLM, shiftTokensRight, sinusoidalPositionalEncoding, type Seq2SeqInputs, type Seq2SeqOutput } from './model.js';
export { seq2seqConfig, seq2seqParameterCount, SEQ2SEQ_DEFAULTS, type Seq2SeqConfig } from './config.js';
export { loadSeq2SeqDir, encodeSource, bindBeginnings, generateEndings, seq2seqTarget, SEQ2SEQ_MODEL_TYPE, type DecodingTarget } from './load.js';
export { saveSeq2SeqDir, seq2seqFamily } from './family.js';
export { finetuneSeq2Seq, pairsToSeq2SeqExamples, collateSeq2Seq, type FinetuneSeq2SeqOptions, type FinetuneSeq2SeqReport, type Seq2SeqExample } from './finetune.js';
