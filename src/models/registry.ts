/**
 * The model registry: one entry per model family, keyed by the Hugging Face
 * `config.json` `model_type` it serves — the `Auto*` pattern of
 * `transformers` (`AutoConfig`/`AutoModel` look the type up in one mapping).
 * Every loader in muse (the CLI, `muse serve`, `muse estimate`, the library's
 * {@link loadModel}) goes through {@link familyFor}; adding a family is one
 * folder under `src/models/` and one line in `src/models/families.ts`.
 *
 * What a family provides ({@link ModelFamily}): the `model_type`s it serves,
 * how to read and validate its config, how to build a fresh model, how to load
 * a directory (or a single file, {@link ModelFamily.canLoadFile}) and save
 * one, and which tasks it serves.
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { readJsonFile } from '../io/json.js';
import { ConfigError, FileFormatError, MuseError } from '../errors.js';
import type { Module } from '../nn/module.js';
import type { Generator } from '../tensor/random.js';
import type { LoadReport } from './pretrained.js';
import type { LoadedCausalLM, LoadedModelAny } from './loaded.js';
import { BUILTIN_FAMILIES } from './families.js';
import { ggufLoadProblem } from '../gguf/read.js';

/** What a family can be used for (CLI verbs and library entry points). */
export type ModelTask =
  | 'generate'
  | 'pretrain'
  | 'finetune'
  | 'perplexity'
  | 'fill-mask'
  | 'encode'
  | 'sample'
  | 'interpolate'
  | 'reconstruct'
  | 'neighbors';

/** Options every family's loader accepts. */
export interface LoadModelOptions {
  /**
   * Where the tokenizer files are when the model directory has none (e.g. a
   * checkpoint saved without its tokenizer). Default: the model directory.
   */
  tokenizerDir?: string;
  /**
   * Weights in memory: `float32` (default) loads the trainable float32 model;
   * `auto` keeps what the file stores — F16/BF16 matrices of a Llama-family
   * directory stay half precision, GGUF files stay in their (quantized)
   * types — in an inference-only model on the native stored-weight decoder
   * (falls back to float32 when the native addon is missing). `muse generate`
   * and `muse serve` load with `auto` unless `--dtype float32` is given.
   */
  dtype?: 'float32' | 'auto';
  /** KV cache element type of a stored-weight model (`float16` halves the cache); default float32. */
  kvCacheDtype?: 'float32' | 'float16';
}

/**
 * One model family: the contract between the registry and a folder under
 * `src/models/`. `L` is what its loader returns (one member of
 * {@link LoadedModelAny}).
 */
export interface ModelFamily<L extends LoadedModelAny = LoadedModelAny> {
  /** Family name (`gpt2`, `bert`, …), also the folder name under `src/models/`. */
  readonly name: string;
  /** The `config.json` `model_type` values this family loads (e.g. `['gpt2']`). */
  readonly modelTypes: readonly string[];
  /** What a loaded model of this family is (`causal-lm`, `masked-lm`, …): the discriminant of {@link LoadedModelAny}. */
  readonly kind: L['kind'];
  /** The tasks this family serves. */
  readonly tasks: readonly ModelTask[];
  /**
   * Complete and validate a config (HF field names).
   * @throws ConfigError naming the field (the registry prefixes the file)
   */
  readConfig(raw: Record<string, unknown>): Record<string, unknown>;
  /** A freshly initialised model for `config` (seeded: the same seed gives the same weights). */
  build(config: Record<string, unknown>, opts?: { seed?: number }): Module;
  /**
   * Load a model directory (or a single file, when {@link canLoadFile} accepts it)
   * with everything needed to use it (tokenizer, generation defaults, …).
   * @throws FileFormatError / ShapeError naming the file and the tensor or field
   */
  load(path: string, opts?: LoadModelOptions): L;
  /** Save `loaded` (as {@link load} returns it, or as a trainer builds it) as a directory that {@link load} reads back. */
  save(dir: string, loaded: SaveParts<L>): void;
  /** True when this family loads the single file `path` (e.g. a `.gguf`); directories are matched by `model_type`. */
  canLoadFile?(path: string): boolean;
  /**
   * The weights alone, no tokenizer (e.g. a bare Hugging Face checkpoint, or
   * resuming a training run), with dropout drawing from `generator`.
   */
  loadWeights?(path: string, opts?: { generator?: Generator }): { model: Module; report: LoadReport };
  /**
   * Parameters and training FLOPs per token of a recipe's model (`muse estimate`).
   * @throws ConfigError naming a bad field
   */
  trainingCost?(recipe: CostRecipe): TrainingCost;
}

