/**
 * The character tokenizer of the bundled models (nanoGPT's `shakespeare_char`
 * scheme): one token per Unicode code point, the vocabulary being the sorted
 * set of characters of a corpus. Newline and space are ordinary characters.
 *
 * Saved as a Hugging Face `tokenizer.json` that the Rust library and
 * transformers.js load and encode to the same ids: a `WordLevel` model, a
 * `Split` pre-tokenizer on the regex `[\s\S]` with behaviour `Isolated` (each
 * code point its own piece; Oniguruma and JavaScript `u` regexes both match
 * one code point), no normalizer, and the `Fuse` decoder (tokens joined
 * without spaces).
 */
import { ConfigError } from '../errors.js';
import { specialToken } from './added-tokens.js';
import type { BaseTokenizerInit, ModelJSON, SpecialTokenRoles } from './base-tokenizer.js';
import { VocabTableTokenizer } from './vocab-table.js';
import { toWellFormed } from './unicode.js';

/** What to do with a character outside the vocabulary when there is no unknown token. */
export type UnknownCharPolicy = 'error' | 'skip';

/** The split pattern written to `tokenizer.json`: one code point per piece. */
export const CHAR_SPLIT_PATTERN = '[\\s\\S]';

/** Options of `CharTokenizer.train`. */
export interface CharTrainOptions {
  /** Special tokens, given the first ids in order (e.g. `['<|endoftext|>']`). Default none. */
  specialTokens?: readonly string[];
  /** Unknown-character token (added as a special token if not listed). Default none: see `onUnknown`. */
  unkToken?: string;
  /** Characters seen fewer times are left out of the vocabulary. Default 1. */
  minFrequency?: number;
  /** Policy for unknown characters when there is no unknown token. Default `'error'`. */
  onUnknown?: UnknownCharPolicy;
  roles?: SpecialTokenRoles;
}

/** Settings of a char tokenizer beyond its vocabulary. */
export interface CharTokenizerInit extends BaseTokenizerInit {
  unkToken?: string | null;
  onUnknown?: UnknownCharPolicy;
}

/** One token per code point. */
export class CharTokenizer extends VocabTableTokenizer {
  /** The unknown token (a `[UNK]`/`<unk>` in the vocabulary), or null. */
  readonly unkToken: string | null;
  /** Applies when `unkToken` is null: `'error'` throws on an unknown character, `'skip'` drops it. */
  readonly onUnknown: UnknownCharPolicy;
  private readonly bmp = new Int32Array(65536).fill(-1);
  private readonly astral = new Map<number, number>();
  private readonly unkId: number;

  /**
   * @param vocab character (or special token) → id
   * @throws ConfigError when `unkToken` is given but not in the vocabulary
   */
  constructor(vocab: ReadonlyMap<string, number>, init: CharTokenizerInit) {
    super(init, vocab);
    let unk = init.unkToken;
    if (unk === undefined) unk = ['[UNK]', '<unk>'].find((t) => vocab.has(t)) ?? null;
    if (unk !== null && !vocab.has(unk)) throw new ConfigError(`char tokenizer: unknown token "${unk}" is not in the vocabulary`);
    this.unkToken = unk;
    this.unkId = unk !== null ? (vocab.get(unk) as number) : -1;
    this.onUnknown = init.onUnknown ?? 'error';
    for (const [tok, id] of vocab) {
      const cp = tok.codePointAt(0);
      if (cp === undefined || String.fromCodePoint(cp) !== tok) continue; // multi-character special tokens
      if (cp < 65536) this.bmp[cp] = id;
      else this.astral.set(cp, id);
    }
  }

