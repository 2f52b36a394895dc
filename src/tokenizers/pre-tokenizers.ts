/**
 * Pre-tokenizers of Hugging Face `tokenizer.json` files beyond GPT-2's: the
 * `Split` pre-tokenizer (a regex or string with its `behavior` and `invert`),
 * `ByteLevel` with `use_regex`, `Metaspace`, and `Sequence` of them. The
 * regexes of Llama 3 and Qwen2/3 are recognised and run as hand-written
 * scanners with the Rust library's (Oniguruma's) character classes, so ids
 * match Hugging Face on every code point; any other regex is translated to a
 * JavaScript `u` regex (`translateOnigurumaRegex`), which uses the JavaScript
 * engine's Unicode tables.
 *
 * A pre-tokenizer step refines a list of ranges `[s0, e0, s1, e1, …]`
 * (UTF-16, in the normalized text) into finer ranges.
 */
import { FileFormatError } from '../errors.js';
import { gpt2Split } from './byte-level.js';
import { patternRegex } from './normalizers.js';
import { CLASS_LETTER, CLASS_NUMBER, CLASS_OTHER, CLASS_SPACE, astralGpt2Class, gpt2ClassTable } from './unicode.js';

/** GPT-2's pre-tokenization regex (the `ByteLevel` pre-tokenizer's `use_regex`). */
export const GPT2_PATTERN = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";
/** Llama 3's `Split` regex (also DeepSeek-V3, SmolLM and others; llama.cpp `tokenizer.ggml.pre` `llama-bpe`). */
export const LLAMA3_PATTERN = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
/** Qwen2/Qwen3's `Split` regex: Llama 3's with single digits (llama.cpp `tokenizer.ggml.pre` `qwen2`). */
export const QWEN2_PATTERN = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

/** How a `Split` pre-tokenizer treats the matched delimiters (Hugging Face `SplitDelimiterBehavior`). */
export type SplitBehavior = 'Removed' | 'Isolated' | 'MergedWithPrevious' | 'MergedWithNext' | 'Contiguous';

const BEHAVIORS: readonly SplitBehavior[] = ['Removed', 'Isolated', 'MergedWithPrevious', 'MergedWithNext', 'Contiguous'];

/** One step of pre-tokenization. */
export interface PreTokenizerStep {
  /** Splits each range of `ranges` in `text` and appends the pieces to `out`. */
  split(text: string, ranges: readonly number[], out: number[]): void;
}

let classTable: Uint8Array | null = null;

/** Oniguruma class (letter, number, space, other) and UTF-16 width of the code point at `i`. */
function classAt(text: string, i: number, end: number): number {
  const c = text.charCodeAt(i);
  if (c >= 0xd800 && c <= 0xdbff && i + 1 < end) return astralGpt2Class(((c - 0xd800) << 10) + (text.charCodeAt(i + 1) - 0xdc00) + 0x10000) | 8;
  return (classTable as Uint8Array)[c];
}

/** End of the run of code points of class `k` starting at `i`. */
function runEnd(text: string, i: number, end: number, k: number): number {
  while (i < end) {
    const ck = classAt(text, i, end);
    if ((ck & 7) !== k) break;
    i += ck & 8 ? 2 : 1;
  }
  return i;
}

/** Whether `c` (a UTF-16 unit) case-insensitively equals the lower-case ASCII letter `lower` (Oniguruma folds `ſ` U+017F to `s`). */
function ci(c: number, lower: number): boolean {
  return c === lower || c === lower - 32 || (lower === 115 && c === 0x17f);
}

/**
 * Splits `text[start, end)` with the Llama 3 pattern (`maxDigits` 3) or the
 * Qwen2 pattern (`maxDigits` 1), appending `(s, e)` pairs to `out`: exactly
 * what the regex's leftmost-alternative matching gives, with Oniguruma's
 * `\p{L}`, `\p{N}` and `\s` (shared with the GPT-2 scanner's tables).
 */
