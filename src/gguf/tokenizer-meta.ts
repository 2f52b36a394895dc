/**
 * Tokenizers in GGUF metadata (llama.cpp `llama_vocab::load`, gguf-py
 * `SpecialVocab`/`Vocab`): `tokenizer.ggml.model` names the algorithm —
 * `gpt2` is byte-level BPE whose pre-tokenizer regex is named by
 * `tokenizer.ggml.pre` (`gpt-2`, `llama-bpe`, `qwen2`, …), `llama` is
 * SentencePiece-style BPE merging by `tokenizer.ggml.scores`; the vocabulary
 * is `tokenizer.ggml.tokens` (ids are positions) with a
 * `tokenizer.ggml.token_type` per token (1 normal, 2 unknown, 3 control,
 * 4 user-defined, 5 unused, 6 byte); byte-level BPE keeps its merges in
 * `tokenizer.ggml.merges` ("a b").
 *
 * This module writes that metadata from a Hugging Face `tokenizer.json`
 * (what every muse tokenizer saves), and reads back the two kinds muse
 * itself writes (GPT-2 byte-level BPE, and character vocabularies stored as
 * `llama`-model vocabularies without merges) as a `tokenizer.json`.
 */
import { ConfigError, FileFormatError } from '../errors.js';
import { ggufValue, metaNumber, metaNumbers, metaString, metaStrings, metaBool, type GgufMetadata, type GgufValue } from '../io/gguf.js';

/** `tokenizer.ggml.token_type` values (`enum llama_token_type`). */
export const TOKEN_TYPE = { normal: 1, unknown: 2, control: 3, userDefined: 4, unused: 5, byte: 6 } as const;

/** Special token ids to record (`tokenizer.ggml.<role>_token_id`). */
export interface GgufSpecialIds {
  bos?: number;
  eos?: number;
  unk?: number;
  pad?: number;
}

// Pre-tokenizer regexes of known byte-level BPE tokenizers → llama.cpp's `tokenizer.ggml.pre` names.
const PRE_BY_REGEX: Array<[string, string]> = [
  ["(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+", 'llama-bpe'],
  ["(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+", 'qwen2'],
  ["'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+", 'gpt-2'],
];

type Json = Record<string, unknown>;

function asObj(v: unknown): Json | undefined {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : undefined;
}

/** Flatten a pre-tokenizer (a `Sequence` or a single one) into its parts. */
function preTokenizers(pt: unknown): Json[] {
  const o = asObj(pt);
  if (!o) return [];
  if (o['type'] === 'Sequence' && Array.isArray(o['pretokenizers'])) return (o['pretokenizers'] as unknown[]).flatMap(preTokenizers);
  return [o];
}

/** The `tokenizer.ggml.pre` of a byte-level BPE tokenizer.json, or an error naming what is not recognised. */
function bytePreName(tok: Json): string {
  const parts = preTokenizers(tok['pre_tokenizer']);
  const split = parts.find((p) => p['type'] === 'Split');
  const byteLevel = parts.find((p) => p['type'] === 'ByteLevel');
  if (!byteLevel) throw new ConfigError('tokenizer.json: a BPE tokenizer without a ByteLevel pre-tokenizer or byte fallback cannot be written to GGUF');
  if (!split) {
    if (byteLevel['use_regex'] === false) throw new ConfigError('tokenizer.json: a ByteLevel pre-tokenizer without a regex has no llama.cpp equivalent');
    return 'gpt-2';
  }
  const pattern = asObj(split['pattern']);
  const regex = typeof pattern?.['Regex'] === 'string' ? (pattern['Regex']) : undefined;
  const hit = PRE_BY_REGEX.find(([r]) => r === regex);
  if (!hit) {
    throw new ConfigError(
      `tokenizer.json: the pre-tokenizer regex ${JSON.stringify(regex)} is not one llama.cpp names (muse knows gpt-2, llama-bpe, qwen2); the tokenizer cannot be written to GGUF`,
    );
  }
  return hit[1];
}

interface AddedJson {
  id: number;
  content: string;
  special: boolean;
}

function addedTokens(tok: Json): AddedJson[] {
  const a = tok['added_tokens'];
  if (!Array.isArray(a)) return [];
  return a.map((t) => asObj(t)).filter((t): t is Json => !!t).map((t) => ({ id: Number(t['id']), content: String(t['content']), special: t['special'] === true }));
}

