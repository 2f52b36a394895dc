import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Backend } from '../backend/backend.js';
import { getBackend } from '../backend/index.js';
import { ConfigError, MuseError } from '../errors.js';
import { writeFileAtomic } from '../io/atomic.js';
import { copyCheckpoint } from '../io/checkpoint.js';
import type { StTensor } from '../io/safetensors.js';
import type { Module } from '../nn/module.js';
import { fromArray, noGrad } from '../tensor/index.js';
import type { Tensor } from '../tensor/index.js';
import { AdamW, type NoDecayRule } from './adamw.js';
import { clipGradNorm } from './clip.js';
import { EarlyStopping } from './early-stopping.js';
import { lossCurveFromMetrics } from './loss-chart.js';
import { MetricsLog, finiteOrNull, formatMetricsLine, type MetricsRecord } from './metrics.js';
import { NonFiniteGuard } from './non-finite-guard.js';
import type { NamedParameter } from './parameter.js';
import { BarProgress, LineProgress, formatDuration, type ProgressReporter } from './progress.js';
import { constantLr, cosineWithWarmup, type LrSchedule } from './schedule.js';
import { parseTrainerState, type TrainerState } from './trainer-state.js';

/** A random generator whose state can be saved and restored (the engine's `Generator`). */
export interface StatefulRng {
  getState(): string;
  setState(state: string): void;
}

/** What the trainer hands to {@link TrainerOptions.save} besides the directory. */
export interface CheckpointExtra {
  /** Contents of `trainer_state.json`. */
  trainerState: TrainerState;
  /** Contents of `optimizer.safetensors` (see `AdamW.stateDict`). */
  optimizerTensors: Map<string, StTensor>;
  /** `metrics.jsonl` and `loss.svg` as of this checkpoint, to store inside it. */
  extraFiles: Record<string, string>;
}

/** State saved by an earlier run (read from its checkpoint directory by the caller). */
export interface ResumeState {
  /** Parsed `trainer_state.json`. */
  trainerState: unknown;
  /** `optimizer.safetensors`; without it the moments restart from zero (the curve then differs). */
  optimizerTensors?: Map<string, StTensor>;
}

/**
 * Options of {@link Trainer}. Names and defaults follow nanoGPT's `train.py`
 * (camelCased); the defaults of the optimizer are nanoGPT's (β₂ 0.95, λ 0.1,
 * clip 1.0), not PyTorch's.
 *
 * @typeParam B whatever one batch is (e.g. `{ inputIds, labels }`)
 */
