/**
 * Normalizers of Hugging Face `tokenizer.json` files (the `normalizer`
 * field): `NFC`, `NFD`, `NFKC`, `NFKD`, `Lowercase`, `Prepend`, `Replace`,
 * `Strip` and `Sequence` of them — what Llama 2, Mistral, Gemma and Qwen
 * tokenizers use. Each works on a plain string (the fast path used for ids)
 * or on an {@link AlignedText} that also carries, for every UTF-16 unit of the
 * normalized text, the span of the original text it came from (for offsets),
 * following the Rust library's `NormalizedString` alignment rules: a
 * prepended string takes the first character's span, a replacement takes the
 * span of the match's last character, a composed character takes its first
 * component's span.
 */
import { FileFormatError } from '../errors.js';
import { NFC_NOT_COMPOSED, NFC_UNKNOWN_MARKS } from './nfc-exceptions.js';

/** Text with, per UTF-16 unit, the `[start, end)` UTF-16 span of the original text it stands for (`align[2i]`, `align[2i+1]`). */
export interface AlignedText {
  text: string;
  align: number[];
}

/** One normalizer step. */
export interface Normalizer {
  /** Normalizes a string (ids only). */
  apply(text: string): string;
  /** Normalizes while keeping the alignment to the original text. */
  applyAligned(t: AlignedText): AlignedText;
  /** The `tokenizer.json` form. */
  toJSON(): object;
}

/** Identity alignment for `text[start, end)` of an original text. */
export function alignedSlice(text: string, start: number, end: number): AlignedText {
  const align = new Array<number>(2 * (end - start));
  for (let i = start; i < end; i++) {
    align[2 * (i - start)] = i;
    align[2 * (i - start) + 1] = i + 1;
  }
  return { text: text.slice(start, end), align };
}

function codePointsOf(s: string): string[] {
  return Array.from(s);
}

const hex = (cp: number): string => `\\u{${cp.toString(16)}}`;
/** Characters around which the Rust tables' normalization stops: unknown marks (both sides) and first parts of composites they lack (after). */
const RUST_BOUNDARY = new RegExp(
  `[${NFC_UNKNOWN_MARKS.map(hex).join('')}]|[${[...new Set(NFC_NOT_COMPOSED.map((c) => String.fromCodePoint(c).normalize('NFD').codePointAt(0) as number))].map(hex).join('')}]`,
  'gu',
);
const UNKNOWN_MARK = new RegExp(`^[${NFC_UNKNOWN_MARKS.map(hex).join('')}]$`, 'u');

/**
 * `text.normalize(form)` as the Rust tokenizers library computes it: its
 * Unicode tables are older than the JavaScript engine's, so marks it does not
 * know are class-0 characters (nothing is reordered or composed across them)
 * and composites it does not know stay decomposed (`nfc-exceptions.ts`).
 */
export function normalizeLikeRust(text: string, form: 'NFC' | 'NFD' | 'NFKC' | 'NFKD'): string {
  RUST_BOUNDARY.lastIndex = 0;
  if (!RUST_BOUNDARY.test(text)) return text.normalize(form);
  RUST_BOUNDARY.lastIndex = 0;
  let out = '';
  let from = 0;
  for (const m of text.matchAll(RUST_BOUNDARY)) {
    const i = m.index ?? 0;
    const j = i + m[0].length;
    if (UNKNOWN_MARK.test(m[0])) {
      out += text.slice(from, i).normalize(form) + m[0];
    } else out += text.slice(from, j).normalize(form);
    from = j;
  }
  return out + text.slice(from).normalize(form);
}

/**
 * Re-aligns a Unicode normalization form as the Rust library's
 * (`unicode-normalization-alignments`) does: output characters take the span
 * of the input character at their position; a composed character takes its
 * first component's span and the components it absorbed are skipped; a
 * decomposed character gives its span to all its parts.
 */
