/**
 * GPT-2's byte-level scheme: every byte maps to a printable Unicode character
 * (`bytes_to_unicode` in OpenAI's `encoder.py`), so a BPE over those characters
 * can represent any UTF-8 text without an unknown token; and the GPT-2
 * pre-tokenization pattern
 * `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`
 * implemented here as a hand-written scanner (one table read per character)
 * with exactly the regex's leftmost-alternative semantics.
 */
import { CLASS_LETTER, CLASS_NUMBER, CLASS_OTHER, CLASS_SPACE, astralGpt2Class, gpt2ClassTable } from './unicode.js';

function buildByteTables(): { byteToChar: string[]; charToByte: Int16Array } {
  const printable: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) printable.push(b);
  for (let b = 0xa1; b <= 0xac; b++) printable.push(b);
  for (let b = 0xae; b <= 0xff; b++) printable.push(b);
  const keep = new Set(printable);
  const byteToChar = new Array<string>(256);
  let extra = 0;
  for (let b = 0; b < 256; b++) {
    const cp = keep.has(b) ? b : 256 + extra++;
    byteToChar[b] = String.fromCharCode(cp);
  }
  const charToByte = new Int16Array(324).fill(-1);
  for (let b = 0; b < 256; b++) charToByte[byteToChar[b].charCodeAt(0)] = b;
  return { byteToChar, charToByte };
}

const tables = buildByteTables();

/** `BYTE_TO_CHAR[b]` is the one-character string GPT-2 uses for byte `b`. */
export const BYTE_TO_CHAR: readonly string[] = tables.byteToChar;

/** Inverse of `BYTE_TO_CHAR` indexed by UTF-16 code unit (< 324); -1 where none. */
export const CHAR_TO_BYTE: Int16Array = tables.charToByte;

/** The 256 byte characters sorted by code point (the initial alphabet of byte-level BPE training). */
export function byteLevelAlphabet(): string[] {
  return [...BYTE_TO_CHAR].sort((a, b) => a.charCodeAt(0) - b.charCodeAt(0));
}

/** Byte value of a byte-level character, or -1 if `ch` is not one. */
export function charToByte(code: number): number {
  return code < 324 ? CHAR_TO_BYTE[code] : -1;
}

/**
 * Writes the UTF-8 encoding of `text[start, end)` into `out` (grown by the
 * caller to at least `3 * (end - start)` bytes) and returns the byte count.
 * Input must be well-formed (lone surrogates already replaced).
 */
export function utf8Encode(text: string, start: number, end: number, out: Uint8Array): number {
  let n = 0;
  for (let i = start; i < end; i++) {
    let c = text.charCodeAt(i);
    if (c < 0x80) out[n++] = c;
    else if (c < 0x800) {
      out[n++] = 0xc0 | (c >> 6);
      out[n++] = 0x80 | (c & 63);
    } else if (c >= 0xd800 && c <= 0xdbff && i + 1 < end) {
      c = 0x10000 + ((c - 0xd800) << 10) + (text.charCodeAt(++i) - 0xdc00);
      out[n++] = 0xf0 | (c >> 18);
      out[n++] = 0x80 | ((c >> 12) & 63);
      out[n++] = 0x80 | ((c >> 6) & 63);
      out[n++] = 0x80 | (c & 63);
    } else {
      out[n++] = 0xe0 | (c >> 12);
      out[n++] = 0x80 | ((c >> 6) & 63);
      out[n++] = 0x80 | (c & 63);
    }
  }
  return n;
}

/** UTF-8 byte length of a string. */
export function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

/** Maps a byte-level string (e.g. `Ġworld`) back to its bytes; characters outside the table give their own UTF-8. */
export function byteLevelToBytes(tokens: readonly string[]): Uint8Array {
  let total = 0;
  for (const t of tokens) total += t.length * 4;
  const out = new Uint8Array(total);
  let n = 0;
  for (const t of tokens) {
    let all = true;
    for (let i = 0; i < t.length; i++) {
      if (charToByte(t.charCodeAt(i)) < 0) {
        all = false;
        break;
      }
    }
    if (all) for (let i = 0; i < t.length; i++) out[n++] = CHAR_TO_BYTE[t.charCodeAt(i)];
    else n += utf8Encode(t, 0, t.length, out.subarray(n));
  }
  return out.subarray(0, n);
}