export interface TrainerOptions<B> {
  /** The model; its `namedParameters()` that require a gradient are trained (a LoRA model: the adapters only), `train()`/`eval()` toggled around evaluations. */
  model: Module;
  /** Forward pass returning a scalar loss tensor (a mean over the batch's tokens). */
  lossFn: (batch: B) => Tensor;
  /** The next training micro-batch (called `gradientAccumulationSteps` times per step). */
  nextTrainBatch: () => B;
  /**
   * The number of target tokens that carry loss in a micro-batch (labels other
   * than −100, masked positions…), transformers' `num_items_in_batch`. With
   * gradient accumulation, each micro-batch's mean loss is then weighted by
   * its share of the step's tokens, so an accumulated step equals one batch of
   * all its micro-batches (the token mean), as transformers does since its
   * 2024 fix; without it, micro-batches are weighted equally (right when every
   * micro-batch holds the same number of target tokens, as pretraining's
   * fixed windows do). The step's micro-batches are drawn before the first
   * forward pass when it is given.
   */
  tokensInBatch?: (batch: B) => number;
  /** Validation batches; the first `evalIters` are used at every evaluation. */
  evalBatches: () => Iterable<B>;
  /** Tokens in one micro-batch (batch × blockSize), for tokens/s; omit when not meaningful. */
  tokensPerBatch?: number;
  /** Number of optimizer steps (iterations) of the whole run. */
  maxIters: number;
  /** Evaluate (and checkpoint) every this many steps, and after the last one. */
  evalInterval: number;
  /** Validation batches per evaluation. */
  evalIters: number;
  /** Peak learning rate. */
  learningRate: number;
  /** Learning rate at the end of the cosine (default `learningRate / 10`). */
  minLr?: number;
  /** Linear-warmup iterations (default 0). */
  warmupIters?: number;
  /** Iteration where the cosine reaches `minLr` (default `maxIters`). */
  lrDecayIters?: number;
  /** false = constant `learningRate` (nanoGPT `decay_lr`; default true). */
  decayLr?: boolean;
  /** Decoupled weight decay of the decayed group (default 0.1). */
  weightDecay?: number;
  /** Which parameters get no weight decay (default: biases, LayerNorm, embeddings; see `defaultNoDecay`). */
  noDecay?: NoDecayRule;
  beta1?: number;
  /** Default 0.95 (nanoGPT); its char-level presets use 0.99. */
  beta2?: number;
  eps?: number;
  /** Clip the global gradient norm to this value; 0 disables (default 1.0). */
  gradClip?: number;
  /** Micro-batches per step; their gradients are averaged, weighted by tokens when `tokensInBatch` is given (default 1). */
  gradientAccumulationSteps?: number;
  /** Stop after this many evaluations in a row without a new best validation loss (default: never). */
  earlyStoppingPatience?: number;
  /** Stop with an error after this many non-finite steps in a row (default 5). */
  maxNonFiniteSteps?: number;
  /** Output directory: `best/`, `last/`, `metrics.jsonl`, `loss.svg`. */
  outDir: string;
  /**
   * Write a checkpoint directory: the caller saves model weights, config and
   * tokenizer (e.g. with `saveCheckpoint` from `src/io/checkpoint.ts`) and must
   * store `extra` with them (`trainerState` → `trainer_state.json`,
   * `optimizerTensors` → `optimizer.safetensors`, `extraFiles` as files).
   * The directory must be replaced atomically as a whole, and its content
   * must not depend on the directory's name: when an evaluation improves,
   * `last/` is made as a hard-linked copy of the `best/` just saved.
   */
  save: (dir: string, extra: CheckpointExtra) => void | Promise<void>;
  /**
   * Random generators to save and restore for an exact resume: the one that
   * samples training batches and the one dropout draws from (one generator may
   * serve both). A single generator is saved under the name `default`.
   */
  rng?: StatefulRng | Record<string, StatefulRng>;
  /** State of an earlier run to continue (the caller has already loaded the model weights). */
  resume?: ResumeState;
  /** Receives every log line (default: stderr). */
  log?: (line: string) => void;
  /** Show a progress bar when stderr is a terminal (default true). */
  progress?: boolean;
  /** Log lines are the metrics records as JSON instead of text; no bar. */
  json?: boolean;
  /** Log a train record every this many steps (default 10, nanoGPT's `log_interval`). */
  logInterval?: number;
  /** Stops the run after the current step; `last/` is saved first. */
  signal?: AbortSignal;
  /** Kernel set for clipping and the optimizer (default `getBackend()`). */
  backend?: Backend;
}

/** Why {@link Trainer.train} returned. */
export type StopReason = 'maxIters' | 'earlyStopping' | 'aborted';

/**
 * The result of a run; its first six fields are the `muse train --json` line.
 * Losses are null when never measured (or not finite).
 */
export interface TrainSummary {
  step: number;
  /** Mean training loss over the steps since the previous evaluation (or the last step's). */
  trainLoss: number | null;
  /** Validation loss of the last evaluation. */
  valLoss: number | null;
  bestValLoss: number | null;
  /** Training throughput (evaluation and checkpoint time excluded). */
  tokensPerSec: number | null;
  /** The checkpoint to use: `outDir/best` (or `outDir/last` before any evaluation). */
  checkpoint: string;
  stopReason: StopReason;
}

function checkInt(name: string, v: number, min: number): void {
  if (!Number.isInteger(v) || v < min) throw new ConfigError(`${name} must be an integer ≥ ${min}, got ${v}`);
}

