/**
 * BERT's basic tokenizer: Hugging Face's `BertNormalizer` (clean text, space
 * around CJK ideographs, strip accents, lower-case) fused with its
 * `BertPreTokenizer` (split on whitespace, isolate punctuation) into one
 * pass over the text. Each character is normalized on its own, exactly as
 * the Rust library does (its lowercase is per character: no final-sigma
 * rule; accents are removed by NFD then dropping `Mn` marks), and words keep
 * the alignment of every normalized unit to the original characters so token
 * offsets point into the input text.
 */
import { BERT_CJK, BERT_CONTROL, BERT_PUNCT, BERT_SPACE, bertFlagTable, bertFlags } from './unicode.js';

/** Options of `BertNormalizer` in a `tokenizer.json`. */
export interface BertNormalizerOptions {
  /** Remove control characters, U+0000 and U+FFFD; map whitespace to spaces. */
  cleanText: boolean;
  /** Put spaces around CJK ideographs so each is its own word. */
  handleChineseChars: boolean;
  /** Strip accents (NFD, then drop `Mn`); `null` follows `lowercase`, as in BERT. */
  stripAccents: boolean | null;
  /** Lower-case every character. */
  lowercase: boolean;
}

/** Receives each word: the normalized text and the alignment of its UTF-16 units to the input. */
export interface WordSink {
  /**
   * @param word normalized word
   * @param base when `alignStart` is null, unit k of `word` is input unit `base + k`
   * @param alignStart input start of each unit of `word` (null: identity from `base`)
   * @param alignEnd input end of each unit of `word`
   */
  word(word: string, base: number, alignStart: number[] | null, alignEnd: number[] | null): void;
}

const K_WORD = 0; // normalizes to itself
const K_LOWER = 1; // ASCII upper-case letter, lower-cased
const K_MAPPED = 2; // normalizes to other word characters
const K_REMOVED = 3;
const K_SPACE = 4;
const K_ISOLATED = 5; // punctuation or CJK: a word of its own
const K_COMPLEX = 6; // normalizes to several characters, some of them space or punctuation

const MARK = /\p{Mn}/gu;

/** The fused BERT normalizer + pre-tokenizer. */
export class BertPreTokenizer {
  readonly options: BertNormalizerOptions;
  private readonly strip: boolean;
  private readonly kinds = new Uint8Array(65536).fill(255);
  private readonly normalized = new Map<number, string>();
  private readonly astralKinds = new Map<number, number>();

  constructor(options: BertNormalizerOptions) {
    this.options = options;
    this.strip = options.stripAccents ?? options.lowercase;
  }

  /** Normalized form of one code point ('' when removed). */
  normalizeChar(cp: number): string {
    const flags = bertFlags(cp);
    if (this.options.cleanText && (cp === 0 || cp === 0xfffd || flags & BERT_CONTROL)) return '';
    let s = String.fromCodePoint(cp);
    if (this.strip) s = s.normalize('NFD').replace(MARK, '');
    if (this.options.lowercase) {
      let out = '';
      for (const ch of s) out += ch.toLowerCase();
      s = out;
    }
    return s;
  }

  private classify(cp: number): number {
    const flags = cp < 65536 ? bertFlagTable()[cp] : bertFlags(cp);
    const o = this.options;
    if (o.cleanText && (cp === 0 || cp === 0xfffd || flags & BERT_CONTROL)) return K_REMOVED;
    if (flags & BERT_SPACE) return K_SPACE;
    const norm = this.normalizeChar(cp);
    const orig = String.fromCodePoint(cp);
    if (norm !== orig) this.normalized.set(cp, norm);
    if (o.handleChineseChars && flags & BERT_CJK) return norm === '' ? K_REMOVED : K_ISOLATED;
    if (norm === '') return K_REMOVED;
    const chars = [...norm];
    if (chars.length === 1) {
      const f = bertFlags(chars[0].codePointAt(0) as number);
      if (f & BERT_SPACE) return K_SPACE;
      if (f & BERT_PUNCT) return K_ISOLATED;
      if (norm === orig) return K_WORD;
      if (cp >= 65 && cp <= 90 && o.lowercase) return K_LOWER;
      return K_MAPPED;
    }
    for (const ch of chars) if (bertFlags(ch.codePointAt(0) as number) & (BERT_SPACE | BERT_PUNCT)) return K_COMPLEX;
    return K_MAPPED;
  }

