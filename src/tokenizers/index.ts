/**
 * muse's tokenizers: char (one token per code point), GPT-2 byte-level BPE,
 * general Hugging Face BPE (Llama 3, Qwen, Llama 2, Mistral, Gemma) and BERT WordPiece, all with the same `Tokenizer` interface, Hugging Face
 * `tokenizer.json` save/load, and a UTF-8-safe `StreamDecoder`. Pure
 * TypeScript: encoding and decoding touch no Node API; only `loadTokenizer`,
 * `fromFiles`/`fromVocab` and `save` read or write files (`node:fs`), so a
 * browser build uses `tokenizerFromJSON` and stubs `node:fs`/`node:path`.
 */
export type {
  BatchEncoding,
  DecodeOptions,
  EncodeBatchOptions,
  EncodeOptions,
  Encoding,
  SpecialTokenInfo,
  SpecialTokenRole,
  SpecialTokens,
  Tokenizer,
} from './types.js';
export { SPECIAL_TOKEN_ROLES } from './types.js';
export type { AddedToken } from './added-tokens.js';
export { BaseTokenizer, inferRoles, type SpecialTokenRoles } from './base-tokenizer.js';
export { CharTokenizer, type CharTrainOptions, type UnknownCharPolicy } from './char.js';
export { ByteLevelBPETokenizer, type ByteLevelBPETrainOptions, parseMergesTxt, parseVocabJSON } from './byte-level-bpe.js';
export { BPEModel } from './bpe-model.js';
export { BPETokenizer, type BPETokenizerInit } from './bpe-tokenizer.js';
export { UNK_PENALTY, UnigramModel, UnigramTokenizer, type UnigramTokenizerInit } from './unigram-model.js';
export { normalizerFromJSON, translateOnigurumaRegex, type Normalizer } from './normalizers.js';
export { preTokenizerFromJSON, llama3Split, GPT2_PATTERN, LLAMA3_PATTERN, QWEN2_PATTERN, type PreTokenizerPipeline } from './pre-tokenizers.js';
export { decoderFromJSON, type DecoderStep } from './decoders.js';
export {
  tokenizerFromGGUFMetadata,
  chatTemplateFromGGUFMetadata,
  endOfTurnIdsFromGGUFMetadata,
  mergesFromScores,
  type GGUFMetadata,
  GGUF_TOKEN_TYPE,
  SUPPORTED_GGUF_PRE,
} from './gguf-tokenizer.js';
export { WordPieceTokenizer, type WordPieceTrainOptions, type WordPieceVocabOptions, type BertNormalizerOptions, BERT_SPECIAL_TOKENS, readVocabTxt } from './wordpiece.js';
export { StreamDecoder } from './stream-decoder.js';
export { loadTokenizer, tokenizerFromJSON, type TokenizerJSONOptions } from './load.js';
export { BYTE_TO_CHAR, byteLevelAlphabet, gpt2Split } from './byte-level.js';