/**
 * The training loop, model-agnostic (GPT, BERT, autoencoders, VAEs), after
 * nanoGPT's `train.py` plus what a product needs around it.
 *
 * Each step: `gradientAccumulationSteps` micro-batches (forward, `backward`;
 * gradients accumulate and are averaged through the optimizer's `gradScale`
 * — weighted by each micro-batch's target tokens when `tokensInBatch` is given —
 * which equals dividing each loss by the step count, as nanoGPT does), global
 * norm clipping, one AdamW step at the schedule's learning rate. Every
 * `evalInterval` steps and after the last: mean validation loss over
 * `evalIters` batches under `noGrad` and `model.eval()`, then checkpoints
 * `outDir/last` (always) and `outDir/best` (when the loss improved),
 * `metrics.jsonl` and `loss.svg`.
 *
 * Reproducibility: given the same initial weights, data order and seeded
 * generators, a run resumed from `last/` continues with exactly the losses an
 * uninterrupted run would have had (on the same backend), because the
 * checkpoint holds the weights, AdamW's moments and per-parameter step counts,
 * the step, the generators' states, the best loss, the early-stopping and
 * NaN-guard counters and the metrics history.
 *
 * NaN/Inf guard: a step whose loss or gradient norm is not finite is skipped
 * (no update; the step still counts) with a warning; `maxNonFiniteSteps` in a
 * row stop the run with a `MuseError` (code `NON_FINITE`). A checkpoint is
 * never written from non-finite weights.
 */
export class Trainer<B> {
  /** The optimizer (exposed for inspection; created from the options). */
  readonly optimizer: AdamW;
  private readonly o: TrainerOptions<B>;
  private readonly params: NamedParameter[];
  private readonly schedule: LrSchedule;
  private readonly accum: number;
  private readonly gradClip: number;
  private readonly logInterval: number;
  private readonly rngs: Record<string, StatefulRng>;
  private readonly early: EarlyStopping;
  private readonly guard: NonFiniteGuard;
  private readonly metrics: MetricsLog;
  private readonly backend: Backend | undefined;
  private step = 0;
  private history: MetricsRecord[] = [];
  private elapsedMs = 0;
  private trainTimeMs = 0;
  private tokensSeen = 0;
  private windowSum = 0;
  private windowCount = 0;
  private lastLr = 0;
  private lastValLoss: number | null = null;
  private hasBest = false;

  /**
   * @throws ConfigError on an option out of range (named in the message)
   * @throws FileFormatError / ShapeError when `resume` does not fit this model
   */
  constructor(opts: TrainerOptions<B>) {
    this.o = opts;
    checkInt('maxIters', opts.maxIters, 0);
    checkInt('evalInterval', opts.evalInterval, 1);
    checkInt('evalIters', opts.evalIters, 1);
    this.accum = opts.gradientAccumulationSteps ?? 1;
    checkInt('gradientAccumulationSteps', this.accum, 1);
    this.logInterval = opts.logInterval ?? 10;
    checkInt('logInterval', this.logInterval, 1);
    this.gradClip = opts.gradClip ?? 1.0;
    if (!(this.gradClip >= 0)) throw new ConfigError(`gradClip must be ≥ 0 (0 disables clipping), got ${this.gradClip}`);
    if (opts.tokensPerBatch !== undefined) checkInt('tokensPerBatch', opts.tokensPerBatch, 1);
    if (!opts.outDir) throw new ConfigError('outDir is required: the directory for best/, last/, metrics.jsonl and loss.svg');
    this.schedule =
      opts.decayLr === false
        ? constantLr(opts.learningRate)
        : cosineWithWarmup({
            learningRate: opts.learningRate,
            minLr: opts.minLr ?? opts.learningRate / 10,
            warmupIters: opts.warmupIters ?? 0,
            lrDecayIters: opts.lrDecayIters ?? opts.maxIters,
          });
    this.backend = opts.backend;
    this.params = opts.model.namedParameters().filter(([, p]) => p.requiresGrad);
    if (this.params.length === 0) throw new ConfigError('the model has no parameters to train');
    this.optimizer = new AdamW(this.params, {
      beta1: opts.beta1 ?? 0.9,
      beta2: opts.beta2 ?? 0.95,
      eps: opts.eps ?? 1e-8,
      weightDecay: opts.weightDecay ?? 0.1,
      noDecay: opts.noDecay,
      backend: opts.backend,
    });
    const rng = opts.rng;
    this.rngs = rng === undefined ? {} : isRng(rng) ? { default: rng } : { ...rng };
    this.early = new EarlyStopping(opts.earlyStoppingPatience);
    this.guard = new NonFiniteGuard(opts.maxNonFiniteSteps ?? 5);
    this.metrics = new MetricsLog(join(opts.outDir, 'metrics.jsonl'));
    if (opts.resume) this.loadState(opts.resume);
  }

  /** Completed steps (restored on resume). */
  get globalStep(): number {
    return this.step;
  }

