import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadGPT, type LoadReport } from '../models/pretrained.js';
import { GPT } from '../models/gpt2/model.js';
import { loadLlama } from '../models/llama/load.js';
import { LLAMA_MODEL_TYPES } from '../models/llama/config.js';
import type { LlamaForCausalLM } from '../models/llama/model.js';
import { loadTokenizer, type Tokenizer } from '../tokenizers/index.js';
import { generationConfigFromHF, type GenerationConfig } from '../generate/index.js';
import { toSimplified, toTraditional } from '../data/index.js';
import { ConfigError, FileFormatError } from '../errors.js';

/** A model directory loaded for generation. */
export interface LoadedModel {
  dir: string;
  /** A GPT-2 (`model_type` gpt2) or Llama-family (llama, mistral, qwen2, qwen3) causal LM. */
  model: GPT | LlamaForCausalLM;
  tokenizer: Tokenizer;
  /** Defaults from `generation_config.json` (HF names in camelCase). */
  generationConfig: GenerationConfig;
  /** Script the model was trained on (`muse_recipe.json` → `data.script`); prompts are converted to it. */
  script: 'simplified' | 'traditional' | 'keep';
  report: LoadReport;
}

/** The folder holding the bundled models (`<package>/models`). */
export function bundledModelsDir(): string {
  return resolve(dirname(fileURLToPath(import.meta.url)), '../../models');
}

/** True when `text` contains a CJK ideograph (then the Chinese default model is picked). */
export function isChinese(text: string): boolean {
  return /[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u{20000}-\u{2ffff}]/u.test(text);
}

/**
 * The default model for a prompt: `muse-poet-zh` for Chinese text, otherwise
 * `muse-story-en` (both bundled in `models/`).
 */
export function defaultModelFor(prompt: string): string {
  return join(bundledModelsDir(), isChinese(prompt) ? 'muse-poet-zh' : 'muse-story-en');
}

/**
 * Load a causal LM directory (HF layout: GPT-2, or the llama family by its
 * config.json `model_type`) with its tokenizer and generation defaults, from disk only.
 * @throws FileFormatError naming the directory/file when something is missing or corrupt
 */
export function loadModelDir(dir: string): LoadedModel {
  if (!existsSync(dir)) {
    throw new FileFormatError(`model directory ${dir} does not exist; pass --model DIR with a directory from \`muse train\` (its best/ or last/) or a Hugging Face GPT-2 directory`);
  }
  const type = modelTypeOf(dir);
  const { model, report, generationConfig: genJson } = LLAMA_MODEL_TYPES.includes(type as (typeof LLAMA_MODEL_TYPES)[number]) ? loadLlama(dir) : loadGPT(dir);
  // loadTokenizer also reads tokenizer_config.json / special_tokens_map.json for the special-token roles.
  const tokenizer = loadTokenizer(dir);
  const generationConfig = genJson ? generationConfigFromHF(genJson) : {};
  return { dir, model, tokenizer, generationConfig, script: recipeScript(dir), report };
}

/**
 * The Chinese script a model was trained on, from the recipe note
 * (`muse_recipe.json`) its training wrote into the directory; `'keep'` when
 * there is none or it is damaged (a damaged note never stops a model from loading).
 */
export function recipeScript(dir: string): 'simplified' | 'traditional' | 'keep' {
  const recipePath = join(dir, 'muse_recipe.json');
  if (!existsSync(recipePath)) return 'keep';
  try {
    const r = JSON.parse(readFileSync(recipePath, 'utf8')) as { recipe?: { data?: { script?: 'simplified' | 'traditional' | 'keep' } } };
    return r.recipe?.data?.script ?? 'keep';
  } catch {
    return 'keep';
  }
}

/** Convert a prompt to the script the model was trained on (OpenCC; a traditional prompt works with a simplified model). */
export function normalizePrompt(prompt: string, script: LoadedModel['script']): string {
  if (script === 'simplified') return toSimplified(prompt);
  if (script === 'traditional') return toTraditional(prompt);
  return prompt;
}

/**
 * The `model_type` in `dir/config.json` (`gpt2`, `muse-seq2seq`, …), or
 * undefined when the file is missing or unreadable (the loader then reports
 * the problem). Lets commands pick the loader for a directory.
 */
export function modelTypeOf(dir: string): string | undefined {
  try {
    const cfg = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as { model_type?: unknown };
    return typeof cfg.model_type === 'string' ? cfg.model_type : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The GPT-2 model of a loaded directory, for the features that are GPT-2 only
 * so far (fine-tuning, attention maps, bundling).
 * @param what the feature, for the error message
 * @throws ConfigError naming the feature and the directory's model_type when it is not GPT-2
 */
export function requireGPT(loaded: LoadedModel, what: string): GPT {
  if (loaded.model instanceof GPT) return loaded.model;
  throw new ConfigError(`${what} supports GPT-2 models only; ${loaded.dir} is a ${loaded.model.config.model_type} model (generation, streaming, beam search, serve and eval work with it)`);
}

/** Shape facts about a loaded causal LM (for listings): context length, layers, attention heads, vocabulary size. */
export function causalLMInfo(model: GPT | LlamaForCausalLM): { contextLength: number; nLayer: number; nHead: number; vocabSize: number } {
  if (model instanceof GPT) return { contextLength: model.maxPositions, nLayer: model.config.n_layer, nHead: model.config.n_head, vocabSize: model.vocabSize };
  return { contextLength: model.maxPositions, nLayer: model.config.num_hidden_layers, nHead: model.config.num_attention_heads, vocabSize: model.vocabSize };
}
