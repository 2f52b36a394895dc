/**
 * What all muse tokenizers share: added/special tokens found in raw text,
 * post-processing, batch encoding with truncation and padding, decoding with
 * special tokens skipped, and saving in Hugging Face's layout. Subclasses
 * supply the model-specific part: `encodeSegment` (normalize, pre-tokenize
 * and tokenize a stretch of text free of added tokens) and `decodeTokens`.
 */
import { join } from 'node:path';
import { ConfigError } from '../errors.js';
import { writeFileAtomic } from '../io/atomic.js';
import { type AddedToken, AddedTokenSplitter, addedTokenToJSON } from './added-tokens.js';
import { PostProcessor } from './post-processor.js';
import {
  type BatchEncoding,
  type DecodeOptions,
  type EncodeBatchOptions,
  type EncodeOptions,
  type Encoding,
  SPECIAL_TOKEN_ROLES,
  type SpecialTokenInfo,
  type SpecialTokenRole,
  type SpecialTokens,
  type Tokenizer,
} from './types.js';
import { hasSurrogates, toCodePointOffsets, toWellFormed } from './unicode.js';

/** Token strings by role, e.g. `{eos: '<|endoftext|>'}`. */
export type SpecialTokenRoles = Partial<Record<SpecialTokenRole, string>>;

/** Conventional special-token spellings, tried in order when roles are not given explicitly. */
const CONVENTIONS: Record<SpecialTokenRole, readonly string[]> = {
  bos: ['<s>', '<bos>', '[BOS]', '<|startoftext|>', '<|endoftext|>'],
  eos: ['</s>', '<eos>', '[EOS]', '<|endoftext|>'],
  unk: ['[UNK]', '<unk>', '<|unk|>', '<|endoftext|>'],
  pad: ['[PAD]', '<pad>', '<|pad|>'],
  mask: ['[MASK]', '<mask>'],
  cls: ['[CLS]', '<cls>'],
  sep: ['[SEP]', '<sep>'],
};

/**
 * Infers roles from the conventional spellings among `candidates` (the
 * tokenizer's special tokens), e.g. `[CLS]` → cls, `<|endoftext|>` → bos and eos.
 */
export function inferRoles(candidates: Iterable<string>): SpecialTokenRoles {
  const set = new Set(candidates);
  const roles: SpecialTokenRoles = {};
  for (const role of SPECIAL_TOKEN_ROLES) {
    const hit = CONVENTIONS[role].find((t) => set.has(t));
    if (hit !== undefined) roles[role] = hit;
  }
  return roles;
}

/** `[start, end]` pairs from flat UTF-16 offsets, in code points. */
function offsetPairs(text: string, flat: number[], n: number): [number, number][] {
  if (hasSurrogates(text)) toCodePointOffsets(text, flat);
  const out: [number, number][] = [];
  for (let i = 0; i < n; i++) out.push([flat[2 * i], flat[2 * i + 1]]);
  return out;
}

function tokenStrings(tok: { idToToken(id: number): string | undefined }, ids: readonly number[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < ids.length; i++) out.push(tok.idToToken(ids[i]) ?? '');
  return out;
}

/** Settings shared by every tokenizer. */
export interface BaseTokenizerInit {
  /** The `added_tokens` of the `tokenizer.json` (special tokens and user-added tokens). */
  addedTokens: readonly AddedToken[];
  /** Special tokens by role; roles not given are inferred from conventional spellings. */
  roles?: SpecialTokenRoles;
  postProcessor?: PostProcessor;
  modelMaxLength?: number;
  /**
   * Find only the added tokens with `normalized: false` in the raw text (Hugging
   * Face's rule; the subclass then finds the others in the normalized text).
   * Default `false`: every added token is found in the raw text.
   */
  rawSplitUnnormalizedOnly?: boolean;
}

/** The JSON pieces a subclass contributes to `tokenizer.json`. */
export interface ModelJSON {
  normalizer: object | null;
  pre_tokenizer: object | null;
  decoder: object | null;
  model: object;
}