  /** Every metrics record so far (a copy). */
  get logHistory(): MetricsRecord[] {
    return [...this.history];
  }

  /** `outDir/best`: the checkpoint with the lowest validation loss. */
  get bestDir(): string {
    return join(this.o.outDir, 'best');
  }

  /** `outDir/last`: the latest checkpoint, for resuming. */
  get lastDir(): string {
    return join(this.o.outDir, 'last');
  }

  /**
   * Mean loss over the first `evalIters` batches of `evalBatches()`, under
   * `noGrad` with the model in eval mode (restored to train mode afterwards).
   * @throws ConfigError when `evalBatches()` yields no batch
   */
  evaluate(): number {
    const { model, lossFn, evalBatches, evalIters } = this.o;
    model.eval();
    try {
      return noGrad(() => {
        let sum = 0;
        let n = 0;
        for (const batch of evalBatches()) {
          if (n >= evalIters) break;
          sum += lossFn(batch).item();
          n += 1;
        }
        if (n === 0) throw new ConfigError('evalBatches() yielded no batches; the validation split is empty or shorter than one block');
        return sum / n;
      });
    } finally {
      model.train();
    }
  }

  /**
   * The full resumable state of the run so far (`trainer_state.json`).
   */
  state(): TrainerState {
    const es = this.early.state();
    const guard = this.guard.state();
    const o = this.o;
    return {
      format: 'muse-trainer-state',
      version: 1,
      global_step: this.step,
      max_steps: o.maxIters,
      eval_steps: o.evalInterval,
      logging_steps: this.logInterval,
      best_metric: es.bestValLoss,
      best_global_step: es.bestStep,
      best_model_checkpoint: this.hasBest ? 'best' : null,
      evals_without_improvement: es.evalsWithoutImprovement,
      non_finite_in_a_row: guard.inARow,
      non_finite_total: guard.total,
      elapsed_ms: this.elapsedMs,
      train_time_ms: this.trainTimeMs,
      tokens_seen: this.tokensSeen,
      train_loss_window: { sum: this.windowSum, count: this.windowCount },
      last_lr: this.lastLr,
      rng_state: Object.fromEntries(Object.entries(this.rngs).map(([k, g]) => [k, g.getState()])),
      log_history: this.history.map((r) => JSON.parse(formatMetricsLine(r)) as MetricsRecord),
      hyperparameters: {
        maxIters: o.maxIters,
        evalInterval: o.evalInterval,
        evalIters: o.evalIters,
        learningRate: o.learningRate,
        minLr: o.minLr ?? o.learningRate / 10,
        warmupIters: o.warmupIters ?? 0,
        lrDecayIters: o.lrDecayIters ?? o.maxIters,
        decayLr: o.decayLr ?? true,
        weightDecay: this.optimizer.weightDecay,
        beta1: this.optimizer.beta1,
        beta2: this.optimizer.beta2,
        eps: this.optimizer.eps,
        gradClip: this.gradClip,
        gradientAccumulationSteps: this.accum,
        earlyStoppingPatience: o.earlyStoppingPatience ?? null,
        maxNonFiniteSteps: this.guard.maxInARow,
        tokensPerBatch: o.tokensPerBatch ?? null,
      },
    };
  }

