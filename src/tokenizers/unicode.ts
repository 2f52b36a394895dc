/**
 * Character classification shared by the pre-tokenizers, built once from the
 * JavaScript engine's Unicode property escapes into flat lookup tables so the
 * hot loops do one typed-array read per UTF-16 unit instead of a regex test.
 * Where the Rust library's older Unicode tables disagree with the engine's
 * (characters added after Unicode 8–15), `unicode-exceptions.ts` wins, so
 * ids match Hugging Face on every code point.
 *
 * The definitions follow Hugging Face tokenizers (Rust): `\s` in the GPT-2
 * pattern is Oniguruma's Unicode `White_Space` (U+0085 and U+00A0 are spaces,
 * U+FEFF and U+200B are not — unlike JavaScript's `\s`); BERT's whitespace is
 * `char::is_whitespace` (also `White_Space`), its control characters are the
 * Unicode "Other" categories Cc/Cf/Cs/Co/Cn minus tab/newline/carriage return,
 * its punctuation is ASCII punctuation plus the Unicode `P*` categories.
 */

/** GPT-2 pre-tokenizer classes: other (`[^\s\p{L}\p{N}]`), letter, number, whitespace. */
export const CLASS_OTHER = 0;
export const CLASS_LETTER = 1;
export const CLASS_NUMBER = 2;
export const CLASS_SPACE = 3;

import { BERT_CONTROL_EXCEPTIONS, BERT_MARK_EXCEPTIONS, BERT_PUNCT_EXCEPTIONS, GPT2_CLASS_EXCEPTIONS } from './unicode-exceptions.js';

/** Value of `cp` in a `[first, last, value]` range list, or -1 (binary search). */
function lookup(ranges: readonly (readonly [number, number, number])[], cp: number): number {
  let lo = 0;
  let hi = ranges.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const r = ranges[mid];
    if (cp < r[0]) hi = mid - 1;
    else if (cp > r[1]) lo = mid + 1;
    else return r[2];
  }
  return -1;
}

const RE_LETTER = /^\p{L}$/u;
const RE_NUMBER = /^\p{N}$/u;
const RE_SPACE = /^\p{White_Space}$/u;
const RE_OTHER_CATEGORY = /^[\p{Cc}\p{Cf}\p{Co}]$/u;
const RE_PUNCT = /^\p{P}$/u;

function classifyCodePoint(cp: number): number {
  const exception = lookup(GPT2_CLASS_EXCEPTIONS, cp);
  if (exception >= 0) return exception;
  const s = String.fromCodePoint(cp);
  if (RE_LETTER.test(s)) return CLASS_LETTER;
  if (RE_NUMBER.test(s)) return CLASS_NUMBER;
  if (RE_SPACE.test(s)) return CLASS_SPACE;
  return CLASS_OTHER;
}

let bmpClass: Uint8Array | null = null;
const astralClass = new Map<number, number>();

/** Table of GPT-2 classes for every BMP code unit (surrogates are `CLASS_OTHER`). */
export function gpt2ClassTable(): Uint8Array {
  if (bmpClass) return bmpClass;
  const t = new Uint8Array(65536);
  for (let cp = 0; cp < 65536; cp++) {
    if (cp >= 0xd800 && cp <= 0xdfff) continue;
    t[cp] = classifyCodePoint(cp);
  }
  bmpClass = t;
  return t;
}

/** GPT-2 class of a code point above U+FFFF (cached). */
export function astralGpt2Class(cp: number): number {
  let c = astralClass.get(cp);
  if (c === undefined) {
    c = classifyCodePoint(cp);
    astralClass.set(cp, c);
  }
  return c;
}

/** BERT flags: whitespace, control (removed by clean_text), punctuation, CJK ideograph. */
export const BERT_SPACE = 1;
export const BERT_CONTROL = 2;
export const BERT_PUNCT = 4;
export const BERT_CJK = 8;

