import { ConfigError } from '../errors.js';

/** Python's Unicode `\w`: letters, numbers (every Numeric_Type), underscore. */
const W = '\\p{L}\\p{N}_';

/**
 * Translate a Python `re` pattern (as scikit-learn's `token_pattern` is
 * written) into a JavaScript RegExp with Python 3's Unicode semantics for
 * `\w \W \b \B \d \D`: in JavaScript those are ASCII-only even with the `u`
 * flag, so `(?u)\b\w\w+\b` would split `café` and skip Chinese entirely.
 * A leading inline flag group (`(?u)`, `(?i)`, `(?iu)`…) becomes RegExp flags.
 *
 * @returns a global, Unicode RegExp
 * @throws ConfigError when the pattern is not a valid regular expression in JavaScript
 */
export function pythonRegex(pattern: string): RegExp {
  let flags = 'gu';
  let src = pattern;
  const inline = /^\(\?([aiLmsux]+)\)/.exec(src);
  if (inline) {
    src = src.slice(inline[0].length);
    if (inline[1].includes('i')) flags += 'i';
    if (inline[1].includes('s')) flags += 's';
    if (inline[1].includes('m')) flags += 'm';
  }
  let out = '';
  let inClass = false;
  for (let i = 0; i < src.length; i++) {
    const c = src[i];
    if (c === '\\' && i + 1 < src.length) {
      const n = src[i + 1];
      i++;
      if (inClass) {
        if (n === 'w') out += W;
        else if (n === 'd') out += '\\p{Nd}';
        else out += `\\${n}`;
        continue;
      }
      if (n === 'w') out += `[${W}]`;
      else if (n === 'W') out += `[^${W}]`;
      else if (n === 'd') out += '\\p{Nd}';
      else if (n === 'D') out += '\\P{Nd}';
      else if (n === 'b') out += `(?:(?<=[${W}])(?![${W}])|(?<![${W}])(?=[${W}]))`;
      else if (n === 'B') out += `(?:(?<=[${W}])(?=[${W}])|(?<![${W}])(?![${W}]))`;
      else out += `\\${n}`;
      continue;
    }
    if (c === '[' && !inClass) inClass = true;
    else if (c === ']' && inClass && !out.endsWith('[') && !out.endsWith('[^')) inClass = false;
    out += c;
  }
  try {
    return new RegExp(out, flags);
  } catch (e) {
    throw new ConfigError(`token pattern ${JSON.stringify(pattern)} is not a valid regular expression here (${(e as Error).message}); write it in the common subset of Python and JavaScript syntax`);
  }
}

/** Number of capturing groups of a RegExp. */
export function captureGroups(re: RegExp): number {
  return new RegExp(`${re.source}|`, re.flags.replace('g', '')).exec('')!.length - 1;
}