/** Vocabulary as an array by id: model vocab plus added tokens; holes become `[PAD<id>]` (type unused), as llama.cpp's converter writes them. */
function vocabById(vocab: Json, added: AddedJson[], size: number): { tokens: string[]; types: number[] } {
  const tokens: string[] = new Array(size);
  const types: number[] = new Array(size).fill(TOKEN_TYPE.unused);
  for (const [t, id] of Object.entries(vocab)) {
    const i = Number(id);
    if (!Number.isInteger(i) || i < 0 || i >= size) throw new ConfigError(`tokenizer.json: token ${JSON.stringify(t)} has id ${String(id)}, outside 0–${size - 1} (the model's vocab_size)`);
    tokens[i] = t;
    types[i] = TOKEN_TYPE.normal;
  }
  for (const a of added) {
    if (a.id < 0 || a.id >= size) throw new ConfigError(`tokenizer.json: added token ${JSON.stringify(a.content)} has id ${a.id}, outside the model's vocab_size ${size}`);
    tokens[a.id] = a.content;
    types[a.id] = a.special ? TOKEN_TYPE.control : TOKEN_TYPE.userDefined;
  }
  for (let i = 0; i < size; i++) if (tokens[i] === undefined) tokens[i] = `[PAD${i}]`;
  return { tokens, types };
}

function postProcessorAddsBos(tok: Json, bosToken: string | undefined): boolean {
  const pp = asObj(tok['post_processor']);
  if (!pp || bosToken === undefined) return false;
  const parts = pp['type'] === 'Sequence' && Array.isArray(pp['processors']) ? (pp['processors'] as unknown[]).map(asObj) : [pp];
  for (const p of parts) {
    if (p?.['type'] !== 'TemplateProcessing' || !Array.isArray(p['single'])) continue;
    const first = asObj((p['single'] as unknown[])[0]);
    const special = asObj(first?.['SpecialToken']);
    if (special?.['id'] === bosToken) return true;
  }
  return false;
}

/**
 * GGUF tokenizer metadata for a Hugging Face `tokenizer.json`.
 *
 * - byte-level BPE (GPT-2, Llama 3, Qwen2/3) → `tokenizer.ggml.model` `gpt2` with
 *   the pre-tokenizer named from its regex, tokens, types and merges;
 * - SentencePiece-style BPE with byte fallback (Llama 2, Mistral) → `llama`
 *   with scores −id (the rank order of SentencePiece's own scores);
 * - muse's character vocabularies (`WordLevel` over single characters) →
 *   `llama` with one token per character, space stored as `▁` as
 *   SentencePiece does, no merges and no space prefix, plus the 256 byte
 *   tokens `<0x00>`…`<0xFF>` llama.cpp falls back on for other characters
 *   (`nTokens` then exceeds `vocabSize` by 256: the writer pads the
 *   embedding and head with zero rows). llama.cpp then tokenizes character
 *   by character exactly as muse does for text inside the vocabulary.
 *
 * @param tok the tokenizer.json object
 * @param vocabSize the model's embedding rows (the GGUF vocabulary is padded to it)
 * @returns the metadata entries and the number of GGUF tokens
 * @param ids special token ids (`tokenizer.ggml.bos_token_id`, …)
 * @param chatTemplate `tokenizer_config.json`'s `chat_template`, written as `tokenizer.chat_template`
 * @throws ConfigError naming what llama.cpp cannot represent (WordPiece, an unknown pre-tokenizer regex, multi-character WordLevel tokens)
 */
