/**
 * Loading tokenizers from Hugging Face files: a `tokenizer.json` (the model
 * types muse implements: `BPE` (byte-level as in GPT-2, Llama 3 and Qwen, or
 * SentencePiece-style with byte fallback as in Llama 2, Mistral and Gemma), SentencePiece `Unigram`
 * (Viterbi, `unigram-model.ts`), BERT `WordPiece`, and the
 * per-character `WordLevel` that muse's char tokenizer writes), GPT-2's
 * `vocab.json` + `merges.txt`, or BERT's `vocab.txt`, with the special-token
 * roles and flags of `tokenizer_config.json` / `special_tokens_map.json`.
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { FileFormatError } from '../errors.js';
import type { AddedToken } from './added-tokens.js';
import type { BaseTokenizer, SpecialTokenRoles } from './base-tokenizer.js';
import { BPEModel } from './bpe-model.js';
import { BPETokenizer } from './bpe-tokenizer.js';
import { ByteLevelBPETokenizer } from './byte-level-bpe.js';
import { decoderFromJSON } from './decoders.js';
import { normalizerFromJSON } from './normalizers.js';
import { preTokenizerFromJSON } from './pre-tokenizers.js';
import { CHAR_SPLIT_PATTERN, CharTokenizer, type UnknownCharPolicy } from './char.js';
import { PostProcessor } from './post-processor.js';
import { SPECIAL_TOKEN_ROLES } from './types.js';
import { UnigramModel, UnigramTokenizer } from './unigram-model.js';
import { WordPieceTokenizer } from './wordpiece.js';
import type { BertNormalizerOptions } from './bert-pre-tokenizer.js';
import { readJsonFile } from '../io/json.js';

/** Settings that come from outside `tokenizer.json` (usually `tokenizer_config.json`). */
export interface TokenizerJSONOptions {
  /** File name used in error messages. Default `tokenizer.json`. */
  source?: string;
  /** Special tokens by role; roles not given are inferred from conventional spellings. */
  roles?: SpecialTokenRoles;
  modelMaxLength?: number;
  /** Char tokenizers without an unknown token: what to do with an unknown character. */
  onUnknown?: UnknownCharPolicy;
  /** Receives warnings about a vocabulary with gaps (default: stderr). */
  onWarning?: (message: string) => void;
}

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function typeOf(v: unknown): string {
  return isObject(v) ? String(v.type) : v === null || v === undefined ? 'none' : JSON.stringify(v);
}

function vocabMap(model: Json, source: string): Map<string, number> {
  if (!isObject(model.vocab)) throw new FileFormatError(`${source}: model.vocab must be an object mapping token → id`);
  const vocab = new Map<string, number>();
  const byId = new Map<number, string>();
  for (const [tok, id] of Object.entries(model.vocab)) {
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id >= 1 << 24) {
      throw new FileFormatError(`${source}: model.vocab gives token ${JSON.stringify(tok)} the id ${JSON.stringify(id)}; ids must be non-negative integers below 16,777,216`);
    }
    const other = byId.get(id);
    if (other !== undefined) {
      // Two tokens with one id decode ambiguously (Hugging Face keeps whichever comes last): refuse.
      throw new FileFormatError(`${source}: model.vocab gives the id ${id} to both ${JSON.stringify(other)} and ${JSON.stringify(tok)}; every id must belong to one token`);
    }
    byId.set(id, tok);
    vocab.set(tok, id);
  }
  return vocab;
}

/**
 * Ids below the largest that no token has (entries missing from model.vocab,
 * or an added token far beyond the vocabulary) decode to nothing and usually
 * mean a damaged or mismatched file; Hugging Face accepts them, so this warns.
 */
function warnAboutGaps(model: Json, added: readonly AddedToken[], source: string, warn: (m: string) => void): void {
  if (!isObject(model.vocab)) return;
  const ids = new Set<number>();
  for (const id of Object.values(model.vocab)) if (typeof id === 'number' && Number.isInteger(id) && id >= 0 && id < 1 << 24) ids.add(id);
  for (const t of added) if (Number.isInteger(t.id) && t.id >= 0 && t.id < 1 << 24) ids.add(t.id);
  if (ids.size === 0) return;
  let max = 0;
  for (const id of ids) if (id > max) max = id;
  const missing = max + 1 - ids.size;
  if (missing <= 0) return;
  const examples: number[] = [];
  for (let i = 0; i <= max && examples.length < 5; i++) if (!ids.has(i)) examples.push(i);
  warn(
    `${source}: ${missing} id${missing === 1 ? '' : 's'} below ${max} belong to no token (e.g. ${examples.join(', ')}${missing > 5 ? ', …' : ''}): ` +
      'model.vocab is incomplete or an added token lies beyond the vocabulary; those ids decode to nothing — check that the file is whole and belongs to the model',
  );
}

