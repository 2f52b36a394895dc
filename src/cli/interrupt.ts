/**
 * Ctrl-C and SIGTERM for the training commands: the first signal asks the
 * Trainer to stop after the current step (it saves `last/`), a second one
 * quits at once. SIGTERM is what `timeout`, docker and systemd send, so it is
 * treated exactly like Ctrl-C. After an interrupted run the process exits
 * 128 + the signal's number (130 for SIGINT, 143 for SIGTERM), as shells
 * expect, never 0.
 */

const EXIT_CODES = { SIGINT: 130, SIGTERM: 143 } as const;
type Handled = keyof typeof EXIT_CODES;

/** What {@link onInterrupt} returns. */
export interface Interrupt {
  /** Aborted on the first SIGINT/SIGTERM; pass it to the pipeline's `signal`. */
  signal: AbortSignal;
  /** The signal that interrupted the run, if any. */
  readonly received: Handled | undefined;
  /**
   * Remove the handlers; when a signal arrived, set `process.exitCode` to 130/143
   * so the command ends with it once its output is written.
   * @returns whether the run was interrupted
   */
  finish(): boolean;
}

/**
 * Install SIGINT/SIGTERM handlers for a long-running command.
 * @param what the message's subject, e.g. `saving last/ and stopping after this step`
 */
export function onInterrupt(what = 'saving last/ and stopping after this step'): Interrupt {
  const controller = new AbortController();
  let received: Handled | undefined;
  const handlers = new Map<Handled, () => void>();
  for (const sig of Object.keys(EXIT_CODES) as Handled[]) {
    const handler = (): void => {
      if (received) {
        process.stderr.write(`\nmuse: ${sig} again: quitting now without saving\n`);
        process.exit(EXIT_CODES[sig]);
      }
      received = sig;
      process.stderr.write(`\nmuse: ${sig === 'SIGINT' ? 'interrupted (Ctrl-C)' : 'SIGTERM received'}; ${what} (${sig === 'SIGINT' ? 'Ctrl-C' : 'send it'} again to quit now)\n`);
      controller.abort();
    };
    handlers.set(sig, handler);
    process.on(sig, handler);
  }
  return {
    signal: controller.signal,
    get received() {
      return received;
    },
    finish(): boolean {
      for (const [sig, h] of handlers) process.off(sig, h);
      if (received) process.exitCode = EXIT_CODES[received];
      return received !== undefined;
    },
  };
}
