/**
 * Admission control for generations: at most `maxConcurrent` run at once
 * (they share one JavaScript thread, interleaved token by token), at most
 * `maxQueued` wait in FIFO order, and the rest are refused at once with a
 * Retry-After estimate, so an overloaded server degrades into quick 429s
 * instead of timeouts.
 */
import { MuseError } from '../errors.js';

/** Thrown by {@link GenerationQueue.acquire} when the queue is full or closed. */
export class QueueFullError extends MuseError {
  constructor(
    message: string,
    /** Seconds after which a retry is likely to be admitted. */
    readonly retryAfterSeconds: number,
    /** True when the server is shutting down (HTTP 503) rather than busy (429). */
    readonly closed = false,
  ) {
    super('QUEUE_FULL', message);
    this.name = 'QueueFullError';
  }
}

/** Options of {@link GenerationQueue}. */
export interface QueueOptions {
  /** Generations running at once (default 4). */
  maxConcurrent?: number;
  /** Requests waiting for a slot before new ones are refused (default 64). */
  maxQueued?: number;
}

interface Waiter {
  resolve: (release: () => void) => void;
  reject: (err: Error) => void;
  onAbort?: () => void;
  signal?: AbortSignal;
}

/** A FIFO semaphore with a bounded waiting line. */
export class GenerationQueue {
  readonly maxConcurrent: number;
  readonly maxQueued: number;
  private active = 0;
  private closed = false;
  private readonly waiters: Waiter[] = [];
  /** Exponential moving average of a generation's duration, ms (for Retry-After). */
  private avgMs = 2000;

  constructor(opts: QueueOptions = {}) {
    this.maxConcurrent = opts.maxConcurrent ?? 4;
    this.maxQueued = opts.maxQueued ?? 64;
    if (!(Number.isInteger(this.maxConcurrent) && this.maxConcurrent >= 1)) {
      throw new RangeError(`maxConcurrent must be an integer ≥ 1, got ${this.maxConcurrent}`);
    }
    if (!(Number.isInteger(this.maxQueued) && this.maxQueued >= 0)) {
      throw new RangeError(`maxQueued must be an integer ≥ 0, got ${this.maxQueued}`);
    }
  }

  /** Generations holding a slot. */
  get running(): number {
    return this.active;
  }

  /** Requests waiting for a slot. */
  get waiting(): number {
    return this.waiters.length;
  }

  /** Seconds until a slot is likely free for a newcomer (≥ 1). */
  retryAfterSeconds(): number {
    const ahead = this.waiters.length + 1;
    return Math.max(1, Math.ceil((this.avgMs * ahead) / this.maxConcurrent / 1000));
  }

  /**
   * Wait for a slot. Resolves with a `release` function to call exactly once
   * when the generation ends (extra calls are ignored).
   * @param signal aborting it while waiting leaves the line and rejects with the signal's reason
   * @throws QueueFullError (rejected promise) when the line is full or the queue is closed
   */
  acquire(signal?: AbortSignal): Promise<() => void> {
    if (this.closed) return Promise.reject(new QueueFullError('the server is shutting down; retry on another instance', 5, true));
    if (signal?.aborted) return Promise.reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
    if (this.active < this.maxConcurrent) return Promise.resolve(this.grant());
    if (this.waiters.length >= this.maxQueued) {
      return Promise.reject(
        new QueueFullError(
          `too many generations: ${this.active} running and ${this.waiters.length} waiting (limits ${this.maxConcurrent} and ${this.maxQueued}); retry later`,
          this.retryAfterSeconds(),
        ),
      );
    }
    return new Promise((resolve, reject) => {
      const w: Waiter = { resolve, reject, signal };
      if (signal) {
        w.onAbort = () => {
          const i = this.waiters.indexOf(w);
          if (i >= 0) this.waiters.splice(i, 1);
          reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
        };
        signal.addEventListener('abort', w.onAbort, { once: true });
      }
      this.waiters.push(w);
    });
  }

  /** Refuse new requests and every waiting one (shutdown); running generations keep their slots. */
  close(): void {
    this.closed = true;
    for (const w of this.waiters.splice(0)) {
      if (w.onAbort) w.signal?.removeEventListener('abort', w.onAbort);
      w.reject(new QueueFullError('the server is shutting down; retry on another instance', 5, true));
    }
  }

  private grant(): () => void {
    this.active++;
    const started = performance.now();
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.avgMs = 0.8 * this.avgMs + 0.2 * (performance.now() - started);
      this.active--;
      const next = this.waiters.shift();
      if (next) {
        if (next.onAbort) next.signal?.removeEventListener('abort', next.onAbort);
        next.resolve(this.grant());
      }
    };
  }
}
