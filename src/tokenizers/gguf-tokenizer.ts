/**
 * Tokenizers stored in GGUF metadata (llama.cpp's `tokenizer.ggml.*` keys),
 * rebuilt as the equivalent Hugging Face pipeline:
 *
 * - `tokenizer.ggml.model = "llama"` (SentencePiece BPE: Llama 2, Mistral,
 *   Gemma): the vocabulary `tokens` with `scores` and `token_type`; merges
 *   (unless the file stores `tokenizer.ggml.merges`) are derived from the scores as Hugging Face's `SentencePieceExtractor` does
 *   (every split of a normal token into two vocabulary tokens, ranked by the
 *   token's score, highest first), so BPE by rank equals llama.cpp's
 *   highest-score-first merging; `▁` for spaces, a `▁` prefix when
 *   `add_space_prefix` (default true), `<0xNN>` byte fallback.
 * - `tokenizer.ggml.model = "gpt2"` (byte-level BPE: Llama 3, Qwen, GPT-2):
 *   `tokens` + `merges`, with the pre-tokenizer regexes llama.cpp uses for
 *   `tokenizer.ggml.pre` (`llama-bpe`/`llama3` …, `qwen2` …, `gpt-2` …,
 *   `default` …; llama.cpp's `src/llama-vocab.cpp`), and NFC first for the
 *   Qwen group as their `tokenizer.json` does.
 *
 * Token types (llama.cpp `LLAMA_TOKEN_TYPE_*`): 1 normal, 2 unknown, 3
 * control, 4 user-defined, 5 unused, 6 byte. Control and unknown tokens become
 * special added tokens (never split, dropped by `skipSpecialTokens`),
 * user-defined ones non-special added tokens, as Hugging Face loads them.
 */
import { FileFormatError } from '../errors.js';
import type { BaseTokenizer, SpecialTokenRoles } from './base-tokenizer.js';
import { tokenizerFromJSON } from './load.js';
import { GPT2_PATTERN, LLAMA3_PATTERN, QWEN2_PATTERN } from './pre-tokenizers.js';

/**
 * GGUF metadata as a reader yields it: key → value, values being strings,
 * numbers (or bigints for 64-bit integers), booleans and arrays (plain or typed).
 */
export type GGUFMetadata = ReadonlyMap<string, unknown> | Readonly<Record<string, unknown>>;

/** llama.cpp token types. */
export const GGUF_TOKEN_TYPE = { normal: 1, unknown: 2, control: 3, userDefined: 4, unused: 5, byte: 6 } as const;

/** A value as given, or the `value` of a typed GGUF value `{type, value}` (src/io/gguf-types.ts). */
function plain(v: unknown): unknown {
  if (v !== null && typeof v === 'object' && !Array.isArray(v) && !ArrayBuffer.isView(v) && 'value' in v && 'type' in v) return (v as { value: unknown }).value;
  return v;
}

function getter(meta: GGUFMetadata): (key: string) => unknown {
  if (meta instanceof Map) return (k) => plain(meta.get(k));
  return (k) => plain((meta as Record<string, unknown>)[k]);
}

function toNumber(v: unknown): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  return undefined;
}

function arrayOf(v: unknown): ArrayLike<unknown> | undefined {
  if (Array.isArray(v)) return v;
  if (ArrayBuffer.isView(v) && !(v instanceof DataView)) return v as unknown as ArrayLike<unknown>;
  return undefined;
}