  /**
   * Builds the vocabulary of `texts`: special tokens first (in the order
   * given, the unknown token after them if not listed), then every character
   * seen at least `minFrequency` times, sorted by code point — deterministic
   * for a given corpus.
   */
  static train(texts: Iterable<string>, opts: CharTrainOptions = {}): CharTokenizer {
    const specials = [...(opts.specialTokens ?? [])];
    if (opts.unkToken !== undefined && !specials.includes(opts.unkToken)) specials.push(opts.unkToken);
    const minFrequency = opts.minFrequency ?? 1;
    const counts = new Map<number, number>();
    for (const raw of texts) {
      const text = toWellFormed(raw);
      for (let i = 0; i < text.length; i++) {
        let cp = text.charCodeAt(i);
        if (cp >= 0xd800 && cp <= 0xdbff && i + 1 < text.length) {
          cp = ((cp - 0xd800) << 10) + (text.charCodeAt(++i) - 0xdc00) + 0x10000;
        }
        counts.set(cp, (counts.get(cp) ?? 0) + 1);
      }
    }
    const vocab = new Map<string, number>();
    for (const s of specials) if (!vocab.has(s)) vocab.set(s, vocab.size);
    const chars = [...counts.entries()].filter(([, c]) => c >= minFrequency).map(([cp]) => cp).sort((a, b) => a - b);
    for (const cp of chars) {
      const ch = String.fromCodePoint(cp);
      if (!vocab.has(ch)) vocab.set(ch, vocab.size);
    }
    return new CharTokenizer(vocab, {
      addedTokens: specials.map((s) => specialToken(s, vocab.get(s) as number)),
      roles: opts.roles ?? (opts.unkToken !== undefined ? { unk: opts.unkToken } : undefined),
      unkToken: opts.unkToken,
      onUnknown: opts.onUnknown,
    });
  }

  protected override extraConfig(): Record<string, unknown> {
    return this.unkToken === null ? { muse_on_unknown: this.onUnknown } : {};
  }

  /**
   * @throws ConfigError for a character outside the vocabulary when there is no unknown token and the policy is `'error'`
   */
  protected encodeSegment(text: string, start: number, end: number, ids: number[], offsets: number[] | null): void {
    const bmp = this.bmp;
    for (let i = start; i < end; i++) {
      const c = text.charCodeAt(i);
      let id: number;
      let u = 1;
      if (c >= 0xd800 && c <= 0xdbff && i + 1 < end) {
        id = this.astral.get(((c - 0xd800) << 10) + (text.charCodeAt(i + 1) - 0xdc00) + 0x10000) ?? -1;
        u = 2;
      } else id = bmp[c];
      if (id < 0) {
        if (this.unkId >= 0) id = this.unkId;
        else if (this.onUnknown === 'skip') {
          i += u - 1;
          continue;
        } else {
          const ch = text.slice(i, i + u);
          throw new ConfigError(
            `char tokenizer: character ${JSON.stringify(ch)} (U+${(ch.codePointAt(0) as number).toString(16).toUpperCase().padStart(4, '0')}) is not in the vocabulary and there is no unknown token; retrain on a corpus that contains it, train with unkToken: '[UNK]', or use onUnknown: 'skip'`,
          );
        }
      }
      ids.push(id);
      if (offsets) offsets.push(i, i + u);
      i += u - 1;
    }
  }

  /** The `Fuse` decoder: tokens joined without separator. */
  protected decodeTokens(tokens: string[]): string {
    return tokens.join('');
  }

  protected modelJSON(): ModelJSON {
    const vocab: Record<string, number> = Object.create(null) as Record<string, number>;
    for (const [tok, id] of this.vocab) vocab[tok] = id;
    return {
      normalizer: null,
      pre_tokenizer: { type: 'Split', pattern: { Regex: CHAR_SPLIT_PATTERN }, behavior: 'Isolated', invert: false },
      decoder: { type: 'Fuse' },
      // With no unknown token the Rust library raises an error on an unknown character, like the 'error' policy.
      model: { type: 'WordLevel', vocab, unk_token: this.unkToken ?? '[UNK]' },
    };
  }
}
