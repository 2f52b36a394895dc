/**
 * GPT-2's tokenizer: byte-level BPE (Radford et al. 2019, §2.2) — text is
 * split with the GPT-2 pattern, each piece's UTF-8 bytes are mapped to
 * printable characters, and merges are applied by rank. Compatible with
 * OpenAI's `vocab.json` + `merges.txt` and Hugging Face's `tokenizer.json`
 * (`BPE` model, `ByteLevel` pre-tokenizer and decoder).
 */
import { readFileSync } from 'node:fs';
import { ConfigError, FileFormatError } from '../errors.js';
import { type AddedToken, AddedTokenSplitter, specialToken } from './added-tokens.js';
import { BPEBackedTokenizer } from './bpe-backed.js';
import type { BaseTokenizerInit, ModelJSON, SpecialTokenRoles } from './base-tokenizer.js';
import { BPEModel } from './bpe-model.js';
import { WordTable, trainMerges } from './bpe-trainer.js';
import { BYTE_TO_CHAR, byteLevelAlphabet, byteLevelToBytes, charToByte, gpt2Split, utf8ByteChars, utf8Encode, utf8Length } from './byte-level.js';
import { PostProcessor } from './post-processor.js';
import { toWellFormed } from './unicode.js';

/** Cached pre-tokens (word → token ids); cleared when full, like the Rust library's bounded cache. */
const CACHE_LIMIT = 200_000;
/** Pieces longer than this (UTF-16 units) are not cached. */
const CACHE_MAX_WORD = 256;

const utf8Decoder = new TextDecoder('utf-8', { ignoreBOM: true });

/** Pre-tokenizer and decoder settings of a byte-level BPE tokenizer. */
export interface ByteLevelBPEInit extends BaseTokenizerInit {
  /** Prepend a space to every stretch of text (RoBERTa-style); GPT-2 uses `false`. */
  addPrefixSpace?: boolean;
  /** Split with the GPT-2 pattern before BPE (`use_regex`); default `true`. */
  useRegex?: boolean;
}

/** Options of `ByteLevelBPETokenizer.train`. */
export interface ByteLevelBPETrainOptions {
  /** Target vocabulary size, special tokens and the 256 byte symbols included. */
  vocabSize: number;
  /** Pairs seen fewer times than this are never merged. Default 2 (Hugging Face's default). */
  minFrequency?: number;
  /** Special tokens, given the first ids in order. Default `['<|endoftext|>']`. */
  specialTokens?: readonly string[];
  /** Roles of the special tokens; inferred from their spelling when omitted. */
  roles?: SpecialTokenRoles;
  /** Called now and then with the vocabulary size reached. */
  onProgress?: (vocabSize: number) => void;
}

/**
 * Reads a GPT-2 `vocab.json` (an object `token → id`).
 * @throws FileFormatError naming `source` when the JSON is malformed or not a token → id object
 */
export function parseVocabJSON(text: string, source: string): Map<string, number> {
  let obj: unknown;
  try {
    obj = JSON.parse(text);
  } catch (err) {
    throw new FileFormatError(`${source} is not valid JSON (${(err as Error).message}); expected an object mapping token → id`);
  }
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) {
    throw new FileFormatError(`${source}: expected an object mapping token → id, found ${Array.isArray(obj) ? 'an array' : typeof obj}`);
  }
  const vocab = new Map<string, number>();
  for (const [tok, id] of Object.entries(obj as Record<string, unknown>)) {
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0) {
      throw new FileFormatError(`${source}: token ${JSON.stringify(tok)} has id ${JSON.stringify(id)}; ids must be non-negative integers`);
    }
    vocab.set(tok, id);
  }
  if (vocab.size === 0) throw new FileFormatError(`${source}: the vocabulary is empty`);
  return vocab;
}

/**
 * Reads a `merges.txt`: an optional `#version` line, then one merge `a b` per line.
 * @throws FileFormatError naming `source` and the line for a malformed line
 */
