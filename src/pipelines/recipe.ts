import { existsSync } from 'node:fs';
import { ConfigError, FileFormatError, closestName } from '../errors.js';
import type { GPTConfig } from '../models/gpt2/config.js';
import { nanoGptNoDecay, type TrainerOptions } from '../train/index.js';
import { readJsonFile } from '../io/json.js';

/**
 * A training recipe as a plain JSON file (`configs/*.json`), nanoGPT-style
 * "presets as data": the model's HF config fields, the tokenizer to build,
 * how to read and split the corpus, and the optimisation hyper-parameters.
 */
export interface TrainRecipe {
  description?: string;
  model: Partial<GPTConfig> & Record<string, unknown>;
  tokenizer: { type: 'char' | 'bpe'; vocabSize?: number; minFrequency?: number };
  data: {
    /** JSONL field(s) holding the text. */
    field?: string | string[];
    /** Joins several fields of one record. */
    join?: string;
    /** Put between documents in the token stream (default "\n\n"); `"eos"` puts the end-of-text token after every document. */
    separator?: string;
    /** `.txt` files: `file` = the whole file is one document (nanoGPT), `paragraphs` = split on blank lines. */
    txtDocuments?: 'file' | 'paragraphs';
    /** `tail`: first (1 − valFraction) of the stream trains, the rest validates (nanoGPT). */
    split?: 'tail';
    valFraction?: number;
    /** Chinese script normalisation of the corpus (and of prompts at generation time). */
    script?: 'simplified' | 'traditional' | 'keep';
    /** Shuffle documents (seeded) before splitting, so validation is not one author/source. */
    shuffleDocuments?: boolean;
  };
  training: {
    batchSize: number;
    blockSize: number;
    maxIters: number;
    learningRate: number;
    minLr?: number;
    warmupIters?: number;
    lrDecayIters?: number;
    beta1?: number;
    beta2?: number;
    weightDecay?: number;
    /**
     * Which parameters get no weight decay: "default" (biases, LayerNorm
     * weights and embedding tables) or "nanogpt" (only tensors of rank < 2:
     * nanoGPT decays its embeddings too).
     */
    noDecay?: 'default' | 'nanogpt';
    gradClip?: number;
    gradientAccumulationSteps?: number;
    /**
     * Activation checkpointing per layer (HF `gradient_checkpointing`): keep
     * each layer's input only and recompute its activations in the backward
     * pass (GPT-2 on the autograd path, the Llama family).
     */
    gradientCheckpointing?: boolean;
    evalInterval: number;
    evalIters: number;
    earlyStoppingPatience?: number;
    seed?: number;
    logInterval?: number;
  };
  /** Defaults written to `generation_config.json` (HF snake_case). */
  generation?: Record<string, unknown>;
}

/**
 * Read a recipe file and apply `--flag` overrides given as dotted paths
 * (`training.maxIters=100`, `model.n_layer=2`) or bare training keys (`maxIters=100`).
 * @throws FileFormatError for a missing or non-JSON file
 * @throws ConfigError for an override that names no known field, or a bad value
 */
export function loadRecipe(path: string, overrides: Record<string, string> = {}): TrainRecipe {
  if (!existsSync(path)) throw new FileFormatError(`config file ${path} does not exist; pass a JSON recipe such as configs/shakespeare-char-baby.json`);
  const recipe = readJsonFile(path) as TrainRecipe;
  applyRecipeOverrides(recipe as unknown as Record<string, unknown>, overrides, { sections: ['training', 'model', 'data', 'tokenizer'], trainingFields: TRAINING_FIELDS });
  validateRecipe(recipe, path);
  return recipe;
}

/** Where overrides may land in a recipe, for {@link applyRecipeOverrides}. */
export interface OverrideSpec {
  /** Sections a bare key is looked up in, in order (`training`, `model`, …). */
  sections: readonly string[];
  /** Every field `training` may hold: a bare key naming one lands there even when the file leaves it out; another name is a typo. */
  trainingFields: readonly string[];
  /** What kind of recipe it is, for messages (`a VAE recipe`). */
  what?: string;
}

/**
 * Apply `key=value` overrides in place, the one parser of every recipe kind:
 * a dotted key (`training.maxIters`, `model.n_layer`) names its path, a bare
 * key (`maxIters`) the section holding it (or `training` for a training field
 * the file leaves at its default). Values are parsed as JSON when they parse,
 * else kept as strings.
 * @throws ConfigError for a key that names no known field (with the nearest
 *   training field when one is close) or a section the recipe lacks
 */
export function applyRecipeOverrides(recipe: Record<string, unknown>, overrides: Record<string, string>, spec: OverrideSpec): void {
  for (const [key, raw] of Object.entries(overrides)) {
    let value: unknown = raw;
    try {
      value = JSON.parse(raw);
    } catch {
      /* a bare string */
    }
    const path = key.includes('.') ? key.split('.') : [sectionOf(recipe, key, spec), key];
    if (path.length === 2 && path[0] === 'training' && !spec.trainingFields.includes(path[1])) {
      const near = closestName(path[1], spec.trainingFields, 2);
      throw new ConfigError(
        `override ${key}: ${spec.what ? `${spec.what}'s ` : ''}training has no field "${path[1]}"${near ? `; did you mean training.${near}?` : ''} (fields: ${spec.trainingFields.join(', ')})`,
      );
    }
    let obj = recipe;
    for (const part of path.slice(0, -1)) {
      if (typeof obj[part] !== 'object' || obj[part] === null) throw new ConfigError(`override ${key}: the recipe has no section "${part}"`);
      obj = obj[part] as Record<string, unknown>;
    }
    obj[path[path.length - 1]] = value;
  }
}

