/**
 * Tokenizers for the generation tests, built with muse's own tokenizers:
 * a character tokenizer (one token per character, as the bundled char
 * models) and a small byte-level BPE trained on English only, so a Chinese
 * character falls apart into three byte tokens (as with GPT-2).
 */
import { ByteLevelBPETokenizer, CharTokenizer } from '../../src/tokenizers/index.js';
import type { GenerationTokenizer } from '../../src/generate/tokenizer.js';

/** One token per character of `chars` (ids in code-point order); `<eos>` first when asked for. */
export function charTokenizer(chars: string, opts: { eos?: boolean } = {}): CharTokenizer {
  return CharTokenizer.train([chars], opts.eos ? { specialTokens: ['<eos>'], roles: { eos: '<eos>' } } : {});
}

/** A byte-level BPE with a few English merges; `<|endoftext|>` is id 0 (BOS and EOS). */
export function byteTokenizer(): ByteLevelBPETokenizer {
  return ByteLevelBPETokenizer.train(['the cat sat on the mat. the dog sat on the log.'], { vocabSize: 270 });
}

/** A tokenizer over an explicit list of token strings (decode only), for stop-string matching. */
export function listTokenizer(vocab: readonly string[]): GenerationTokenizer {
  return {
    vocabSize: vocab.length,
    eosTokenId: undefined,
    bosTokenId: undefined,
    padTokenId: undefined,
    encode: () => ({ ids: [], tokens: [], offsets: [] }),
    decode: (ids: ArrayLike<number>) => Array.from(ids, (i) => vocab[i]).join(''),
  };
}
