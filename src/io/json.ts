import { readFileSync } from 'node:fs';
import { FileFormatError } from '../errors.js';

/**
 * Where the first syntax error of a JSON text is, as a UTF-16 offset into
 * `text`, or -1 when the text is valid JSON (RFC 8259).
 *
 * Node 20's `JSON.parse` only sometimes says where it failed ("Unexpected
 * token '}', ... is not valid JSON" has no position), so error messages that
 * promise "file + position" find it with this small scanner. It is only run
 * after `JSON.parse` has already failed, so its speed does not matter.
 */
export function jsonErrorOffset(text: string): number {
  let i = 0;
  const n = text.length;
  class Fail {
    constructor(readonly at: number) {}
  }
  const fail = (at: number): never => {
    throw new Fail(at);
  };
  const ws = (): void => {
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) i++;
      else break;
    }
  };
  // Like Python's json module, a misspelt literal is reported where the value starts.
  const literal = (word: string): void => {
    if (text.startsWith(word, i)) i += word.length;
    else fail(i);
  };
  const string = (): void => {
    if (text[i] !== '"') fail(i);
    i++;
    for (;;) {
      if (i >= n) fail(i);
      const c = text.charCodeAt(i);
      if (c === 0x22) {
        i++;
        return;
      }
      if (c < 0x20) fail(i);
      if (c === 0x5c) {
        const e = text[i + 1];
        if (e === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) fail(i);
          i += 6;
        } else if (e !== undefined && '"\\/bfnrt'.includes(e)) {
          i += 2;
        } else {
          fail(i);
        }
      } else {
        i++;
      }
    }
  };
  const number = (): void => {
    const m = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/.exec(text.slice(i, i + 400));
    if (!m || m[0] === '' || m[0] === '-') fail(i);
    i += m![0].length;
  };
  const value = (): void => {
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      ws();
      if (text[i] === '}') {
        i++;
        return;
      }
      for (;;) {
        ws();
        string();
        ws();
        if (text[i] !== ':') fail(i);
        i++;
        value();
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === '}') {
          i++;
          return;
        }
        fail(i);
      }
    } else if (c === '[') {
      i++;
      ws();
      if (text[i] === ']') {
        i++;
        return;
      }
      for (;;) {
        value();
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === ']') {
          i++;
          return;
        }
        fail(i);
      }
    } else if (c === '"') {
      string();
    } else if (c === 't') {
      literal('true');
    } else if (c === 'f') {
      literal('false');
    } else if (c === 'n') {
      literal('null');
    } else if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) {
      number();
    } else {
      fail(i);
    }
  };
  try {
    value();
    ws();
    if (i < n) fail(i);
    return -1;
  } catch (e) {
    if (e instanceof Fail) return e.at;
    throw e;
  }
}

/**
 * 1-based line and column of a UTF-16 offset in `text` (columns count UTF-16
 * code units, as editors that report "col" for JSON usually do).
 */
export function lineColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let k = 0; k < offset && k < text.length; k++) {
    if (text.charCodeAt(k) === 0x0a) {
      line++;
      lineStart = k + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}

/**
 * Parse a JSON text, throwing a {@link FileFormatError} that names `source`
 * and the line, column and offset of the first syntax error.
 *
 * @param text the JSON text (a leading UTF-8 BOM is ignored, as Python's
 *   `json.load` with `utf-8-sig` and most editors do)
 * @param source what to call the text in messages, usually a file path
 * @throws FileFormatError for invalid JSON
 */
export function parseJson(text: string, source: string): unknown {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  try {
    return JSON.parse(body);
  } catch (err) {
    const at = jsonErrorOffset(body);
    const reason = err instanceof Error ? err.message : String(err);
    if (at < 0) throw new FileFormatError(`${source}: invalid JSON (${reason})`);
    const { line, column } = lineColumn(body, at);
    const what = at >= body.length ? 'unexpected end of input' : `unexpected ${JSON.stringify(body[at])}`;
    throw new FileFormatError(
      `${source}: invalid JSON at line ${line}, column ${column} (offset ${at}): ${what}; fix or re-create the file`,
    );
  }
}

/**
 * Read and parse a JSON file (UTF-8).
 *
 * @param path the file
 * @throws FileFormatError when the file is missing, unreadable, or not valid
 *   JSON (the message names the file and the line/column of the error)
 */
export function readJsonFile(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new FileFormatError(`${path}: file not found`);
    if (code === 'EISDIR') throw new FileFormatError(`${path}: is a directory, expected a JSON file`);
    throw new FileFormatError(`${path}: cannot read (${(err as Error).message})`);
  }
  return parseJson(text, path);
}