/**
 * The CJK ideograph blocks that BERT pads with spaces (`is_chinese_char` in
 * tokenizers' BertNormalizer, from Google BERT's `_is_chinese_char`). Verified
 * against the tokenizers library: U+2B820–U+2B91F are not included.
 */
export function isChineseChar(cp: number): boolean {
  return (
    (cp >= 0x4e00 && cp <= 0x9fff) ||
    (cp >= 0x3400 && cp <= 0x4dbf) ||
    (cp >= 0x20000 && cp <= 0x2a6df) ||
    (cp >= 0x2a700 && cp <= 0x2b73f) ||
    (cp >= 0x2b740 && cp <= 0x2b81f) ||
    (cp >= 0x2b920 && cp <= 0x2ceaf) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0x2f800 && cp <= 0x2fa1f)
  );
}

const RE_MARK = /^\p{Mn}$/u;

/** Whether BERT's accent stripping drops this character (a non-spacing mark in the Rust library's tables). */
export function isStrippedMark(cp: number): boolean {
  const e = lookup(BERT_MARK_EXCEPTIONS, cp);
  return e >= 0 ? e === 1 : RE_MARK.test(String.fromCodePoint(cp));
}

/** BERT flags of one code point (no caching; see `bertFlagTable` for the BMP). */
export function bertFlags(cp: number): number {
  const s = String.fromCodePoint(cp);
  let f = 0;
  if (cp === 9 || cp === 10 || cp === 13 || RE_SPACE.test(s)) f |= BERT_SPACE;
  const control = lookup(BERT_CONTROL_EXCEPTIONS, cp);
  if (cp !== 9 && cp !== 10 && cp !== 13 && (control >= 0 ? control === 1 : RE_OTHER_CATEGORY.test(s))) f |= BERT_CONTROL;
  const asciiPunct = (cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96) || (cp >= 123 && cp <= 126);
  const punct = lookup(BERT_PUNCT_EXCEPTIONS, cp);
  if (asciiPunct || (punct >= 0 ? punct === 1 : RE_PUNCT.test(s))) f |= BERT_PUNCT;
  if (isChineseChar(cp)) f |= BERT_CJK;
  return f;
}

let bmpBert: Uint8Array | null = null;

/** Table of BERT flags for every BMP code unit. */
export function bertFlagTable(): Uint8Array {
  if (bmpBert) return bmpBert;
  const t = new Uint8Array(65536);
  for (let cp = 0; cp < 65536; cp++) {
    if (cp >= 0xd800 && cp <= 0xdfff) continue;
    t[cp] = bertFlags(cp);
  }
  bmpBert = t;
  return t;
}

/** Whether `text` contains any UTF-16 surrogate (so code point and UTF-16 offsets differ). */
export function hasSurrogates(text: string): boolean {
  return /[\ud800-\udfff]/.test(text);
}

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/**
 * Replaces lone surrogates with U+FFFD, as the UTF-8 conversion at the edge of
 * the Rust library does, so every tokenizer sees well-formed text.
 */
export function toWellFormed(text: string): string {
  if (!hasSurrogates(text) || !LONE_SURROGATE.test(text)) return text;
  return text.replace(new RegExp(LONE_SURROGATE.source, 'g'), '\ufffd');
}

/**
 * Converts flat UTF-16 offsets `[s0, e0, s1, e1, …]` of `text` into Unicode
 * code point offsets in place (Hugging Face reports character offsets).
 */
export function toCodePointOffsets(text: string, flat: number[]): void {
  const n = text.length;
  const map = new Int32Array(n + 1);
  let cp = 0;
  for (let i = 0; i < n; i++) {
    map[i] = cp;
    const c = text.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < n) {
      const d = text.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        map[i + 1] = cp;
        i++;
      }
    }
    cp++;
  }
  map[n] = cp;
  for (let k = 0; k < flat.length; k++) flat[k] = map[flat[k]];
}

/** Number of Unicode code points in `s`. */
export function codePointLength(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0xd800 || c > 0xdbff || i + 1 >= s.length) n++;
    else {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) i++;
      n++;
    }
  }
  return n;
}
