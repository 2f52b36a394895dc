import { extname } from 'node:path';
import { ConfigError, FileFormatError } from '../errors.js';
import { toSimplified, toTraditional } from './script.js';
import { parseJsonLines, readTextFile, readTextPrefix, warnOnStderr, type WarningSink } from './text-file.js';
import { fileBytes, LARGE_TEXT_FILE_BYTES, readTextChunks } from './token-stream.js';

export { toSimplified, toTraditional, type TraditionalVariant } from './script.js';

/**
 * Splits a `.txt` corpus on blank lines (one or more lines that are empty or
 * whitespace only): `readCorpus(path, { separator: BLANK_LINE })`.
 */
export const BLANK_LINE = /\n(?:[ \t]*\n)+/;

/** Options of {@link readCorpus}. */
export interface ReadCorpusOptions {
  /**
   * JSON Lines: the field(s) holding the text (default `"text"`). Several
   * fields are joined with {@link ReadCorpusOptions.join}; a field holding an
   * array of strings is joined with newlines.
   */
  field?: string | string[];
  /** JSON Lines: what goes between several fields (default `"\n"`). */
  join?: string;
  /**
   * `.txt`: what separates documents — a literal string (e.g.
   * `"<|endoftext|>"`) or a RegExp such as {@link BLANK_LINE}. Default: the
   * whole file is one document (nanoGPT's `input.txt`).
   */
  separator?: string | RegExp;
  /** Chinese script normalisation of every document (OpenCC): default `'keep'`. */
  script?: 'simplified' | 'traditional' | 'keep';
  /** Stop after this many documents (later lines are not parsed). */
  maxDocuments?: number;
  /** Where one-line warnings go (invalid UTF-8); default stderr. */
  onWarning?: WarningSink;
  /**
   * Files at least this large are read in newline-aligned pieces of `pieceBytes`
   * instead of as one string (default 256 MiB; V8 strings end near 512 Mi characters).
   */
  streamAboveBytes?: number;
  /** Size of those pieces (default 64 MiB). */
  pieceBytes?: number;
}

function fieldText(value: unknown, field: string, source: string, line: number): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return value.join('\n');
  throw new FileFormatError(
    `${source} line ${line}: field "${field}" is ${value === null ? 'null' : Array.isArray(value) ? 'an array with non-string items' : `a ${typeof value}`}, expected text`,
  );
}

/**
 * Read a corpus as a list of documents.
 *
 * - `.txt`: UTF-8 text, CRLF line ends normalised to LF; the whole file is one
 *   document unless {@link ReadCorpusOptions.separator} splits it.
 *   Whitespace-only documents are dropped.
 * - `.jsonl`: one JSON object per line (blank lines skipped); the text is the
 *   `field` (default `text`), or several fields joined with `join`. A line
 *   holding a bare JSON string is taken as the text.
 *
 * Invalid UTF-8 becomes U+FFFD with one warning line counting the bad
 * sequences (Python `errors="replace"`, as HF `datasets` reads text).
 *
 * @param path a `.txt` or `.jsonl` file
 * @returns the documents, in file order
 * @throws FileFormatError for a missing file, an unsupported extension, bad
 *   JSON on line N, or a field missing on line N (listing the fields present)
 * @throws ConfigError for a bad option value
 */
export function readCorpus(path: string, opts: ReadCorpusOptions = {}): string[] {
  const maxDocuments = opts.maxDocuments ?? Infinity;
  if (!(maxDocuments >= 0)) throw new ConfigError(`readCorpus: maxDocuments must be >= 0, got ${opts.maxDocuments}`);
  const script = opts.script ?? 'keep';
  if (!['simplified', 'traditional', 'keep'].includes(script)) {
    throw new ConfigError(`readCorpus: script must be 'simplified', 'traditional' or 'keep', got ${JSON.stringify(script)}`);
  }
  const ext = extname(path).toLowerCase();
  if (ext !== '.txt' && ext !== '.jsonl') {
    throw new FileFormatError(`${path}: unsupported corpus type "${ext || '(no extension)'}"; use a .txt file (plain text) or .jsonl (one JSON object per line)`);
  }
  const onWarning = opts.onWarning ?? warnOnStderr;
  const large = opts.streamAboveBytes ?? LARGE_TEXT_FILE_BYTES;
  let docs: string[];
  if (ext === '.txt') {
    const sep = opts.separator;
    if (fileBytes(path) >= large && sep !== undefined && sep !== '') {
      // Too large for one string: split newline-aligned pieces, carrying a document across pieces.
      docs = [];
      let carry = '';
      for (const piece of readTextChunks(path, opts.pieceBytes)) {
        const parts = (carry + piece).split(sep);
        carry = parts.pop() ?? '';
        docs.push(...parts.filter((d) => d.trim() !== ''));
        if (docs.length >= maxDocuments) break;
      }
      if (carry.trim() !== '') docs.push(carry);
    } else {
      const body = readTextFile(path, onWarning).replace(/\r\n/g, '\n');
      docs = sep === undefined || sep === '' ? [body] : body.split(sep);
    }
    docs = docs.filter((d) => d.trim() !== '').slice(0, maxDocuments);
  } else {
    const fields = opts.field === undefined ? ['text'] : Array.isArray(opts.field) ? opts.field : [opts.field];
    if (fields.length === 0) throw new ConfigError('readCorpus: field must name at least one JSON field');
    const join = opts.join ?? '\n';
    docs = [];
    // with maxDocuments, read only the lines needed (more if some are blank)
    let records: { line: number; value: unknown }[] = [];
    if (fileBytes(path) >= large) {
      // Too large for one string: parse it in newline-aligned pieces.
      let line = 1;
      let bad = 0;
      for (const piece of readTextChunks(path, opts.pieceBytes, (n) => (bad += n))) {
        const lines = piece.split('\n').length - (piece.endsWith('\n') ? 1 : 0);
        for (const r of parseJsonLines(piece, path, maxDocuments - records.length, line)) records.push(r);
        line += lines;
        if (records.length >= maxDocuments) break;
      }
      if (bad) onWarning(`${path}: ${bad} invalid UTF-8 sequence${bad === 1 ? '' : 's'} replaced with U+FFFD; re-save the file as UTF-8 to silence this`);
    } else {
      for (let budget = maxDocuments + 16; ; budget *= 4) {
        const { text, complete } = readTextPrefix(path, budget, onWarning);
        records = parseJsonLines(text, path, maxDocuments);
        if (complete || records.length >= maxDocuments) break;
      }
    }
    for (const { line, value } of records) {
      if (typeof value === 'string') {
        docs.push(value);
        continue;
      }
      if (value === null || typeof value !== 'object' || Array.isArray(value)) {
        throw new FileFormatError(`${path} line ${line}: expected a JSON object with field "${fields[0]}", found ${Array.isArray(value) ? 'an array' : JSON.stringify(value)}`);
      }
      const rec = value as Record<string, unknown>;
      const parts = fields.map((f) => {
        if (!(f in rec)) {
          const present = Object.keys(rec);
          throw new FileFormatError(
            `${path} line ${line}: no field "${f}"; this line has ${present.length ? present.map((k) => `"${k}"`).join(', ') : 'no fields'} (choose with the field option)`,
          );
        }
        return fieldText(rec[f], f, path, line);
      });
      docs.push(parts.join(join));
    }
  }
  if (script === 'simplified') docs = docs.map(toSimplified);
  else if (script === 'traditional') docs = docs.map((d) => toTraditional(d));
  return docs;
}
