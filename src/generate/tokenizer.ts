/**
 * What generation needs from a tokenizer, typed structurally so that any
 * tokenizer with these members works (muse's own in `src/tokenizers/`, or a
 * test double), plus a UTF-8-safe incremental decoder used when the
 * tokenizer package provides none.
 */

/** The tokenizer members generation uses. */
export interface GenerationTokenizer {
  /** Token ids of `text`. */
  encode(text: string, opts?: { addSpecialTokens?: boolean }): { ids: number[] };
  /** Text of `ids`. */
  decode(ids: number[], opts?: { skipSpecialTokens?: boolean }): string;
  /** Number of ids the tokenizer can produce. */
  readonly vocabSize: number;
  readonly eosTokenId?: number | null;
  readonly bosTokenId?: number | null;
  readonly padTokenId?: number | null;
}

/** A streaming decoder: `push(id)` returns only newly completed text; `flush()` the rest. */
export interface TextStreamDecoder {
  push(id: number): string;
  flush(): string;
}

/**
 * Incremental detokenisation with the "prefix/read offset" scheme of HF
 * text-generation-inference (`decode_token`): the new text is the difference
 * between decoding a short window with and without the newest tokens, and
 * nothing is emitted while it ends in U+FFFD (a character whose UTF-8 bytes
 * are split over byte-level tokens), so each character appears whole, once.
 */
export class IncrementalDecoder implements TextStreamDecoder {
  private readonly ids: number[] = [];
  private prefixOffset = 0;
  private readOffset = 0;

  constructor(
    private readonly tokenizer: GenerationTokenizer,
    private readonly opts: { skipSpecialTokens?: boolean } = {},
  ) {}

  push(id: number): string {
    this.ids.push(id);
    const prefix = this.tokenizer.decode(this.ids.slice(this.prefixOffset, this.readOffset), this.opts);
    const full = this.tokenizer.decode(this.ids.slice(this.prefixOffset), this.opts);
    if (full.length > prefix.length && !full.endsWith('\uFFFD') && full.startsWith(prefix)) {
      const piece = full.slice(prefix.length);
      this.prefixOffset = this.readOffset;
      this.readOffset = this.ids.length;
      return piece;
    }
    return '';
  }

  flush(): string {
    if (this.readOffset >= this.ids.length) return '';
    const prefix = this.tokenizer.decode(this.ids.slice(this.prefixOffset, this.readOffset), this.opts);
    const full = this.tokenizer.decode(this.ids.slice(this.prefixOffset), this.opts);
    this.prefixOffset = this.readOffset = this.ids.length;
    return full.startsWith(prefix) ? full.slice(prefix.length) : full;
  }
}
