/**
 * Rhyme and tonal-pattern constraints for Chinese regulated verse, as a
 * logits processor that works beside the form constraint
 * ({@link PoemConstraint}, which fixes line lengths and punctuation):
 *
 * - `rhyme`: the last character of every even line (and of the first line
 *   when the poem rhymes it) shares a 中华新韵 group with the earlier rhymes
 *   (src/poetry/prosody.ts; a polyphonic character counts when any reading
 *   rhymes), and no rhyme character repeats. Without `tones` the first line
 *   rhymes when it ends in a level-tone (平) character, the 首句入韵 rule.
 * - `tones`: every character fits one of the form's four standard patterns
 *   (src/poetry/patterns.ts) — strictly, or with 一三五不论 (`loose`). The
 *   patterns still possible are those with the fewest broken positions so
 *   far, so a prompt line that fits none exactly still picks the nearest.
 *
 * The state is read from each row's tokens at every step (verses are counted
 * from the poem start as the form constraint counts them), so rows and beams
 * need no bookkeeping. Characters at constrained positions must be single
 * tokens of one Han character; if a mask would leave nothing (a tokenizer
 * without such characters), the step is left unconstrained rather than
 * emptied.
 */
import type { PoemForm } from './config.js';
import type { LogitsProcessor, RowContext } from './logits-process.js';
import type { GenerationTokenizer } from './tokenizer.js';
import { poemStart, tokenTexts } from './constraints.js';
import { charProsody, XINYUN_GROUPS } from '../poetry/prosody.js';
import { isFreePosition, tonePatterns, type ToneMode, type TonePattern } from '../poetry/patterns.js';

const HAN1 = /^\p{Script=Han}$/u;
const HAN = /\p{Script=Han}/u;
const VERSE_CLOSERS = new Set(['，', '。', '！', '？', '；']);

/** Options of {@link ProsodyConstraint}. */
export interface ProsodyConstraintOptions {
  form: PoemForm;
  /** Rhyme the even lines (and the first where the poem rhymes it). */
  rhyme?: boolean;
  /** Keep lines on a standard tonal pattern. */
  tones?: ToneMode;
  eosTokenIds: readonly number[];
  bosTokenId?: number;
}

/** Bit per 中华新韵 group. */
function groupMask(ch: string): number {
  let m = 0;
  for (const g of charProsody(ch)?.groups ?? []) m |= 1 << XINYUN_GROUPS.indexOf(g);
  return m;
}

/** The rhyme and tonal-pattern constraint of one generate() call. */
export class ProsodyConstraint implements LogitsProcessor {
  private readonly texts: string[];
  private readonly starts: Set<number>;
  private readonly lineChars: number;
  private readonly patterns: TonePattern[];
  /** Per token: 1 if a single Han character. */
  private readonly single: Uint8Array;
  /** Per token: bit 0 = can be 平, bit 1 = can be 仄. */
  private readonly tone: Uint8Array;
  /** Per token: rhyme-group bits. */
  private readonly groups: Uint32Array;

  constructor(tokenizer: GenerationTokenizer, vocabSize: number, private readonly opts: ProsodyConstraintOptions) {
    this.texts = tokenTexts(tokenizer, vocabSize);
    this.starts = new Set([...opts.eosTokenIds, ...(opts.bosTokenId === undefined ? [] : [opts.bosTokenId])]);
    this.lineChars = Number(opts.form.split('x')[0]);
    this.patterns = tonePatterns(opts.form);
    this.single = new Uint8Array(vocabSize);
    this.tone = new Uint8Array(vocabSize);
    this.groups = new Uint32Array(vocabSize);
    for (let id = 0; id < vocabSize; id++) {
      const t = this.texts[id] ?? '';
      if (!HAN1.test(t)) continue;
      this.single[id] = 1;
      const p = charProsody(t);
      if (!p) continue;
      this.tone[id] = (p.ping ? 1 : 0) | (p.ze ? 2 : 0);
      this.groups[id] = groupMask(t);
    }
  }

