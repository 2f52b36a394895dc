import cliProgress from 'cli-progress';

/** What the trainer reports after each step. */
export interface ProgressUpdate {
  /** Completed steps. */
  step: number;
  /** Loss of the last step, or null when it was skipped. */
  loss: number | null;
  /** Training tokens per second, or null when unknown. */
  tokensPerSec: number | null;
}

/** Where the trainer's progress and log lines go. */
export interface ProgressReporter {
  /** Begin a run of `total` steps, `startStep` of them already done (resume). */
  start(total: number, startStep: number): void;
  update(u: ProgressUpdate): void;
  /** A full line of text (no trailing newline) that must not garble the bar. */
  log(line: string): void;
  stop(): void;
}

/**
 * Seconds as a short human duration: `45s`, `3m20s`, `1h02m`.
 * @param ms a duration in milliseconds; non-finite → `?`
 */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '?';
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** Lines only: every `log` goes to `sink`; updates draw nothing (non-TTY, `--json`, tests). */
export class LineProgress implements ProgressReporter {
  constructor(private readonly sink: (line: string) => void) {}
  start(): void {}
  update(): void {}
  log(line: string): void {
    this.sink(line);
  }
  stop(): void {}
}

/**
 * The part of a terminal stream the progress bar uses (`process.stderr` is one).
 * Declared here so the package's types do not need `@types/node`.
 */
export interface TerminalStream {
  write(chunk: string): boolean;
  readonly isTTY?: boolean;
  readonly columns?: number;
  cursorTo?(x: number, y?: number): boolean;
  moveCursor?(dx: number, dy: number): boolean;
  clearLine?(dir: -1 | 0 | 1): boolean;
}

/**
 * A terminal progress bar (cli-progress) on `stream` — loss, tokens/s and ETA —
 * with log lines printed above it. Use only when `stream.isTTY`.
 */
export class BarProgress implements ProgressReporter {
  private readonly multi: cliProgress.MultiBar;
  private bar: cliProgress.SingleBar | null = null;

  constructor(stream: TerminalStream = process.stderr) {
    this.multi = new cliProgress.MultiBar(
      {
        // cli-progress types its stream as Node's; it calls only the members TerminalStream names.
        stream: stream as unknown as NodeJS.WritableStream,
        format: 'step {value}/{total} {bar} {percentage}% | loss {loss} | {tps} tok/s | ETA {eta_formatted}',
        // The caller owns SIGINT (muse train saves last/ on Ctrl-C) and the
        // bar is stopped in a finally block; a hidden cursor would survive a
        // hard exit, so it stays visible.
        hideCursor: false,
        clearOnComplete: false,
        etaBuffer: 50,
        fps: 5,
        gracefulExit: false,
      },
      cliProgress.Presets.shades_classic,
    );
  }

  start(total: number, startStep: number): void {
    this.bar = this.multi.create(total, startStep, { loss: '-', tps: '-' });
  }

  update(u: ProgressUpdate): void {
    this.bar?.update(u.step, {
      loss: u.loss === null ? 'skipped' : u.loss.toFixed(4),
      tps: u.tokensPerSec === null ? '-' : Math.round(u.tokensPerSec).toLocaleString('en-US'),
    });
  }

  log(line: string): void {
    this.multi.log(line + '\n');
  }

  stop(): void {
    this.multi.stop();
  }
}