/** Base class of the char, byte-level BPE and WordPiece tokenizers. */
export abstract class BaseTokenizer implements Tokenizer {
  protected readonly addedTokens: readonly AddedToken[];
  private readonly addedById = new Map<number, AddedToken>();
  private readonly addedByContent = new Map<string, AddedToken>();
  private readonly specialIds = new Set<number>();
  private readonly splitter: AddedTokenSplitter;
  private readonly parts: number[] = [];
  readonly postProcessor: PostProcessor;
  private readonly roles: SpecialTokenRoles;
  private resolvedSpecial: SpecialTokens | null = null;
  readonly modelMaxLength: number | undefined;

  constructor(init: BaseTokenizerInit) {
    this.addedTokens = [...init.addedTokens].sort((a, b) => a.id - b.id);
    for (const t of this.addedTokens) {
      this.addedById.set(t.id, t);
      this.addedByContent.set(t.content, t);
      if (t.special) this.specialIds.add(t.id);
    }
    this.splitter = new AddedTokenSplitter(init.rawSplitUnnormalizedOnly ? this.addedTokens.filter((t) => !t.normalized) : this.addedTokens);
    this.postProcessor = init.postProcessor ?? PostProcessor.none();
    this.modelMaxLength = init.modelMaxLength;
    const inferred = inferRoles(this.addedTokens.filter((t) => t.special).map((t) => t.content));
    this.roles = { ...inferred, ...(init.roles ?? {}) };
  }

  /**
   * Special tokens by role. Resolved on first use: subclass fields (the model
   * vocabulary) do not exist yet while this constructor runs.
   */
  get specialTokens(): SpecialTokens {
    if (this.resolvedSpecial) return this.resolvedSpecial;
    const special: Partial<Record<SpecialTokenRole, SpecialTokenInfo>> = {};
    for (const role of SPECIAL_TOKEN_ROLES) {
      const token = this.roles[role];
      if (token === undefined) continue;
      const id = this.tokenToIdOf(token);
      if (id !== undefined) special[role] = { token, id };
    }
    this.resolvedSpecial = Object.freeze(special);
    return this.resolvedSpecial;
  }

  /**
   * Tokenizes `text[start, end)`, a stretch without added tokens: appends ids
   * to `ids` and, when `offsets` is given, each token's UTF-16 `[start, end)`
   * in `text` as two numbers.
   */
  protected abstract encodeSegment(text: string, start: number, end: number, ids: number[], offsets: number[] | null): void;
  /** Turns token strings into text (the `decoder` of `tokenizer.json`). */
  protected abstract decodeTokens(tokens: string[]): string;
  protected abstract modelTokenToId(token: string): number | undefined;
  protected abstract modelIdToToken(id: number): string | undefined;
  /** Largest model id + 1. */
  protected abstract modelSize(): number;
  protected abstract modelJSON(): ModelJSON;
  /** `tokenizer_class` written to `tokenizer_config.json`. */
  protected tokenizerClass(): string {
    return 'PreTrainedTokenizerFast';
  }
  /** Extra files a subclass writes next to `tokenizer.json` (e.g. `vocab.txt`), name → content. */
  protected legacyFiles(): Record<string, string> {
    return {};
  }
  /** Extra `tokenizer_config.json` fields. */
  protected extraConfig(): Record<string, unknown> {
    return {};
  }

  private tokenToIdOf(token: string): number | undefined {
    return this.addedByContent.get(token)?.id ?? this.modelTokenToId(token);
  }

  get vocabSize(): number {
    let n = this.modelSize();
    for (const t of this.addedTokens) if (t.id + 1 > n) n = t.id + 1;
    return n;
  }

  tokenToId(token: string): number | undefined {
    return this.tokenToIdOf(token);
  }

  idToToken(id: number): string | undefined {
    return this.addedById.get(id)?.content ?? this.modelIdToToken(id);
  }

  get eosTokenId(): number | undefined {
    return this.specialTokens.eos?.id;
  }
  get bosTokenId(): number | undefined {
    return this.specialTokens.bos?.id;
  }
  get padTokenId(): number | undefined {
    return this.specialTokens.pad?.id;
  }
  get unkTokenId(): number | undefined {
    return this.specialTokens.unk?.id;
  }
  get maskTokenId(): number | undefined {
    return this.specialTokens.mask?.id;
  }