/** Which pre-tokenizer regexes llama.cpp runs for each `tokenizer.ggml.pre` (applied one after another, `Isolated`). */
const PRE_REGEXES: { names: readonly string[]; regexes: readonly string[]; ignoreMerges?: boolean; addBos?: boolean; nfc?: boolean }[] = [
  { names: ['llama3', 'llama-v3', 'llama-bpe', 'falcon3', 'falcon-h1', 'pixtral', 'midm-2.0', 'lfm2'], regexes: [LLAMA3_PATTERN], ignoreMerges: true, addBos: true },
  { names: ['dbrx', 'smaug-bpe', 'chatglm-bpe', 'glm4'], regexes: [LLAMA3_PATTERN] },
  // Qwen's tokenizer.json normalizes to NFC first (llama.cpp does not; they differ only on text not in NFC).
  { names: ['qwen2', 'deepseek-r1-qwen', 'kormo', 'megrez'], regexes: [QWEN2_PATTERN], nfc: true },
  { names: ['stablelm2', 'hunyuan'], regexes: [QWEN2_PATTERN] },
  {
    names: ['gpt-2', 'gpt2', 'phi-2', 'jina-es', 'jina-de', 'gigachat', 'jina-v2-es', 'jina-v2-de', 'a.x-4.0', 'mellum', 'mpt', 'olmo', 'jais', 'trillion', 'granite-docling', 'exaone4', 'jina-v1-en', 'jina-v2-code', 'roberta-bpe'],
    regexes: [GPT2_PATTERN],
  },
  { names: ['starcoder', 'refact', 'command-r', 'smollm', 'codeshell', 'exaone', 'minerva-7b'], regexes: ['\\p{N}', GPT2_PATTERN] },
  { names: ['falcon'], regexes: ['[\\p{P}\\$\\+<=>\\^~\\|`]+', GPT2_PATTERN, '[0-9][0-9][0-9]'] },
  { names: ['default'], regexes: ['[\\p{P}\\$\\+<=>\\^~\\|]+', GPT2_PATTERN, '\\p{N}+', '[0-9][0-9][0-9]'] },
];

/** The `tokenizer.ggml.pre` names muse understands. */
export const SUPPORTED_GGUF_PRE: readonly string[] = PRE_REGEXES.flatMap((p) => p.names);

interface Common {
  tokens: string[];
  types: number[];
  roles: SpecialTokenRoles;
  bosId: number | undefined;
  eosId: number | undefined;
  addedTokens: object[];
  source: string;
}

function readCommon(get: (k: string) => unknown, source: string): Common {
  const rawTokens = arrayOf(get('tokenizer.ggml.tokens'));
  if (!rawTokens || rawTokens.length === 0) throw new FileFormatError(`${source}: tokenizer.ggml.tokens is missing or empty; the file holds no tokenizer`);
  const tokens: string[] = [];
  for (let i = 0; i < rawTokens.length; i++) {
    const t = rawTokens[i];
    if (typeof t !== 'string') throw new FileFormatError(`${source}: tokenizer.ggml.tokens[${i}] is not a string`);
    tokens.push(t === '' ? `[EMPTY_${i}]` : t);
  }
  const rawTypes = arrayOf(get('tokenizer.ggml.token_type'));
  if (rawTypes && rawTypes.length !== tokens.length) {
    throw new FileFormatError(`${source}: tokenizer.ggml.token_type has ${rawTypes.length} entries for ${tokens.length} tokens`);
  }
  const types = tokens.map((_, i) => (rawTypes ? toNumber(rawTypes[i]) ?? 1 : 1));
  const id = (key: string): number | undefined => {
    const v = toNumber(get(`tokenizer.ggml.${key}`));
    return v !== undefined && v >= 0 && v < tokens.length ? v : undefined;
  };
  const roles: SpecialTokenRoles = {};
  const bosId = id('bos_token_id');
  const eosId = id('eos_token_id');
  let unkId = id('unknown_token_id');
  if (unkId === undefined) {
    const k = types.indexOf(GGUF_TOKEN_TYPE.unknown);
    if (k >= 0) unkId = k;
  }
  const padId = id('padding_token_id');
  if (bosId !== undefined) roles.bos = tokens[bosId];
  if (eosId !== undefined) roles.eos = tokens[eosId];
  if (unkId !== undefined) roles.unk = tokens[unkId];
  if (padId !== undefined) roles.pad = tokens[padId];
  const addedTokens: object[] = [];
  types.forEach((type, i) => {
    const special = type === GGUF_TOKEN_TYPE.control || type === GGUF_TOKEN_TYPE.unknown;
    if (!special && type !== GGUF_TOKEN_TYPE.userDefined) return;
    addedTokens.push({ id: i, content: tokens[i], single_word: false, lstrip: false, rstrip: false, normalized: false, special });
  });
  return { tokens, types, roles, bosId, eosId, addedTokens, source };
}

function boolOf(v: unknown): boolean | undefined {
  return typeof v === 'boolean' ? v : typeof v === 'number' ? v !== 0 : undefined;
}

