/**
 * The sentence VAE's training recipe (`configs/vae-*.json`): reading,
 * `--key=value` overrides (the shared parser of `src/pipelines/recipe.ts`)
 * and validation.
 */
import { existsSync } from 'node:fs';
import { ConfigError, FileFormatError } from '../../errors.js';
import { readJsonFile } from '../../io/json.js';
import { applyRecipeOverrides } from '../../pipelines/recipe.js';
import type { KLSchedule } from './vae.js';

/** A sentence VAE training recipe (`configs/vae-*.json`). */
export interface SentenceVAERecipe {
  description?: string;
  model: { n_embd: number; hidden_size: number; latent_size: number };
  data: {
    /** JSON Lines field holding the text (default `text`). */
    field?: string;
    script?: 'simplified' | 'traditional' | 'keep';
    /** Han characters per line (default 5). */
    charsPerLine?: number;
    /** Characters seen fewer times (in the unique lines) are left out; lines holding them are dropped. */
    minFrequency?: number;
    /** Lines held out for validation (default 2000). */
    valLines?: number;
  };
  training: {
    batchSize: number;
    maxIters: number;
    learningRate: number;
    minLr?: number;
    warmupIters?: number;
    /** End of the cosine decay (default maxIters). */
    lrDecayIters?: number;
    weightDecay?: number;
    gradClip?: number;
    beta1?: number;
    gradientAccumulationSteps?: number;
    earlyStoppingPatience?: number;
    logInterval?: number;
    evalInterval: number;
    evalIters: number;
    seed?: number;
  };
  vae: {
    klSchedule: KLSchedule;
    /** λ nats per latent dimension (default 0). */
    freeBits?: number;
    /** Decoder input word dropout (default 0). */
    wordDropout?: number;
  };
}

/** The training fields a VAE recipe honours (bare overrides may name them even when the file leaves them out). */
const VAE_TRAINING_FIELDS: readonly string[] = [
  'maxIters', 'learningRate', 'minLr', 'warmupIters', 'lrDecayIters', 'evalInterval', 'evalIters', 'batchSize', 'seed',
  'gradClip', 'weightDecay', 'beta1', 'gradientAccumulationSteps', 'earlyStoppingPatience', 'logInterval',
];

/**
 * Read a recipe file (`configs/vae-*.json`) and apply `overrides`
 * (dotted paths → JSON values, e.g. `{"training.maxIters": "200"}`).
 * @throws FileFormatError when the file is missing or not JSON
 * @throws ConfigError when a required section or field is missing
 */
export function loadVAERecipe(path: string, overrides: Record<string, string> = {}): SentenceVAERecipe {
  if (!existsSync(path)) throw new FileFormatError(`recipe ${path} does not exist; see configs/vae-poem-zh.json`);
  const r = readJsonFile(path) as Record<string, unknown>;
  if (r === null || typeof r !== 'object' || Array.isArray(r)) throw new ConfigError(`recipe ${path}: expected a JSON object (see configs/vae-poem-zh.json)`);
  applyRecipeOverrides(r, overrides, { sections: ['training', 'model', 'data', 'vae'], trainingFields: VAE_TRAINING_FIELDS, what: 'a VAE recipe' });
  for (const sec of ['model', 'data', 'training', 'vae'] as const) {
    if (typeof r[sec] !== 'object' || r[sec] === null) throw new ConfigError(`recipe ${path}: missing section "${sec}" (see configs/vae-poem-zh.json)`);
  }
  const m = r['model'] as Record<string, unknown>;
  for (const k of ['n_embd', 'hidden_size', 'latent_size']) {
    if (!Number.isInteger(m[k]) || (m[k] as number) <= 0) throw new ConfigError(`recipe ${path}: model.${k} must be a positive integer, got ${JSON.stringify(m[k])}`);
  }
  const t = r['training'] as Record<string, unknown>;
  for (const k of ['batchSize', 'maxIters', 'evalInterval', 'evalIters']) {
    if (!Number.isInteger(t[k]) || (t[k] as number) <= 0) throw new ConfigError(`recipe ${path}: training.${k} must be a positive integer, got ${JSON.stringify(t[k])}`);
  }
  if (!(typeof t['learningRate'] === 'number' && t['learningRate'] > 0)) throw new ConfigError(`recipe ${path}: training.learningRate must be a positive number`);
  const v = r['vae'] as Record<string, unknown>;
  if (typeof v['klSchedule'] !== 'object' || v['klSchedule'] === null) throw new ConfigError(`recipe ${path}: vae.klSchedule is required, e.g. {"type": "cyclical", "cycles": 4}`);
  // A probability or a non-negative amount: a typo such as --wordDropout=abc must not train silently without it.
  const wd = v['wordDropout'];
  if (wd !== undefined && !(typeof wd === 'number' && wd >= 0 && wd < 1)) {
    throw new ConfigError(`recipe ${path}: vae.wordDropout must be a probability in [0, 1) (Bowman et al. use 0.25–0.5), got ${JSON.stringify(wd)}`);
  }
  const fb = v['freeBits'];
  if (fb !== undefined && !(typeof fb === 'number' && Number.isFinite(fb) && fb >= 0)) {
    throw new ConfigError(`recipe ${path}: vae.freeBits must be a number ≥ 0 (nats per latent dimension), got ${JSON.stringify(fb)}`);
  }
  return r as unknown as SentenceVAERecipe;
}