function unicodeForm(form: 'NFC' | 'NFD' | 'NFKC' | 'NFKD'): Normalizer {
  return {
    apply: (text) => normalizeLikeRust(text, form),
    applyAligned(t) {
      const out = normalizeLikeRust(t.text, form);
      if (out === t.text) return t;
      const input = codePointsOf(t.text);
      const inStart: number[] = [];
      let u = 0;
      for (const c of input) {
        inStart.push(u);
        u += c.length;
      }
      const output = codePointsOf(out);
      const align: number[] = [];
      let p = 0;
      const spanOf = (k: number): [number, number] => {
        const i = Math.min(k, input.length - 1);
        const a = inStart[i];
        return [t.align[2 * a], t.align[2 * (a + input[i].length) - 1]];
      };
      // Combining characters absorbed by a composition, skipped when the input reaches them.
      const absorbed: string[] = [];
      for (let k = 0; k < output.length; k++) {
        const c = output[k];
        while (p < input.length && absorbed.length > 0 && absorbed.includes(input[p].normalize('NFD'))) {
          absorbed.splice(absorbed.indexOf(input[p].normalize('NFD')), 1);
          p++;
        }
        const [s, e] = spanOf(p);
        for (let j = 0; j < c.length; j++) align.push(s, e);
        if (p < input.length && c === input[p]) {
          p++;
          continue;
        }
        // A character that decomposes (e.g. U+FB35, excluded from composition): all its parts take its span.
        const parts = p < input.length ? codePointsOf(normalizeLikeRust(input[p], form)) : [];
        if (parts.length > 1 && parts.every((d, j) => output[k + j] === d)) {
          for (let j = 1; j < parts.length; j++) for (let u = 0; u < parts[j].length; u++) align.push(s, e);
          k += parts.length - 1;
          p++;
          continue;
        }
        // A composed character (its first component's span) or a reordered mark (the span of its position).
        const decomposed = codePointsOf(c.normalize('NFD'));
        if (decomposed.length > 1 && p < input.length && input[p] === decomposed[0]) absorbed.push(...decomposed.slice(1));
        p++;
      }
      return { text: out, align };
    },
    toJSON: () => ({ type: form }),
  };
}

/** Per-character lower-casing as Rust's `char::to_lowercase` (no final-sigma rule, unlike `String.prototype.toLowerCase`). */
function lowerChars(text: string): string {
  return text.includes('\u03a3') ? Array.from(text, (c) => c.toLowerCase()).join('') : text.toLowerCase();
}

function lowercase(): Normalizer {
  return {
    apply: lowerChars,
    applyAligned(t) {
      const out = lowerChars(t.text);
      if (out.length === t.text.length) return { text: out, align: t.align };
      const align: number[] = [];
      let u = 0;
      for (const c of t.text) {
        const low = c.toLowerCase();
        const s = t.align[2 * u];
        const e = t.align[2 * (u + c.length) - 1];
        for (let j = 0; j < low.length; j++) align.push(s, e);
        u += c.length;
      }
      return { text: out, align };
    },
    toJSON: () => ({ type: 'Lowercase' }),
  };
}

function prepend(p: string): Normalizer {
  return {
    apply: (text) => (text.length > 0 ? p + text : text),
    applyAligned(t) {
      if (t.text.length === 0) return t;
      const s = t.align[0];
      const cp = t.text.codePointAt(0) ?? 0;
      const e = t.align[2 * (cp > 0xffff ? 2 : 1) - 1];
      const align: number[] = [];
      for (let j = 0; j < p.length; j++) align.push(s, e);
      return { text: p + t.text, align: align.concat(t.align) };
    },
    toJSON: () => ({ type: 'Prepend', prepend: p }),
  };
}