function sectionOf(recipe: Record<string, unknown>, key: string, spec: OverrideSpec): string {
  for (const section of spec.sections) {
    const sec = recipe[section];
    if (typeof sec === 'object' && sec !== null && key in sec) return section;
  }
  // A training field the file leaves at its default (e.g. lrDecayIters).
  if (spec.trainingFields.includes(key)) return 'training';
  throw new ConfigError(`override ${key}: not a known field; use a dotted path such as training.${key} or model.${key}`);
}

/**
 * Every field a `training` section may hold (GPT and BERT pretraining read
 * them): an override naming another one is a typo, not a new setting.
 */
export const TRAINING_FIELDS: readonly string[] = [
  'batchSize', 'blockSize', 'maxIters', 'learningRate', 'minLr', 'warmupIters', 'lrDecayIters', 'beta1', 'beta2',
  'weightDecay', 'noDecay', 'gradClip', 'gradientAccumulationSteps', 'evalInterval', 'evalIters',
  'earlyStoppingPatience', 'seed', 'logInterval', 'mlmProbability', 'groupByLength', 'gradientCheckpointing',
];


function validateRecipe(r: TrainRecipe, path: string): void {
  for (const section of ['model', 'tokenizer', 'data', 'training'] as const) {
    if (typeof r[section] !== 'object' || r[section] === null) throw new ConfigError(`${path}: missing section "${section}"`);
  }
  const t = r.training;
  for (const k of ['batchSize', 'blockSize', 'maxIters', 'evalInterval', 'evalIters'] as const) {
    if (!Number.isInteger(t[k]) || t[k] <= 0) throw new ConfigError(`${path}: training.${k} must be a positive integer, got ${String(t[k])}`);
  }
  if (t.noDecay !== undefined && t.noDecay !== 'default' && t.noDecay !== 'nanogpt') {
    throw new ConfigError(`${path}: training.noDecay must be "default" or "nanogpt", got ${JSON.stringify(t.noDecay)}`);
  }
  if (t.gradientCheckpointing !== undefined && typeof t.gradientCheckpointing !== 'boolean') {
    throw new ConfigError(`${path}: training.gradientCheckpointing must be true or false, got ${JSON.stringify(t.gradientCheckpointing)}`);
  }
  if (!(t.learningRate > 0)) throw new ConfigError(`${path}: training.learningRate must be > 0`);
  if (!['char', 'bpe'].includes(r.tokenizer.type)) throw new ConfigError(`${path}: tokenizer.type must be "char" or "bpe"`);
  // GPT-2 names the context n_positions; the llama family (and BERT) max_position_embeddings.
  for (const key of ['n_positions', 'max_position_embeddings'] as const) {
    const n = (r.model as Record<string, unknown>)[key];
    if (typeof n === 'number' && t.blockSize > n) {
      throw new ConfigError(`${path}: training.blockSize ${t.blockSize} exceeds model.${key} ${n}`);
    }
  }
}

/**
 * The Trainer options a recipe's `training` section sets (schedule, AdamW,
 * clipping, accumulation, evaluation, early stopping, logging), shared by
 * every pipeline that trains from a recipe (GPT and BERT pretraining, the
 * sentence VAE); fields a recipe leaves out keep the Trainer's defaults.
 */
export function recipeTrainerOptions(
  tr: Pick<TrainRecipe['training'], 'maxIters' | 'evalInterval' | 'evalIters' | 'learningRate'> & Partial<TrainRecipe['training']>,
): Pick<
  TrainerOptions<unknown>,
  | 'maxIters' | 'evalInterval' | 'evalIters' | 'learningRate' | 'minLr' | 'warmupIters' | 'lrDecayIters' | 'weightDecay'
  | 'noDecay' | 'beta1' | 'beta2' | 'gradClip' | 'gradientAccumulationSteps' | 'earlyStoppingPatience' | 'logInterval'
> {
  return {
    maxIters: tr.maxIters,
    evalInterval: tr.evalInterval,
    evalIters: tr.evalIters,
    learningRate: tr.learningRate,
    minLr: tr.minLr,
    warmupIters: tr.warmupIters,
    lrDecayIters: tr.lrDecayIters,
    weightDecay: tr.weightDecay,
    noDecay: tr.noDecay === 'nanogpt' ? nanoGptNoDecay : undefined,
    beta1: tr.beta1,
    beta2: tr.beta2,
    gradClip: tr.gradClip,
    gradientAccumulationSteps: tr.gradientAccumulationSteps,
    earlyStoppingPatience: tr.earlyStoppingPatience,
    logInterval: tr.logInterval,
  };
}