function parseAddedTokens(list: unknown, source: string): AddedToken[] {
  if (list === undefined || list === null) return [];
  if (!Array.isArray(list)) throw new FileFormatError(`${source}: added_tokens must be an array`);
  return list.map((t: unknown, i) => {
    if (!isObject(t) || typeof t.id !== 'number' || typeof t.content !== 'string') {
      throw new FileFormatError(`${source}: added_tokens[${i}] needs a numeric "id" and a string "content"`);
    }
    return {
      id: t.id,
      content: t.content,
      special: Boolean(t.special),
      singleWord: Boolean(t.single_word),
      lstrip: Boolean(t.lstrip),
      rstrip: Boolean(t.rstrip),
      normalized: t.normalized === undefined ? !t.special : Boolean(t.normalized),
    };
  });
}

/**
 * The ids the Rust library gives added tokens (`AddedVocabulary::add_tokens`,
 * in file order): a token whose text is already in the vocabulary takes the
 * vocabulary's id; any other takes the next id after the vocabulary and the
 * tokens added before it. For well-formed files these are the ids written;
 * the Rust library warns when they are not.
 */
function alignAddedIds(added: AddedToken[], vocab: ReadonlyMap<string, number>, byContent: Map<string, number>): void {
  let max = -1;
  for (const t of added) {
    const id = vocab.get(t.content) ?? (max >= vocab.size || vocab.size === 0 ? max + 1 : vocab.size);
    t.id = id;
    byContent.set(t.content, id);
    if (id > max) max = id;
  }
}

function unsupported(source: string, what: string, found: unknown, supported: string): never {
  throw new FileFormatError(`${source}: ${what} ${typeOf(found)} is not supported by muse (supported: ${supported})`);
}

function byteLevelPreTokenizer(pre: unknown): Json | null {
  if (isObject(pre) && pre.type === 'ByteLevel') return pre;
  if (isObject(pre) && pre.type === 'Sequence' && Array.isArray(pre.pretokenizers) && pre.pretokenizers.length === 1) return byteLevelPreTokenizer(pre.pretokenizers[0]);
  return null;
}

/**
 * Builds a tokenizer from the content of a Hugging Face `tokenizer.json`.
 * @throws FileFormatError naming `opts.source` for malformed content or components muse does not implement
 */
