/**
 * The vocabulary lookups every tokenizer whose model is a {@link BPEModel}
 * shares (HF `tokenizers`' BPE model, with or without byte-level mapping).
 */
import { BaseTokenizer } from './base-tokenizer.js';
import type { BPEModel } from './bpe-model.js';

/** A {@link BaseTokenizer} whose token ↔ id table is its BPE model's vocabulary. */
export abstract class BPEBackedTokenizer extends BaseTokenizer {
  /** The merges and vocabulary. */
  abstract readonly model: BPEModel;

  protected modelTokenToId(token: string): number | undefined {
    return this.model.vocab.get(token);
  }

  protected modelIdToToken(id: number): string | undefined {
    return this.model.idToToken[id];
  }

  protected modelSize(): number {
    return this.model.size;
  }
}