export function llama3Split(text: string, start: number, end: number, out: number[], maxDigits: number): void {
  if (!classTable) classTable = gpt2ClassTable();
  const table = classTable;
  let i = start;
  while (i < end) {
    const c = text.charCodeAt(i);
    // (?i:'s|'t|'re|'ve|'m|'ll|'d)
    if (c === 39 && i + 1 < end) {
      const c1 = text.charCodeAt(i + 1);
      if (ci(c1, 115) || ci(c1, 116) || ci(c1, 109) || ci(c1, 100)) {
        out.push(i, i + 2);
        i += 2;
        continue;
      }
      if (i + 2 < end) {
        const c2 = text.charCodeAt(i + 2);
        if ((ci(c2, 101) && (ci(c1, 114) || ci(c1, 118))) || (ci(c1, 108) && ci(c2, 108))) {
          out.push(i, i + 3);
          i += 3;
          continue;
        }
      }
    }
    const k0 = classAt(text, i, end);
    const cls = k0 & 7;
    const w0 = k0 & 8 ? 2 : 1;
    // [^\r\n\p{L}\p{N}]?\p{L}+
    if (cls === CLASS_LETTER) {
      const q = runEnd(text, i + w0, end, CLASS_LETTER);
      out.push(i, q);
      i = q;
      continue;
    }
    if ((cls === CLASS_OTHER || (cls === CLASS_SPACE && c !== 13 && c !== 10)) && i + w0 < end && (classAt(text, i + w0, end) & 7) === CLASS_LETTER) {
      const q = runEnd(text, i + w0, end, CLASS_LETTER);
      out.push(i, q);
      i = q;
      continue;
    }
    // \p{N}{1,maxDigits}
    if (cls === CLASS_NUMBER) {
      let q = i;
      for (let n = 0; n < maxDigits && q < end; n++) {
        const k = classAt(text, q, end);
        if ((k & 7) !== CLASS_NUMBER) break;
        q += k & 8 ? 2 : 1;
      }
      out.push(i, q);
      i = q;
      continue;
    }
    //  ?[^\s\p{L}\p{N}]+[\r\n]*
    let p = -1;
    if (cls === CLASS_OTHER) p = i;
    else if (c === 32 && i + 1 < end && (classAt(text, i + 1, end) & 7) === CLASS_OTHER) p = i + 1;
    if (p >= 0) {
      let q = runEnd(text, p, end, CLASS_OTHER);
      while (q < end) {
        const d = text.charCodeAt(q);
        if (d !== 13 && d !== 10) break;
        q++;
      }
      out.push(i, q);
      i = q;
      continue;
    }
    // Whitespace (all White_Space characters are in the BMP): \s*[\r\n]+ | \s+(?!\S) | \s+
    let r = i + 1;
    let lastNl = c === 13 || c === 10 ? i : -1;
    while (r < end) {
      const d = text.charCodeAt(r);
      if (table[d] !== CLASS_SPACE || (d >= 0xd800 && d <= 0xdfff)) break;
      if (d === 13 || d === 10) lastNl = r;
      r++;
    }
    let q: number;
    if (lastNl >= 0) q = lastNl + 1;
    else if (r === end || r - i === 1) q = r;
    else q = r - 1;
    out.push(i, q);
    i = q;
  }
}

/** Appends `(s, e)` of every non-empty match of `re` (global) in `text[start, end)`. */
function regexMatches(re: RegExp, text: string, start: number, end: number, out: number[]): void {
  const sub = start === 0 && end === text.length ? text : text.slice(start, end);
  re.lastIndex = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(sub)) !== null) {
    if (m[0].length === 0) {
      re.lastIndex = m.index + (sub.codePointAt(m.index) !== undefined && (sub.codePointAt(m.index) as number) > 0xffff ? 2 : 1);
      continue;
    }
    out.push(start + m.index, start + m.index + m[0].length);
  }
}

/** A step whose pieces are exactly the matches of a pattern covering the whole text (Isolated behaviour). */
class ScannerStep implements PreTokenizerStep {
  constructor(private readonly scan: (text: string, s: number, e: number, out: number[]) => void) {}
  split(text: string, ranges: readonly number[], out: number[]): void {
    for (let k = 0; k < ranges.length; k += 2) this.scan(text, ranges[k], ranges[k + 1], out);
  }
}

