/**
 * Encoding a corpus of any size into a typed array, without ever holding its
 * tokens in a plain JavaScript array (a 200 MB line used to abort V8 with
 * "invalid size error") and, for large `.txt` files, without ever holding
 * the file as one string (V8 strings stop at 2²⁹ − 24 characters).
 *
 * The text is encoded in chunks of about a million characters, cut only
 * where the tokenizer's pre-tokenization would cut anyway, so the ids equal
 * encoding the whole text at once: after a lone newline between two
 * non-space characters, or before a single space between two non-space
 * characters (GPT-2's pre-tokenizer starts a new piece there: `"a b"` →
 * `"a"`, `" b"`). A character-level tokenizer may also be cut elsewhere
 * when there is no such place (never inside a surrogate pair or a
 * `<…>` special token). For other tokenizers, a run longer than the chunk
 * with no such place is encoded whole.
 */
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { FileFormatError } from '../errors.js';

/** A growable token id array: `Uint16Array` when every id fits in 16 bits (half the memory), else `Int32Array`. */
export type TokenIds = Int32Array | Uint16Array;

/** Appends ids into a typed array that doubles when full. */
export class TokenBuffer {
  private data: TokenIds;
  /** Ids written so far. */
  length = 0;

  /**
   * @param vocabSize ids are below this; ≤ 65 536 stores them as `Uint16Array`
   * @param initial first capacity (grows by doubling)
   */
  constructor(readonly vocabSize: number, initial = 1 << 16) {
    this.data = vocabSize <= 65_536 ? new Uint16Array(initial) : new Int32Array(initial);
  }

  private reserve(n: number): void {
    if (this.length + n <= this.data.length) return;
    let cap = Math.max(16, this.data.length);
    while (cap < this.length + n) cap *= 2;
    const next = this.data instanceof Uint16Array ? new Uint16Array(cap) : new Int32Array(cap);
    next.set(this.data.subarray(0, this.length));
    this.data = next;
  }

  /** Append `ids`. */
  push(ids: ArrayLike<number>): void {
    this.reserve(ids.length);
    this.data.set(ids, this.length);
    this.length += ids.length;
  }

  /**
   * The ids written: a view when they fill at least 90% of the buffer (no
   * second copy of a corpus-sized array), else a trimmed copy.
   */
  toArray(): TokenIds {
    return this.length >= 0.9 * this.data.length ? this.data.subarray(0, this.length) : this.data.slice(0, this.length);
  }
}

/** What the encoder needs of a tokenizer. */
export interface IdEncoder {
  encodeIds(text: string, opts: { addSpecialTokens: false }): number[];
}

const isSpace = (c: number): boolean => c === 0x20 || c === 0x0a || c === 0x09 || c === 0x0d || c === 0x0b || c === 0x0c || c === 0x3000 || c === 0xa0;

/**
 * Where to cut `text` near `target` so that encoding the two halves equals
 * encoding the whole (see the module comment), searching back to `target / 2`
 * and then forward; -1 when there is no such place.
 * @param anywhere the tokenizer is character-level: any place but inside a surrogate pair
 */
export function safeCut(text: string, target: number, anywhere: boolean): number {
  if (target >= text.length) return -1;
  const ok = (i: number): boolean => {
    const prev = text.charCodeAt(i - 1);
    const next = text.charCodeAt(i);
    // a lone newline between two non-space characters (a longer run of whitespace at a chunk's end is one piece, not several)
    if (prev === 0x0a && !isSpace(next) && i >= 2 && !isSpace(text.charCodeAt(i - 2))) return true;
    // before " x" where the space follows a non-space
    return next === 0x20 && !isSpace(prev) && i + 1 < text.length && !isSpace(text.charCodeAt(i + 1));
  };
  const lo = Math.max(1, Math.floor(target / 2));
  for (let i = target; i >= lo; i--) if (ok(i)) return i;
  if (anywhere) {
    // Character-level: any place, but not inside a surrogate pair or a special token such as <|endoftext|>.
    let i = target;
    const open = text.lastIndexOf('<', i - 1);
    if (open >= 0 && open > i - 32) {
      const close = text.indexOf('>', open);
      if (close < 0 || close >= i) {
        // i may be inside <…>: cut before it, or after it when it starts the text
        if (open > 0) i = open;
        else if (close >= 0 && close + 1 < text.length) i = close + 1;
        else return -1;
      }
    }
    const c = text.charCodeAt(i);
    return c >= 0xdc00 && c <= 0xdfff ? i + 1 : i;
  }
  for (let i = target + 1; i < text.length; i++) if (ok(i)) return i;
  return -1;
}