export function parseMergesTxt(text: string, source: string): { merges: [string, string][]; lines: number[] } {
  const merges: [string, string][] = [];
  const lines: number[] = [];
  const rows = text.split('\n');
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i].endsWith('\r') ? rows[i].slice(0, -1) : rows[i];
    if (row === '' || (i === 0 && row.startsWith('#version'))) continue;
    const parts = row.split(' ');
    if (parts.length !== 2 || parts[0] === '' || parts[1] === '') {
      throw new FileFormatError(`${source} line ${i + 1}: expected two tokens separated by one space, found ${JSON.stringify(row)}`);
    }
    merges.push([parts[0], parts[1]]);
    lines.push(i + 1);
  }
  return { merges, lines };
}

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new FileFormatError(`cannot read ${path}: ${e.code === 'ENOENT' ? 'no such file' : e.message}`);
  }
}

/** GPT-2-style byte-level BPE tokenizer. */
export class ByteLevelBPETokenizer extends BPEBackedTokenizer {
  readonly model: BPEModel;
  readonly addPrefixSpace: boolean;
  readonly useRegex: boolean;
  /** Vocabulary id of each byte's character (-1 when missing). */
  private readonly byteIds = new Int32Array(256);
  /** UTF-8 bytes each token id stands for (for offsets). */
  private readonly tokenBytes: Int32Array;
  private cache = new Map<string, number[]>();
  private readonly pieces: number[] = [];
  private bytes = new Uint8Array(1024);
  private symbols = new Int32Array(1024);

  constructor(model: BPEModel, init: ByteLevelBPEInit) {
    super({ ...init, postProcessor: init.postProcessor ?? PostProcessor.byteLevel(false, init.addPrefixSpace ?? false) });
    this.model = model;
    this.addPrefixSpace = init.addPrefixSpace ?? false;
    this.useRegex = init.useRegex ?? true;
    for (let b = 0; b < 256; b++) this.byteIds[b] = model.vocab.get(BYTE_TO_CHAR[b]) ?? -1;
    const tb = new Int32Array(model.size);
    model.idToToken.forEach((tok, id) => {
      if (tok === undefined) return;
      let byteChars = true;
      for (let i = 0; i < tok.length; i++) if (charToByte(tok.charCodeAt(i)) < 0) byteChars = false;
      tb[id] = byteChars ? tok.length : utf8Length(tok);
    });
    this.tokenBytes = tb;
  }

  /**
   * Loads GPT-2's `vocab.json` + `merges.txt`. `<|endoftext|>` becomes a
   * special added token when it is in the vocabulary (GPT-2's eos/bos).
   * @throws FileFormatError naming the file for a missing or malformed file, or merges that do not fit the vocabulary
   */
  static fromFiles(vocabPath: string, mergesPath: string, opts: { roles?: SpecialTokenRoles; addedTokens?: AddedToken[]; modelMaxLength?: number } = {}): ByteLevelBPETokenizer {
    const vocab = parseVocabJSON(readText(vocabPath), vocabPath);
    const { merges, lines } = parseMergesTxt(readText(mergesPath), mergesPath);
    const model = new BPEModel(vocab, merges, { source: mergesPath, mergeLines: lines });
    let added = opts.addedTokens;
    if (!added) {
      const eot = vocab.get('<|endoftext|>');
      added = eot !== undefined ? [{ ...specialToken('<|endoftext|>', eot), normalized: true }] : [];
    }
    return new ByteLevelBPETokenizer(model, { addedTokens: added, roles: opts.roles, modelMaxLength: opts.modelMaxLength });
  }