/** `TemplateProcessing` adding bos/eos as the GGUF flags say (null when neither). */
function postProcessor(c: Common, addBos: boolean, addEos: boolean): object | null {
  const single: object[] = [];
  const specials: Record<string, object> = {};
  const add = (id: number | undefined, flag: string): void => {
    if (id === undefined) throw new FileFormatError(`${c.source}: tokenizer.ggml.${flag} is set but the file names no such token id`);
    single.push({ SpecialToken: { id: c.tokens[id], type_id: 0 } });
    specials[c.tokens[id]] = { id: c.tokens[id], ids: [id], tokens: [c.tokens[id]] };
  };
  if (addBos) add(c.bosId, 'add_bos_token (bos_token_id)');
  single.push({ Sequence: { id: 'A', type_id: 0 } });
  if (addEos) add(c.eosId, 'add_eos_token (eos_token_id)');
  if (!addBos && !addEos) return null;
  return { type: 'TemplateProcessing', single, pair: single, special_tokens: specials };
}

/**
 * Merges of a SentencePiece BPE vocabulary from its scores, as Hugging Face's
 * `SentencePieceExtractor` derives them: for every token (bytes and unused
 * ones aside), each split
 * into two vocabulary tokens (ordered by the ids of the halves), all sorted by
 * the token's score, highest first (stable, so equal scores keep id order).
 */
export function mergesFromScores(tokens: readonly string[], scores: ArrayLike<number>, types: readonly number[]): [string, string][] {
  const vocab = new Map<string, number>();
  tokens.forEach((t, i) => vocab.set(t, i));
  const found: { l: string; r: string; score: number; order: number }[] = [];
  for (let id = 0; id < tokens.length; id++) {
    if (types[id] === GGUF_TOKEN_TYPE.byte || types[id] === GGUF_TOKEN_TYPE.unused) continue;
    const t = tokens[id];
    const cps = Array.from(t);
    if (cps.length < 2) continue;
    const local: { l: string; r: string; il: number; ir: number }[] = [];
    let cut = 0;
    for (let k = 1; k < cps.length; k++) {
      cut += cps[k - 1].length;
      const l = t.slice(0, cut);
      const r = t.slice(cut);
      const il = vocab.get(l);
      const ir = vocab.get(r);
      if (il !== undefined && ir !== undefined) local.push({ l, r, il, ir });
    }
    local.sort((a, b) => a.il - b.il || a.ir - b.ir);
    for (const m of local) found.push({ l: m.l, r: m.r, score: scores[id], order: found.length });
  }
  found.sort((a, b) => b.score - a.score || a.order - b.order);
  return found.map((m) => [m.l, m.r]);
}

/**
 * Builds the tokenizer a GGUF file stores in its metadata (the keys
 * `tokenizer.ggml.model`, `.tokens`, `.scores`, `.token_type`, `.merges`,
 * `.pre`, `.bos_token_id`, `.eos_token_id`, `.unknown_token_id`,
 * `.padding_token_id`, `.add_bos_token`, `.add_eos_token`,
 * `.add_space_prefix`), following llama.cpp's defaults: SentencePiece
 * (`llama`) models add bos and a space prefix unless told otherwise;
 * byte-level (`gpt2`) models add bos for the Llama 3 group of `pre` names.
 * @param meta key → value as a GGUF reader yields them (a Map or a plain object; typed `{type, value}` entries are unwrapped)
 * @param opts.source file name for error messages
 * @throws FileFormatError naming the key for a missing or malformed tokenizer, an unsupported `tokenizer.ggml.model` (bert, t5, rwkv) or `tokenizer.ggml.pre`
 */
