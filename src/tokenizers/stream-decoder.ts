/**
 * Streaming decode for generation: ids arrive one at a time and only text
 * that is complete comes out — a Chinese character whose UTF-8 bytes are
 * split over several byte-level tokens appears once, whole, when its last
 * byte arrives. The scheme is Hugging Face's `DecodeStream` (tokenizers
 * ≥ 0.21, after text-generation-inference): decode a short window of recent
 * ids with and without the new one and emit the difference, unless the
 * window's text ends in U+FFFD (an incomplete UTF-8 sequence); the window
 * keeps one earlier token so decoders that look at neighbours (WordPiece's
 * `##` and spaces) decode as they would in the whole sequence.
 */
import type { DecodeOptions, Tokenizer } from './types.js';

/** Longest run of ids held back waiting for a character to complete; beyond it the text is emitted with U+FFFD (a genuinely invalid byte sequence). */
const MAX_PENDING = 8;

/** Incremental decoder over any muse tokenizer. */
export class StreamDecoder {
  private readonly tokenizer: Pick<Tokenizer, 'decode'>;
  private readonly opts: DecodeOptions;
  private ids: number[] = [];
  private prefix = '';
  private prefixIndex = 0;

  constructor(tokenizer: Pick<Tokenizer, 'decode'>, opts: DecodeOptions = {}) {
    this.tokenizer = tokenizer;
    this.opts = { skipSpecialTokens: opts.skipSpecialTokens ?? false };
  }

  /** Adds one id; returns the newly completed text ('' while a character is still incomplete). */
  push(id: number): string {
    this.ids.push(id);
    const text = this.tokenizer.decode(this.ids, this.opts);
    const pending = this.ids.length - this.prefixIndex;
    if (text.length > this.prefix.length && (!text.endsWith('\ufffd') || pending > MAX_PENDING)) {
      // The window's text extends the previous one; should a decoder ever rewrite earlier text, emit from the first difference.
      let common = this.prefix.length;
      if (!text.startsWith(this.prefix)) {
        common = 0;
        while (common < this.prefix.length && text.charCodeAt(common) === this.prefix.charCodeAt(common)) common++;
      }
      const fresh = text.slice(common);
      this.advance();
      return fresh;
    }
    return '';
  }

  /** Returns whatever is left (an incomplete character comes out as U+FFFD) and resets. */
  flush(): string {
    const text = this.tokenizer.decode(this.ids, this.opts);
    const rest = text.length > this.prefix.length && text.startsWith(this.prefix) ? text.slice(this.prefix.length) : '';
    this.ids = [];
    this.prefix = '';
    this.prefixIndex = 0;
    return rest;
  }

  /** Slides the window: keep the ids after the old prefix as context for the next step. */
  private advance(): void {
    const keepFrom = this.prefixIndex;
    const newPrefixIndex = this.ids.length - keepFrom;
    this.ids = this.ids.slice(keepFrom);
    this.prefix = this.tokenizer.decode(this.ids, this.opts);
    this.prefixIndex = newPrefixIndex;
  }
}
