/**
 * sacreBLEU's BLEU tokenizers (`13a`, `intl`, `zh`, `char`, `none`),
 * re-implemented to produce the same token sequences as sacreBLEU 2.x
 * (`sacrebleu/tokenizers/tokenizer_*.py`). Each returns the tokens as an
 * array; sacreBLEU returns them joined by single spaces and later splits on
 * whitespace, which is the same thing.
 */
import { ConfigError } from '../errors.js';
import { codePoints, pySplit, pyStrip } from './pytext.js';

/** Names of the BLEU tokenizers, as sacreBLEU's `--tokenize` spells them. */
export type BleuTokenizerName = '13a' | 'intl' | 'zh' | 'char' | 'none';

/** All tokenizer names, for validation and help texts. */
export const BLEU_TOKENIZERS: readonly BleuTokenizerName[] = ['13a', 'intl', 'zh', 'char', 'none'];

/** A tokenizer: one line of text in, its tokens out. */
export type Tokenizer = (line: string) => string[];

// mteval-v13a's language-dependent rules, in sacreBLEU's order
// (tokenizer_re.py). Each pass runs on the previous pass's output.
const RE_13A_SYMBOLS = /([{-~[-` -&(-+:-@/])/g;
const RE_13A_PERIOD_COMMA_AFTER_NONDIGIT = /([^0-9])([.,])/g;
const RE_13A_PERIOD_COMMA_BEFORE_NONDIGIT = /([.,])([^0-9])/g;
const RE_13A_DASH_AFTER_DIGIT = /([0-9])(-)/g;

/**
 * The regexp post-tokenizer shared by `13a` and `zh` (sacreBLEU's
 * `TokenizerRegexp`): splits off ASCII punctuation and symbols, periods and
 * commas unless inside a number, and a dash after a digit.
 */
function tokenizeRegexp(line: string): string[] {
  line = line.replace(RE_13A_SYMBOLS, ' $1 ');
  line = line.replace(RE_13A_PERIOD_COMMA_AFTER_NONDIGIT, '$1 $2 ');
  line = line.replace(RE_13A_PERIOD_COMMA_BEFORE_NONDIGIT, ' $1 $2');
  line = line.replace(RE_13A_DASH_AFTER_DIGIT, '$1 $2 ');
  return pySplit(line);
}

/** 13a's language-independent part: `<skipped>`, hyphenated line breaks, four HTML entities. */
function normalize13a(line: string): string {
  if (line.includes('<skipped>')) line = line.split('<skipped>').join('');
  if (line.includes('\n')) line = line.split('-\n').join('').split('\n').join(' ');
  if (line.includes('&')) {
    line = line
      .split('&quot;').join('"')
      .split('&amp;').join('&')
      .split('&lt;').join('<')
      .split('&gt;').join('>');
  }
  return line;
}

/**
 * mteval-v13a tokenization as sacreBLEU's `Tokenizer13a` does it: drop
 * `<skipped>`, join hyphenated line breaks, unescape four HTML entities,
 * pad with spaces, then the regexp rules. Lines without ASCII digits take a
 * single-pass scanner that gives the same tokens (without digits the four
 * rules reduce to "split off every ASCII symbol and every . and ,"; the
 * tests check the two paths against each other on fuzzed input).
 */
export function tokenize13a(line: string): string[] {
  line = normalize13a(line);
  return HAS_DIGIT.test(line) ? tokenizeRegexp(` ${line} `) : tokenize13aNoDigits(line);
}

/** The literal four-regexp 13a path, for any input (the reference the fast path is tested against). */
export function tokenize13aRegexp(line: string): string[] {
  return tokenizeRegexp(` ${normalize13a(line)} `);
}

const HAS_DIGIT = /[0-9]/;

// ASCII symbols 13a splits off (pass 1), plus . and , (passes 2–3 without digits)
const SPLIT_13A = new Uint8Array(128);
for (const ch of '{|}~[\\]^_` !"#$%&()*+:;<=>?@/.,') SPLIT_13A[ch.charCodeAt(0)] = 1;

/** Python's str.isspace() for one UTF-16 unit (all Python whitespace is in the BMP). */
function isPyWhitespace(c: number): boolean {
  return (
    (c >= 0x09 && c <= 0x0d) ||
    (c >= 0x1c && c <= 0x20) ||
    c === 0x85 ||
    c === 0xa0 ||
    c === 0x1680 ||
    (c >= 0x2000 && c <= 0x200a) ||
    c === 0x2028 ||
    c === 0x2029 ||
    c === 0x202f ||
    c === 0x205f ||
    c === 0x3000
  );
}

function tokenize13aNoDigits(line: string): string[] {
  const out: string[] = [];
  let start = -1;
  for (let i = 0; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if (c < 128 && SPLIT_13A[c] === 1 && c !== 0x20) {
      if (start >= 0) out.push(line.slice(start, i));
      out.push(line[i]);
      start = -1;
    } else if (isPyWhitespace(c)) {
      if (start >= 0) out.push(line.slice(start, i));
      start = -1;
    } else if (start < 0) start = i;
  }
  if (start >= 0) out.push(line.slice(start));
  return out;
}

// mteval-v14 "international" rules on Unicode classes (tokenizer_intl.py).
const RE_INTL_NONDIGIT_PUNCT = /(\P{N})(\p{P})/gu;
const RE_INTL_PUNCT_NONDIGIT = /(\p{P})(\P{N})/gu;
const RE_INTL_SYMBOL = /(\p{S})/gu;

/**
 * mteval-v14 international tokenization (sacreBLEU's
 * `TokenizerV14International`): unescape five HTML entities, split off every
 * Unicode punctuation mark unless it sits between digits, and every symbol.
 * Unicode categories come from the ICU data in Node, which may be a newer
 * Unicode version than Python's `regex` module; they differ only for
 * characters assigned in between.
 */
export function tokenizeIntl(line: string): string[] {
  if (line.includes('&')) {
    line = line
      .split('&quot;').join('"')
      .split('&amp;').join('&')
      .split('&lt;').join('<')
      .split('&gt;').join('>')
      .split('&apos;').join("'");
  }
  line = line.replace(RE_INTL_NONDIGIT_PUNCT, '$1 $2 ');
  line = line.replace(RE_INTL_PUNCT_NONDIGIT, ' $1 $2');
  line = line.replace(RE_INTL_SYMBOL, ' $1 ');
  return pySplit(line);
}

/**
 * Whether sacreBLEU's `zh` tokenizer treats a code point as a Chinese
 * character. These are the ranges of `tokenizer_zh.py` as Python actually
 * evaluates them: two of its bounds are written `'\u20000'`, `'\u2a6d6'`,
 * `'\u2f800'`, `'\u2fa1d'`, which Python reads as two-character strings, so
 * the effective ranges are U+2001–U+2A6D (general punctuation, arrows,
 * mathematical operators… including “ ” — …) and U+2F81–U+2FA1, and the
 * astral CJK extensions are not matched at all.
 */
export function isSacrebleuZhChar(c: number): boolean {
  return (
    (c >= 0x3400 && c <= 0x4db5) ||
    (c >= 0x4e00 && c <= 0x9fbb) ||
    (c >= 0xf900 && c <= 0xfa2d) ||
    (c >= 0xfa30 && c <= 0xfa6a) ||
    (c >= 0xfa70 && c <= 0xfad9) ||
    (c >= 0x2001 && c <= 0x2a6d) ||
    (c >= 0x2f81 && c <= 0x2fa1) ||
    (c >= 0xff00 && c <= 0xffef) ||
    (c >= 0x2e80 && c <= 0x2eff) ||
    (c >= 0x3000 && c <= 0x303f) ||
    (c >= 0x31c0 && c <= 0x31ef) ||
    (c >= 0x2f00 && c <= 0x2fdf) ||
    (c >= 0x2ff0 && c <= 0x2fff) ||
    (c >= 0x3100 && c <= 0x312f) ||
    (c >= 0x31a0 && c <= 0x31bf) ||
    (c >= 0xfe10 && c <= 0xfe1f) ||
    (c >= 0xfe30 && c <= 0xfe4f) ||
    (c >= 0x2600 && c <= 0x26ff) ||
    (c >= 0x2700 && c <= 0x27bf) ||
    (c >= 0x3200 && c <= 0x32ff) ||
    (c >= 0x3300 && c <= 0x33ff)
  );
}

/**
 * sacreBLEU's `zh` tokenizer: strip, put spaces around every character in
 * {@link isSacrebleuZhChar}, then the `13a` regexp rules (without 13a's
 * entity handling).
 */
export function tokenizeZh(line: string): string[] {
  line = pyStrip(line);
  let out = '';
  let runStart = 0;
  for (let i = 0; i < line.length; i++) {
    const c = line.charCodeAt(i);
    // every zh range lies in the BMP, so UTF-16 units suffice here
    if (isSacrebleuZhChar(c)) {
      out += line.slice(runStart, i) + ' ' + line[i] + ' ';
      runStart = i + 1;
    }
  }
  out += line.slice(runStart);
  return tokenizeRegexp(out);
}

/**
 * sacreBLEU's `char` tokenizer: every code point becomes a token, and the
 * spaces of the original text vanish (a space "token" is whitespace itself).
 */
export function tokenizeChar(line: string): string[] {
  const out: string[] = [];
  for (const cp of codePoints(line)) {
    const ch = String.fromCodePoint(cp);
    // sacreBLEU joins characters with spaces and splits on whitespace, so
    // whitespace characters never become tokens.
    if (pySplit(ch).length === 1) out.push(ch);
  }
  return out;
}

/** sacreBLEU's `none` tokenizer: split on whitespace only. */
export function tokenizeNone(line: string): string[] {
  return pySplit(line);
}

/**
 * The tokenizer called `name`.
 * @throws ConfigError for an unknown name, listing the valid ones
 */
export function getBleuTokenizer(name: string): Tokenizer {
  switch (name) {
    case '13a':
      return tokenize13a;
    case 'intl':
      return tokenizeIntl;
    case 'zh':
      return tokenizeZh;
    case 'char':
      return tokenizeChar;
    case 'none':
      return tokenizeNone;
    default:
      throw new ConfigError(`unknown BLEU tokenizer "${name}"; use one of ${BLEU_TOKENIZERS.join(', ')}`);
  }
}
