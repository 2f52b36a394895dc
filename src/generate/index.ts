/**
 * Decoding: `generate()` / `stream()` and the parts they are built from
 * (logits processors and warpers, samplers, beam search, stopping criteria,
 * creative constraints). See docs/generate.md.
 */
export { generate, generateAsync, stream, type TextStream, type StreamOptions } from './generate.js';
export type { GenerateOptions, GenerateOutput, TokenEvent } from './plan.js';
export {
  validateGenerationConfig,
  resolveGenerationConfig,
  generationConfigFromHF,
  toHF,
  readGenerationConfig,
  writeGenerationConfig,
  POEM_FORMS,
  TONE_MODES,
  type ToneMode,
  type GenerationConfig,
  type ResolvedGenerationConfig,
  type EarlyStopping,
  type PoemForm,
  type PrefixAllowedTokensFn,
} from './config.js';
export { checkMinMaxNewTokens } from './config.js';
export { fallbackGenerationDefaults, FALLBACK_MAX_NEW_TOKENS } from './defaults.js';
export {
  RepetitionPenaltyLogitsProcessor,
  NoRepeatNGramLogitsProcessor,
  NoBadWordsLogitsProcessor,
  MinNewTokensLengthLogitsProcessor,
  PrefixConstrainedLogitsProcessor,
  SuppressTokensLogitsProcessor,
  buildLogitsProcessors,
  type LogitsProcessor,
  type RowContext,
} from './logits-process.js';
export {
  TemperatureLogitsWarper,
  TopKLogitsWarper,
  TopPLogitsWarper,
  MinPLogitsWarper,
  TypicalLogitsWarper,
  buildLogitsWarpers,
} from './logits-warp.js';
export { PoemConstraint, type PoemConstraintOptions } from './constraints.js';
export { ProsodyConstraint, type ProsodyConstraintOptions } from './prosody-constraint.js';
export { StopStringMatcher, type FinishReason } from './stopping.js';
export { greedyChoice, sampleChoice, type RandomSource, type Choice } from './sampling.js';
export type { GenerationTokenizer, TextStreamDecoder } from './tokenizer.js';
export { checkGenerationMemory, bytesPerDecodingRow, DEFAULT_GENERATION_MEMORY_BYTES } from './memory-limit.js';
