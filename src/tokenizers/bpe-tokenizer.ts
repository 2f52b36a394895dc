/**
 * The general Hugging Face BPE tokenizer: `tokenizer.json` files whose BPE
 * model comes with a normalizer, a `Sequence` of `Split` / `ByteLevel` /
 * `Metaspace` pre-tokenizers, `byte_fallback`, `ignore_merges` and a decoder
 * chain — Llama 3 and Qwen2/3 (regex split + byte-level BPE, NFC), Llama 2,
 * Mistral and Gemma (SentencePiece-style BPE: `Prepend`/`Replace`
 * normalizers, `<0xNN>` byte-fallback tokens, `Replace`/`ByteFallback`/
 * `Fuse`/`Strip` decoders). GPT-2-style files keep using the specialised
 * `ByteLevelBPETokenizer`.
 *
 * The pipeline follows the Rust library (tokenizers 0.21, `TokenizerImpl`):
 * added tokens with `normalized: false` are found in the raw text, the rest
 * of the text is normalized, added tokens with `normalized: true` are found
 * in the normalized text, the pre-tokenizers split it into pieces, and the
 * BPE model (`BPE::merge_word`: vocabulary lookup per character, byte
 * fallback, fused unknowns, then merges by rank) turns each piece into ids.
 */
import { type AddedToken, AddedTokenSplitter } from './added-tokens.js';
import { BPEBackedTokenizer } from './bpe-backed.js';
import type { BaseTokenizerInit, ModelJSON } from './base-tokenizer.js';
import type { BPEModel } from './bpe-model.js';
import { BYTE_TO_CHAR, charToByte, utf8ByteChars, utf8Encode, utf8Length } from './byte-level.js';
import { type DecoderStep, runDecoder } from './decoders.js';
import { type AlignedText, type Normalizer, alignedSlice } from './normalizers.js';
import type { PreTokenizerPipeline } from './pre-tokenizers.js';

/** Cached pieces (piece → ids); cleared when full. */
const CACHE_LIMIT = 200_000;
/** Pieces longer than this (UTF-16 units) are not cached. */
const CACHE_MAX_PIECE = 256;

/** The parts of a `tokenizer.json` around the BPE model. */
export interface BPETokenizerInit extends BaseTokenizerInit {
  normalizer: Normalizer | null;
  preTokenizer: PreTokenizerPipeline;
  /** Decoder chain; `null` joins tokens with spaces (the Rust library without a decoder). */
  decoder: DecoderStep[] | null;
  /** The `decoder` JSON, written back by `toJSON`. */
  decoderJSON: object | null;
  /** Characters missing from the vocabulary become their UTF-8 bytes' `<0xNN>` tokens. */
  byteFallback?: boolean;
  /** A piece that is itself a vocabulary token is taken whole, before any merge (Llama 3). */
  ignoreMerges?: boolean;
}

/** A BPE tokenizer assembled from the components of a `tokenizer.json`. */
export class BPETokenizer extends BPEBackedTokenizer {
  readonly model: BPEModel;
  readonly normalizer: Normalizer | null;
  readonly preTokenizer: PreTokenizerPipeline;
  readonly byteFallback: boolean;
  readonly ignoreMerges: boolean;
  private readonly decoder: DecoderStep[] | null;
  private readonly decoderJSON: object | null;
  private readonly normalizedSplitter: AddedTokenSplitter;
  /** Token string of each `normalized: true` added token: its normalized content. */
  private readonly normalizedText = new Map<number, string>();
  /** Vocabulary id of each byte's byte-level character (-1 when missing). */
  private readonly byteIds = new Int32Array(256).fill(-1);
  /** Id of each `<0xNN>` token (-1 when missing). */
  private readonly fallbackIds = new Int32Array(256).fill(-1);
  private readonly fallbackIdSet = new Set<number>();
  /** Byte length of each token id (byte-level: the bytes it stands for; otherwise its UTF-8 length). */
  private readonly tokenBytes: Int32Array;
  private cache = new Map<string, number[]>();
  private bytes = new Uint8Array(1024);
  private symbols = new Int32Array(1024);
  private readonly pieceRanges: number[] = [];