/** Options of {@link encodeTextStream}. */
export interface EncodeStreamOptions {
  /** Characters per encode call, about (default 2²⁰). */
  chunkChars?: number;
  /** The tokenizer is character-level: chunks may be cut anywhere. */
  charLevel?: boolean;
}

/**
 * Encode the concatenation of `pieces` into `out`, a chunk at a time: the
 * ids equal `tok.encodeIds(pieces.join(''))` while memory holds one chunk of
 * text and its ids (plus `out`).
 */
export function encodeTextStream(tok: IdEncoder, pieces: Iterable<string>, out: TokenBuffer, opts: EncodeStreamOptions = {}): void {
  const chunk = opts.chunkChars ?? 1 << 20;
  const anywhere = opts.charLevel === true;
  let carry = '';
  const drain = (final: boolean): void => {
    while (carry.length >= (final ? 1 : 2 * chunk)) {
      const cut = carry.length <= chunk && final ? carry.length : safeCut(carry, chunk, anywhere);
      if (cut < 0) {
        if (!final) return; // no place to cut yet: wait for more text
        out.push(tok.encodeIds(carry, { addSpecialTokens: false }));
        carry = '';
        return;
      }
      out.push(tok.encodeIds(carry.slice(0, cut), { addSpecialTokens: false }));
      carry = carry.slice(cut);
    }
  };
  for (const piece of pieces) {
    carry += piece;
    drain(false);
  }
  drain(true);
}

/**
 * The text of a UTF-8 file in pieces of about `chunkBytes`, each cut after a
 * newline byte (never inside a character), decoded with invalid sequences
 * replaced by U+FFFD; a leading BOM is dropped. The file is never held
 * whole: a 1 GB corpus streams through in 64 MiB pieces.
 * @param onInvalid receives the count of invalid sequences of each piece
 * @throws FileFormatError when the file cannot be read
 */
export function* readTextChunks(path: string, chunkBytes = 64 << 20, onInvalid?: (count: number) => void): Generator<string> {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    throw new FileFormatError(`${path}: cannot read (${(err as Error).message})`);
  }
  try {
    // One read buffer for the whole file (the unfinished last line of a piece moves to its start),
    // so reading a large corpus makes no garbage beyond the decoded strings.
    let buf = Buffer.allocUnsafe(chunkBytes);
    let pending = 0;
    let first = true;
    const decoder = new TextDecoder('utf-8');
    for (;;) {
      if (buf.length - pending < chunkBytes / 2) {
        const bigger = Buffer.allocUnsafe(pending + chunkBytes);
        buf.copy(bigger, 0, 0, pending);
        buf = bigger;
      }
      const n = readSync(fd, buf, pending, buf.length - pending, null);
      const data = buf.subarray(0, pending + n);
      let end = n === 0 ? data.length : data.lastIndexOf(0x0a) + 1;
      if (end === 0) end = data.length > 4 * chunkBytes ? data.length : 0; // a line longer than the chunk: keep reading (cut at 4×)
      if (end > 0) {
        let bytes = data.subarray(0, end);
        if (first && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) bytes = bytes.subarray(3);
        first = false;
        const text = decoder.decode(bytes, { stream: n !== 0 });
        if (onInvalid) {
          let bad = 0;
          for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 0xfffd) bad++;
          if (bad) onInvalid(bad);
        }
        if (text) yield text.replace(/\r\n/g, '\n');
      }
      buf.copyWithin(0, end, data.length);
      pending = data.length - end;
      if (n === 0) break;
    }
  } finally {
    closeSync(fd);
  }
}

/** Files at least this large are read in pieces by the corpus readers (V8's string limit is about 512 Mi characters). */
export const LARGE_TEXT_FILE_BYTES = 256 << 20;

/** Size of a file in bytes (0 when it cannot be read: the reader reports the error). */
export function fileBytes(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}
