/**
 * OpenAI-style stop sequences on a text stream: the returned text ends just
 * before the first stop sequence, which is not included (unlike HF's
 * `stop_strings`, which keep it). Text that could be the start of a stop
 * sequence is held back until it is decided, so a streamed client never sees
 * a partial stop sequence.
 */
export class StopTrimmer {
  private pending = '';
  private stopped = false;

  /** @param stops the stop sequences (empty strings are ignored) */
  constructor(private readonly stops: readonly string[]) {}

  /** True once a stop sequence has been seen; later pushes return ''. */
  get done(): boolean {
    return this.stopped;
  }

  /** Add generated text; returns the text that is now safe to emit. */
  push(piece: string): string {
    if (this.stopped) return '';
    this.pending += piece;
    let cut = -1;
    for (const s of this.stops) {
      if (!s) continue;
      const i = this.pending.indexOf(s);
      if (i >= 0 && (cut < 0 || i < cut)) cut = i;
    }
    if (cut >= 0) {
      this.stopped = true;
      const out = this.pending.slice(0, cut);
      this.pending = '';
      return out;
    }
    // Hold back the longest suffix that is a proper prefix of some stop sequence.
    let hold = 0;
    for (const s of this.stops) {
      for (let k = Math.min(s.length - 1, this.pending.length); k > hold; k--) {
        if (this.pending.endsWith(s.slice(0, k))) {
          hold = k;
          break;
        }
      }
    }
    const out = this.pending.slice(0, this.pending.length - hold);
    this.pending = this.pending.slice(this.pending.length - hold);
    return out;
  }

  /** The end of the stream: returns the held-back text (it turned out not to be a stop sequence). */
  flush(): string {
    const out = this.stopped ? '' : this.pending;
    this.pending = '';
    return out;
  }
}