/** A `{String}` or `{Regex}` pattern of `tokenizer.json` as a global JavaScript regex. */
export function patternRegex(pattern: unknown, source: string, what: string): RegExp {
  const o = pattern as { String?: unknown; Regex?: unknown } | null;
  if (o && typeof o.String === 'string') return new RegExp(o.String.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&'), 'gu');
  if (o && typeof o.Regex === 'string') return translateOnigurumaRegex(o.Regex, source, what);
  throw new FileFormatError(`${source}: ${what} pattern ${JSON.stringify(pattern)} must be {"String": …} or {"Regex": …}`);
}

function replace(pattern: unknown, content: string, source: string): Normalizer {
  const re = patternRegex(pattern, source, 'Replace normalizer');
  const json = { type: 'Replace', pattern, content };
  // A one-character string replaced by one character keeps every alignment.
  const o = pattern as { String?: string };
  const simple = typeof o.String === 'string' && o.String.length === 1 && content.length === 1;
  const from = simple ? (o.String as string) : '';
  return {
    apply: simple ? (text) => (text.includes(from) ? text.replaceAll(from, content) : text) : (text) => text.replace(re, content),
    applyAligned(t) {
      if (simple) return { text: this.apply(t.text), align: t.align };
      let out = '';
      const align: number[] = [];
      let last = 0;
      re.lastIndex = 0;
      for (const m of t.text.matchAll(re)) {
        const i = m.index ?? 0;
        out += t.text.slice(last, i);
        for (let k = last; k < i; k++) align.push(t.align[2 * k], t.align[2 * k + 1]);
        const len = m[0].length;
        if (len === 0) continue;
        // As the Rust library's `replace`: the new characters take the span of the match's last character.
        const lastUnits = len >= 2 && /[\udc00-\udfff]/.test(t.text[i + len - 1]) ? 2 : 1;
        const s = t.align[2 * (i + len - lastUnits)];
        const e = t.align[2 * (i + len) - 1];
        out += content;
        for (let j = 0; j < content.length; j++) align.push(s, e);
        last = i + len;
      }
      out += t.text.slice(last);
      for (let k = last; k < t.text.length; k++) align.push(t.align[2 * k], t.align[2 * k + 1]);
      return { text: out, align };
    },
    toJSON: () => json,
  };
}

function strip(left: boolean, right: boolean): Normalizer {
  const ws = /\p{White_Space}/u;
  const bounds = (text: string): [number, number] => {
    let s = 0;
    let e = text.length;
    if (left) while (s < e && ws.test(text[s])) s++;
    if (right) while (e > s && ws.test(text[e - 1])) e--;
    return [s, e];
  };
  return {
    apply(text) {
      const [s, e] = bounds(text);
      return text.slice(s, e);
    },
    applyAligned(t) {
      const [s, e] = bounds(t.text);
      return { text: t.text.slice(s, e), align: t.align.slice(2 * s, 2 * e) };
    },
    toJSON: () => ({ type: 'Strip', strip_left: left, strip_right: right }),
  };
}

function sequence(steps: Normalizer[]): Normalizer {
  return {
    apply(text) {
      for (const s of steps) text = s.apply(text);
      return text;
    },
    applyAligned(t) {
      for (const s of steps) t = s.applyAligned(t);
      return t;
    },
    toJSON: () => ({ type: 'Sequence', normalizers: steps.map((s) => s.toJSON()) }),
  };
}

/**
 * Builds a normalizer from the `normalizer` field of a `tokenizer.json`
 * (`null` → none).
 * @throws FileFormatError naming `source` for a type muse does not implement (e.g. `BertNormalizer` outside WordPiece, `Precompiled`)
 */
export function normalizerFromJSON(json: unknown, source: string): Normalizer | null {
  if (json === null || json === undefined) return null;
  const o = json as Record<string, unknown>;
  switch (o.type) {
    case 'NFC':
    case 'NFD':
    case 'NFKC':
    case 'NFKD':
      return unicodeForm(o.type);
    case 'Lowercase':
      return lowercase();
    case 'Prepend':
      if (typeof o.prepend !== 'string') throw new FileFormatError(`${source}: Prepend normalizer needs a string "prepend"`);
      return prepend(o.prepend);
    case 'Replace':
      if (typeof o.content !== 'string') throw new FileFormatError(`${source}: Replace normalizer needs a string "content"`);
      return replace(o.pattern, o.content, source);
    case 'Strip':
      return strip(o.strip_left !== false, o.strip_right !== false);
    case 'Sequence': {
      if (!Array.isArray(o.normalizers)) throw new FileFormatError(`${source}: Sequence normalizer needs a "normalizers" array`);
      const steps = o.normalizers.map((n) => normalizerFromJSON(n, source)).filter((n): n is Normalizer => n !== null);
      return sequence(steps);
    }
    default:
      throw new FileFormatError(
        `${source}: normalizer ${JSON.stringify(o.type)} is not supported by muse here (supported: NFC, NFD, NFKC, NFKD, Lowercase, Prepend, Replace, Strip, Sequence)`,
      );
  }
}

/** The characters Oniguruma's case-insensitive matching equates with an ASCII letter (Unicode case folding: `ſ` is `s`, the Kelvin sign is `k`). */
function caseVariants(c: string): string {
  const lower = c.toLowerCase();
  return lower + lower.toUpperCase() + (lower === 's' ? '\u017f' : lower === 'k' ? '\u212a' : '');
}

/**
 * Translates an Oniguruma regex as `tokenizer.json` files write them (Hugging
 * Face tokenizers compiles them with Oniguruma) into a JavaScript `u` regex:
 * case-insensitive groups `(?i:…)` become explicit case alternatives (`'s` →
 * `'[sSſ]`, with Unicode case folding's `ſ` and Kelvin sign), `\s`/`\S` become Unicode `White_Space` (Oniguruma's meaning;
 * JavaScript's `\s` also holds U+FEFF and lacks U+0085), and possessive
 * quantifiers (`++`, `*+`, `?+`) become greedy ones.
 * @throws FileFormatError naming the pattern when JavaScript cannot compile the result
 */
export function translateOnigurumaRegex(pattern: string, source: string, what: string): RegExp {
  let out = '';
  let inClass = 0;
  // Stack of open groups: true when the group is case-insensitive.
  const groups: boolean[] = [];
  const insensitive = (): boolean => groups.includes(true);
  // Whether the previous token was a quantifier (so a following `+` makes it possessive).
  let prevQuant = false;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '\\') {
      const n = pattern[i + 1];
      if (n === 's') out += '\\p{White_Space}';
      else if (n === 'S') out += '\\P{White_Space}';
      else if ((n === 'p' || n === 'P') && pattern[i + 2] === '{') {
        const close = pattern.indexOf('}', i);
        out += pattern.slice(i, close + 1);
        i = close;
        prevQuant = false;
        continue;
      } else out += c + (n ?? '');
      i++;
      prevQuant = false;
      continue;
    }
    if (inClass) {
      if (c === ']') inClass--;
      else if (c === '[') inClass++;
      if (insensitive() && /[a-zA-Z]/.test(c)) out += caseVariants(c);
      else out += c;
      prevQuant = false;
      continue;
    }
    if (c === '+' && prevQuant) {
      prevQuant = false;
      continue;
    }
    if (c === '+' || c === '*' || c === '?') {
      out += c;
      prevQuant = c !== '?' || !prevQuant;
      continue;
    }
    if (c === '{') {
      const close = pattern.indexOf('}', i);
      out += pattern.slice(i, close + 1);
      i = close;
      prevQuant = true;
      continue;
    }
    prevQuant = false;
    if (c === '[') {
      inClass++;
      out += c;
      if (pattern[i + 1] === '^') {
        out += '^';
        i++;
      }
      continue;
    }
    if (c === '(') {
      if (pattern.startsWith('(?i:', i)) {
        groups.push(true);
        out += '(?:';
        i += 3;
        continue;
      }
      groups.push(false);
      out += c;
      if (pattern[i + 1] === '?') {
        // (?: (?= (?! (?<= (?<! — copy the group kind so its `?` is not read as a quantifier.
        const m = /^\(\?(?:<[=!]|[:=!])/.exec(pattern.slice(i));
        if (m) {
          out += m[0].slice(1);
          i += m[0].length - 1;
        }
      }
      continue;
    }
    if (c === ')') {
      groups.pop();
      out += c;
      continue;
    }
    if (insensitive() && /[a-zA-Z]/.test(c)) {
      out += `[${caseVariants(c)}]`;
      continue;
    }
    out += c;
  }
  try {
    return new RegExp(out, 'gu');
  } catch (err) {
    throw new FileFormatError(`${source}: ${what} regex ${JSON.stringify(pattern)} cannot be compiled as a JavaScript regex (${(err as Error).message})`);
  }
}
