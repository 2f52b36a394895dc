import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import { FileFormatError } from '../errors.js';
import { parseJson } from '../io/json.js';

/** Receives the one-line warnings of the readers (invalid UTF-8 and the like). */
export type WarningSink = (message: string) => void;

/** Default sink: one line on stderr, prefixed `muse: warning:`. */
export const warnOnStderr: WarningSink = (message) => {
  process.stderr.write(`muse: warning: ${message}\n`);
};

/**
 * Count the invalid UTF-8 sequences in `bytes` the way the WHATWG decoder
 * replaces them (one U+FFFD per maximal invalid subpart), and where the
 * first one starts. Only run when strict decoding has already failed.
 */
function invalidUtf8(bytes: Uint8Array): { count: number; first: number } {
  let count = 0;
  let first = -1;
  const mark = (at: number): void => {
    count++;
    if (first < 0) first = at;
  };
  let i = 0;
  const n = bytes.length;
  while (i < n) {
    const b = bytes[i];
    if (b < 0x80) {
      i++;
      continue;
    }
    let need: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (b >= 0xc2 && b <= 0xdf) need = 1;
    else if (b >= 0xe0 && b <= 0xef) {
      need = 2;
      if (b === 0xe0) lo = 0xa0;
      if (b === 0xed) hi = 0x9f;
    } else if (b >= 0xf0 && b <= 0xf4) {
      need = 3;
      if (b === 0xf0) lo = 0x90;
      if (b === 0xf4) hi = 0x8f;
    } else {
      mark(i);
      i++;
      continue;
    }
    let j = 1;
    for (; j <= need; j++) {
      const c = bytes[i + j];
      if (c === undefined || c < lo || c > hi) break;
      lo = 0x80;
      hi = 0xbf;
    }
    if (j > need) {
      i += need + 1;
    } else {
      mark(i);
      i += j; // the maximal subpart is replaced by one U+FFFD; resume at the offending byte
    }
  }
  return { count, first };
}

/**
 * Read a UTF-8 text file. Invalid byte sequences become U+FFFD (as Python's
 * `errors="replace"` and HF `datasets` text loading do) and one warning line
 * counts them; a leading BOM is dropped.
 *
 * @param path the file
 * @param onWarning where the invalid-UTF-8 warning goes (default: stderr)
 * @throws FileFormatError when the file is missing or unreadable
 */
export function readTextFile(path: string, onWarning: WarningSink = warnOnStderr): string {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    throw fileError(path, err);
  }
  return decodeUtf8(bytes, path, onWarning);
}

/**
 * The first `maxLines` lines of a UTF-8 text file (each with its newline),
 * reading only as much of the file as they need — `--max-documents 100` on a
 * multi-gigabyte corpus stays instant. Decoding as {@link readTextFile}.
 *
 * @returns the text and whether it reaches the end of the file
 * @throws FileFormatError when the file is missing or unreadable
 */
export function readTextPrefix(
  path: string,
  maxLines: number,
  onWarning: WarningSink = warnOnStderr,
): { text: string; complete: boolean } {
  if (!Number.isFinite(maxLines)) return { text: readTextFile(path, onWarning), complete: true };
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    throw fileError(path, err);
  }
  const chunks: Buffer[] = [];
  let lines = 0;
  let cut = -1;
  let eof = false;
  try {
    let total = 0;
    while (cut < 0) {
      const chunk = Buffer.allocUnsafe(1 << 20);
      const n = readSync(fd, chunk, 0, chunk.length, null);
      if (n === 0) {
        eof = true;
        break;
      }
      for (let i = 0; i < n; i++) {
        if (chunk[i] === 0x0a && ++lines === maxLines) {
          cut = total + i + 1;
          break;
        }
      }
      chunks.push(chunk.subarray(0, n));
      total += n;
    }
  } catch (err) {
    throw fileError(path, err);
  } finally {
    closeSync(fd);
  }
  const all = Buffer.concat(chunks);
  // a newline byte never occurs inside a multi-byte UTF-8 sequence, so cutting after one is safe
  const bytes = cut >= 0 ? all.subarray(0, cut) : all;
  return { text: decodeUtf8(bytes, path, onWarning), complete: eof || (cut === all.length && eofAfter(path, cut)) };
}

function eofAfter(path: string, offset: number): boolean {
  try {
    const fd = openSync(path, 'r');
    try {
      return readSync(fd, Buffer.alloc(1), 0, 1, offset) === 0;
    } finally {
      closeSync(fd);
    }
  } catch {
    return true;
  }
}

function fileError(path: string, err: unknown): FileFormatError {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return new FileFormatError(`${path}: file not found`);
  if (code === 'EISDIR') return new FileFormatError(`${path}: is a directory, expected a text file`);
  return new FileFormatError(`${path}: cannot read (${(err as Error).message})`);
}

function decodeUtf8(bytes: Uint8Array, path: string, onWarning: WarningSink): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    const { count, first } = invalidUtf8(bytes);
    onWarning(`${path}: ${count} invalid UTF-8 sequence${count === 1 ? '' : 's'} replaced with U+FFFD (first at byte ${first}); re-save the file as UTF-8 to silence this`);
    return new TextDecoder('utf-8').decode(bytes);
  }
}

/**
 * The records of a JSON Lines text: one JSON value per non-blank line.
 *
 * @param text the whole file
 * @param source the file name for messages
 * @param maxRecords stop after this many records (the rest is not parsed)
 * @param firstLine the line number of the text's first line (when it is a piece of a larger file)
 * @returns each record with its 1-based line number
 * @throws FileFormatError "FILE line N: invalid JSON at column C …" for a bad line
 */
export function parseJsonLines(text: string, source: string, maxRecords = Infinity, firstLine = 1): { line: number; value: unknown }[] {
  const out: { line: number; value: unknown }[] = [];
  let start = 0;
  let line = firstLine - 1;
  while (start < text.length && out.length < maxRecords) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    line++;
    const raw = text.slice(start, end).replace(/\r$/, '');
    start = end + 1;
    if (raw.trim() === '') continue;
    let value: unknown;
    try {
      value = parseJson(raw, 'x');
    } catch (err) {
      const detail = (err as Error).message.replace(/^x: invalid JSON at line 1, /, 'invalid JSON at ');
      throw new FileFormatError(`${source} line ${line}: ${detail}`);
    }
    out.push({ line, value });
  }
  return out;
}
