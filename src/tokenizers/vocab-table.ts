/**
 * The vocabulary lookups of tokenizers whose model is a plain token → id map
 * (character and WordPiece tokenizers).
 */
import { BaseTokenizer, type BaseTokenizerInit } from './base-tokenizer.js';

/** A {@link BaseTokenizer} whose token ↔ id table is a vocabulary map given at construction. */
export abstract class VocabTableTokenizer extends BaseTokenizer {
  /** Token → id. */
  readonly vocab: ReadonlyMap<string, number>;
  /** Id → token (holes where the vocabulary skips an id). */
  protected readonly idToTok: (string | undefined)[] = [];

  constructor(init: BaseTokenizerInit, vocab: ReadonlyMap<string, number>) {
    super(init);
    this.vocab = vocab;
    for (const [tok, id] of vocab) this.idToTok[id] = tok;
  }

  protected modelTokenToId(token: string): number | undefined {
    return this.vocab.get(token);
  }

  protected modelIdToToken(id: number): string | undefined {
    return this.idToTok[id];
  }

  protected modelSize(): number {
    return this.idToTok.length;
  }
}
