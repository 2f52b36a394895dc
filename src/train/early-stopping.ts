import { ConfigError } from '../errors.js';

/** The serialisable state of {@link EarlyStopping} (kept in `trainer_state.json`). */
export interface EarlyStoppingState {
  /** Lowest validation loss so far, or null before the first finite evaluation. */
  bestValLoss: number | null;
  /** Step of that evaluation, or null. */
  bestStep: number | null;
  /** Evaluations since the last improvement. */
  evalsWithoutImprovement: number;
}

/**
 * Tracks the best validation loss and decides when to stop (Keras
 * `EarlyStopping(patience, min_delta)`, HF `EarlyStoppingCallback`): an
 * evaluation improves when its loss is below `best − minDelta`; training stops
 * once `patience` evaluations in a row have not improved. Without `patience`
 * it only tracks the best loss. A non-finite loss never counts as an improvement.
 */
export class EarlyStopping {
  private best: number | null = null;
  private bestAt: number | null = null;
  private stale = 0;

  /**
   * @param patience evaluations without improvement before stopping; undefined = never stop
   * @param minDelta the smallest decrease that counts as an improvement (default 0)
   * @throws ConfigError when patience is not an integer ≥ 1 or minDelta is negative
   */
  constructor(readonly patience?: number, readonly minDelta = 0) {
    if (patience !== undefined && (!Number.isInteger(patience) || patience < 1)) {
      throw new ConfigError(`earlyStoppingPatience must be an integer ≥ 1 (evaluations without improvement), got ${patience}`);
    }
    if (!(minDelta >= 0)) throw new ConfigError(`early-stopping minDelta must be ≥ 0, got ${minDelta}`);
  }

  /** The lowest validation loss seen, or null. */
  get bestValLoss(): number | null {
    return this.best;
  }

  /** The step of the best evaluation, or null. */
  get bestStep(): number | null {
    return this.bestAt;
  }

  /**
   * Record one evaluation.
   * @param valLoss mean validation loss
   * @param step the step it was measured at
   * @returns `improved` (a new best: save the best checkpoint) and `stop` (patience exhausted)
   */
  update(valLoss: number, step: number): { improved: boolean; stop: boolean } {
    const improved = Number.isFinite(valLoss) && (this.best === null || valLoss < this.best - this.minDelta);
    if (improved) {
      this.best = valLoss;
      this.bestAt = step;
      this.stale = 0;
    } else {
      this.stale += 1;
    }
    return { improved, stop: this.patience !== undefined && this.stale >= this.patience };
  }

  /** The state to save for resuming. */
  state(): EarlyStoppingState {
    return { bestValLoss: this.best, bestStep: this.bestAt, evalsWithoutImprovement: this.stale };
  }

  /** Restore a state saved by {@link EarlyStopping.state}. */
  loadState(s: EarlyStoppingState): void {
    this.best = s.bestValLoss;
    this.bestAt = s.bestStep;
    this.stale = s.evalsWithoutImprovement;
  }
}
