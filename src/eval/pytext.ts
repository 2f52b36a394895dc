/**
 * String helpers with Python 3 `str` semantics. sacreBLEU and rouge-score are
 * Python programs: their whitespace splitting, stripping and character
 * indexing follow Python's rules, which differ from JavaScript's in small
 * ways that change scores (Python treats U+001C–U+001F and U+0085 as
 * whitespace and U+FEFF not; Python indexes code points, JS UTF-16 units).
 */

/**
 * The characters for which Python's `str.isspace()` is true (and on which
 * `str.split()` with no argument splits): Unicode White_Space plus the
 * ASCII information separators U+001C–U+001F.
 */
export const PY_WHITESPACE_CLASS =
  '\\t\\n\\v\\f\\r\\x1c-\\x20\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';

const WS_RUN = new RegExp(`[${PY_WHITESPACE_CLASS}]+`, 'g');
const WS_LEAD = new RegExp(`^[${PY_WHITESPACE_CLASS}]+`);
const WS_TRAIL = new RegExp(`[${PY_WHITESPACE_CLASS}]+$`);
const WS_ANY = new RegExp(`[${PY_WHITESPACE_CLASS}]`);

/** Python's `s.split()`: split on runs of whitespace, dropping empty pieces. */
export function pySplit(s: string): string[] {
  const out = s.split(WS_RUN);
  if (out.length > 0 && out[0] === '') out.shift();
  if (out.length > 0 && out[out.length - 1] === '') out.pop();
  return out;
}

/** Python's `s.rstrip()` (no argument). */
export function pyRstrip(s: string): string {
  return s.replace(WS_TRAIL, '');
}

/** Python's `s.strip()` (no argument). */
export function pyStrip(s: string): string {
  return s.replace(WS_LEAD, '').replace(WS_TRAIL, '');
}

/** Python's `''.join(s.split())`: the string with every whitespace character removed. */
export function removeWhitespace(s: string): string {
  return WS_ANY.test(s) ? s.replace(WS_RUN, '') : s;
}

/** Python's `s.lower()`; JavaScript's full-Unicode lowercasing agrees with it, final sigma included. */
export function pyLower(s: string): string {
  return s.toLowerCase();
}

/** True when the string holds a UTF-16 surrogate, i.e. a code point above U+FFFF. */
export function hasAstral(s: string): boolean {
  return /[\ud800-\udfff]/.test(s);
}

/**
 * The code points of a string (Python's view of `s[i]`). Returns the UTF-16
 * code units directly when there is no astral character, which is the same
 * sequence and much cheaper.
 */
export function codePoints(s: string): number[] {
  const out: number[] = new Array(s.length);
  if (!hasAstral(s)) {
    for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
    return out;
  }
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.codePointAt(i)!;
    out[n++] = c;
    if (c > 0xffff) i++;
  }
  out.length = n;
  return out;
}