/**
 * Hugging Face's `Split` with any pattern and behaviour: the matches and the
 * stretches between them, combined as `SplitDelimiterBehavior` says
 * (`invert` swaps the roles of matches and stretches).
 */
class PatternStep implements PreTokenizerStep {
  private readonly matches: number[] = [];
  private readonly flags: boolean[] = [];
  constructor(
    private readonly find: (text: string, s: number, e: number, out: number[]) => void,
    private readonly behavior: SplitBehavior,
    private readonly invert: boolean,
  ) {}

  split(text: string, ranges: readonly number[], out: number[]): void {
    for (let k = 0; k < ranges.length; k += 2) this.splitOne(text, ranges[k], ranges[k + 1], out);
  }

  private splitOne(text: string, start: number, end: number, out: number[]): void {
    const m = this.matches;
    m.length = 0;
    this.find(text, start, end, m);
    // Alternating pieces with their match flag.
    const pieces: number[] = [];
    const isMatch: boolean[] = this.flags;
    isMatch.length = 0;
    let cur = start;
    for (let j = 0; j < m.length; j += 2) {
      if (m[j] > cur) {
        pieces.push(cur, m[j]);
        isMatch.push(this.invert);
      }
      pieces.push(m[j], m[j + 1]);
      isMatch.push(!this.invert);
      cur = m[j + 1];
    }
    if (cur < end) {
      pieces.push(cur, end);
      isMatch.push(this.invert);
    }
    const n = isMatch.length;
    switch (this.behavior) {
      case 'Isolated':
        for (let j = 0; j < 2 * n; j++) out.push(pieces[j]);
        return;
      case 'Removed':
        for (let j = 0; j < n; j++) if (!isMatch[j]) out.push(pieces[2 * j], pieces[2 * j + 1]);
        return;
      case 'Contiguous': {
        let prev: boolean | null = null;
        const base = out.length;
        for (let j = 0; j < n; j++) {
          if (prev === isMatch[j] && out.length > base) out[out.length - 1] = pieces[2 * j + 1];
          else out.push(pieces[2 * j], pieces[2 * j + 1]);
          prev = isMatch[j];
        }
        return;
      }
      case 'MergedWithPrevious': {
        let prevMatch = false;
        const base = out.length;
        for (let j = 0; j < n; j++) {
          if (isMatch[j] && !prevMatch && out.length > base) out[out.length - 1] = pieces[2 * j + 1];
          else out.push(pieces[2 * j], pieces[2 * j + 1]);
          prevMatch = isMatch[j];
        }
        return;
      }
      case 'MergedWithNext': {
        let prevMatch = false;
        const acc: number[] = [];
        for (let j = n - 1; j >= 0; j--) {
          if (isMatch[j] && !prevMatch && acc.length > 0) acc[acc.length - 2] = pieces[2 * j];
          else acc.push(pieces[2 * j], pieces[2 * j + 1]);
          prevMatch = isMatch[j];
        }
        for (let j = acc.length - 2; j >= 0; j -= 2) out.push(acc[j], acc[j + 1]);
        return;
      }
    }
  }
}

/** How a Metaspace pre-tokenizer prepends its replacement character. */
export type PrependScheme = 'always' | 'first' | 'never';

/** Settings of a `Metaspace` pre-tokenizer (SentencePiece's space handling). */
export interface MetaspaceOptions {
  replacement: string;
  prependScheme: PrependScheme;
  split: boolean;
}

/**
 * The pre-tokenizer pipeline of a `tokenizer.json`: an optional text
 * transform first (`Metaspace`: spaces → `▁` and the prefix; `ByteLevel`
 * with `add_prefix_space`: a leading space), then the splitting steps, and
 * whether the model works on bytes (`ByteLevel` present).
 */
export interface PreTokenizerPipeline {
  steps: PreTokenizerStep[];
  metaspace: MetaspaceOptions | null;
  byteLevel: boolean;
  /** `ByteLevel` `add_prefix_space`: a space is put before text that does not start with one. */
  byteLevelPrefixSpace: boolean;
  json: object | null;
}

