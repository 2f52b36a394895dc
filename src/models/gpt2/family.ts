/**
 * The GPT-2 family's registry entry (`model_type` `gpt2`): a causal LM for
 * generation, pretraining, fine-tuning and perplexity. Loads and saves
 * Hugging Face `GPT2LMHeadModel` directories (weight names: `weights.ts`).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Generator } from '../../tensor/index.js';
import { loadTokenizer } from '../../tokenizers/index.js';
import { fallbackGenerationDefaults, generationConfigFromHF, toHF } from '../../generate/index.js';
import { ConfigError, FileFormatError } from '../../errors.js';
import { recipeScript, scriptNoteFiles } from '../../pipelines/runs.js';
import { saveModel } from '../pretrained.js';
import type { LoadedCausalLM, LoadedModelAny } from '../loaded.js';
import type { CostRecipe, ModelFamily, SaveParts, TrainingCost } from '../registry.js';
import { GPT } from './model.js';
import { gptConfig, gptParameterCount } from './config.js';
import { loadGPT } from './weights.js';
import { isGgufOf, loadGgufGPT2 } from '../../gguf/load.js';
import { loadStoredGgufLM, wantsStoredWeights } from '../stored/gguf-stored.js';

/** A GPT-2 directory loaded for generation (model, tokenizer, generation defaults, script). */
export type LoadedGPT2 = LoadedCausalLM<GPT>;

/**
 * Load a GPT-2 model directory (HF layout) with its tokenizer and generation
 * defaults, from disk only.
 * @param tokenizerDir where the tokenizer files are (default: `dir`)
 * @throws FileFormatError naming the directory/file when something is missing or corrupt
 * @throws ShapeError when a tensor's shape does not match the config (named)
 */
export function loadGPT2Dir(dir: string, tokenizerDir: string = dir): LoadedGPT2 {
  if (!existsSync(dir)) {
    throw new FileFormatError(`model directory ${dir} does not exist; pass --model DIR with a directory from \`muse train\` (its best/ or last/) or a Hugging Face GPT-2 directory`);
  }
  const { model, report, generationConfig: genJson } = loadGPT(dir);
  // loadTokenizer also reads tokenizer_config.json / special_tokens_map.json for the special-token roles.
  const tokenizer = loadTokenizer(tokenizerDir);
  const c = model.config;
  if (tokenizer.vocabSize > c.vocab_size) {
    // Ids the model has no row for would otherwise surface later as an error about the prompt.
    throw new FileFormatError(
      `${tokenizerDir}: the tokenizer has ${tokenizer.vocabSize} tokens but ${join(dir, 'config.json')} says vocab_size ${c.vocab_size}; ` +
        'the tokenizer does not belong to this model (pass the model\'s own tokenizer, e.g. with --tokenizer DIR)',
    );
  }
  // No generation_config.json: sample with llama.cpp's defaults rather than HF's 20 greedy tokens.
  const generationConfig = genJson ? generationConfigFromHF(genJson) : fallbackGenerationDefaults(c.n_positions);
  const info = { contextLength: c.n_positions, nLayer: c.n_layer, nHead: c.n_head, vocabSize: c.vocab_size };
  return { kind: 'causal-lm', family: 'gpt2', modelType: 'gpt2', dir, model, tokenizer, generationConfig, script: recipeScript(dir), report, info };
}

/**
 * Save a GPT-2 directory that {@link loadGPT2Dir} (and `transformers`) reads back:
 * config, weights, tokenizer, generation defaults, and the script note.
 */
export function saveGPT2Dir(dir: string, parts: SaveParts<LoadedGPT2>): void {
  if (!(parts.model instanceof GPT)) {
    throw new ConfigError(`${dir}: this model was loaded with its weights as stored (half precision or quantized), for inference only; load it with dtype float32 (--dtype float32) to save or train it`);
  }
  saveModel(dir, parts.model, {
    config: parts.model.config,
    tokenizerJson: parts.tokenizer.toJSON(),
    generationConfig: toHF(parts.generationConfig),
    extraFiles: scriptNoteFiles(parts.script),
  });
}

/**
 * The GPT-2 model of a loaded model, for the features that are GPT-2 only so
 * far (fine-tuning, attention maps, bundling).
 * @param what the feature, for the error message
 * @throws ConfigError naming the feature and the directory's model_type when it is not GPT-2
 */
export function requireGPT(loaded: LoadedModelAny, what: string): GPT {
  if (loaded.model instanceof GPT) return loaded.model;
  throw new ConfigError(
    `${what} supports GPT-2 models only; ${loaded.dir} is a ${loaded.modelType} model` +
      (loaded.kind === 'causal-lm' ? ' (generation, streaming, beam search, serve and eval work with it)' : ''),
  );
}

/**
 * Parameters and training FLOPs of a GPT-2 recipe: 6N + 12·n_layer·n_embd·T,
 * N without the position embeddings (PaLM appendix B; Kaplan et al. 2020).
 */
export function gpt2TrainingCost(r: CostRecipe): TrainingCost {
  const cfg = gptConfig({ ...r.model, n_positions: (r.model['n_positions'] as number | undefined) ?? r.blockSize });
  const parameters = gptParameterCount(cfg);
  const nonEmbeddingParameters = parameters - cfg.n_positions * cfg.n_embd;
  const flopsPerToken = 6 * nonEmbeddingParameters + 12 * cfg.n_layer * cfg.n_embd * r.blockSize;
  return { parameters, nonEmbeddingParameters, flopsPerToken, width: cfg.n_embd, inner: 4 * cfg.n_embd };
}

/** The registry entry (listed in `src/models/families.ts`). */
export const gpt2Family: ModelFamily<LoadedGPT2> = {
  name: 'gpt2',
  modelTypes: ['gpt2'],
  kind: 'causal-lm',
  tasks: ['generate', 'pretrain', 'finetune', 'perplexity'],
  readConfig: (raw) => gptConfig(raw),
  build: (config, opts = {}) => new GPT(gptConfig(config), { generator: new Generator(opts.seed ?? 0) }),
  load: (path, opts = {}) => {
    if (!isGgufOf(path, ['gpt2'])) return loadGPT2Dir(path, opts.tokenizerDir);
    // Stored weights (dtype auto): an inference-only model, not a GPT; GPT-only features check with requireGPT.
    return wantsStoredWeights(opts) ? (loadStoredGgufLM(path, opts) as unknown as LoadedGPT2) : loadGgufGPT2(path);
  },
  save: saveGPT2Dir,
  trainingCost: gpt2TrainingCost,
  canLoadFile: (path) => isGgufOf(path, ['gpt2']),
  loadWeights: (path, opts) => loadGPT(path, opts),
};
