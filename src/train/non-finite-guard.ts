import { ConfigError } from '../errors.js';

/** What the trainer does with a step after {@link NonFiniteGuard.record}. */
export type GuardVerdict = 'ok' | 'skip' | 'stop';

/**
 * The NaN/Inf guard: counts consecutive steps whose loss or gradient norm was
 * not finite. Such a step is skipped (no parameter or moment update, like
 * PyTorch's `GradScaler` skipping an overflowing step); after `maxInARow`
 * skipped steps in a row the run must stop, because the model or the learning
 * rate — not one bad batch — is the problem. A finite step resets the count.
 */
export class NonFiniteGuard {
  private run = 0;
  private all = 0;

  /**
   * @param maxInARow consecutive non-finite steps that stop training (default 5)
   * @throws ConfigError when it is not an integer ≥ 1
   */
  constructor(readonly maxInARow = 5) {
    if (!Number.isInteger(maxInARow) || maxInARow < 1) {
      throw new ConfigError(`maxNonFiniteSteps must be an integer ≥ 1, got ${maxInARow}`);
    }
  }

  /** Non-finite steps in the current run of them. */
  get inARow(): number {
    return this.run;
  }

  /** Non-finite steps since training began (this process and resumed ones). */
  get total(): number {
    return this.all;
  }

  /**
   * Record one step.
   * @param finite whether the step's loss and gradient norm were both finite
   * @returns `ok` (apply the update), `skip` (drop it), or `stop` (the limit is reached)
   */
  record(finite: boolean): GuardVerdict {
    if (finite) {
      this.run = 0;
      return 'ok';
    }
    this.run += 1;
    this.all += 1;
    return this.run >= this.maxInARow ? 'stop' : 'skip';
  }

  /** State for resuming. */
  state(): { inARow: number; total: number } {
    return { inARow: this.run, total: this.all };
  }

  /** Restore a state saved by {@link NonFiniteGuard.state}. */
  loadState(s: { inARow: number; total: number }): void {
    this.run = s.inARow;
    this.all = s.total;
  }
}