  /** Whether `id` is a special added token (what `skipSpecialTokens` drops). */
  isSpecialId(id: number): boolean {
    return this.specialIds.has(id);
  }

  /** Ids of `text` without post-processing; `offsets` (flat UTF-16) when given. */
  protected encodeRaw(text: string, ids: number[], offsets: number[] | null): void {
    if (this.splitter.isEmpty) {
      if (text.length > 0) this.encodeSegment(text, 0, text.length, ids, offsets);
      return;
    }
    const parts = this.parts;
    parts.length = 0;
    this.splitter.split(text, parts);
    for (let k = 0; k < parts.length; k += 3) {
      const s = parts[k];
      const e = parts[k + 1];
      const id = parts[k + 2];
      if (id < 0) this.encodeSegment(text, s, e, ids, offsets);
      else {
        ids.push(id);
        if (offsets) offsets.push(s, e);
      }
    }
  }

  /**
   * Encodes one text. Lone surrogates are read as U+FFFD (as the Rust
   * library's UTF-8 conversion does); offsets are in code points.
   */
  encode(text: string, opts: EncodeOptions = {}): Encoding {
    const addSpecial = opts.addSpecialTokens ?? true;
    text = toWellFormed(text);
    const ids: number[] = [];
    const flat: number[] = [];
    const pp = this.postProcessor;
    const wrap = addSpecial && pp.numAdded > 0;
    if (wrap) for (const t of pp.prefix) ids.push(t.id), flat.push(0, 0);
    this.encodeRaw(text, ids, flat);
    if (wrap) for (const t of pp.suffix) ids.push(t.id), flat.push(0, 0);
    const tokens = tokenStrings(this, ids);
    pp.trim(tokens, flat);
    return { ids, tokens, offsets: offsetPairs(text, flat, ids.length) };
  }

  /** Ids of one text (no tokens, no offsets): the fast path for whole corpora and batches. */
  encodeIds(text: string, opts: EncodeOptions = {}): number[] {
    return this.idsOf(toWellFormed(text), opts.addSpecialTokens ?? true, Infinity);
  }

  /** Ids with the post-processor's tokens around at most `budget` ids of the text. */
  private idsOf(text: string, addSpecial: boolean, budget: number): number[] {
    const pp = this.postProcessor;
    const wrap = addSpecial && pp.numAdded > 0;
    const ids: number[] = [];
    if (wrap) for (const t of pp.prefix) ids.push(t.id);
    const start = ids.length;
    this.encodeRaw(text, ids, null);
    if (ids.length - start > budget) ids.length = start + budget;
    if (wrap) for (const t of pp.suffix) ids.push(t.id);
    return ids;
  }

  /**
   * Encodes a batch. Truncation keeps the first `maxLength` ids including the
   * special tokens (the text is cut, the `[CLS]`/`[SEP]` stay), as Hugging
   * Face's `longest_first` does for single sequences.
   * @throws ConfigError when `maxLength` is needed but unknown, too small for the special tokens, or when padding without a pad (or eos) token
   */
  encodeBatch(texts: readonly string[], opts: EncodeBatchOptions = {}): BatchEncoding {
    const addSpecial = opts.addSpecialTokens ?? true;
    const padding = opts.padding ?? false;
    const maxLength = opts.maxLength ?? this.modelMaxLength;
    if ((opts.truncation || padding === 'maxLength') && maxLength === undefined) {
      throw new ConfigError('encodeBatch: truncation and padding "maxLength" need maxLength (the tokenizer has no modelMaxLength); pass {maxLength: N}');
    }
    const extra = addSpecial ? this.postProcessor.numAdded : 0;
    if (opts.truncation && maxLength !== undefined && maxLength < extra) {
      throw new ConfigError(`encodeBatch: maxLength ${maxLength} leaves no room for the ${extra} special tokens; use maxLength >= ${extra}`);
    }
    const inputIds: number[][] = [];
    const budget = opts.truncation && maxLength !== undefined ? maxLength - extra : Infinity;
    for (const text of texts) inputIds.push(this.idsOf(toWellFormed(text), addSpecial, budget));
    const attentionMask = inputIds.map((r) => new Array<number>(r.length).fill(1));
    if (padding !== false) {
      let target = padding === 'maxLength' ? (maxLength as number) : 0;
      if (padding === 'longest') for (const r of inputIds) target = Math.max(target, r.length);
      const padId = this.padTokenId ?? this.eosTokenId;
      if (padId === undefined && inputIds.some((r) => r.length < target)) {
        throw new ConfigError('encodeBatch: padding needs a pad token, and this tokenizer has neither a pad nor an eos token; train or load it with a [PAD] special token');
      }
      const left = opts.paddingSide === 'left';
      for (let b = 0; b < inputIds.length; b++) {
        const n = target - inputIds[b].length;
        if (n <= 0) continue;
        const pads = new Array<number>(n).fill(padId as number);
        const zeros = new Array<number>(n).fill(0);
        inputIds[b] = left ? pads.concat(inputIds[b]) : inputIds[b].concat(pads);
        attentionMask[b] = left ? zeros.concat(attentionMask[b]) : attentionMask[b].concat(zeros);
      }
    }
    return { inputIds, attentionMask };
  }

