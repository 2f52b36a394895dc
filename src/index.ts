/**
 * muse's public API — what `import … from 'muse'` gives.
 *
 * - Load any model directory by its `config.json` `model_type`
 *   ({@link loadModel}, {@link loadCausalLM}; the families are listed in
 *   `src/models/families.ts`), generate or stream text ({@link generate},
 *   {@link stream}), fill masks, sample verse from a VAE.
 * - Train and fine-tune from recipes ({@link pretrain}, {@link finetune},
 *   {@link finetuneSeq2Seq}, {@link trainSentenceVAE}, {@link trainVectorAutoencoder}).
 * - Score text (BLEU, chrF, ROUGE, perplexity, diversity, poem metrics), tokenize
 *   (char, byte-level BPE, WordPiece), vectorize (scikit-learn's
 *   CountVectorizer / TfidfVectorizer), and compute with tensors and autograd.
 *
 * @example
 * ```js
 * import { loadCausalLM, generate, defaultModelFor } from 'muse';
 * const lm = loadCausalLM(defaultModelFor('床前明月光，'));
 * const ids = lm.tokenizer.encode('床前明月光，', { addSpecialTokens: false }).ids;
 * const out = generate(lm.model, [ids], { ...lm.generationConfig, maxNewTokens: 20 }, { tokenizer: lm.tokenizer });
 * console.log(lm.tokenizer.decode(out.sequences[0]));
 * ```
 */

// Errors every function throws on purpose.
export { MuseError, ShapeError, ConfigError, FileFormatError } from './errors.js';

// Models: the registry and what it loads.
export {
  loadModel,
  loadCausalLM,
  loadModelOfKind,
  loadModelWeights,
  registerFamily,
  registeredFamilies,
  familyFor,
  knownModelTypes,
  readModelConfig,
  readConfigFor,
  modelTypeOf,
  UnknownModelTypeError,
  type ModelFamily,
  type ModelTask,
  type LoadModelOptions,
  type SaveParts,
} from './models/registry.js';
export type {
  LoadedModelAny,
  LoadedCausalLM,
  LoadedSeq2Seq,
  LoadedMaskedLM,
  LoadedSentenceVAE,
  LoadedVectorAutoencoder,
  CausalLMInfo,
  Script,
} from './models/loaded.js';
export type { CausalLM, LMCache } from './models/causal-lm.js';
export { saveModel, modelTensors, type SaveModelOptions, type LoadReport } from './models/pretrained.js';
export { BUNDLED_MODELS, bundledModelsDir, defaultModelDir, defaultModelFor, type BundledModel } from './models/bundled.js';
export * from './models/gpt2/index.js';
export * from './models/bert/index.js';
export * from './models/seq2seq/index.js';
export * from './models/llama/index.js';
export * from './models/vae/index.js';
// LoRA adapters in PEFT's format (docs/finetune.md).
export * from './lora/index.js';

// Generation, evaluation, tokenizers, vectorizers, tensors.
export * from './generate/index.js';
export * from './eval/index.js';
// Chinese verse: prosody of characters, 平仄 patterns, poem metrics.
export * from './poetry/index.js';
export * from './tokenizers/index.js';
export type { Tokenizer, Encoding, EncodeOptions, DecodeOptions } from './tokenizers/types.js';
export * from './features/index.js';
// Both layers name a type Normalizer: the vectorizers' row normalizer (scikit-learn) keeps the name;
// a tokenizer.json normalizer is TokenizerNormalizer.
export { Normalizer } from './features/index.js';
export type { Normalizer as TokenizerNormalizer } from './tokenizers/index.js';
export * from './tensor/index.js';
export { Module } from './nn/module.js';
export { getBackend, setBackend } from './backend/index.js';

// Training.
export { Trainer, type TrainerOptions, type TrainSummary } from './train/index.js';
export { AdamW, clipGradNorm, cosineWithWarmup, EarlyStopping, type AdamWOptions } from './train/index.js';
export { loadRecipe, applyRecipeOverrides, type TrainRecipe } from './pipelines/recipe.js';
export { assertFreshRunDir, resumeChanges } from './pipelines/runs.js';
export { estimateTraining, type TrainingEstimate } from './pipelines/estimate.js';
export { inferPoemForm } from './pipelines/poem-form.js';
export { unknownCharacters, unknownPromptWarning } from './pipelines/prompt-check.js';

// Data.
export {
  readCorpus,
  toSimplified,
  toTraditional,
  toScript,
  isChinese,
  splitDocuments,
  splitText,
  readPairs,
  fablesToPairs,
  findPii,
  redactPii,
  type StoryPair,
} from './data/index.js';

// Chat: templates, end-of-turn ids, sessions (docs/chat.md).
export * from './chat/index.js';
// GGUF files: read (docs/models.md) and write.
export {
  GgufFile,
  readGgufHeader,
  metaNumber,
  metaString,
  metaStrings,
  writeGguf,
  type GgufHeader,
  type GgufTensorInfo,
  type GgufMetadata,
  type GgufValue,
} from './io/index.js';
// The HTTP server (docs/serve.md), loaded on first use.
export { createServer } from './serve/lazy.js';
export type { ServeOptions } from './serve/options.js';
export type { MuseServerHandle } from './serve/lazy.js';
