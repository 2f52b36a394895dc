/**
 * What loading a model directory gives, by kind of model — the discriminated
 * union {@link LoadedModelAny} that `loadModel()` (src/models/registry.ts)
 * returns. A family's loader returns one of these kinds (a new causal LM
 * family returns a {@link LoadedCausalLM} of its own model class), so code
 * that narrows on `kind` works for families added later.
 */
import type { Module } from '../nn/module.js';
import type { Tokenizer } from '../tokenizers/types.js';
import type { GenerationConfig } from '../generate/config.js';
import type { CountVectorizer, Norm } from '../features/index.js';
import type { CausalLM } from './causal-lm.js';
import type { LoadReport } from './pretrained.js';
import type { Seq2SeqTransformer } from './seq2seq/model.js';
import type { BertForMaskedLM } from './bert/model.js';
import type { SentenceVAE } from './vae/sentence-vae.js';
import type { Autoencoder } from './vae/autoencoder.js';
import type { VAE } from './vae/vae.js';

/** The Chinese script a model was trained on; inputs are converted to it (OpenCC). `keep` = no conversion. */
export type Script = 'simplified' | 'traditional' | 'keep';

/** Fields every loaded model has. */
export interface LoadedCommon {
  /** The family that loaded it (`gpt2`, `bert`, …; see `src/models/families.ts`). */
  family: string;
  /** `config.json` `model_type`. */
  modelType: string;
  /** The directory (or file) it was loaded from. */
  dir: string;
  /** Tensors the checkpoint lacked (left at init) or had in excess (ignored). */
  report: LoadReport;
}

/** Shape facts about a causal LM, in one vocabulary for every family (for listings such as `GET /api/models`). */
export interface CausalLMInfo {
  /** Longest sequence the model accepts (`n_positions`, `max_position_embeddings`). */
  contextLength: number;
  nLayer: number;
  nHead: number;
  vocabSize: number;
}

/** A decoder-only language model for `generate()`/`stream()` and perplexity. */
export interface LoadedCausalLM<M extends CausalLM & Module = CausalLM & Module> extends LoadedCommon {
  kind: 'causal-lm';
  model: M;
  info: CausalLMInfo;
  tokenizer: Tokenizer;
  /** Defaults from `generation_config.json` (HF names in camelCase). */
  generationConfig: GenerationConfig;
  /** Script the model was trained on (`muse_recipe.json` → `data.script`); prompts are converted to it. */
  script: Script;
}

/** An encoder–decoder (`muse-seq2seq`): bind a source, then decode (see `src/models/seq2seq/load.ts`). */
export interface LoadedSeq2Seq extends LoadedCommon {
  kind: 'seq2seq';
  model: Seq2SeqTransformer;
  tokenizer: Tokenizer;
  /** Defaults from `generation_config.json`; `bosTokenId` is the decoder start token. */
  generationConfig: GenerationConfig;
  script: Script;
}

/** A masked language model for fill-mask (BERT). */
export interface LoadedMaskedLM extends LoadedCommon {
  kind: 'masked-lm';
  model: BertForMaskedLM;
  tokenizer: Tokenizer;
  script: Script;
}

/** A sentence VAE (Bowman et al. 2016) over lines of verse. */
export interface LoadedSentenceVAE extends LoadedCommon {
  kind: 'sentence-vae';
  model: SentenceVAE;
  tokenizer: Tokenizer;
  script: Script;
  /** Han characters per line of the training data (for well-formedness checks). */
  charsPerLine: number;
}

/** An MLP autoencoder or VAE over vectorized documents, with its vectorizer. */
export interface LoadedVectorAutoencoder extends LoadedCommon {
  kind: 'vector-autoencoder';
  model: Autoencoder | VAE;
  vectorizer: CountVectorizer;
  /** Row norm applied after vectorizing (null = none). */
  norm: Norm | null;
  script: Script;
}

/** Any loaded model; narrow on `kind`. */
export type LoadedModelAny = LoadedCausalLM | LoadedSeq2Seq | LoadedMaskedLM | LoadedSentenceVAE | LoadedVectorAutoencoder;