/** What a recipe's model costs to train, per token (for `muse estimate`; see `src/pipelines/estimate.ts`). */
export interface TrainingCost {
  parameters: number;
  /** Parameters excluding position embeddings (the "N" of 6N; Kaplan et al. 2020). */
  nonEmbeddingParameters: number;
  /** Training FLOPs per token (forward + backward incl. attention; PaLM appendix B). */
  flopsPerToken: number;
  /** The widest GEMM's shape `[tokens, width]·[width, inner]`, where the speed is measured. */
  width: number;
  inner: number;
}

/** The recipe fields a training-cost estimate reads. */
export interface CostRecipe {
  /** The recipe's `model` section (HF config fields, `vocab_size` filled in). */
  model: Record<string, unknown>;
  /** Sequence length of a training example. */
  blockSize: number;
  /** Share of positions a masked LM predicts (default 0.15). */
  mlmProbability?: number;
}

/** The parts of a loaded model that saving needs (what a trainer has in hand). */
export type SaveParts<L extends LoadedModelAny> = Omit<L, 'dir' | 'report' | 'family' | 'modelType' | 'kind' | 'config'>;

// Family modules import this file for types only, so this list is built without an import cycle.
const families: ModelFamily[] = [...BUILTIN_FAMILIES];

/**
 * Register a family. A `model_type` already served by another family is an
 * error (two loaders for one type would make loading ambiguous).
 * @throws MuseError naming the clashing type and both families
 */
export function registerFamily<L extends LoadedModelAny>(family: ModelFamily<L>): void {
  for (const t of family.modelTypes) {
    const clash = families.find((f) => f.modelTypes.includes(t));
    if (clash && clash.name !== family.name) {
      throw new MuseError('MODEL_TYPE_CLASH', `model_type "${t}" is served by family ${clash.name} already; family ${family.name} cannot claim it`);
    }
  }
  const i = families.findIndex((f) => f.name === family.name);
  if (i >= 0) families.splice(i, 1);
  families.push(family);
}

/** The registered families, in registration order. */
export function registeredFamilies(): readonly ModelFamily[] {
  return families;
}

/** Every `model_type` muse loads, sorted. */
export function knownModelTypes(): string[] {
  return families.flatMap((f) => [...f.modelTypes]).sort();
}

/** Thrown for a `model_type` no family serves (a {@link FileFormatError}: the config file names a type muse does not load). */
export class UnknownModelTypeError extends FileFormatError {
  constructor(message: string) {
    super(message);
    this.name = 'UnknownModelTypeError';
  }
}

/**
 * The family serving `modelType`.
 * @param where what to name in the error (the config file)
 * @throws UnknownModelTypeError listing the known types
 */
export function familyFor(modelType: unknown, where = 'config.json'): ModelFamily {
  const f = typeof modelType === 'string' ? families.find((fam) => fam.modelTypes.includes(modelType)) : undefined;
  if (!f) {
    const got = modelType === undefined ? 'no model_type' : `model_type ${JSON.stringify(modelType)}`;
    throw new UnknownModelTypeError(`${where}: ${got} is not one muse loads; known model types: ${knownModelTypes().join(', ')}`);
  }
  return f;
}

/**
 * A model directory's `config.json` as a JSON object (weights not read).
 * @throws FileFormatError when `dir` or its config.json is missing, or the file is not a JSON object
 */
export function readModelConfig(dir: string): Record<string, unknown> {
  if (!existsSync(dir)) {
    throw new FileFormatError(`model directory ${dir} does not exist; pass a directory from \`muse train\`/\`muse finetune\` (its best/ or last/) or a Hugging Face model directory`);
  }
  const path = join(dir, 'config.json');
  if (!existsSync(path)) {
    const inside = ['best', 'last'].map((d) => join(dir, d)).find((d) => existsSync(join(d, 'config.json')));
    throw new FileFormatError(
      inside
        ? `${dir}: no config.json; it is a training run, whose models are in best/ and last/: pass ${inside}`
        : `${dir}: no config.json; a model directory needs config.json and model.safetensors (Hugging Face layout)`,
    );
  }
  const v = readJsonFile(path);
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new FileFormatError(`${path}: expected a JSON object`);
  return v as Record<string, unknown>;
}