  /**
   * Trains a byte-level BPE on `texts` (Hugging Face `ByteLevelBPETokenizer.train`
   * semantics: special tokens first, then the 256 byte symbols sorted by code
   * point, then one token per merge until `vocabSize`).
   * @throws ConfigError when `vocabSize` cannot hold the byte alphabet and the special tokens
   */
  static train(texts: Iterable<string>, opts: ByteLevelBPETrainOptions): ByteLevelBPETokenizer {
    const specials = [...new Set(opts.specialTokens ?? ['<|endoftext|>'])];
    const alphabet = byteLevelAlphabet();
    if (!Number.isInteger(opts.vocabSize) || opts.vocabSize < alphabet.length + specials.length) {
      throw new ConfigError(`vocabSize ${opts.vocabSize} is too small: byte-level BPE needs at least 256 byte symbols + ${specials.length} special tokens = ${alphabet.length + specials.length}`);
    }
    const splitter = new AddedTokenSplitter(specials.map((s, i) => specialToken(s, i)));
    const counts = new Map<string, number>();
    const pieces: number[] = [];
    const parts: number[] = [];
    for (const raw of texts) {
      const text = toWellFormed(raw);
      parts.length = 0;
      splitter.split(text, parts);
      for (let j = 0; j < parts.length; j += 3) {
        if (parts[j + 2] >= 0) continue;
        pieces.length = 0;
        gpt2Split(text, parts[j], parts[j + 1], pieces);
        for (let k = 0; k < pieces.length; k += 2) {
          const w = text.slice(pieces[k], pieces[k + 1]);
          counts.set(w, (counts.get(w) ?? 0) + 1);
        }
      }
    }
    const byteSymbol = new Int32Array(256);
    alphabet.forEach((ch, i) => (byteSymbol[charToByte(ch.charCodeAt(0))] = i));
    const table = new WordTable();
    let buf = new Uint8Array(1024);
    const symbolAt = (i: number): number => byteSymbol[buf[i]];
    for (const [w, c] of counts) {
      if (buf.length < w.length * 3) buf = new Uint8Array(w.length * 3);
      table.add(utf8Encode(w, 0, w.length, buf), symbolAt, c);
    }
    const result = trainMerges({
      symbols: table.symbols,
      wordStarts: table.wordStarts,
      counts: table.counts,
      alphabet,
      joinSymbols: (a, b) => a + b,
      maxSymbols: opts.vocabSize - specials.length,
      minFrequency: opts.minFrequency ?? 2,
      onProgress: opts.onProgress ? (n) => opts.onProgress?.(n + specials.length) : undefined,
    });
    const vocab = new Map<string, number>();
    specials.forEach((s) => vocab.set(s, vocab.size));
    for (const s of result.symbols) if (!vocab.has(s)) vocab.set(s, vocab.size);
    const model = new BPEModel(vocab, result.merges);
    return new ByteLevelBPETokenizer(model, {
      addedTokens: specials.map((s) => specialToken(s, vocab.get(s) as number)),
      roles: opts.roles,
    });
  }

  protected override tokenizerClass(): string {
    return 'GPT2Tokenizer';
  }

  /** Token ids of one pre-token `text[s, e)`. */
  private bpe(text: string, s: number, e: number): number[] {
    const len = e - s;
    if (this.bytes.length < len * 3) {
      this.bytes = new Uint8Array(len * 3);
      this.symbols = new Int32Array(len * 3);
    }
    const n = utf8Encode(text, s, e, this.bytes);
    const syms = this.symbols;
    for (let i = 0; i < n; i++) syms[i] = this.byteIds[this.bytes[i]];
    return this.model.mergeSymbols(syms, n);
  }

  protected encodeSegment(text: string, start: number, end: number, ids: number[], offsets: number[] | null): void {
    if (this.addPrefixSpace && text.charCodeAt(start) !== 32) this.encodeWithPrefixSpace(text, start, end, ids, offsets);
    else this.encodeRange(text, start, end, ids, offsets);
  }

  private encodeRange(text: string, start: number, end: number, ids: number[], offsets: number[] | null): void {
    const pieces = this.pieces;
    pieces.length = 0;
    if (this.useRegex) gpt2Split(text, start, end, pieces);
    else pieces.push(start, end);
    const cache = this.cache;
    const byteIds = this.byteIds;
    for (let k = 0; k < pieces.length; k += 2) {
      const ps = pieces[k];
      const pe = pieces[k + 1];
      if (pe - ps === 1) {
        const c = text.charCodeAt(ps);
        if (c < 128 && byteIds[c] >= 0) {
          ids.push(byteIds[c]);
          if (offsets) offsets.push(ps, pe);
          continue;
        }
      }
      let toks: number[] | undefined;
      if (pe - ps <= CACHE_MAX_WORD) {
        const key = text.slice(ps, pe);
        toks = cache.get(key);
        if (toks === undefined) {
          toks = this.bpe(text, ps, pe);
          if (cache.size >= CACHE_LIMIT) cache.clear();
          cache.set(key, toks);
        }
      } else {
        toks = this.bpe(text, ps, pe);
      }
      for (let i = 0; i < toks.length; i++) ids.push(toks[i]);
      if (offsets) this.pieceOffsets(text, ps, pe, toks, offsets);
    }
  }