export function tokenizerFromJSON(obj: unknown, opts: TokenizerJSONOptions = {}): BaseTokenizer {
  const source = opts.source ?? 'tokenizer.json';
  if (!isObject(obj)) throw new FileFormatError(`${source}: expected a JSON object with a "model" field`);
  const model = obj.model;
  if (!isObject(model) || typeof model.type !== 'string') throw new FileFormatError(`${source}: missing "model" object with a "type"`);
  const addedTokens = parseAddedTokens(obj.added_tokens, source);
  const base = { addedTokens, roles: opts.roles, modelMaxLength: opts.modelMaxLength };
  // The stages around the model, read the same way for every model type that has them.
  const pipeline = () => ({
    normalizer: normalizerFromJSON(obj.normalizer, source),
    preTokenizer: preTokenizerFromJSON(obj.pre_tokenizer, source),
    decoder: decoderFromJSON(obj.decoder, source),
    decoderJSON: obj.decoder ?? null,
  });
  const addedByContent = new Map(addedTokens.map((t) => [t.content, t.id]));
  warnAboutGaps(model, addedTokens, source, opts.onWarning ?? ((m) => process.stderr.write(`muse: warning: ${m}\n`)));

  switch (model.type) {
    case 'BPE': {
      if (!Array.isArray(model.merges)) throw new FileFormatError(`${source}: model.merges must be an array of "a b" strings or [a, b] pairs`);
      if (model.continuing_subword_prefix || model.end_of_word_suffix) unsupported(source, 'BPE with a subword prefix/suffix', JSON.stringify(model.continuing_subword_prefix || model.end_of_word_suffix), 'none');
      if (model.dropout !== null && model.dropout !== undefined && model.dropout !== 0) unsupported(source, 'BPE option', 'dropout', 'no dropout');
      const merges = model.merges.map((m: unknown, i): [string, string] => {
        if (typeof m === 'string') {
          const parts = m.split(' ');
          if (parts.length === 2) return [parts[0], parts[1]];
        } else if (Array.isArray(m) && m.length === 2 && typeof m[0] === 'string' && typeof m[1] === 'string') {
          return [m[0], m[1]];
        }
        throw new FileFormatError(`${source}: model.merges[${i}] is ${JSON.stringify(m)}; expected "a b" or ["a", "b"]`);
      });
      const vocab = vocabMap(model, source);
      alignAddedIds(addedTokens, vocab, addedByContent);
      const bpe = new BPEModel(vocab, merges, {
        unkToken: typeof model.unk_token === 'string' ? model.unk_token : null,
        fuseUnk: Boolean(model.fuse_unk),
        source: `${source} model.merges`,
      });
      const lookup = (t: string): number | undefined => addedByContent.get(t) ?? vocab.get(t);
      const postProcessor = PostProcessor.fromJSON(obj.post_processor, lookup, source);
      const pre = byteLevelPreTokenizer(obj.pre_tokenizer);
      const gpt2Like = pre && (obj.normalizer === null || obj.normalizer === undefined) && !model.byte_fallback && !model.ignore_merges && isObject(obj.decoder) && obj.decoder.type === 'ByteLevel';
      if (gpt2Like) {
        // GPT-2's layout: the specialised byte-level tokenizer (hand-written GPT-2 scanner, offsets trimming).
        return new ByteLevelBPETokenizer(bpe, {
          ...base,
          addPrefixSpace: Boolean(pre.add_prefix_space),
          useRegex: pre.use_regex === undefined ? true : Boolean(pre.use_regex),
          postProcessor,
        });
      }
      return new BPETokenizer(bpe, {
        ...base,
        ...pipeline(),
        byteFallback: Boolean(model.byte_fallback),
        ignoreMerges: Boolean(model.ignore_merges),
        postProcessor,
      });
    }
    case 'Unigram': {
      const unigram = new UnigramModel(model.vocab, model.unk_id, source);
      alignAddedIds(addedTokens, unigram.vocab, addedByContent);
      const lookup = (t: string): number | undefined => addedByContent.get(t) ?? unigram.vocab.get(t);
      return new UnigramTokenizer(unigram, {
        ...base,
        ...pipeline(),
        byteFallback: Boolean(model.byte_fallback),
        postProcessor: PostProcessor.fromJSON(obj.post_processor, lookup, source),
      });
    }
    case 'WordPiece': {
      if (!isObject(obj.pre_tokenizer) || obj.pre_tokenizer.type !== 'BertPreTokenizer') unsupported(source, 'WordPiece with pre_tokenizer', obj.pre_tokenizer, 'BertPreTokenizer');
      let normalizer: BertNormalizerOptions | null = null;
      const n = obj.normalizer;
      if (isObject(n) && n.type === 'BertNormalizer') {
        normalizer = {
          cleanText: n.clean_text === undefined ? true : Boolean(n.clean_text),
          handleChineseChars: n.handle_chinese_chars === undefined ? true : Boolean(n.handle_chinese_chars),
          stripAccents: n.strip_accents === null || n.strip_accents === undefined ? null : Boolean(n.strip_accents),
          lowercase: n.lowercase === undefined ? true : Boolean(n.lowercase),
        };
      } else if (n !== null && n !== undefined) unsupported(source, 'WordPiece with normalizer', n, 'BertNormalizer or none');
      const dec = obj.decoder;
      if (dec !== null && dec !== undefined && !(isObject(dec) && dec.type === 'WordPiece')) unsupported(source, 'WordPiece with decoder', dec, 'WordPiece');
      const vocab = vocabMap(model, source);
      const lookup = (t: string): number | undefined => addedByContent.get(t) ?? vocab.get(t);
      return new WordPieceTokenizer(vocab, {
        ...base,
        normalizer,
        unkToken: typeof model.unk_token === 'string' ? model.unk_token : '[UNK]',
        continuingSubwordPrefix: typeof model.continuing_subword_prefix === 'string' ? model.continuing_subword_prefix : '##',
        maxInputCharsPerWord: typeof model.max_input_chars_per_word === 'number' ? model.max_input_chars_per_word : 100,
        decoderCleanup: isObject(dec) && dec.cleanup !== undefined ? Boolean(dec.cleanup) : true,
        postProcessor: PostProcessor.fromJSON(obj.post_processor, lookup, source),
      });
    }
    case 'WordLevel': {
      const pre = obj.pre_tokenizer;
      const pattern = isObject(pre) && isObject(pre.pattern) ? pre.pattern.Regex : undefined;
      if (!isObject(pre) || pre.type !== 'Split' || pattern !== CHAR_SPLIT_PATTERN || pre.invert) {
        throw new FileFormatError(`${source}: WordLevel is supported as muse's char tokenizer only (pre_tokenizer Split on the regex ${CHAR_SPLIT_PATTERN}); found pre_tokenizer ${JSON.stringify(pre)}`);
      }
      if (obj.normalizer !== null && obj.normalizer !== undefined) unsupported(source, 'char tokenizer with normalizer', obj.normalizer, 'none');
      const vocab = vocabMap(model, source);
      const unk = typeof model.unk_token === 'string' && vocab.has(model.unk_token) ? model.unk_token : null;
      const lookup = (t: string): number | undefined => addedByContent.get(t) ?? vocab.get(t);
      return new CharTokenizer(vocab, {
        ...base,
        unkToken: unk,
        onUnknown: opts.onUnknown,
        postProcessor: PostProcessor.fromJSON(obj.post_processor, lookup, source),
      });
    }
    default:
      throw new FileFormatError(`${source}: model type "${model.type}" is not supported by muse (supported: BPE, Unigram, WordPiece, WordLevel char tokenizers)`);
  }
}