  /** Decodes ids to text; ids outside the vocabulary are skipped, as in Hugging Face. */
  decode(ids: ArrayLike<number>, opts: DecodeOptions = {}): string {
    const skip = opts.skipSpecialTokens ?? false;
    const tokens: string[] = [];
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      if (skip && this.specialIds.has(id)) continue;
      const t = this.idToToken(id);
      if (t !== undefined) tokens.push(t);
    }
    return this.decodeTokens(tokens);
  }

  /** The Hugging Face `tokenizer.json` content. */
  toJSON(): object {
    const m = this.modelJSON();
    return {
      version: '1.0',
      truncation: null,
      padding: null,
      added_tokens: this.addedTokens.map(addedTokenToJSON),
      normalizer: m.normalizer,
      pre_tokenizer: m.pre_tokenizer,
      post_processor: this.postProcessor.toJSON(),
      decoder: m.decoder,
      model: m.model,
    };
  }

  /** The `tokenizer_config.json` content Hugging Face transformers reads. */
  tokenizerConfig(): Record<string, unknown> {
    const decoderMap: Record<string, unknown> = {};
    for (const t of this.addedTokens) {
      decoderMap[String(t.id)] = { content: t.content, lstrip: t.lstrip, normalized: t.normalized, rstrip: t.rstrip, single_word: t.singleWord, special: t.special };
    }
    const cfg: Record<string, unknown> = { added_tokens_decoder: decoderMap };
    for (const role of SPECIAL_TOKEN_ROLES) {
      const info = this.specialTokens[role];
      if (info) cfg[`${role}_token`] = info.token;
    }
    cfg.clean_up_tokenization_spaces = false;
    if (this.modelMaxLength !== undefined) cfg.model_max_length = this.modelMaxLength;
    cfg.tokenizer_class = this.tokenizerClass();
    return { ...cfg, ...this.extraConfig() };
  }

  /**
   * Writes `tokenizer.json`, `tokenizer_config.json`, `special_tokens_map.json`
   * (and the legacy vocabulary files of the model type) into `dir`, each atomically.
   */
  save(dir: string): void {
    writeFileAtomic(join(dir, 'tokenizer.json'), JSON.stringify(this.toJSON(), null, 2) + '\n');
    writeFileAtomic(join(dir, 'tokenizer_config.json'), JSON.stringify(this.tokenizerConfig(), null, 2) + '\n');
    const map: Record<string, string> = {};
    for (const role of SPECIAL_TOKEN_ROLES) {
      const info = this.specialTokens[role];
      if (info) map[`${role}_token`] = info.token;
    }
    writeFileAtomic(join(dir, 'special_tokens_map.json'), JSON.stringify(map, null, 2) + '\n');
    for (const [name, content] of Object.entries(this.legacyFiles())) writeFileAtomic(join(dir, name), content);
  }
}
