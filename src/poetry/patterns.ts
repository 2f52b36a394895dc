/**
 * The tonal patterns (平仄格律) of regulated verse (近体诗): the four standard
 * patterns of a quatrain — 平起 or 仄起 (the tone of the second character of
 * the first line), first line rhymed (首句入韵) or not — and of an
 * eight-line regulated poem, which repeats the quatrain's alternation (粘对).
 *
 * Built from the four five-character line types (王力《诗词格律》):
 *   A 仄仄平平仄 · B 平平仄仄平 · C 平平平仄仄 · D 仄仄仄平平;
 * a seven-character line puts two characters of the opposite tone in front
 * (A → 平平仄仄平平仄). The quatrains are A B C D and D B C D (仄起 for five
 * characters), C D A B and B D A B (平起); an eight-line poem continues with
 * the unrhymed quatrain of the other half (A B C D → A B C D A B C D).
 *
 * `loose` is 一三五不论: the 1st and 3rd characters of a five-character line
 * and the 1st, 3rd and 5th of a seven-character line are free; the others and
 * the last are fixed. `strict` fixes every position.
 */
import type { PoemForm, ToneMode } from '../generate/config.js';
import { charProsody } from './prosody.js';

/** A tonal slot: level (平) or oblique (仄). */
export type ToneSlot = '平' | '仄';
export type { ToneMode } from '../generate/config.js';

/** One standard pattern of a form. */
export interface TonePattern {
  /** e.g. `平起首句入韵` */
  name: string;
  /** 平起 or 仄起: the tone of the first line's second character. */
  start: '平起' | '仄起';
  /** Whether the first line rhymes (ends in 平). */
  firstLineRhymes: boolean;
  /** One slot string per line, e.g. `仄仄平平仄`. */
  lines: string[];
}

const FIVE: Record<'A' | 'B' | 'C' | 'D', string> = { A: '仄仄平平仄', B: '平平仄仄平', C: '平平平仄仄', D: '仄仄仄平平' };
const QUATRAINS = ['ABCD', 'DBCD', 'CDAB', 'BDAB'] as const;
const UNRHYMED_SECOND_HALF: Record<string, string> = { ABCD: 'ABCD', DBCD: 'ABCD', CDAB: 'CDAB', BDAB: 'CDAB' };

function lineOf(type: 'A' | 'B' | 'C' | 'D', chars: number): string {
  const five = FIVE[type];
  if (chars === 5) return five;
  const lead: ToneSlot = five[0] === '平' ? '仄' : '平';
  return lead + lead + five;
}

const patternCache = new Map<PoemForm, TonePattern[]>();

/**
 * The four standard tonal patterns of a form.
 * @param form `5x4`, `7x4`, `5x8` or `7x8`
 */
export function tonePatterns(form: PoemForm): TonePattern[] {
  const hit = patternCache.get(form);
  if (hit) return hit;
  const [chars, count] = form.split('x').map(Number) as [number, number];
  const out = QUATRAINS.map((q): TonePattern => {
    const types = count === 4 ? q : q + UNRHYMED_SECOND_HALF[q];
    const lines = [...types].map((t) => lineOf(t as 'A' | 'B' | 'C' | 'D', chars));
    const start = lines[0][1] === '平' ? '平起' : '仄起';
    const firstLineRhymes = lines[0].endsWith('平');
    return { name: `${start}首句${firstLineRhymes ? '' : '不'}入韵`, start, firstLineRhymes, lines };
  });
  patternCache.set(form, out);
  return out;
}

/** True when position `i` (0-based) of a line of `chars` characters is free under `mode`. */
export function isFreePosition(i: number, chars: number, mode: ToneMode): boolean {
  return mode === 'loose' && i < chars - 1 && i % 2 === 0;
}

/**
 * Whether character `ch` may stand in `slot`: 平 when one of its readings is
 * level, 仄 when one is oblique (polyphonic characters fit either when they
 * have both). A character pinyin-pro cannot read fits no slot.
 */
export function fitsSlot(ch: string, slot: ToneSlot): boolean {
  const p = charProsody(ch);
  return p !== undefined && (slot === '平' ? p.ping : p.ze);
}

/**
 * Number of positions where `line` breaks `slots` under `mode` (0 = on pattern).
 * @param line the line's Han characters, without punctuation
 * @param slots the pattern's line, e.g. `平平仄仄平`; a length mismatch counts every missing or extra character
 */
export function lineMismatches(line: string, slots: string, mode: ToneMode): number {
  const chars = [...line];
  let bad = Math.abs(chars.length - slots.length);
  const n = Math.min(chars.length, slots.length);
  for (let i = 0; i < n; i++) {
    if (isFreePosition(i, slots.length, mode)) continue;
    if (!fitsSlot(chars[i], slots[i] as ToneSlot)) bad++;
  }
  return bad;
}

/** What {@link bestPattern} finds. */
export interface PatternMatch {
  pattern: TonePattern;
  /** Per line: on pattern or not. */
  onPattern: boolean[];
}

/**
 * The standard pattern a poem follows best: the one with the most lines on
 * pattern (ties: fewest broken positions, then the order of {@link tonePatterns}).
 * @param lines the poem's lines (Han characters only), as many as the form has
 */
export function bestPattern(lines: readonly string[], form: PoemForm, mode: ToneMode): PatternMatch {
  let best: PatternMatch | undefined;
  let bestKey = [-1, 0];
  for (const pattern of tonePatterns(form)) {
    const miss = pattern.lines.map((slots, i) => (lines[i] === undefined ? slots.length : lineMismatches(lines[i], slots, mode)));
    const on = miss.map((m) => m === 0);
    const key = [on.filter(Boolean).length, -miss.reduce((a, b) => a + b, 0)];
    if (key[0] > bestKey[0] || (key[0] === bestKey[0] && key[1] > bestKey[1])) {
      best = { pattern, onPattern: on };
      bestKey = key;
    }
  }
  return best!;
}