function readJSONFile(path: string): unknown {
  return readJsonFile(path);
}

function tokenText(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (isObject(v) && typeof v.content === 'string') return v.content;
  return undefined;
}

/**
 * Loads the tokenizer in `dir`: its `tokenizer.json`, else GPT-2's
 * `vocab.json` + `merges.txt`, else BERT's `vocab.txt` (uncased unless
 * `tokenizer_config.json` says `do_lower_case: false`). Special-token roles
 * come from `tokenizer_config.json` / `special_tokens_map.json` when present.
 * @throws FileFormatError naming the directory or file when nothing loadable is there or a file is malformed
 */
export function loadTokenizer(dir: string): BaseTokenizer {
  if (!existsSync(dir)) throw new FileFormatError(`tokenizer directory ${dir} does not exist`);
  if (!statSync(dir).isDirectory()) throw new FileFormatError(`${dir} is not a directory; pass the directory that holds tokenizer.json (or vocab.json + merges.txt, or vocab.txt)`);
  const at = (name: string): string => join(dir, name);
  const configPath = at('tokenizer_config.json');
  const mapPath = at('special_tokens_map.json');
  const config = existsSync(configPath) ? readJSONFile(configPath) : {};
  const stmap = existsSync(mapPath) ? readJSONFile(mapPath) : {};
  if (!isObject(config)) throw new FileFormatError(`${configPath}: expected a JSON object`);
  if (!isObject(stmap)) throw new FileFormatError(`${mapPath}: expected a JSON object`);
  const roles: SpecialTokenRoles = {};
  for (const role of SPECIAL_TOKEN_ROLES) {
    const t = tokenText(config[`${role}_token`]) ?? tokenText(stmap[`${role}_token`]);
    if (t !== undefined) roles[role] = t;
  }
  const mml = config.model_max_length;
  const modelMaxLength = typeof mml === 'number' && mml > 0 && mml < 1e12 ? mml : undefined;

  if (existsSync(at('tokenizer.json'))) {
    const onUnknown = config.muse_on_unknown === 'skip' ? 'skip' : undefined;
    return tokenizerFromJSON(readJSONFile(at('tokenizer.json')), { source: at('tokenizer.json'), roles, modelMaxLength, onUnknown });
  }
  const hasVocabJson = existsSync(at('vocab.json'));
  const hasMerges = existsSync(at('merges.txt'));
  if (hasVocabJson && hasMerges) {
    let addedTokens: AddedToken[] | undefined;
    if (isObject(config.added_tokens_decoder)) {
      addedTokens = Object.entries(config.added_tokens_decoder).map(([id, t]) => {
        const o = isObject(t) ? t : {};
        return {
          id: Number(id),
          content: String(o.content),
          special: Boolean(o.special),
          singleWord: Boolean(o.single_word),
          lstrip: Boolean(o.lstrip),
          rstrip: Boolean(o.rstrip),
          normalized: o.normalized === undefined ? !o.special : Boolean(o.normalized),
        };
      });
    }
    return ByteLevelBPETokenizer.fromFiles(at('vocab.json'), at('merges.txt'), { roles, addedTokens, modelMaxLength });
  }
  if (hasVocabJson !== hasMerges) {
    throw new FileFormatError(`${dir} has ${hasVocabJson ? 'vocab.json but no merges.txt' : 'merges.txt but no vocab.json'}; a GPT-2 tokenizer needs both`);
  }
  if (existsSync(at('vocab.txt'))) {
    const lower = config.do_lower_case;
    const strip = config.strip_accents;
    const cjk = config.tokenize_chinese_chars;
    return WordPieceTokenizer.fromVocab(at('vocab.txt'), {
      lowercase: typeof lower === 'boolean' ? lower : true,
      stripAccents: typeof strip === 'boolean' ? strip : null,
      handleChineseChars: typeof cjk === 'boolean' ? cjk : true,
      roles,
      modelMaxLength,
    });
  }
  throw new FileFormatError(`${dir} holds no tokenizer: expected tokenizer.json, or vocab.json + merges.txt (GPT-2), or vocab.txt (BERT)`);
}
