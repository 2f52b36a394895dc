import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadGPT, type LoadReport } from '../models/pretrained.js';
import type { GPT } from '../models/gpt.js';
import { loadTokenizer, type Tokenizer } from '../tokenizers/index.js';
import { generationConfigFromHF, type GenerationConfig } from '../generate/index.js';
import { toSimplified, toTraditional } from '../data/index.js';
import { FileFormatError } from '../errors.js';

/** A model directory loaded for generation. */
export interface LoadedModel {
  dir: string;
  model: GPT;
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
 * Load a GPT-2 model directory (HF layout) with its tokenizer and generation
 * defaults, from disk only.
 * @throws FileFormatError naming the directory/file when something is missing or corrupt
 */
export function loadModelDir(dir: string): LoadedModel {
  if (!existsSync(dir)) {
    throw new FileFormatError(`model directory ${dir} does not exist; pass --model DIR with a directory from \`muse train\` (its best/ or last/) or a Hugging Face GPT-2 directory`);
  }
  const { model, report, generationConfig: genJson } = loadGPT(dir);
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
