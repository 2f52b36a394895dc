import { appendFileSync } from 'node:fs';
import { writeFileAtomic } from '../io/atomic.js';

/**
 * One line of `metrics.jsonl`.
 *
 * - `event: "train"` — a logged optimizer step: `trainLoss` is that step's loss
 *   (mean over its micro-batches), `gradNorm` the global norm before clipping,
 *   `tokensPerSec` the training throughput since the previous train record.
 * - `event: "eval"` — an evaluation: `valLoss` is the mean over `evalIters`
 *   validation batches, `trainLoss` the mean training loss of the steps since
 *   the previous evaluation.
 * - `event: "skip"` — a step dropped by the NaN/Inf guard (`trainLoss` or
 *   `gradNorm` is null because it was not finite).
 *
 * `step` counts completed optimizer iterations (skipped ones included), so an
 * `eval` at step 2000 measures the model after 2000 iterations, as nanoGPT's
 * "step 2000" does. Non-finite numbers are written as null.
 */
export interface MetricsRecord {
  event: 'train' | 'eval' | 'skip';
  step: number;
  trainLoss: number | null;
  valLoss?: number | null;
  /** Learning rate of this step (for eval: of the last step before it). */
  lr: number;
  gradNorm: number | null;
  tokensPerSec: number | null;
  /** Wall time since training began, evaluations and checkpoints included, in ms. */
  elapsedMs: number;
}

/** `NaN`/`±Infinity` → null, so every line is valid JSON with explicit gaps. */
export function finiteOrNull(x: number | null | undefined): number | null {
  return x !== null && x !== undefined && Number.isFinite(x) ? x : null;
}

/** One record as a JSON line (no trailing newline); non-finite numbers become null. */
export function formatMetricsLine(r: MetricsRecord): string {
  const out: Record<string, string | number | null> = { event: r.event, step: r.step, trainLoss: finiteOrNull(r.trainLoss) };
  if (r.valLoss !== undefined) out.valLoss = finiteOrNull(r.valLoss);
  out.lr = r.lr;
  out.gradNorm = finiteOrNull(r.gradNorm);
  out.tokensPerSec = finiteOrNull(r.tokensPerSec);
  out.elapsedMs = Math.round(r.elapsedMs);
  return JSON.stringify(out);
}

/**
 * The metrics log: JSON lines appended as training runs. On resume the file
 * is first rewritten (atomically) from the history saved in the checkpoint,
 * dropping lines a crashed run logged after its last checkpoint, so the file
 * always describes one continuous run.
 */
export class MetricsLog {
  /** @param path the `metrics.jsonl` file (its directory is created on first write) */
  constructor(readonly path: string) {}

  /** Replace the file's contents with `records` (atomic). */
  reset(records: readonly MetricsRecord[]): void {
    writeFileAtomic(this.path, records.map((r) => formatMetricsLine(r) + '\n').join(''));
  }

  /** Append one record. */
  append(r: MetricsRecord): void {
    appendFileSync(this.path, formatMetricsLine(r) + '\n');
  }
}
