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
import { BERT_LOWERCASE_OVERRIDES, BERT_STRIP_OVERRIDES } from './unicode-exceptions.js';
import { BERT_CJK, BERT_CONTROL, BERT_PUNCT, BERT_SPACE, bertFlagTable, bertFlags, isStrippedMark } from './unicode.js';

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
    if (this.strip) {
      const override = BERT_STRIP_OVERRIDES.get(cp);
      if (override !== undefined) s = override;
      else {
        let kept = '';
        for (const ch of s.normalize('NFD')) if (!isStrippedMark(ch.codePointAt(0) as number)) kept += ch;
        s = kept;
      }
    }
    if (this.options.lowercase) {
      let out = '';
      for (const ch of s) out += BERT_LOWERCASE_OVERRIDES.get(ch.codePointAt(0) as number) ?? ch.toLowerCase();
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

  // Word-building state of the current `split` call (fields, not closures: this is the hot loop).
  private text = '';
  private sink: WordSink | null = null;
  private align = false;
  /** 0: no word; 1: the word is text[ws, we) (lower-cased if needLower); 2: the word is `built`. */
  private mode = 0;
  private ws = 0;
  private we = 0;
  private needLower = false;
  private gap = false;
  private built = '';
  private alS: number[] = [];
  private alE: number[] = [];

  /**
   * Splits `text[start, end)` into normalized words, calling `sink.word` for
   * each in order. With `align` false the alignment arrays are not built
   * (`base` is then meaningless for changed words) — for id-only encoding.
   */
  split(text: string, start: number, end: number, sink: WordSink, align: boolean): void {
    this.text = text;
    this.sink = sink;
    this.align = align;
    this.mode = 0;
    this.needLower = false;
    this.gap = false;
    const kinds = this.kinds;
    for (let i = start; i < end; ) {
      let cp = text.charCodeAt(i);
      let u = 1;
      let kind: number;
      if (cp >= 0xd800 && cp <= 0xdbff && i + 1 < end) {
        cp = ((cp - 0xd800) << 10) + (text.charCodeAt(i + 1) - 0xdc00) + 0x10000;
        u = 2;
        kind = this.kindOf(cp);
      } else {
        kind = kinds[cp];
        if (kind === 255) kind = this.kindOf(cp);
      }
      if (kind <= K_LOWER) {
        if (this.mode === 0) {
          this.mode = 1;
          this.ws = i;
          this.we = i + u;
          this.needLower = kind === K_LOWER;
        } else if (this.mode === 1 && !this.gap) {
          this.we = i + u;
          if (kind === K_LOWER) this.needLower = true;
        } else {
          const ch = kind === K_LOWER ? String.fromCharCode(cp + 32) : u === 1 ? text[i] : text.slice(i, i + 2);
          this.append(ch, i, i + u);
        }
      } else if (kind === K_SPACE) {
        this.flush();
      } else if (kind === K_ISOLATED) {
        this.flush();
        const w = this.normalized.get(cp) ?? (u === 1 ? text[i] : text.slice(i, i + 2));
        if (w.length === u) sink.word(w, i, null, null);
        else this.emitAligned(w, i, i + u);
      } else if (kind === K_REMOVED) {
        if (this.mode === 1) this.gap = true;
      } else if (kind === K_MAPPED) {
        this.append(this.normalized.get(cp) as string, i, i + u);
      } else {
        // K_COMPLEX: classify each normalized character.
        for (const ch of this.normalized.get(cp) as string) {
          const f = bertFlags(ch.codePointAt(0) as number);
          if (f & BERT_SPACE) this.flush();
          else if (f & BERT_PUNCT) {
            this.flush();
            this.emitAligned(ch, i, i + u);
          } else this.append(ch, i, i + u);
        }
      }
      i += u;
    }
    this.flush();
    this.sink = null;
    this.text = '';
  }

  /** A word whose every unit comes from input `[s, e)`. */
  private emitAligned(w: string, s: number, e: number): void {
    const a: number[] = [];
    const b: number[] = [];
    for (let k = 0; k < w.length; k++) {
      a.push(s);
      b.push(e);
    }
    (this.sink as WordSink).word(w, s, a, b);
  }

  /** Turns a slice-mode word into a built word (a removed or changed character follows). */
  private materialize(): void {
    let w = this.text.slice(this.ws, this.we);
    if (this.needLower) w = w.toLowerCase();
    this.built = w;
    if (this.align) {
      const a: number[] = [];
      const b: number[] = [];
      for (let k = this.ws; k < this.we; k++) {
        a.push(k);
        b.push(k + 1);
      }
      this.alS = a;
      this.alE = b;
    }
    this.mode = 2;
  }

  /** Appends normalized text `s` coming from input `[i, e)` to the current word. */
  private append(s: string, i: number, e: number): void {
    if (this.mode === 0) {
      this.mode = 2;
      this.built = '';
      this.ws = i;
      if (this.align) {
        this.alS = [];
        this.alE = [];
      }
    } else if (this.mode === 1) this.materialize();
    this.built += s;
    if (this.align) {
      for (let k = 0; k < s.length; k++) {
        this.alS.push(i);
        this.alE.push(e);
      }
    }
  }

  private flush(): void {
    const sink = this.sink as WordSink;
    if (this.mode === 1) {
      let w = this.text.slice(this.ws, this.we);
      if (this.needLower) w = w.toLowerCase();
      sink.word(w, this.ws, null, null);
    } else if (this.mode === 2) {
      sink.word(this.built, this.ws, this.align ? this.alS : null, this.align ? this.alE : null);
    }
    this.mode = 0;
    this.needLower = false;
    this.gap = false;
  }
}