  constructor(model: BPEModel, init: BPETokenizerInit) {
    super({ ...init, rawSplitUnnormalizedOnly: true });
    this.model = model;
    this.normalizer = init.normalizer;
    this.preTokenizer = init.preTokenizer;
    this.decoder = init.decoder;
    this.decoderJSON = init.decoderJSON;
    this.byteFallback = init.byteFallback ?? false;
    this.ignoreMerges = init.ignoreMerges ?? false;
    // As the Rust library, `normalized: true` tokens are looked for in normalized text in their normalized form
    // (with Llama 2's Prepend normalizer, `▁cat` is matched as `▁▁cat`).
    // Their token string (in encodings and decoding) is the normalized form too.
    const norm = init.normalizer;
    const normalizedAdded = init.addedTokens.filter((t: AddedToken) => t.normalized).map((t) => (norm ? { ...t, content: norm.apply(t.content) } : t));
    this.normalizedSplitter = new AddedTokenSplitter(normalizedAdded);
    for (const t of normalizedAdded) this.normalizedText.set(t.id, t.content);
    const byteLevel = init.preTokenizer.byteLevel;
    for (let b = 0; b < 256; b++) {
      if (byteLevel) this.byteIds[b] = model.vocab.get(BYTE_TO_CHAR[b]) ?? -1;
      const fb = model.vocab.get(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`);
      if (fb !== undefined) {
        this.fallbackIds[b] = fb;
        this.fallbackIdSet.add(fb);
      }
    }
    const tb = new Int32Array(model.size);
    model.idToToken.forEach((tok, id) => {
      if (tok === undefined) return;
      if (byteLevel) {
        let byteChars = true;
        for (let i = 0; i < tok.length; i++) if (charToByte(tok.charCodeAt(i)) < 0) byteChars = false;
        tb[id] = byteChars ? tok.length : utf8Length(tok);
      } else tb[id] = this.fallbackIdSet.has(id) ? 1 : utf8Length(tok);
    });
    this.tokenBytes = tb;
  }

  // ---- ids ----

  protected encodeSegment(text: string, start: number, end: number, ids: number[], offsets: number[] | null): void {
    if (offsets) {
      this.encodeSegmentAligned(text, start, end, ids, offsets);
      return;
    }
    let s = start === 0 && end === text.length ? text : text.slice(start, end);
    if (this.normalizer) s = this.normalizer.apply(s);
    if (this.normalizedSplitter.isEmpty) {
      this.encodeNormalized(s, start === 0, ids);
      return;
    }
    const parts: number[] = [];
    this.normalizedSplitter.split(s, parts);
    for (let k = 0; k < parts.length; k += 3) {
      if (parts[k + 2] >= 0) ids.push(parts[k + 2]);
      else this.encodeNormalized(s.slice(parts[k], parts[k + 1]), start === 0 && parts[k] === 0, ids);
    }
  }

  /** Applies the pre-tokenizer's text transform (Metaspace / ByteLevel prefix space); returns the number of characters prepended. */
  private transform(s: string, first: boolean): [string, number] {
    const ms = this.preTokenizer.metaspace;
    if (ms) {
      if (s.includes(' ')) s = s.replaceAll(' ', ms.replacement);
      if (s.length > 0 && (ms.prependScheme === 'always' || (ms.prependScheme === 'first' && first)) && !s.startsWith(ms.replacement)) {
        return [ms.replacement + s, ms.replacement.length];
      }
      return [s, 0];
    }
    if (this.preTokenizer.byteLevelPrefixSpace && s.length > 0 && s.charCodeAt(0) !== 32) return [' ' + s, 1];
    return [s, 0];
  }

  private piecesOf(s: string): number[] {
    let ranges = s.length > 0 ? [0, s.length] : [];
    for (const step of this.preTokenizer.steps) {
      const next: number[] = [];
      step.split(s, ranges, next);
      ranges = next;
    }
    return ranges;
  }

  private encodeNormalized(s0: string, first: boolean, ids: number[]): void {
    const [s] = this.transform(s0, first);
    if (s.length === 0) return;
    const steps = this.preTokenizer.steps;
    if (steps.length === 0) {
      this.pushPiece(s, 0, s.length, ids);
      return;
    }
    const parts = this.pieceRanges;
    parts.length = 0;
    if (steps.length === 1) steps[0].split(s, [0, s.length], parts);
    else for (const r of this.piecesOf(s)) parts.push(r);
    const n = parts.length;
    const byteIds = this.byteIds;
    const byteLevel = this.preTokenizer.byteLevel;
    for (let k = 0; k < n; k += 2) {
      const ps = parts[k];
      const pe = parts[k + 1];
      if (byteLevel && pe - ps === 1) {
        const c = s.charCodeAt(ps);
        if (c < 128 && byteIds[c] >= 0) {
          ids.push(byteIds[c]);
          continue;
        }
      }
      this.pushPiece(s, ps, pe, ids);
    }
  }

  private pushPiece(s: string, ps: number, pe: number, ids: number[]): void {
    const toks = this.pieceIds(s, ps, pe);
    for (let i = 0; i < toks.length; i++) ids.push(toks[i]);
  }

  private pieceIds(s: string, ps: number, pe: number): number[] {
    if (pe - ps > CACHE_MAX_PIECE) return this.tokenizePiece(s.slice(ps, pe));
    const key = ps === 0 && pe === s.length ? s : s.slice(ps, pe);
    let toks = this.cache.get(key);
    if (toks === undefined) {
      toks = this.tokenizePiece(key);
      if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
      this.cache.set(key, toks);
    }
    return toks;
  }

  /** `BPE::tokenize` of one piece: whole-piece lookup (`ignore_merges`), initial symbols, merges. */
  protected tokenizePiece(piece: string): number[] {
    const model = this.model;
    const byteLevel = this.preTokenizer.byteLevel;
    if (this.symbols.length < piece.length * 4) {
      this.symbols = new Int32Array(piece.length * 4);
      this.bytes = new Uint8Array(piece.length * 4);
    }
    const syms = this.symbols;
    let n = 0;
    if (byteLevel) {
      const nb = utf8Encode(piece, 0, piece.length, this.bytes);
      if (this.ignoreMerges) {
        let key = '';
        for (let i = 0; i < nb; i++) key += BYTE_TO_CHAR[this.bytes[i]];
        const whole = model.vocab.get(key);
        if (whole !== undefined) return [whole];
      }
      for (let i = 0; i < nb; i++) syms[n++] = this.byteIds[this.bytes[i]];
      return model.mergeSymbols(syms, n);
    }
    if (this.ignoreMerges) {
      const whole = model.vocab.get(piece);
      if (whole !== undefined) return [whole];
    }
    const unk = model.unkId;
    let pendingUnk = false;
    for (let i = 0; i < piece.length; ) {
      const c = piece.charCodeAt(i);
      const w = c >= 0xd800 && c <= 0xdbff && i + 1 < piece.length ? 2 : 1;
      const id = model.vocab.get(w === 1 ? piece[i] : piece.slice(i, i + 2));
      if (id !== undefined) {
        syms[n++] = id;
        pendingUnk = false;
      } else if (this.byteFallback && this.fallbackFor(piece, i, i + w)) {
        const nb = utf8Encode(piece, i, i + w, this.bytes);
        for (let b = 0; b < nb; b++) syms[n++] = this.fallbackIds[this.bytes[b]];
      } else if (unk >= 0) {
        if (!(pendingUnk && model.fuseUnk)) syms[n++] = unk;
        pendingUnk = true;
      }
      i += w;
    }
    return model.mergeSymbols(syms, n);
  }

  /** Whether every UTF-8 byte of `piece[i, j)` has a `<0xNN>` token. */
  private fallbackFor(piece: string, i: number, j: number): boolean {
    const nb = utf8Encode(piece, i, j, this.bytes);
    for (let b = 0; b < nb; b++) if (this.fallbackIds[this.bytes[b]] < 0) return false;
    return true;
  }

  // ---- offsets ----

  private encodeSegmentAligned(text: string, start: number, end: number, ids: number[], offsets: number[]): void {
    let t = alignedSlice(text, start, end);
    if (this.normalizer) t = this.normalizer.applyAligned(t);
    if (this.normalizedSplitter.isEmpty) {
      this.encodeNormalizedAligned(t, start === 0, ids, offsets);
      return;
    }
    const parts: number[] = [];
    this.normalizedSplitter.split(t.text, parts);
    for (let k = 0; k < parts.length; k += 3) {
      const a = parts[k];
      const b = parts[k + 1];
      if (parts[k + 2] >= 0) {
        ids.push(parts[k + 2]);
        offsets.push(t.align[2 * a], t.align[2 * b - 1]);
      } else this.encodeNormalizedAligned({ text: t.text.slice(a, b), align: t.align.slice(2 * a, 2 * b) }, start === 0 && a === 0, ids, offsets);
    }
  }

  private encodeNormalizedAligned(t: AlignedText, first: boolean, ids: number[], offsets: number[]): void {
    const [s, added] = this.transform(t.text, first);
    if (s.length === 0) return;
    let align = t.align;
    if (added > 0) {
      const head: number[] = [];
      const firstEnd = t.align[2 * (t.text.codePointAt(0)! > 0xffff ? 2 : 1) - 1];
      for (let j = 0; j < added; j++) head.push(t.align[0], firstEnd);
      align = head.concat(t.align);
    }
    const ranges = this.piecesOf(s);
    for (let k = 0; k < ranges.length; k += 2) {
      const ps = ranges[k];
      const pe = ranges[k + 1];
      const toks = this.pieceIds(s, ps, pe);
      for (const id of toks) ids.push(id);
      this.pieceOffsets(s, ps, pe, toks, align, offsets);
    }
  }

  /** Offsets of a piece's tokens: each token's bytes mapped to the characters holding them, then to the original text. */
  protected pieceOffsets(s: string, ps: number, pe: number, toks: readonly number[], align: readonly number[], offsets: number[]): void {
    const { charStart, charEnd } = utf8ByteChars(s, ps, pe);
    const unknownRuns: number[] = [];
    const unk = this.model.unkId;
    let b = 0;
    const out: number[] = [];
    for (const id of toks) {
      let nb = this.tokenBytes[id] ?? 0;
      if (id === unk && !this.preTokenizer.byteLevel && unk >= 0) {
        // An unknown token covers one unknown character, or the whole run of them when fused.
        nb = 0;
        let i = b < charStart.length ? charStart[b] : pe;
        do {
          const c = s.charCodeAt(i);
          const units = c >= 0xd800 && c <= 0xdbff && i + 1 < pe ? 2 : 1;
          nb += utf8Length(s.slice(i, i + units));
          i += units;
        } while (this.model.fuseUnk && i < pe && this.isUnknownChar(s, i, pe));
        unknownRuns.push(nb);
      }
      if (nb <= 0 || b + nb > charStart.length) {
        out.length = 0;
        break;
      }
      out.push(charStart[b], charEnd[b + nb - 1]);
      b += nb;
    }
    if (out.length !== 2 * toks.length || b !== charStart.length) {
      for (let k = 0; k < toks.length; k++) offsets.push(align[2 * ps], align[2 * pe - 1]);
      return;
    }
    for (let k = 0; k < out.length; k += 2) offsets.push(align[2 * out[k]], align[2 * out[k + 1] - 1]);
  }

  private isUnknownChar(s: string, i: number, end: number): boolean {
    const c = s.charCodeAt(i);
    const w = c >= 0xd800 && c <= 0xdbff && i + 1 < end ? 2 : 1;
    if (this.model.vocab.has(s.slice(i, i + w))) return false;
    return !(this.byteFallback && this.fallbackFor(s, i, i + w));
  }

  // ---- decoding and saving ----

  protected decodeTokens(tokens: string[]): string {
    return runDecoder(this.decoder, tokens);
  }

  /** The token string of an id (a `normalized: true` added token's is its normalized content, as in the Rust library). */
  override idToToken(id: number): string | undefined {
    return this.normalizedText.get(id) ?? super.idToToken(id);
  }

  protected modelJSON(): ModelJSON {
    const vocab: Record<string, number> = Object.create(null) as Record<string, number>;
    for (const [tok, id] of this.model.vocab) vocab[tok] = id;
    return {
      normalizer: this.normalizer ? this.normalizer.toJSON() : null,
      pre_tokenizer: this.preTokenizer.json,
      decoder: this.decoderJSON,
      model: {
        type: 'BPE',
        dropout: null,
        unk_token: this.model.unkToken,
        continuing_subword_prefix: null,
        end_of_word_suffix: null,
        fuse_unk: this.model.fuseUnk,
        byte_fallback: this.byteFallback,
        ignore_merges: this.ignoreMerges,
        vocab,
        merges: this.model.merges.map(([a, b]) => [a, b]),
      },
    };
  }
}

