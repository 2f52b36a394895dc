/**
 * Minimal tokenizers for the generation tests: a character tokenizer (one
 * token per character, as muse's char models) and a byte tokenizer (one
 * token per UTF-8 byte, so a Chinese character spans three tokens, as in
 * GPT-2's byte-level BPE).
 */
import type { GenerationTokenizer } from '../../src/generate/tokenizer.js';

export class CharTokenizer implements GenerationTokenizer {
  readonly vocab: string[];
  private readonly index = new Map<string, number>();
  readonly eosTokenId: number | null;
  readonly bosTokenId: number | null = null;
  readonly padTokenId: number | null = null;

  /** @param chars the characters; `eos` (if given) is appended as a special token `<eos>` */
  constructor(chars: string, opts: { eos?: boolean } = {}) {
    this.vocab = [...new Set([...chars])];
    if (opts.eos) this.vocab.push('<eos>');
    this.vocab.forEach((c, i) => this.index.set(c, i));
    this.eosTokenId = opts.eos ? this.vocab.length - 1 : null;
  }

  get vocabSize(): number {
    return this.vocab.length;
  }

  encode(text: string): { ids: number[] } {
    return {
      ids: [...text].map((c) => {
        const id = this.index.get(c);
        if (id === undefined) throw new Error(`CharTokenizer: unknown character ${JSON.stringify(c)}`);
        return id;
      }),
    };
  }

  decode(ids: number[], opts: { skipSpecialTokens?: boolean } = {}): string {
    return ids
      .filter((i) => !(opts.skipSpecialTokens && i === this.eosTokenId))
      .map((i) => this.vocab[i] ?? '')
      .join('');
  }
}

/** Ids 0…255 are bytes; 256 is `<eos>`. */
export class ByteTokenizer implements GenerationTokenizer {
  readonly vocabSize = 257;
  readonly eosTokenId = 256;
  readonly bosTokenId = 256;
  readonly padTokenId = null;

  encode(text: string): { ids: number[] } {
    return { ids: [...new TextEncoder().encode(text)] };
  }

  decode(ids: number[], opts: { skipSpecialTokens?: boolean } = {}): string {
    const bytes = ids.filter((i) => i < 256);
    const text = new TextDecoder().decode(Uint8Array.from(bytes));
    return opts.skipSpecialTokens ? text : ids.includes(256) ? text + '<eos>' : text;
  }
}