export function tokenizerMetadata(
  tok: Json,
  vocabSize: number,
  ids: GgufSpecialIds = {},
  chatTemplate?: string,
): { entries: Array<[string, GgufValue]>; nTokens: number } {
  const model = asObj(tok['model']);
  if (!model) throw new ConfigError('tokenizer.json: no "model" object');
  const added = addedTokens(tok);
  const out: Array<[string, GgufValue]> = [];
  let nTokens = vocabSize;
  const vocab = asObj(model['vocab']);
  const type = model['type'];
  if (type === 'BPE' && vocab) {
    const byteFallback = model['byte_fallback'] === true;
    const { tokens, types } = vocabById(vocab, added, vocabSize);
    if (byteFallback) {
      for (let i = 0; i < tokens.length; i++) if (/^<0x[0-9A-F]{2}>$/.test(tokens[i])) types[i] = TOKEN_TYPE.byte;
      const unkName = typeof model['unk_token'] === 'string' ? model['unk_token'] : undefined;
      if (unkName !== undefined) {
        const u = tokens.indexOf(unkName);
        if (u >= 0) types[u] = TOKEN_TYPE.unknown;
      }
      out.push(['tokenizer.ggml.model', ggufValue.string('llama')]);
      out.push(['tokenizer.ggml.pre', ggufValue.string('default')]);
      out.push(['tokenizer.ggml.tokens', ggufValue.strings(tokens)]);
      out.push(['tokenizer.ggml.scores', ggufValue.float32s(tokens.map((_, i) => (types[i] === TOKEN_TYPE.normal ? -i : 0)))]);
      out.push(['tokenizer.ggml.token_type', ggufValue.int32s(types)]);
      const normalizerText = JSON.stringify(tok['normalizer'] ?? null) + JSON.stringify(tok['pre_tokenizer'] ?? null);
      out.push(['tokenizer.ggml.add_space_prefix', ggufValue.bool(/"prepend":"▁"|"prepend_scheme":"(always|first)"/.test(normalizerText))]);
    } else {
      const pre = bytePreName(tok);
      const merges = Array.isArray(model['merges'])
        ? (model['merges'] as unknown[]).map((mg) => (Array.isArray(mg) ? (mg as string[]).join(' ') : String(mg)))
        : [];
      out.push(['tokenizer.ggml.model', ggufValue.string('gpt2')]);
      out.push(['tokenizer.ggml.pre', ggufValue.string(pre)]);
      out.push(['tokenizer.ggml.tokens', ggufValue.strings(tokens)]);
      out.push(['tokenizer.ggml.token_type', ggufValue.int32s(types)]);
      out.push(['tokenizer.ggml.merges', ggufValue.strings(merges)]);
    }
  } else if (type === 'WordLevel' && vocab) {
    const { tokens, types } = vocabById(vocab, added, vocabSize);
    const unkName = typeof model['unk_token'] === 'string' ? model['unk_token'] : undefined;
    for (let i = 0; i < tokens.length; i++) {
      const t = tokens[i];
      if (types[i] !== TOKEN_TYPE.normal) continue;
      if ([...t].length !== 1) {
        throw new ConfigError(`tokenizer.json: WordLevel token ${JSON.stringify(t)} is longer than one character; only character vocabularies can be written to GGUF`);
      }
      if (t === '▁') throw new ConfigError('tokenizer.json: the vocabulary holds "▁" (U+2581), which llama.cpp reads as a space; this character vocabulary cannot be written to GGUF');
      if (t === ' ') tokens[i] = '▁';
    }
    if (unkName !== undefined) {
      const u = tokens.indexOf(unkName);
      if (u >= 0) types[u] = TOKEN_TYPE.unknown;
    }
    // llama.cpp falls back to SentencePiece byte tokens <0x00>…<0xFF> for any character outside the
    // vocabulary (and aborts when they are missing; node-llama-cpp probes ASCII text at load): append them.
    // Their embedding rows are zero (hfToGguf pads the matrices), so the model is unchanged for muse's own ids.
    for (let b = 0; b < 256; b++) {
      tokens.push(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`);
      types.push(TOKEN_TYPE.byte);
    }
    out.push(['tokenizer.ggml.model', ggufValue.string('llama')]);
    out.push(['tokenizer.ggml.pre', ggufValue.string('default')]);
    out.push(['tokenizer.ggml.tokens', ggufValue.strings(tokens)]);
    out.push(['tokenizer.ggml.scores', ggufValue.float32s(new Array<number>(tokens.length).fill(0))]);
    nTokens = tokens.length;
    out.push(['tokenizer.ggml.token_type', ggufValue.int32s(types)]);
    out.push(['tokenizer.ggml.add_space_prefix', ggufValue.bool(false)]);
  } else {
    throw new ConfigError(`tokenizer.json: a ${String(type)} tokenizer has no llama.cpp equivalent muse can write (byte-level BPE, SentencePiece-style BPE and character vocabularies can)`);
  }
  for (const [role, id] of Object.entries(ids) as Array<[keyof GgufSpecialIds, number | undefined]>) {
    if (id === undefined) continue;
    const key = role === 'pad' ? 'padding' : role === 'unk' ? 'unknown' : role;
    out.push([`tokenizer.ggml.${key}_token_id`, ggufValue.uint32(id)]);
  }
  const bosName = ids.bos !== undefined ? (added.find((a) => a.id === ids.bos)?.content ?? undefined) : undefined;
  out.push(['tokenizer.ggml.add_bos_token', ggufValue.bool(postProcessorAddsBos(tok, bosName))]);
  out.push(['tokenizer.ggml.add_eos_token', ggufValue.bool(false)]);
  if (chatTemplate !== undefined) out.push(['tokenizer.chat_template', ggufValue.string(chatTemplate)]);
  return { entries: out, nTokens };
}

/**
 * A `tokenizer.json` for the GGUF tokenizers muse itself writes: `gpt2`
 * with pre-tokenizer `gpt-2` (GPT-2's byte-level BPE) and `llama`
 * vocabularies of single characters without merges (muse's char
 * tokenizers). Other tokenizers (`llama` SentencePiece BPE, Llama 3 and
 * Qwen pre-tokenizers) need the GGUF tokenizer of `src/tokenizers/`.
 *
 * @returns the tokenizer.json object, or undefined when the metadata is of another kind
 * @throws FileFormatError when the metadata is inconsistent (lengths differ, no tokens)
 */
export function simpleTokenizerJSON(meta: GgufMetadata, source = 'GGUF'): Json | undefined {
  const model = metaString(meta, 'tokenizer.ggml.model', source);
  const tokens = metaStrings(meta, 'tokenizer.ggml.tokens', source);
  if (model === undefined || tokens === undefined) return undefined;
  const types = metaNumbers(meta, 'tokenizer.ggml.token_type', source) ?? tokens.map(() => TOKEN_TYPE.normal);
  if (types.length !== tokens.length) throw new FileFormatError(`${source}: tokenizer.ggml.token_type has ${types.length} entries for ${tokens.length} tokens`);
  const added = tokens
    .map((content, id) => ({ id, content, type: types[id] }))
    .filter((t) => t.type === TOKEN_TYPE.control || t.type === TOKEN_TYPE.userDefined || t.type === TOKEN_TYPE.unknown || t.type === TOKEN_TYPE.unused)
    .map((t) => ({ id: t.id, content: t.content, single_word: false, lstrip: false, rstrip: false, normalized: t.type === TOKEN_TYPE.userDefined, special: t.type !== TOKEN_TYPE.userDefined }));
  const addBos = metaBool(meta, 'tokenizer.ggml.add_bos_token', source) === true;
  const bosId = metaNumber(meta, 'tokenizer.ggml.bos_token_id', source);
  const postProcessor = addBos && bosId !== undefined
    ? { type: 'TemplateProcessing', single: [{ SpecialToken: { id: tokens[bosId], type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }], pair: [{ SpecialToken: { id: tokens[bosId], type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { Sequence: { id: 'B', type_id: 1 } }], special_tokens: { [tokens[bosId]]: { id: tokens[bosId], ids: [bosId], tokens: [tokens[bosId]] } } }
    : null;
  const pre = metaString(meta, 'tokenizer.ggml.pre', source);
  if (model === 'gpt2' && pre === 'gpt-2') {
    const merges = metaStrings(meta, 'tokenizer.ggml.merges', source) ?? [];
    const vocab: Record<string, number> = {};
    tokens.forEach((t, i) => {
      if (types[i] === TOKEN_TYPE.normal || types[i] === TOKEN_TYPE.byte) vocab[t] = i;
    });
    return {
      version: '1.0', truncation: null, padding: null, added_tokens: added, normalizer: null,
      pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
      post_processor: postProcessor ?? { type: 'ByteLevel', add_prefix_space: true, trim_offsets: false, use_regex: true },
      decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
      model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null, fuse_unk: false, byte_fallback: false, vocab, merges },
    };
  }
  if (model === 'llama' && metaStrings(meta, 'tokenizer.ggml.merges', source) === undefined && metaBool(meta, 'tokenizer.ggml.add_space_prefix', source) === false) {
    const vocab: Record<string, number> = {};
    let chars = true;
    tokens.forEach((t, i) => {
      if (types[i] !== TOKEN_TYPE.normal) return;
      const c = t === '▁' ? ' ' : t;
      if ([...c].length !== 1) chars = false;
      vocab[c] = i;
    });
    if (!chars) return undefined;
    const unkId = types.indexOf(TOKEN_TYPE.unknown);
    for (const a of added) vocab[a.content] = a.id;
    return {
      version: '1.0', truncation: null, padding: null, added_tokens: added, normalizer: null,
      pre_tokenizer: { type: 'Split', pattern: { Regex: '[\\s\\S]' }, behavior: 'Isolated', invert: false },
      post_processor: postProcessor,
      decoder: { type: 'Fuse' },
      model: { type: 'WordLevel', vocab, unk_token: unkId >= 0 ? tokens[unkId] : '[UNK]' },
    };
  }
  return undefined;
}
