/**
 * Metrics of generated Chinese poems (`muse eval --poem FILE`): form
 * validity, rhyme rate, tonal adherence, characters repeated within a poem,
 * distinct-1/2 across poems, and a copy check against a training corpus (the
 * share of generated lines found verbatim there and the longest copied
 * n-gram — a memorisation check).
 *
 * A poem is one text (one line of a file); its lines are the runs of Han
 * characters between punctuation (`，。！？；、：` or newlines).
 */
import { ConfigError } from '../errors.js';
import { distinctN } from '../eval/diversity.js';
import type { PoemForm } from '../generate/config.js';
import { bestPattern } from './patterns.js';
import { charProsody } from './prosody.js';

const HAN = /\p{Script=Han}/gu;

/** The lines of a poem: runs of Han characters between punctuation, non-Han characters dropped. */
export function poemLines(text: string): string[] {
  return text
    .split(/[，。！？；、：,.!?;:\n]+/u)
    .map((l) => (l.match(HAN) ?? []).join(''))
    .filter((l) => l.length > 0);
}

/** The regulated form of a poem's lines (`5x4`, `7x4`, `5x8`, `7x8`), or undefined. */
export function poemForm(lines: readonly string[]): PoemForm | undefined {
  if (lines.length !== 4 && lines.length !== 8) return undefined;
  const n = [...lines[0]].length;
  if ((n !== 5 && n !== 7) || !lines.every((l) => [...l].length === n)) return undefined;
  return `${n}x${lines.length}` as PoemForm;
}

/** True when the last characters of the given lines share one 中华新韵 group (any readings). */
export function linesRhyme(lines: readonly string[]): boolean {
  let shared: Set<string> | undefined;
  for (const l of lines) {
    const g = new Set<string>(charProsody([...l].pop() ?? '')?.groups ?? []);
    shared = shared ? new Set([...shared].filter((x) => g.has(x))) : g;
    if (shared.size === 0) return false;
  }
  return shared !== undefined;
}

/** Options of {@link poemMetrics}. */
export interface PoemMetricsOptions {
  /** Only poems of this form count as valid (default: any of the four). */
  form?: PoemForm;
  /** Lines to skip in the rhyme and tone rates, e.g. 1 when the first line was the prompt (default 0). */
  promptLines?: number;
  /** Training texts for the copy check (poems, one per entry). */
  corpus?: readonly string[];
  /** Shortest n-gram the copy check looks for (default 4). */
  minCopyN?: number;
}

/** What {@link poemMetrics} reports; rates are shares in [0, 1] (NaN when nothing was measured). */
export interface PoemMetrics {
  poems: number;
  /** Poems of a regulated form (the one asked for, if any). */
  validForm: number;
  /** Of the valid poems: all even lines end in one rhyme group. */
  rhymeRate: number;
  /** Of the valid poems' even lines after the first: the share rhyming with line 2 (pairs 2–4, 2–6, …). */
  rhymeLineRate: number;
  /** Of the valid poems' lines (prompt lines skipped): on the best-fitting standard pattern, 一三五不论. */
  tonesLoose: number;
  /** The same at every position. */
  tonesStrict: number;
  /** Mean over poems of (Han characters − distinct ones) / Han characters. */
  repeatedChars: number;
  /** Distinct Han characters / Han characters, pooled over the poems. */
  distinct1: number;
  /** Distinct character bigrams / bigrams (within lines' text), pooled. */
  distinct2: number;
  /** With a corpus: generated lines (prompt lines skipped) found verbatim as a corpus line. */
  copy?: {
    lines: number;
    verbatimLines: number;
    /** 1 − verbatimLines / lines. */
    novelLineRate: number;
    /** Longest run of Han characters of one poem's generated lines (punctuation removed) found in the corpus. */
    longestCopiedNgram: number;
    /** The poem and the n-gram of that longest copy. */
    longestCopiedExample: string;
    /** Mean over poems of their longest copied n-gram. */
    meanLongestCopiedNgram: number;
  };
}

/**
 * Score a set of generated poems.
 * @param poems one poem per entry, lines closed by punctuation
 * @throws ConfigError for an empty set
 */