  /**
   * Restore an earlier run's state: optimizer moments and step counts, the
   * step, best loss, early-stopping and NaN-guard counters, generator states
   * and metrics history. Model weights are the caller's to load.
   * @throws FileFormatError when the trainer state is malformed
   * @throws ConfigError when the saved generators do not match `rng`
   * @throws FileFormatError / ShapeError when the optimizer state does not fit the model
   */
  loadState(resume: ResumeState): void {
    const s = parseTrainerState(resume.trainerState);
    const saved = Object.keys(s.rng_state).sort();
    const mine = Object.keys(this.rngs).sort();
    if (saved.join(',') !== mine.join(',')) {
      throw new ConfigError(
        `the checkpoint saved random generator states for [${saved.join(', ')}] but the trainer was given [${mine.join(', ')}]; pass the same generators (option rng) to resume exactly`,
      );
    }
    if (resume.optimizerTensors) this.optimizer.loadStateDict(resume.optimizerTensors);
    else this.warn('resuming without optimizer state: AdamW moments restart from zero, so the loss curve will differ from an uninterrupted run');
    for (const [k, g] of Object.entries(this.rngs)) g.setState(s.rng_state[k]);
    this.step = s.global_step;
    if (this.step >= this.o.maxIters) {
      this.warn(`the resumed run is already at step ${this.step}, at or past maxIters ${this.o.maxIters}: nothing to train; raise maxIters (e.g. --maxIters ${this.step + 1000}) to continue`);
    }
    this.early.loadState({ bestValLoss: s.best_metric, bestStep: s.best_global_step, evalsWithoutImprovement: s.evals_without_improvement });
    this.guard.loadState({ inARow: s.non_finite_in_a_row, total: s.non_finite_total });
    this.elapsedMs = s.elapsed_ms;
    this.trainTimeMs = s.train_time_ms;
    this.tokensSeen = s.tokens_seen;
    this.windowSum = s.train_loss_window.sum;
    this.windowCount = s.train_loss_window.count;
    this.lastLr = s.last_lr;
    this.history = s.log_history.map((r) => ({ ...r }));
    this.hasBest = s.best_model_checkpoint !== null;
    const lastEval = [...this.history].reverse().find((r) => r.event === 'eval');
    this.lastValLoss = lastEval?.valLoss ?? null;
  }