  /** Offsets of the tokens of one piece: byte spans mapped to the characters containing them. */
  private pieceOffsets(text: string, ps: number, pe: number, toks: readonly number[], offsets: number[]): void {
    const tb = this.tokenBytes;
    let ascii = true;
    for (let i = ps; i < pe; i++) {
      if (text.charCodeAt(i) >= 128) {
        ascii = false;
        break;
      }
    }
    let total = 0;
    for (const t of toks) total += tb[t];
    if (ascii && total === pe - ps) {
      let pos = ps;
      for (const t of toks) {
        offsets.push(pos, pos + tb[t]);
        pos += tb[t];
      }
      return;
    }
    // Byte index → UTF-16 start/end of the character holding it.
    const { charStart, charEnd } = utf8ByteChars(text, ps, pe);
    if (total !== charStart.length) {
      // Unknown or dropped bytes: give every token the whole piece.
      for (let k = 0; k < toks.length; k++) offsets.push(ps, pe);
      return;
    }
    let b = 0;
    for (const t of toks) {
      const nb = tb[t];
      offsets.push(charStart[b], charEnd[b + nb - 1]);
      b += nb;
    }
  }

  /** `add_prefix_space`: tokenizes `' ' + text[start, end)`; the added space belongs to the first character. */
  private encodeWithPrefixSpace(text: string, start: number, end: number, ids: number[], offsets: number[] | null): void {
    const virtual = ' ' + text.slice(start, end);
    const localIds: number[] = [];
    const localOff: number[] | null = offsets ? [] : null;
    this.encodeRange(virtual, 0, virtual.length, localIds, localOff);
    for (const id of localIds) ids.push(id);
    if (offsets && localOff) {
      // The added space is aligned with the first character (Hugging Face's `prepend`).
      const c = text.charCodeAt(start);
      const first = c >= 0xd800 && c <= 0xdbff && start + 1 < end ? 2 : 1;
      for (let k = 0; k < localOff.length; k += 2) {
        const s = localOff[k];
        const e = localOff[k + 1];
        offsets.push(s === 0 ? start : start + s - 1, e === 1 ? start + first : start + e - 1);
      }
    }
  }

  /** Byte-level decoding: token characters → bytes → UTF-8 with U+FFFD for invalid sequences (Rust's `from_utf8_lossy`). */
  protected decodeTokens(tokens: string[]): string {
    return utf8Decoder.decode(byteLevelToBytes(tokens));
  }

  protected modelJSON(): ModelJSON {
    const vocab: Record<string, number> = Object.create(null) as Record<string, number>;
    for (const [tok, id] of this.model.vocab) vocab[tok] = id;
    const merges = this.model.merges.map(([a, b]) => (a.includes(' ') || b.includes(' ') ? [a, b] : `${a} ${b}`));
    return {
      normalizer: null,
      pre_tokenizer: { type: 'ByteLevel', add_prefix_space: this.addPrefixSpace, trim_offsets: true, use_regex: this.useRegex },
      decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
      model: {
        type: 'BPE',
        dropout: null,
        unk_token: this.model.unkToken,
        continuing_subword_prefix: null,
        end_of_word_suffix: null,
        fuse_unk: this.model.fuseUnk,
        byte_fallback: false,
        vocab,
        merges,
      },
    };
  }

  protected override legacyFiles(): Record<string, string> {
    const vocab: Record<string, number> = Object.create(null) as Record<string, number>;
    for (const [tok, id] of this.model.vocab) vocab[tok] = id;
    const merges = this.model.merges.map(([a, b]) => `${a} ${b}`).join('\n');
    return { 'vocab.json': JSON.stringify(vocab) + '\n', 'merges.txt': `#version: 0.2\n${merges}\n` };
  }
}