/**
 * The `model_type` of a directory's `config.json` (weights not read).
 * @throws FileFormatError as {@link readModelConfig}
 */
export function modelTypeOf(dir: string): unknown {
  return readModelConfig(dir)['model_type'];
}

/**
 * The family that loads `path`: a file some family accepts
 * ({@link ModelFamily.canLoadFile}), else a directory by its `model_type`.
 * @throws FileFormatError for a missing path or config; UnknownModelTypeError for an unknown type
 */
export function familyOfPath(path: string): ModelFamily {
  if (existsSync(path) && statSync(path).isFile()) {
    const f = families.find((fam) => fam.canLoadFile?.(path));
    if (f) return f;
    const gguf = ggufLoadProblem(path);
    if (gguf) throw new FileFormatError(gguf);
    throw new FileFormatError(`${path} is a file that no model family loads; pass a model directory (config.json + model.safetensors)`);
  }
  return familyFor(modelTypeOf(path), join(path, 'config.json'));
}

/**
 * Read and validate a config through its family.
 * @param where the file named in errors
 * @throws UnknownModelTypeError for an unknown `model_type`; ConfigError naming `where` and the field
 */
export function readConfigFor(raw: Record<string, unknown>, where: string): Record<string, unknown> {
  const family = familyFor(raw['model_type'], where);
  try {
    return family.readConfig(raw);
  } catch (err) {
    if (err instanceof ConfigError && !err.message.startsWith(where)) throw new ConfigError(`${where}: ${err.message}`);
    throw err;
  }
}

/**
 * Load any model muse knows from a directory (or a single file a family
 * accepts), by its `model_type`: the `AutoModel.from_pretrained` of muse,
 * from disk only. Narrow the result on `kind`:
 * `causal-lm` (GPT-2; use with `generate`/`stream`), `seq2seq`, `masked-lm`
 * (BERT; `fillMask`), `sentence-vae`, `vector-autoencoder`.
 * @throws FileFormatError naming the missing/corrupt file; UnknownModelTypeError listing the known types;
 *   ConfigError naming config.json and the field; ShapeError naming a tensor whose shape does not fit
 */
export function loadModel(path: string, opts: LoadModelOptions = {}): LoadedModelAny {
  return familyOfPath(path).load(path, opts);
}

/**
 * Load a model that must be of `kind` (e.g. a causal LM for generation).
 * @throws ConfigError naming the directory, its model type and what `task` needs
 */
export function loadModelOfKind<K extends LoadedModelAny['kind']>(path: string, kind: K, task: string, opts: LoadModelOptions = {}): Extract<LoadedModelAny, { kind: K }> {
  const family = familyOfPath(path);
  if (family.kind !== kind) {
    const fitting = families.filter((f) => f.kind === kind).flatMap((f) => f.modelTypes);
    throw new ConfigError(`${path}: a ${family.name} model (${family.kind}) cannot ${task}; that needs a ${kind} (model_type ${fitting.join(', ') || 'none registered'})`);
  }
  return family.load(path, opts) as Extract<LoadedModelAny, { kind: K }>;
}

/**
 * Load a causal LM (any family whose kind is `causal-lm`: GPT-2, the Llama
 * family, …) with its tokenizer and generation defaults, ready for
 * `generate()`/`stream()`.
 * @param task what the caller wants to do, for the error message (default `generate text`)
 * @throws ConfigError when the directory holds another kind of model (named, with the types that fit);
 *   FileFormatError / UnknownModelTypeError as {@link loadModel}
 */
export function loadCausalLM(path: string, opts: LoadModelOptions & { task?: string } = {}): LoadedCausalLM {
  return loadModelOfKind(path, 'causal-lm', opts.task ?? 'generate text', opts);
}

/**
 * Load a model's weights without its tokenizer (a bare Hugging Face
 * checkpoint, a run being resumed), by `model_type`.
 * @throws FileFormatError / UnknownModelTypeError as {@link loadModel}; ConfigError when the family has no weights-only loader
 */
export function loadModelWeights(path: string, opts: { generator?: Generator } = {}): { family: string; modelType: string; model: Module; report: LoadReport } {
  const family = familyOfPath(path);
  if (!family.loadWeights) throw new ConfigError(`${path}: the ${family.name} family loads whole directories only (with their tokenizer); use loadModel`);
  const modelType = existsSync(path) && statSync(path).isFile() ? family.name : String(modelTypeOf(path));
  return { family: family.name, modelType, ...family.loadWeights(path, opts) };
}