  /**
   * Run from the current step to `maxIters` (or until early stopping or the
   * abort signal).
   * @returns the summary (the `muse train --json` line)
   * @throws MuseError (code `NON_FINITE`) after `maxNonFiniteSteps` non-finite steps in a row
   * @throws whatever `lossFn`, the batch functions or `save` throw
   */
  async train(): Promise<TrainSummary> {
    const o = this.o;
    const reporter = this.makeReporter();
    const say = (line: string): void => reporter.log(line);
    this.metrics.reset(this.history);
    const runStart = performance.now();
    const runStartStep = this.step;
    const elapsedBefore = this.elapsedMs;
    const elapsed = (): number => elapsedBefore + (performance.now() - runStart);
    let stopReason: StopReason = 'maxIters';
    let lastTrainLoss: number | null = null;
    let logTokens = 0;
    let logTimeMs = 0;
    const params = this.params.map(([, p]) => p);
    const g = this.optimizer.groups();
    if (!o.json) {
      say(
        `training ${this.params.length} tensors (${this.params.reduce((s, [, p]) => s + p.data.length, 0).toLocaleString('en-US')} parameters of ${o.model.numParameters().toLocaleString('en-US')}; weight decay on ${g.decay.length}, none on ${g.noDecay.length}) ` +
          `${this.step > 0 ? `from step ${this.step} ` : ''}to step ${o.maxIters}`,
      );
    }
    o.model.train();
    // Gradients left over from the caller's code must not leak into the first
    // step; after that, each step clears its own (freeing the memory early, as nanoGPT's set_to_none).
    o.model.zeroGrad();
    reporter.start(o.maxIters, this.step);
    try {
      while (this.step < o.maxIters) {
        if (o.signal?.aborted) {
          stopReason = 'aborted';
          break;
        }
        const lr = this.schedule(this.step);
        const t0 = performance.now();
        let lossSum = 0;
        let lossFinite = true;
        // Token-weighted accumulation: micro-batch i's mean loss counts n_i / Σn (its gradient is seeded
        // with accum · n_i / Σn, since the clip below divides by accum); equal weights otherwise.
        const weighted = o.tokensInBatch !== undefined && this.accum > 1;
        const batches = weighted ? Array.from({ length: this.accum }, () => o.nextTrainBatch()) : undefined;
        const counts = batches?.map((b) => Math.max(0, o.tokensInBatch!(b)));
        const total = counts?.reduce((a, b) => a + b, 0) ?? 0;
        for (let micro = 0; micro < this.accum; micro++) {
          const loss = o.lossFn(batches ? batches[micro] : o.nextTrainBatch());
          const v = loss.item();
          if (!Number.isFinite(v)) {
            lossFinite = false;
            lossSum = v;
            break;
          }
          if (counts && total > 0) {
            const share = counts[micro] / total;
            lossSum += v * share * this.accum;
            loss.backward(fromArray([share * this.accum], []));
          } else {
            lossSum += v;
            loss.backward();
          }
        }
        const trainLoss = lossFinite ? lossSum / this.accum : lossSum;
        const clip = lossFinite ? clipGradNorm(params, this.gradClip, 1 / this.accum, this.backend) : { norm: Number.NaN, scale: Number.NaN, finite: false };
        const verdict = this.guard.record(lossFinite && clip.finite);
        if (verdict === 'ok') this.optimizer.step(lr, clip.scale);
        // Zeros in the same buffers (set_to_none=False): a backward that can
        // accumulate in place (the fused GPT path) then allocates nothing.
        o.model.zeroGrad({ setToNone: false });
        const dt = performance.now() - t0;
        this.step += 1;
        this.lastLr = lr;
        this.trainTimeMs += dt;
        logTimeMs += dt;
        const tokens = (o.tokensPerBatch ?? 0) * this.accum;
        this.tokensSeen += tokens;
        logTokens += tokens;

        if (verdict !== 'ok') {
          const what = lossFinite ? `gradient norm is ${clip.norm}` : `loss is ${trainLoss}`;
          this.record({ event: 'skip', step: this.step, trainLoss: lossFinite ? trainLoss : null, lr, gradNorm: finiteOrNull(clip.norm), tokensPerSec: null, elapsedMs: elapsed() }, say);
          if (verdict === 'stop') {
            throw new MuseError(
              'NON_FINITE',
              `training stopped at step ${this.step}: the ${what} — ${this.guard.maxInARow} steps in a row had a non-finite loss or gradient norm, so the updates were skipped. ` +
                `Lower the learning rate, keep gradient clipping on (gradClip 1.0), or check the data for empty or corrupt batches; ` +
                `${this.hasBest || this.history.some((r) => r.event === 'eval') ? `the last good checkpoint is ${this.lastDir}` : 'no checkpoint was written'}`,
            );
          }
          this.warn(`step ${this.step}: the ${what}; skipped the update (${this.guard.inARow} in a row; training stops at ${this.guard.maxInARow})`, say);
        } else {
          lastTrainLoss = trainLoss;
          this.windowSum += trainLoss;
          this.windowCount += 1;
          if (this.step % this.logInterval === 0 || this.step === 1) {
            const tps = o.tokensPerBatch !== undefined && logTimeMs > 0 ? (logTokens * 1000) / logTimeMs : null;
            logTokens = 0;
            logTimeMs = 0;
            const rec: MetricsRecord = { event: 'train', step: this.step, trainLoss, lr, gradNorm: clip.norm, tokensPerSec: tps, elapsedMs: elapsed() };
            this.record(rec, say);
            if (!o.json && reporter instanceof LineProgress) {
              // ETA from this run's wall time per step, evaluations included.
              const eta = ((o.maxIters - this.step) * (performance.now() - runStart)) / (this.step - runStartStep);
              say(
                `step ${this.step}/${o.maxIters} | loss ${trainLoss.toFixed(4)} | lr ${lr.toExponential(2)} | grad norm ${clip.norm.toFixed(3)}` +
                  `${tps === null ? '' : ` | ${Math.round(tps).toLocaleString('en-US')} tok/s`} | eta ${formatDuration(eta)}`,
              );
            }
          }
        }
        reporter.update({ step: this.step, loss: verdict === 'ok' ? trainLoss : null, tokensPerSec: this.trainTimeMs > 0 && o.tokensPerBatch !== undefined ? (this.tokensSeen * 1000) / this.trainTimeMs : null });

        if (this.step % o.evalInterval === 0 || this.step === o.maxIters) {
          const valLoss = this.evaluate();
          this.lastValLoss = valLoss;
          const windowMean = this.windowCount > 0 ? this.windowSum / this.windowCount : null;
          this.windowSum = 0;
          this.windowCount = 0;
          const { improved, stop } = this.early.update(valLoss, this.step);
          this.elapsedMs = elapsed();
          this.record({ event: 'eval', step: this.step, trainLoss: windowMean, valLoss, lr, gradNorm: null, tokensPerSec: this.trainTimeMs > 0 && o.tokensPerBatch !== undefined ? (this.tokensSeen * 1000) / this.trainTimeMs : null, elapsedMs: this.elapsedMs }, say);
          if (!Number.isFinite(valLoss)) this.warn(`step ${this.step}: validation loss is ${valLoss}`, say);
          if (improved) this.hasBest = true;
          if (improved) {
            await this.saveTo(this.bestDir);
            // The same step's checkpoint: last/ as hard links to best/'s files
            // (unless the save callback wrote no directory there).
            if (existsSync(this.bestDir)) copyCheckpoint(this.bestDir, this.lastDir);
            else await this.saveTo(this.lastDir);
          } else {
            await this.saveTo(this.lastDir);
          }
          if (!o.json) {
            const best = this.early.bestValLoss;
            say(
              `step ${this.step}: train loss ${windowMean === null ? '-' : windowMean.toFixed(4)}, val loss ${valLoss.toFixed(4)}` +
                `${improved ? ` (best; saved ${this.bestDir})` : best === null ? '' : ` (best ${best.toFixed(4)} at step ${this.early.bestStep})`}`,
            );
          }
          if (stop) {
            stopReason = 'earlyStopping';
            if (!o.json) say(`early stopping: no improvement in ${this.o.earlyStoppingPatience} evaluations (best val loss ${this.early.bestValLoss?.toFixed(4)} at step ${this.early.bestStep})`);
            break;
          }
        }
        // Let timers (progress redraw) and signal handlers run between steps.
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
      if (stopReason === 'aborted') {
        this.elapsedMs = elapsed();
        await this.saveTo(this.lastDir);
        if (!o.json) say(`stopped at step ${this.step}; saved ${this.lastDir} (resume from it to continue)`);
      }
    } finally {
      reporter.stop();
    }
    this.elapsedMs = elapsed();
    const windowMean = this.windowCount > 0 ? this.windowSum / this.windowCount : null;
    const lastEval = [...this.history].reverse().find((r) => r.event === 'eval');
    return {
      step: this.step,
      trainLoss: finiteOrNull(lastEval && lastEval.step === this.step ? lastEval.trainLoss : windowMean ?? lastTrainLoss),
      valLoss: finiteOrNull(this.lastValLoss),
      bestValLoss: finiteOrNull(this.early.bestValLoss),
      tokensPerSec: this.trainTimeMs > 0 && o.tokensPerBatch !== undefined ? (this.tokensSeen * 1000) / this.trainTimeMs : null,
      checkpoint: this.hasBest ? this.bestDir : this.lastDir,
      stopReason,
    };
  }

  private makeReporter(): ProgressReporter {
    const sink = this.o.log ?? ((line: string) => void process.stderr.write(line + '\n'));
    if (!this.o.json && this.o.progress !== false && !this.o.log && process.stderr.isTTY) return new BarProgress(process.stderr);
    return new LineProgress(sink);
  }

  /** Warnings go to the log, except in JSON mode, where every log line must stay a JSON record: there they go to stderr. */
  private warn(msg: string, say?: (line: string) => void): void {
    const line = `warning: ${msg}`;
    if (this.o.json) process.stderr.write(`muse: ${line}\n`);
    else if (say) say(line);
    else (this.o.log ?? ((l: string) => void process.stderr.write(l + '\n')))(line);
  }

  private record(r: MetricsRecord, say: (line: string) => void): void {
    this.history.push(r);
    this.metrics.append(r);
    if (this.o.json) say(formatMetricsLine(r));
  }

  /** Refuse to save non-finite weights, then hand the checkpoint to the caller and refresh the picture. */
  private async saveTo(dir: string): Promise<void> {
    const backend = this.backend ?? getBackend();
    for (const [name, p] of this.params) {
      if (!(p.data instanceof Float32Array)) continue;
      if (!Number.isFinite(backend.sumSquares(p.data, p.data.length))) {
        throw new MuseError('NON_FINITE', `refusing to save ${dir}: parameter "${name}" holds NaN or Inf at step ${this.step}; the previous checkpoint is kept. Lower the learning rate or check the model`);
      }
    }
    const svg = lossCurveFromMetrics(this.history);
    const metricsText = this.history.map((r) => formatMetricsLine(r) + '\n').join('');
    await this.o.save(dir, {
      trainerState: this.state(),
      optimizerTensors: this.optimizer.stateDict(),
      extraFiles: { 'metrics.jsonl': metricsText, 'loss.svg': svg },
    });
    writeFileAtomic(join(this.o.outDir, 'loss.svg'), svg);
  }
}

function isRng(x: StatefulRng | Record<string, StatefulRng>): x is StatefulRng {
  return typeof (x as StatefulRng).getState === 'function' && typeof (x as StatefulRng).setState === 'function';
}