  /** The poem so far: finished verses and the verse being written, as Han characters. */
  private verses(ctx: RowContext): { done: string[]; current: string } {
    const ids = ctx.inputIds;
    const begin = poemStart(ctx, this.starts, this.texts);
    const done: string[] = [];
    let current = '';
    for (let i = begin; i < ids.length; i++) {
      for (const ch of this.texts[ids[i]] ?? '') {
        if (VERSE_CLOSERS.has(ch) && current.length > 0) {
          done.push(current);
          current = '';
        } else if (HAN.test(ch)) current += ch;
      }
    }
    return { done, current };
  }

  /** Patterns with the fewest broken positions over the characters written so far. */
  private livePatterns(done: string[], current: string, mode: ToneMode): TonePattern[] {
    const lines = [...done, current];
    let best = Infinity;
    let live: TonePattern[] = [];
    for (const p of this.patterns) {
      let miss = 0;
      lines.forEach((line, v) => {
        const slots = p.lines[v];
        if (!slots) return;
        [...line].forEach((ch, i) => {
          if (i >= slots.length || isFreePosition(i, slots.length, mode)) return;
          const t = charProsody(ch);
          if (!t || !(slots[i] === '平' ? t.ping : t.ze)) miss++;
        });
      });
      if (miss < best) {
        best = miss;
        live = [p];
      } else if (miss === best) live.push(p);
    }
    return live;
  }

  process(scores: Float32Array, ctx: RowContext): void {
    const { done, current } = this.verses(ctx);
    const v = done.length;
    const k = [...current].length;
    const n = this.lineChars;
    const lineCount = Number(this.opts.form.split('x')[1]);
    if (v >= lineCount || k >= n) return; // complete, or the form closes the line
    const mode = this.opts.tones;
    const live = mode ? this.livePatterns(done, current, mode) : [];
    const lastChar = k === n - 1;
    // Rhyme: which lines rhyme, the groups still shared by the rhymes so far, and the rhymes used.
    let rhymeHere: 'no' | 'yes' | 'if-pattern' = 'no';
    let shared = 0;
    const used = new Set<string>();
    if (this.opts.rhyme && lastChar) {
      const rhymed = (line: number, text: string): boolean => {
        if (line % 2 === 1) return true;
        if (line !== 0) return false;
        const last = [...text].pop() ?? '';
        return mode ? live.some((p) => p.firstLineRhymes) && !!charProsody(last)?.ping : !!charProsody(last)?.ping;
      };
      shared = ~0;
      done.forEach((text, line) => {
        if (!rhymed(line, text)) return;
        const last = [...text].pop() ?? '';
        used.add(last);
        const m = groupMask(last);
        // a prompt whose rhymes disagree: keep the latest rhyme's groups
        shared = (shared & m) !== 0 ? shared & m : m;
      });
      if (v % 2 === 1) rhymeHere = 'yes';
      else if (v === 0) rhymeHere = mode ? 'if-pattern' : 'no';
    }
    if (!mode && rhymeHere === 'no') return;
    const allowed = new Uint8Array(scores.length);
    let any = false;
    for (let id = 0; id < scores.length; id++) {
      if (!this.single[id]) continue;
      const tone = this.tone[id];
      const text = this.texts[id];
      let ok = false;
      if (mode) {
        for (const p of live) {
          const slot = p.lines[v]?.[k];
          const toneOk = isFreePosition(k, n, mode) || (slot === '平' ? (tone & 1) !== 0 : (tone & 2) !== 0);
          if (!toneOk) continue;
          const mustRhyme = rhymeHere === 'yes' || (rhymeHere === 'if-pattern' && p.firstLineRhymes);
          if (mustRhyme && !this.rhymeOk(id, text, shared, used)) continue;
          ok = true;
          break;
        }
      } else {
        ok = rhymeHere === 'yes' ? this.rhymeOk(id, text, shared, used) : true;
      }
      if (ok) {
        allowed[id] = 1;
        any = true;
      }
    }
    if (!any) return;
    for (let id = 0; id < scores.length; id++) if (!allowed[id] && this.single[id]) scores[id] = -Infinity;
  }

  private rhymeOk(id: number, text: string, shared: number, used: Set<string>): boolean {
    const g = this.groups[id];
    return g !== 0 && (shared & g) !== 0 && !used.has(text);
  }
}
