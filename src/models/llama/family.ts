/**
 * The Llama family's registry entry (`model_type` llama, mistral, qwen2,
 * qwen3): a causal LM for generation, pretraining (`muse train` recipes) and perplexity, loaded from Hugging Face
 * directories (`load.ts`) and saved as `transformers` reads them.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { readJsonFile } from '../../io/json.js';
import { Generator } from '../../tensor/index.js';
import { loadTokenizer } from '../../tokenizers/index.js';
import { fallbackGenerationDefaults, generationConfigFromHF, toHF } from '../../generate/index.js';
import { FileFormatError } from '../../errors.js';
import { recipeScript, scriptNoteFiles } from '../../pipelines/runs.js';
import type { LoadedCausalLM } from '../loaded.js';
import type { CostRecipe, ModelFamily, SaveParts, TrainingCost } from '../registry.js';
import { LlamaForCausalLM } from './model.js';
import { LLAMA_MODEL_TYPES, llamaConfig, llamaParameterCount } from './config.js';
import { loadLlama, saveLlama } from './load.js';
import { isGgufOf, loadGgufLlama } from '../../gguf/load.js';

/** GGUF architectures this family loads (Mistral files use llama). */
const GGUF_LLAMA_ARCHS = ['llama', 'qwen2', 'qwen3'];
import { ConfigError } from '../../errors.js';
import { getBackend } from '../../backend/index.js';
import { nativeDecoderAvailable } from '../stored/decoder.js';
import { dominantDtype, rawTensorSource, readRawCheckpoint } from '../stored/hf-stored.js';
import { StoredLlamaLM } from '../stored/llama.js';
import { loadStoredGgufLM, wantsStoredWeights } from '../stored/gguf-stored.js';
import type { LoadModelOptions } from '../registry.js';

/** A Llama-family directory loaded for generation. */
export type LoadedLlamaLM = LoadedCausalLM<LlamaForCausalLM | StoredLlamaLM>;

/**
 * The half-precision model of a directory when `dtype: 'auto'` asks for the
 * weights as stored, the native decoder is there and the file's matrices are
 * F16/BF16; otherwise null (load float32).
 */
function storedLlama(dir: string, opts: LoadModelOptions): StoredLlamaLM | null {
  if (!wantsStoredWeights(opts)) return null;
  const raw = readRawCheckpoint(dir);
  const dtype = dominantDtype(raw);
  if (dtype !== 'F16' && dtype !== 'BF16') return null;
  return new StoredLlamaLM(llamaConfig(readJsonFile(join(dir, 'config.json')) as Record<string, unknown>), rawTensorSource(raw), {
    kvCacheDtype: opts.kvCacheDtype, source: dir,
  });
}

/**
 * Load a Llama-family directory (HF layout) with its tokenizer and generation defaults, from disk only.
 * @throws FileFormatError naming the directory/file when something is missing or corrupt
 * @throws ConfigError naming config.json and the field for an unsupported config
 */
export function loadLlamaDir(dir: string, tokenizerDir: string = dir, opts: LoadModelOptions = {}): LoadedLlamaLM {
  if (!existsSync(dir)) throw new FileFormatError(`model directory ${dir} does not exist; pass --model DIR with a Hugging Face Llama, Mistral, Qwen2 or Qwen3 directory`);
  const stored = storedLlama(dir, opts);
  const { model, report, generationConfig: genJson } = stored
    ? { model: stored, report: { missing: [], unexpected: [] }, generationConfig: readGenerationConfig(dir) }
    : loadLlama(dir);
  const tokenizer = loadTokenizer(tokenizerDir);
  const c = model.config;
  // No generation_config.json: sample with llama.cpp's defaults rather than HF's 20 greedy tokens.
  const generationConfig = genJson ? generationConfigFromHF(genJson) : fallbackGenerationDefaults(model.maxPositions);
  const info = { contextLength: model.maxPositions, nLayer: c.num_hidden_layers, nHead: c.num_attention_heads, vocabSize: c.vocab_size };
  return { kind: 'causal-lm', family: 'llama', modelType: c.model_type, dir, model, tokenizer, generationConfig, script: recipeScript(dir), report, info };
}

/** Save a Llama-family directory that {@link loadLlamaDir} (and `transformers`) reads back. */
export function saveLlamaDir(dir: string, parts: SaveParts<LoadedLlamaLM>): void {
  if (!(parts.model instanceof LlamaForCausalLM)) {
    throw new ConfigError(`${dir}: this model was loaded with its weights as stored (half precision or quantized), for inference only; load it with dtype float32 (--dtype float32) to save or train it`);
  }
  saveLlama(dir, parts.model, {
    tokenizerJson: parts.tokenizer.toJSON(),
    generationConfig: toHF(parts.generationConfig),
    extraFiles: scriptNoteFiles(parts.script),
  });
}

/**
 * Parameters and training FLOPs of a Llama-family recipe: N is every parameter
 * (no position embeddings; the embedding matrix counted once, as the tied head
 * or beside an untied one, whose lookup costs no FLOPs but is counted as the
 * GPT-2 estimate counts wte); attention adds 12·L·(heads·headDim)·T.
 */
export function llamaTrainingCost(r: CostRecipe): TrainingCost {
  const cfg = llamaConfig({ ...r.model, max_position_embeddings: (r.model['max_position_embeddings'] as number | undefined) ?? r.blockSize }, 'recipe model');
  const parameters = llamaParameterCount(cfg);
  const matmulParams = cfg.tie_word_embeddings ? parameters : parameters - cfg.vocab_size * cfg.hidden_size;
  const flopsPerToken = 6 * matmulParams + 12 * cfg.num_hidden_layers * cfg.num_attention_heads * cfg.head_dim * r.blockSize;
  return { parameters, nonEmbeddingParameters: parameters, flopsPerToken, width: cfg.hidden_size, inner: cfg.intermediate_size };
}

/** The registry entry (listed in `src/models/families.ts`). */
export const llamaFamily: ModelFamily<LoadedLlamaLM> = {
  name: 'llama',
  modelTypes: LLAMA_MODEL_TYPES,
  kind: 'causal-lm',
  tasks: ['generate', 'pretrain', 'perplexity'],
  readConfig: (raw) => llamaConfig(raw),
  build: (config, opts = {}) => new LlamaForCausalLM(llamaConfig(config), { generator: new Generator(opts.seed ?? 0) }),
  load: (path, opts = {}) => {
    if (!isGgufOf(path, GGUF_LLAMA_ARCHS)) return loadLlamaDir(path, opts.tokenizerDir, opts);
    return wantsStoredWeights(opts) ? (loadStoredGgufLM(path, opts) as LoadedLlamaLM) : loadGgufLlama(path);
  },
  save: saveLlamaDir,
  trainingCost: llamaTrainingCost,
  canLoadFile: (path) => isGgufOf(path, GGUF_LLAMA_ARCHS),
  loadWeights: (path, opts) => loadLlama(path, opts),
};

/** `generation_config.json` of a directory, when present. */
function readGenerationConfig(dir: string): Record<string, unknown> | undefined {
  const p = join(dir, 'generation_config.json');
  return existsSync(p) ? (readJsonFile(p) as Record<string, unknown>) : undefined;
}