/** A step for a `Split` pattern: a known regex runs as a scanner, anything else as a translated JavaScript regex. */
export function splitStep(pattern: unknown, behavior: SplitBehavior, invert: boolean, source: string): PreTokenizerStep {
  const regex = (pattern as { Regex?: unknown } | null)?.Regex;
  if (behavior === 'Isolated' && !invert) {
    if (regex === LLAMA3_PATTERN) return new ScannerStep((t, s, e, o) => llama3Split(t, s, e, o, 3));
    if (regex === QWEN2_PATTERN) return new ScannerStep((t, s, e, o) => llama3Split(t, s, e, o, 1));
    if (regex === GPT2_PATTERN) return new ScannerStep(gpt2Split);
  }
  const re = patternRegex(pattern, source, 'Split pre-tokenizer');
  return new PatternStep((t, s, e, o) => regexMatches(re, t, s, e, o), behavior, invert);
}

/** The step that splits before each Metaspace replacement character (`MergedWithNext`). */
function metaspaceSplitStep(replacement: string): PreTokenizerStep {
  return new PatternStep(
    (text, s, e, out) => {
      for (let i = text.indexOf(replacement, s); i >= 0 && i < e; i = text.indexOf(replacement, i + replacement.length)) {
        out.push(i, i + replacement.length);
      }
    },
    'MergedWithNext',
    false,
  );
}

function prependSchemeOf(o: Record<string, unknown>): PrependScheme {
  if (typeof o.prepend_scheme === 'string') {
    if (o.prepend_scheme === 'always' || o.prepend_scheme === 'first' || o.prepend_scheme === 'never') return o.prepend_scheme;
  }
  if (o.add_prefix_space === false) return 'never';
  return 'always';
}

/**
 * Compiles the `pre_tokenizer` field of a `tokenizer.json`. `Metaspace` and a
 * `ByteLevel` with `add_prefix_space` are supported as the first (or only)
 * pre-tokenizer, where their transform applies to the whole text.
 * @throws FileFormatError naming `source` for an unsupported type or placement
 */
export function preTokenizerFromJSON(json: unknown, source: string): PreTokenizerPipeline {
  const pipeline: PreTokenizerPipeline = { steps: [], metaspace: null, byteLevel: false, byteLevelPrefixSpace: false, json: (json ?? null) };
  if (json === null || json === undefined) return pipeline;
  const list = (json as { type?: unknown }).type === 'Sequence' ? (json as { pretokenizers?: unknown }).pretokenizers : [json];
  if (!Array.isArray(list)) throw new FileFormatError(`${source}: Sequence pre_tokenizer needs a "pretokenizers" array`);
  list.forEach((item: unknown, index) => {
    const o = item as Record<string, unknown>;
    switch (o?.type) {
      case 'Split': {
        const behavior = o.behavior as SplitBehavior;
        if (!BEHAVIORS.includes(behavior)) throw new FileFormatError(`${source}: Split behavior ${JSON.stringify(o.behavior)} is not one of ${BEHAVIORS.join(', ')}`);
        pipeline.steps.push(splitStep(o.pattern, behavior, Boolean(o.invert), source));
        break;
      }
      case 'ByteLevel':
        pipeline.byteLevel = true;
        if (o.add_prefix_space) {
          if (index !== 0) throw new FileFormatError(`${source}: a ByteLevel pre-tokenizer with add_prefix_space is supported only as the first pre-tokenizer`);
          pipeline.byteLevelPrefixSpace = true;
        }
        if (o.use_regex !== false) pipeline.steps.push(new ScannerStep(gpt2Split));
        break;
      case 'Metaspace': {
        if (index !== 0) throw new FileFormatError(`${source}: a Metaspace pre-tokenizer is supported only as the first pre-tokenizer`);
        const replacement = typeof o.replacement === 'string' ? o.replacement : '▁';
        pipeline.metaspace = { replacement, prependScheme: prependSchemeOf(o), split: o.split !== false };
        if (pipeline.metaspace.split) pipeline.steps.push(metaspaceSplitStep(replacement));
        break;
      }
      default:
        throw new FileFormatError(`${source}: pre_tokenizer ${JSON.stringify(o?.type)} is not supported by muse here (supported: Split, ByteLevel, Metaspace, Sequence)`);
    }
  });
  return pipeline;
}
