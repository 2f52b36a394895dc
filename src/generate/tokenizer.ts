/**
 * What generation needs from a tokenizer: the members of muse's `Tokenizer`
 * (src/tokenizers) that decoding uses, so a test double or a wrapper only
 * has to provide these.
 */
import type { Tokenizer } from '../tokenizers/index.js';

/** The tokenizer members generation uses. */
export type GenerationTokenizer = Pick<Tokenizer, 'encode' | 'decode' | 'vocabSize' | 'eosTokenId' | 'bosTokenId' | 'padTokenId'>;

/** A streaming decoder: `push(id)` returns only newly completed text; `flush()` the rest (`StreamDecoder` is one). */
export interface TextStreamDecoder {
  push(id: number): string;
  flush(): string;
}
