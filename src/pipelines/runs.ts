/**
 * Training runs on disk: a run directory (`best/`, `last/`, `metrics.jsonl`)
 * must not be overwritten by accident, is resumed from `last/`, and carries
 * the recipe note (`muse_recipe.json`) that says what changed on a resume and
 * which Chinese script its model expects.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../errors.js';
import type { ResumeState } from '../train/index.js';
import { loadCheckpoint } from '../io/checkpoint.js';
import { recoverInterruptedSaves } from '../io/recover.js';
import { readJsonFile } from '../io/json.js';
import type { TrainRecipe } from './recipe.js';
import type { StoryPair } from '../data/index.js';
import type { GenerationConfig } from '../generate/index.js';

/**
 * Trainer state and optimizer moments of a run's `last/` checkpoint, for an exact resume.
 * @throws FileFormatError when the directory is not a readable checkpoint
 */
export function resumeState(dir: string): ResumeState {
  const ck = loadCheckpoint(dir, { optimizer: true });
  return { trainerState: ck.trainerState, optimizerTensors: ck.optimizerTensors };
}

/**
 * Refuse to start a run afresh in a directory that already holds one
 * (`best/` or `last/`): a finished model is never replaced by re-running a
 * command. `resume` continues the run instead; `overwrite` replaces it on purpose.
 * @param resumable whether the command offers `--resume` (fine-tuning does not), for the message
 * @throws ConfigError naming the directory and the ways on
 */
export function assertFreshRunDir(outDir: string, opts: { resume?: boolean; overwrite?: boolean } = {}, resumable = true): void {
  // A save interrupted by a kill is finished (or undone) first, so --resume finds last/ and a fresh start sees the run.
  recoverInterruptedSaves(outDir);
  if (opts.resume || opts.overwrite) return;
  const earlier = ['best', 'last'].map((d) => join(outDir, d)).filter((d) => existsSync(d));
  if (earlier.length) {
    throw new ConfigError(
      `${outDir} already holds a run (${earlier.join(', ')}); ${resumable ? 'continue it with --resume, pick' : 'pick'} another --out, or pass --overwrite to replace it`,
    );
  }
}

/**
 * What a `--resume` changes relative to the run it continues, read from the
 * run's `last/muse_recipe.json` (`{recipe, command}`, written by `muse
 * train`): every `training` and `data` field whose value differs (an
 * override given at the start and not repeated is the usual cause: the
 * schedule then changes silently), and a different `--corpus` (validation
 * losses stop being comparable with the best so far). Empty when the note is
 * absent or unreadable.
 * @returns one human-readable line per difference, e.g. `training.maxIters 20000 → 2000`
 */
export function resumeChanges(lastDir: string, recipe: TrainRecipe, corpus: readonly string[]): string[] {
  const path = join(lastDir, 'muse_recipe.json');
  if (!existsSync(path)) return [];
  let saved: { recipe?: Partial<TrainRecipe>; command?: string };
  try {
    saved = readJsonFile(path) as typeof saved;
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const section of ['training', 'data'] as const) {
    const was = (saved.recipe?.[section] ?? {}) as Record<string, unknown>;
    const now = recipe[section] as unknown as Record<string, unknown>;
    for (const key of [...new Set([...Object.keys(was), ...Object.keys(now)])].sort()) {
      const a = JSON.stringify(was[key]);
      const b = JSON.stringify(now[key]);
      if (a !== b) out.push(`${section}.${key} ${a ?? 'unset'} → ${b ?? 'unset'}`);
    }
  }
  const words = (saved.command ?? '').split(' ');
  const at = words.indexOf('--corpus');
  if (at >= 0) {
    const before: string[] = [];
    for (let i = at + 1; i < words.length && !words[i].startsWith('--'); i++) before.push(words[i]);
    if (before.join(' ') !== corpus.join(' ')) out.push(`--corpus ${before.join(' ')} → ${corpus.join(' ')}`);
  }
  return out;
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
    const r = readJsonFile(recipePath) as { recipe?: { data?: { script?: 'simplified' | 'traditional' | 'keep' } } };
    return r.recipe?.data?.script ?? 'keep';
  } catch {
    return 'keep';
  }
}

/**
 * The recipe note that makes {@link recipeScript} return `script` when a model
 * is saved outside a training run (nothing for `keep`), as `extraFiles` for `saveModel`.
 */
export function scriptNoteFiles(script: 'simplified' | 'traditional' | 'keep'): Record<string, string> | undefined {
  return script === 'keep' ? undefined : { 'muse_recipe.json': JSON.stringify({ recipe: { data: { script } } }, null, 2) + '\n' };
}

/**
 * The options every fine-tuning run shares (GPT-2 `finetune`, `finetuneSeq2Seq`):
 * the pairs, where the run goes, the held-out share, the optimisation knobs,
 * the held-out decoding, and how it reports.
 */
export interface FinetuneRunOptions {
  /** (beginning, ending) pairs; a share is held out for the BLEU/ROUGE report. */
  pairs: StoryPair[];
  outDir: string;
  /** Replace a run already in `outDir` (without it such an `outDir` is an error: a finished model is never lost silently). */
  overwrite?: boolean;
  /** Fraction of `pairs` held out for the BLEU/ROUGE report (default 0.1; at least one pair); the same split for both architectures. */
  valFraction?: number;
  maxIters?: number;
  batchSize?: number;
  learningRate?: number;
  /** Evaluate validation loss every this many steps (default maxIters / 5). */
  evalInterval?: number;
  weightDecay?: number;
  seed?: number;
  /** Activation checkpointing per layer (HF `gradient_checkpointing`; causal LMs): less activation memory, one more forward pass per layer. */
  gradientCheckpointing?: boolean;
  /** Decoding of the held-out endings (default greedy, up to 1.5 × the longest reference + 8 tokens). */
  generationConfig?: GenerationConfig;
  json?: boolean;
  progress?: boolean;
  log?: (line: string) => void;
  /** Stops training after the current step (`last/` is saved); the report then scores the best checkpoint so far. */
  signal?: AbortSignal;
}