/**
 * Splits `text[start, end)` with the GPT-2 pattern and appends each piece's
 * UTF-16 range as two numbers `(s, e)` to `out`. Equivalent to running
 * `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`
 * (with Unicode `White_Space` for `\s`) over the text with `matchAll`.
 */
export function gpt2Split(text: string, start: number, end: number, out: number[]): void {
  const table = gpt2ClassTable();
  let i = start;
  while (i < end) {
    const c = text.charCodeAt(i);
    if (c === 39 && i + 1 < end) {
      const c1 = text.charCodeAt(i + 1);
      if (c1 === 115 || c1 === 116 || c1 === 109 || c1 === 100) {
        out.push(i, i + 2);
        i += 2;
        continue;
      }
      if (i + 2 < end) {
        const c2 = text.charCodeAt(i + 2);
        if ((c2 === 101 && (c1 === 114 || c1 === 118)) || (c1 === 108 && c2 === 108)) {
          out.push(i, i + 3);
          i += 3;
          continue;
        }
      }
    }
    const p = c === 32 && i + 1 < end ? i + 1 : i;
    let k: number;
    let q = p;
    const cp = text.charCodeAt(p);
    if (cp >= 0xd800 && cp <= 0xdbff && p + 1 < end) {
      k = astralGpt2Class(((cp - 0xd800) << 10) + (text.charCodeAt(p + 1) - 0xdc00) + 0x10000);
      q = p + 2;
    } else {
      k = table[cp];
      q = p + 1;
    }
    if (k !== CLASS_SPACE) {
      // ` ?\p{L}+`, ` ?\p{N}+` or ` ?[^\s\p{L}\p{N}]+`: extend the run of class k.
      while (q < end) {
        const d = text.charCodeAt(q);
        if (d >= 0xd800 && d <= 0xdbff && q + 1 < end) {
          if (astralGpt2Class(((d - 0xd800) << 10) + (text.charCodeAt(q + 1) - 0xdc00) + 0x10000) !== k) break;
          q += 2;
        } else {
          if (table[d] !== k) break;
          q++;
        }
      }
      out.push(i, q);
      i = q;
      continue;
    }
    // Whitespace run starting at i (every White_Space character is in the BMP).
    q = i + 1;
    while (q < end && table[text.charCodeAt(q)] === CLASS_SPACE) q++;
    if (q === end || q - 1 === i) {
      // `\s+(?!\S)` reaching the end, or a single space before a non-space (`\s+`).
      out.push(i, q);
      i = q;
    } else {
      // `\s+(?!\S)` backtracks one character so the last space can prefix the next word.
      out.push(i, q - 1);
      i = q - 1;
    }
  }
}

export { CLASS_LETTER, CLASS_NUMBER, CLASS_OTHER, CLASS_SPACE };

/**
 * Map each UTF-8 byte of `text[start, end)` to the UTF-16 range of the
 * character holding it (a lone surrogate counts as 3 bytes, as U+FFFD would).
 * @returns `charStart[k]`, `charEnd[k]`: UTF-16 start/end of the character holding byte `k` of the slice
 */
export function utf8ByteChars(text: string, start: number, end: number): { charStart: number[]; charEnd: number[] } {
  const charStart: number[] = [];
  const charEnd: number[] = [];
  for (let i = start; i < end; ) {
    const c = text.charCodeAt(i);
    const units = c >= 0xd800 && c <= 0xdbff && i + 1 < end ? 2 : 1;
    const nb = c < 0x80 ? 1 : c < 0x800 ? 2 : units === 2 ? 4 : 3;
    for (let b = 0; b < nb; b++) {
      charStart.push(i);
      charEnd.push(i + units);
    }
    i += units;
  }
  return { charStart, charEnd };
}