export function tokenizerFromGGUFMetadata(meta: GGUFMetadata, opts: { source?: string } = {}): BaseTokenizer {
  const source = opts.source ?? 'GGUF metadata';
  const get = getter(meta);
  const model = get('tokenizer.ggml.model');
  if (typeof model !== 'string') throw new FileFormatError(`${source}: tokenizer.ggml.model is missing; the file holds no tokenizer`);
  if (model !== 'llama' && model !== 'gpt2') {
    throw new FileFormatError(`${source}: tokenizer.ggml.model "${model}" is not supported by muse (supported: llama = SentencePiece BPE, gpt2 = byte-level BPE)`);
  }
  const c = readCommon(get, source);
  const vocab: Record<string, number> = Object.create(null) as Record<string, number>;
  c.tokens.forEach((t, i) => {
    if (!(t in vocab)) vocab[t] = i;
  });
  const addBosFlag = boolOf(get('tokenizer.ggml.add_bos_token'));
  const addEosFlag = boolOf(get('tokenizer.ggml.add_eos_token')) ?? false;

  if (model === 'llama') {
    const rawScores = arrayOf(get('tokenizer.ggml.scores'));
    if (!rawScores || rawScores.length !== c.tokens.length) {
      throw new FileFormatError(`${source}: tokenizer.ggml.scores must give one score per token (${c.tokens.length}) for a SentencePiece (llama) tokenizer`);
    }
    const scores = Array.from(rawScores, (s) => toNumber(s) ?? 0);
    // Merges stored with the vocabulary (as muse's GGUF writer stores them) are the tokenizer's own; else derive them from the scores.
    const stored = arrayOf(get('tokenizer.ggml.merges'));
    const merges = stored ? Array.from(stored, String) : mergesFromScores(c.tokens, scores, c.types);
    const addSpacePrefix = boolOf(get('tokenizer.ggml.add_space_prefix')) ?? true;
    const replaceSpace = { type: 'Replace', pattern: { String: ' ' }, content: '▁' };
    const normalizer = addSpacePrefix ? { type: 'Sequence', normalizers: [{ type: 'Prepend', prepend: '▁' }, replaceSpace] } : replaceSpace;
    const decoders: object[] = [{ type: 'Replace', pattern: { String: '▁' }, content: ' ' }, { type: 'ByteFallback' }, { type: 'Fuse' }];
    if (addSpacePrefix) decoders.push({ type: 'Strip', content: ' ', start: 1, stop: 0 });
    const json = {
      added_tokens: c.addedTokens,
      normalizer,
      pre_tokenizer: null,
      post_processor: postProcessor(c, addBosFlag ?? true, addEosFlag),
      decoder: { type: 'Sequence', decoders },
      model: {
        type: 'BPE',
        unk_token: c.roles.unk ?? null,
        fuse_unk: true,
        byte_fallback: c.types.includes(GGUF_TOKEN_TYPE.byte) || '<0x00>' in vocab,
        vocab,
        merges,
      },
    };
    return tokenizerFromJSON(json, { source, roles: c.roles });
  }

  const rawMerges = arrayOf(get('tokenizer.ggml.merges'));
  if (!rawMerges) throw new FileFormatError(`${source}: tokenizer.ggml.merges is missing; a byte-level BPE (gpt2) tokenizer needs its merges`);
  const merges: string[] = [];
  for (let i = 0; i < rawMerges.length; i++) {
    const m = rawMerges[i];
    if (typeof m !== 'string') throw new FileFormatError(`${source}: tokenizer.ggml.merges[${i}] is not a string`);
    merges.push(m);
  }
  const preName = get('tokenizer.ggml.pre');
  const pre = typeof preName === 'string' ? preName : 'default';
  const entry = PRE_REGEXES.find((p) => p.names.includes(pre));
  if (!entry) {
    throw new FileFormatError(`${source}: tokenizer.ggml.pre "${pre}" is not supported by muse (supported: ${SUPPORTED_GGUF_PRE.join(', ')})`);
  }
  const preTokenizers: object[] = entry.regexes.map((r) => ({ type: 'Split', pattern: { Regex: r }, behavior: 'Isolated', invert: false }));
  preTokenizers.push({ type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: false });
  const json = {
    added_tokens: c.addedTokens,
    normalizer: entry.nfc ? { type: 'NFC' } : null,
    pre_tokenizer: { type: 'Sequence', pretokenizers: preTokenizers },
    post_processor: postProcessor(c, addBosFlag ?? entry.addBos ?? false, addEosFlag),
    decoder: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: false },
    model: { type: 'BPE', unk_token: null, fuse_unk: false, byte_fallback: false, ignore_merges: entry.ignoreMerges ?? false, vocab, merges },
  };
  return tokenizerFromJSON(json, { source, roles: c.roles });
}

/** The chat template a GGUF file stores (`tokenizer.chat_template`), if any. */
export function chatTemplateFromGGUFMetadata(meta: GGUFMetadata): string | undefined {
  const v = getter(meta)('tokenizer.chat_template');
  return typeof v === 'string' ? v : undefined;
}

/**
 * The ids that end a turn according to GGUF metadata: `eos_token_id`,
 * `eot_token_id` and `eom_token_id` (llama.cpp's end-of-generation tokens).
 */
export function endOfTurnIdsFromGGUFMetadata(meta: GGUFMetadata): number[] {
  const get = getter(meta);
  const ids = new Set<number>();
  for (const k of ['eos_token_id', 'eot_token_id', 'eom_token_id']) {
    const v = toNumber(get(`tokenizer.ggml.${k}`));
    if (v !== undefined && v >= 0) ids.add(v);
  }
  return [...ids];
}
