/**
 * The training machinery, model-agnostic: AdamW, learning-rate schedules,
 * gradient clipping, early stopping, the NaN/Inf guard, the metrics log and
 * loss chart, and the {@link Trainer} that drives them with checkpoints and
 * exact resume. See docs/training.md.
 */
export { AdamW, defaultNoDecay, nanoGptNoDecay, type AdamWOptions, type NoDecayRule } from './adamw.js';
export { clipCoefficient, clipGradNorm, globalGradNorm, type ClipResult } from './clip.js';
export { EarlyStopping, type EarlyStoppingState } from './early-stopping.js';
export { downsample, lossCurveFromMetrics, lossCurveSvg, niceTicks, type ChartOptions, type ChartSeries } from './loss-chart.js';
export { MetricsLog, finiteOrNull, formatMetricsLine, type MetricsRecord } from './metrics.js';
export { NonFiniteGuard, type GuardVerdict } from './non-finite-guard.js';
export type { NamedParameter, TrainableParameter } from './parameter.js';
export { BarProgress, LineProgress, formatDuration, type ProgressReporter, type ProgressUpdate } from './progress.js';
export { constantLr, cosineWithWarmup, type CosineScheduleOptions, type LrSchedule } from './schedule.js';
export {
  Trainer,
  type CheckpointExtra,
  type ResumeState,
  type StatefulRng,
  type StopReason,
  type TrainSummary,
  type TrainerOptions,
} from './trainer.js';
export { parseTrainerState, type TrainerState } from './trainer-state.js';
export { countTargetTokens } from './target-tokens.js';
