/**
 * The tokenizer interface every muse tokenizer implements. Names follow
 * Hugging Face (`inputIds`, `attentionMask`, `addSpecialTokens`,
 * `skipSpecialTokens`, padding and truncation options) in camelCase.
 */

/** Roles a special token can play. */
export type SpecialTokenRole = 'bos' | 'eos' | 'unk' | 'pad' | 'mask' | 'cls' | 'sep';

/** All roles, in the order they are written to `special_tokens_map.json`. */
export const SPECIAL_TOKEN_ROLES: readonly SpecialTokenRole[] = ['bos', 'eos', 'unk', 'sep', 'pad', 'cls', 'mask'];

/** A special token: its text and its id. */
export interface SpecialTokenInfo {
  token: string;
  id: number;
}

/** Special tokens by role; a role the tokenizer lacks is absent. */
export type SpecialTokens = Readonly<Partial<Record<SpecialTokenRole, SpecialTokenInfo>>>;

/**
 * The result of encoding one text. `ids[i]` is the token id, `tokens[i]` its
 * vocabulary string, `offsets[i]` its `[start, end)` span in the input text in
 * Unicode code points (as Hugging Face reports them); special tokens added by
 * the post-processor have `[0, 0]`.
 */
export interface Encoding {
  ids: number[];
  tokens: string[];
  offsets: [number, number][];
}

export interface EncodeOptions {
  /** Add the model's special tokens (e.g. `[CLS] … [SEP]` for BERT). Default `true`, as in Hugging Face. */
  addSpecialTokens?: boolean;
}

export interface DecodeOptions {
  /** Drop special tokens (`[CLS]`, `<|endoftext|>`, `[UNK]`, …) from the text. Default `false`. */
  skipSpecialTokens?: boolean;
}

export interface EncodeBatchOptions extends EncodeOptions {
  /** `'longest'`: pad to the longest row; `'maxLength'`: pad to `maxLength`; `false` (default): no padding. */
  padding?: 'longest' | 'maxLength' | false;
  /** Side padding goes on. Default `'right'`; use `'left'` for batched generation with decoder-only models. */
  paddingSide?: 'left' | 'right';
  /** Cut rows longer than `maxLength` (special tokens included; the text is cut from the right). */
  truncation?: boolean;
  /** Length for truncation and `padding: 'maxLength'`; defaults to the tokenizer's `modelMaxLength`. */
  maxLength?: number;
}

/** Rows of ids, `[batch, seqLen]` when padded, with 1 for real tokens and 0 for padding in `attentionMask`. */
export interface BatchEncoding {
  inputIds: number[][];
  attentionMask: number[][];
}

/** What every tokenizer offers; see `docs/tokenizers.md`. */
export interface Tokenizer {
  /** Encodes one text; special tokens inside the text (e.g. `<|endoftext|>`) are recognised. */
  encode(text: string, opts?: EncodeOptions): Encoding;
  /**
   * Ids only (what `encode(text, opts).ids` gives), without building the
   * per-token `tokens` and `offsets` arrays: use it to encode a whole corpus.
   */
  encodeIds(text: string, opts?: EncodeOptions): number[];
  /** Decodes ids back to text; unknown ids are skipped. */
  decode(ids: ArrayLike<number>, opts?: DecodeOptions): string;
  /** Encodes texts to rows of ids with optional truncation and padding. */
  encodeBatch(texts: readonly string[], opts?: EncodeBatchOptions): BatchEncoding;
  /** Number of ids (largest id + 1), the size an embedding matrix needs. */
  readonly vocabSize: number;
  tokenToId(token: string): number | undefined;
  idToToken(id: number): string | undefined;
  readonly specialTokens: SpecialTokens;
  readonly eosTokenId: number | undefined;
  readonly bosTokenId: number | undefined;
  readonly padTokenId: number | undefined;
  readonly unkTokenId: number | undefined;
  readonly maskTokenId: number | undefined;
  /** Maximum sequence length of the model the tokenizer belongs to, when known. */
  readonly modelMaxLength: number | undefined;
  /** The Hugging Face `tokenizer.json` content. */
  toJSON(): object;
  /** Writes `tokenizer.json` (atomically), `tokenizer_config.json` and `special_tokens_map.json` into `dir`. */
  save(dir: string): void;
}
