import { FileFormatError } from '../errors.js';
import type { MetricsRecord } from './metrics.js';

/**
 * `trainer_state.json`: everything besides the weights and the optimizer
 * moments that a resumed run needs to continue the loss curve exactly. Field
 * names follow Hugging Face `TrainerState` where it has one (`global_step`,
 * `max_steps`, `eval_steps`, `logging_steps`, `best_metric`,
 * `best_global_step`, `best_model_checkpoint`, `log_history`).
 */
export interface TrainerState {
  format: 'muse-trainer-state';
  version: 1;
  /** Completed iterations. */
  global_step: number;
  max_steps: number;
  eval_steps: number;
  logging_steps: number;
  /** Lowest validation loss so far (null before the first evaluation). */
  best_metric: number | null;
  best_global_step: number | null;
  /** Directory of the best checkpoint, relative to the output directory (`best`), or null. */
  best_model_checkpoint: string | null;
  evals_without_improvement: number;
  non_finite_in_a_row: number;
  non_finite_total: number;
  /** Wall time so far, evaluations and saves included, ms. */
  elapsed_ms: number;
  /** Time spent in training steps only, ms (the denominator of tokens/s). */
  train_time_ms: number;
  tokens_seen: number;
  /** Running sum and count of train losses since the last evaluation. */
  train_loss_window: { sum: number; count: number };
  /** Learning rate of the last step taken. */
  last_lr: number;
  /** `Generator.getState()` of each named random generator (data sampling, dropout). */
  rng_state: Record<string, string>;
  /** Every metrics record so far, as in `metrics.jsonl`. */
  log_history: MetricsRecord[];
  /** The run's hyperparameters, for the record (not read back). */
  hyperparameters: Record<string, number | string | boolean | null>;
}

function fail(source: string, what: string): never {
  throw new FileFormatError(`${source}: ${what}; the file is not a muse trainer_state.json or is damaged (resume from another checkpoint, or start without --resume)`);
}

function int(o: Record<string, unknown>, k: string, source: string): number {
  const v = o[k];
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) fail(source, `field "${k}" must be an integer ≥ 0, found ${JSON.stringify(v)}`);
  return v;
}

function num(o: Record<string, unknown>, k: string, source: string): number {
  const v = o[k];
  if (typeof v !== 'number' || !Number.isFinite(v)) fail(source, `field "${k}" must be a finite number, found ${JSON.stringify(v)}`);
  return v;
}

function numOrNull(o: Record<string, unknown>, k: string, source: string): number | null {
  const v = o[k];
  if (v === null || v === undefined) return null;
  if (typeof v !== 'number' || !Number.isFinite(v)) fail(source, `field "${k}" must be a number or null, found ${JSON.stringify(v)}`);
  return v;
}

/**
 * Validate parsed `trainer_state.json` contents.
 * @param json the parsed JSON
 * @param source the file name, for messages
 * @throws FileFormatError naming the first missing or malformed field
 */
export function parseTrainerState(json: unknown, source = 'trainer_state.json'): TrainerState {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) fail(source, 'expected a JSON object');
  const o = json as Record<string, unknown>;
  if (o.format !== 'muse-trainer-state') fail(source, `field "format" is ${JSON.stringify(o.format)}, expected "muse-trainer-state"`);
  if (o.version !== 1) fail(source, `unsupported version ${JSON.stringify(o.version)} (this muse reads version 1)`);
  const w = o.train_loss_window as Record<string, unknown> | undefined;
  if (typeof w !== 'object' || w === null) fail(source, 'field "train_loss_window" is missing');
  const rng = o.rng_state;
  if (typeof rng !== 'object' || rng === null || Array.isArray(rng) || Object.values(rng).some((v) => typeof v !== 'string')) {
    fail(source, 'field "rng_state" must map generator names to state strings');
  }
  if (!Array.isArray(o.log_history)) fail(source, 'field "log_history" must be an array');
  const best = o.best_model_checkpoint;
  if (best !== null && best !== undefined && typeof best !== 'string') fail(source, 'field "best_model_checkpoint" must be a string or null');
  return {
    format: 'muse-trainer-state',
    version: 1,
    global_step: int(o, 'global_step', source),
    max_steps: int(o, 'max_steps', source),
    eval_steps: int(o, 'eval_steps', source),
    logging_steps: int(o, 'logging_steps', source),
    best_metric: numOrNull(o, 'best_metric', source),
    best_global_step: numOrNull(o, 'best_global_step', source),
    best_model_checkpoint: (best) ?? null,
    evals_without_improvement: int(o, 'evals_without_improvement', source),
    non_finite_in_a_row: int(o, 'non_finite_in_a_row', source),
    non_finite_total: int(o, 'non_finite_total', source),
    elapsed_ms: num(o, 'elapsed_ms', source),
    train_time_ms: num(o, 'train_time_ms', source),
    tokens_seen: int(o, 'tokens_seen', source),
    train_loss_window: { sum: num(w, 'sum', source), count: int(w, 'count', source) },
    last_lr: num(o, 'last_lr', source),
    rng_state: { ...(rng as Record<string, string>) },
    log_history: o.log_history as MetricsRecord[],
    hyperparameters: (typeof o.hyperparameters === 'object' && o.hyperparameters !== null ? o.hyperparameters : {}) as TrainerState['hyperparameters'],
  };
}