  private kindOf(cp: number): number {
    if (cp < 65536) {
      let k = this.kinds[cp];
      if (k === 255) {
        k = this.classify(cp);
        this.kinds[cp] = k;
      }
      return k;
    }
    let k = this.astralKinds.get(cp);
    if (k === undefined) {
      k = this.classify(cp);
      this.astralKinds.set(cp, k);
    }
    return k;
  }

  /**
   * Splits `text[start, end)` into normalized words, calling `sink.word` for
   * each in order. With `align` false the alignment arrays are not built
   * (`base` is then meaningless for changed words) — for id-only encoding.
   */
  split(text: string, start: number, end: number, sink: WordSink, align: boolean): void {
    let mode = 0; // 0: no word, 1: word is text[ws, we) (lower-cased if needLower), 2: word built in `built`
    let ws = 0;
    let we = 0;
    let needLower = false;
    let gap = false;
    let built = '';
    let alS: number[] = [];
    let alE: number[] = [];

    const materialize = (): void => {
      built = text.slice(ws, we);
      if (needLower) built = built.toLowerCase();
      if (align) {
        alS = [];
        alE = [];
        for (let k = ws; k < we; k++) {
          alS.push(k);
          alE.push(k + 1);
        }
      }
      mode = 2;
    };
    const flush = (): void => {
      if (mode === 1) {
        let w = text.slice(ws, we);
        if (needLower) w = w.toLowerCase();
        sink.word(w, ws, null, null);
      } else if (mode === 2) {
        sink.word(built, ws, align ? alS : null, align ? alE : null);
      }
      mode = 0;
      needLower = false;
      gap = false;
    };
    const append = (s: string, i: number, e: number): void => {
      if (mode === 0) {
        mode = 2;
        built = '';
        ws = i;
        if (align) {
          alS = [];
          alE = [];
        }
      } else if (mode === 1) materialize();
      built += s;
      if (align) {
        for (let k = 0; k < s.length; k++) {
          alS.push(i);
          alE.push(e);
        }
      }
    };

    for (let i = start; i < end; ) {
      let cp = text.charCodeAt(i);
      let u = 1;
      if (cp >= 0xd800 && cp <= 0xdbff && i + 1 < end) {
        cp = ((cp - 0xd800) << 10) + (text.charCodeAt(i + 1) - 0xdc00) + 0x10000;
        u = 2;
      }
      const kind = this.kindOf(cp);
      switch (kind) {
        case K_WORD:
        case K_LOWER:
          if (mode === 0) {
            mode = 1;
            ws = i;
            we = i + u;
            needLower = kind === K_LOWER;
          } else if (mode === 1 && !gap) {
            we = i + u;
            if (kind === K_LOWER) needLower = true;
          } else {
            if (mode === 1) materialize();
            const s = kind === K_LOWER ? String.fromCharCode(cp + 32) : u === 1 ? text[i] : text.slice(i, i + 2);
            append(s, i, i + u);
          }
          break;
        case K_MAPPED:
          if (mode === 1) materialize();
          append(this.normalized.get(cp) as string, i, i + u);
          break;
        case K_REMOVED:
          if (mode === 1) gap = true;
          break;
        case K_SPACE:
          flush();
          break;
        case K_ISOLATED: {
          flush();
          const s = this.normalized.get(cp) ?? (u === 1 ? text[i] : text.slice(i, i + 2));
          if (s.length === u) sink.word(s, i, null, null);
          else {
            const a: number[] = [];
            const b: number[] = [];
            for (let k = 0; k < s.length; k++) {
              a.push(i);
              b.push(i + u);
            }
            sink.word(s, i, a, b);
          }
          break;
        }
        default: {
          // K_COMPLEX: classify each normalized character.
          for (const ch of this.normalized.get(cp) as string) {
            const f = bertFlags(ch.codePointAt(0) as number);
            if (f & BERT_SPACE) flush();
            else if (f & BERT_PUNCT) {
              flush();
              const a: number[] = [];
              const b: number[] = [];
              for (let k = 0; k < ch.length; k++) {
                a.push(i);
                b.push(i + u);
              }
              sink.word(ch, i, a, b);
            } else append(ch, i, i + u);
          }
        }
      }
      i += u;
    }
    flush();
  }
}