export function poemMetrics(poems: readonly string[], opts: PoemMetricsOptions = {}): PoemMetrics {
  if (poems.length === 0) throw new ConfigError('poemMetrics: no poems to score; pass at least one poem (one per line of the file)');
  const skip = opts.promptLines ?? 0;
  let valid = 0;
  let rhymed = 0;
  let pairTotal = 0;
  let pairRhymed = 0;
  let toneLines = 0;
  let loose = 0;
  let strict = 0;
  let repeated = 0;
  const parsed = poems.map(poemLines);
  for (const lines of parsed) {
    const chars = lines.join('');
    const n = [...chars].length;
    if (n > 0) repeated += (n - new Set(chars).size) / n;
    const form = poemForm(lines);
    if (!form || (opts.form && form !== opts.form)) continue;
    valid++;
    const even = lines.filter((_, i) => i % 2 === 1);
    if (linesRhyme(even)) rhymed++;
    for (let i = 1; i < even.length; i++) {
      pairTotal++;
      if (linesRhyme([even[0], even[i]])) pairRhymed++;
    }
    const ls = bestPattern(lines, form, 'loose').onPattern;
    const st = bestPattern(lines, form, 'strict').onPattern;
    for (let i = skip; i < lines.length; i++) {
      toneLines++;
      if (ls[i]) loose++;
      if (st[i]) strict++;
    }
  }
  const texts = parsed.map((lines) => lines.join('\n'));
  const chars = texts.map((t) => [...t.replace(/\n/g, '')].join(' '));
  const bigrams = texts.flatMap((t) => t.split('\n').map((l) => [...l].join(' ')));
  const out: PoemMetrics = {
    poems: poems.length,
    validForm: valid,
    rhymeRate: rhymed / valid,
    rhymeLineRate: pairRhymed / pairTotal,
    tonesLoose: loose / toneLines,
    tonesStrict: strict / toneLines,
    repeatedChars: repeated / poems.length,
    distinct1: distinctN(chars, 1),
    distinct2: distinctN(bigrams, 2),
  };
  if (opts.corpus) out.copy = copyCheck(parsed, opts.corpus, skip, opts.minCopyN ?? 4);
  return out;
}

/** 31-bit polynomial rolling hash base and modulus (hits are verified, so collisions cost time only). */
const BASE = 1_000_003;
const MOD = 2_147_483_647;

function codePoints(s: string): number[] {
  return [...s].map((c) => c.codePointAt(0)!);
}

/**
 * The copy check of {@link poemMetrics}: verbatim lines by set lookup over the
 * corpus lines; the longest copied n-gram by one rolling-hash scan of the
 * corpus per length, from `minN` up while some poem still has a copied
 * n-gram of the previous length (a copied n-gram's prefixes are copied too).
 */
function copyCheck(poems: string[][], corpus: readonly string[], skip: number, minN: number): NonNullable<PoemMetrics['copy']> {
  const wanted = new Set<string>();
  for (const lines of poems) for (const l of lines.slice(skip)) wanted.add(l);
  const found = new Set<string>();
  const docs: Int32Array[] = [];
  for (const doc of corpus) {
    const lines = poemLines(doc);
    for (const l of lines) if (wanted.has(l)) found.add(l);
    docs.push(Int32Array.from(codePoints(lines.join(''))));
  }
  let lines = 0;
  let verbatim = 0;
  for (const p of poems) {
    for (const l of p.slice(skip)) {
      lines++;
      if (found.has(l)) verbatim++;
    }
  }
  // Longest copied n-gram per poem.
  // the generated part only: a prompt line taken from a real poem would otherwise count as copied
  const seqs = poems.map((p) => codePoints(p.slice(skip).join('')));
  const longest = new Array<number>(seqs.length).fill(0);
  const example = new Array<string>(seqs.length).fill('');
  const maxLen = Math.max(0, ...seqs.map((s) => s.length));
  let alive = seqs.map((s) => s.length >= minN);
  const pow = (n: number): number => {
    let r = 1;
    for (let i = 0; i < n - 1; i++) r = (r * BASE) % MOD;
    return r;
  };
  const hash = (s: ArrayLike<number>, from: number, n: number): number => {
    let h = 0;
    for (let i = from; i < from + n; i++) h = (h * BASE + s[i]) % MOD;
    return h;
  };
  for (let n = minN; n <= maxLen && alive.some(Boolean); n++) {
    // hash → [poem, start] of every length-n window of the poems still alive
    const queries = new Map<number, [number, number][]>();
    seqs.forEach((s, p) => {
      if (!alive[p]) return;
      for (let i = 0; i + n <= s.length; i++) {
        const h = hash(s, i, n);
        const list = queries.get(h);
        if (list) list.push([p, i]);
        else queries.set(h, [[p, i]]);
      }
    });
    const hitThisN = new Array<boolean>(seqs.length).fill(false);
    const top = pow(n);
    for (const d of docs) {
      if (d.length < n) continue;
      let h = hash(d, 0, n);
      for (let i = 0; ; i++) {
        const list = queries.get(h);
        if (list) {
          for (const [p, j] of list) {
            if (hitThisN[p]) continue;
            const s = seqs[p];
            let same = true;
            for (let t = 0; t < n && same; t++) same = s[j + t] === d[i + t];
            if (same) {
              hitThisN[p] = true;
              longest[p] = n;
              example[p] = String.fromCodePoint(...s.slice(j, j + n));
            }
          }
        }
        if (i + n >= d.length) break;
        h = (((h - ((d[i] * top) % MOD) + MOD) % MOD) * BASE + d[i + n]) % MOD;
      }
    }
    alive = hitThisN;
  }
  let best = 0;
  longest.forEach((l, p) => {
    if (l > longest[best]) best = p;
  });
  return {
    lines,
    verbatimLines: verbatim,
    novelLineRate: lines === 0 ? NaN : 1 - verbatim / lines,
    longestCopiedNgram: longest[best] ?? 0,
    longestCopiedExample: example[best] ?? '',
    meanLongestCopiedNgram: longest.reduce((a, b) => a + b, 0) / Math.max(1, longest.length),
  };
}
