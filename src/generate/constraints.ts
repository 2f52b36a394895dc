/**
 * Creative constraints for Chinese poetry, as logits processors plus a
 * "complete" test used as a stopping criterion:
 *
 * - acrostic (藏头诗): line i starts with the i-th character of `acrostic`;
 * - form (`5x4`, `7x4`, `5x8`, `7x8`): lines of 5 or 7 CJK characters, odd
 *   lines closed by `，`, even lines by `。`, all on one text line as in the
 *   Tang corpus (`AAAAA，BBBBB。CCCCC，DDDDD。`); generation stops after the
 *   last `。`.
 *
 * Lines: with a form, a line is a verse closed by `，`/`。` (also `！？；` in a
 * prompt), counted from the start of the poem — the text after the prompt's
 * last newline or BOS/EOS token — so a prompt holding the first verse
 * ("床前明月光，") is continued in form. Without a form, the acrostic's lines
 * are the lines that begin in the generated text: a line begins after a
 * newline or a sentence-closing `。！？`, and the first generated token begins
 * one when the prompt ends with such a break (or is empty).
 *
 * Both need every constrained character to be one token (a character-level
 * or CJK-aware tokenizer); otherwise a ConfigError says which character.
 * Tokens made of several CJK characters are allowed by the form where they fit.
 */
import { ConfigError } from '../errors.js';
import type { PoemForm } from './config.js';
import type { LogitsProcessor, RowContext } from './logits-process.js';
import type { GenerationTokenizer } from './tokenizer.js';

const HAN = /^\p{Script=Han}+$/u;
/** Breaks that start a new acrostic line without a form. */
const FREE_BREAKS = new Set(['\n', '。', '！', '？']);
/** Characters that close a verse of a form (the form itself emits only ，and 。). */
const VERSE_CLOSERS = new Set(['，', '。', '！', '？', '；']);

const textCache = new WeakMap<object, Map<number, string[]>>();

/** decode([id]) for every id below `n`, cached per tokenizer. */
export function tokenTexts(tokenizer: GenerationTokenizer, n: number): string[] {
  let byN = textCache.get(tokenizer);
  if (!byN) {
    byN = new Map();
    textCache.set(tokenizer, byN);
  }
  let texts = byN.get(n);
  if (!texts) {
    texts = new Array<string>(n);
    const lim = Math.min(n, tokenizer.vocabSize);
    for (let id = 0; id < n; id++) texts[id] = id < lim ? tokenizer.decode([id]) : '';
    byN.set(n, texts);
  }
  return texts;
}

/** The single token whose text is exactly `ch`, or a ConfigError naming the option. */
function singleToken(texts: readonly string[], tokenizer: GenerationTokenizer, ch: string, option: string): number {
  const ids = tokenizer.encode(ch, { addSpecialTokens: false }).ids;
  if (ids.length === 1 && texts[ids[0]] === ch) return ids[0];
  const exact = texts.indexOf(ch);
  if (exact >= 0) return exact;
  throw new ConfigError(
    `${option}: the character ${JSON.stringify(ch)} is not a single token for this tokenizer ` +
      `(${ids.length === 1 ? `it encodes as the one token ${JSON.stringify(texts[ids[0]] ?? '')}, which is not the character itself` : `it encodes as ${ids.length} tokens`}); ${option} needs a character-level or CJK-aware tokenizer ` +
      '(e.g. the char tokenizer of a Tang-poem model)',
  );
}

/** Options of {@link PoemConstraint}. */
export interface PoemConstraintOptions {
  acrostic?: string;
  form?: PoemForm;
  /** EOS ids: suppressed until the poem is complete. */
  eosTokenIds: readonly number[];
  /** BOS id: like EOS and newline, marks the start of a poem in the prompt. */
  bosTokenId?: number;
}

/** The acrostic / form constraint for one generate() call (stateless across rows: state is derived from each row's tokens). */
export class PoemConstraint implements LogitsProcessor {
  private readonly texts: string[];
  private readonly acrosticIds: number[];
  private readonly lineChars: number;
  private readonly lines: number;
  /** Number of Han characters of each token (0 when the token is not all Han). */
  private readonly hanLen: Uint8Array;
  /** 1 when the token contains a free break followed by other text (would start a line mid-token). */
  private readonly innerBreak: Uint8Array;
  private readonly comma: number;
  private readonly period: number;
  private readonly starts: Set<number>;
  private readonly eos: readonly number[];

  /**
   * @throws ConfigError when a constrained character is not a single token, or the form's
   *   punctuation is missing from the vocabulary
   */
  constructor(tokenizer: GenerationTokenizer, vocabSize: number, private readonly opts: PoemConstraintOptions) {
    const texts = tokenTexts(tokenizer, vocabSize);
    this.texts = texts;
    this.eos = opts.eosTokenIds;
    this.starts = new Set([...opts.eosTokenIds, ...(opts.bosTokenId === undefined ? [] : [opts.bosTokenId])]);
    this.acrosticIds = opts.acrostic ? [...opts.acrostic].map((ch) => singleToken(texts, tokenizer, ch, 'acrostic')) : [];
    this.hanLen = new Uint8Array(vocabSize);
    this.innerBreak = new Uint8Array(vocabSize);
    for (let id = 0; id < vocabSize; id++) {
      const t = texts[id];
      if (t && HAN.test(t)) this.hanLen[id] = Math.min(255, [...t].length);
      const chars = [...t];
      for (let i = 0; i < chars.length - 1; i++) {
        if (FREE_BREAKS.has(chars[i]) && !FREE_BREAKS.has(chars[i + 1])) this.innerBreak[id] = 1;
      }
    }
    if (opts.form) {
      const [n, l] = opts.form.split('x').map(Number);
      this.lineChars = n;
      this.lines = l;
      this.comma = singleToken(texts, tokenizer, '，', 'form');
      this.period = singleToken(texts, tokenizer, '。', 'form');
      if (!this.hanLen.some((k) => k > 0)) {
        throw new ConfigError('form: this tokenizer has no token that is a CJK character; use a Chinese model');
      }
    } else {
      this.lineChars = 0;
      this.lines = 0;
      this.comma = -1;
      this.period = -1;
    }
  }

  /** Form state: current verse and characters in it, counted from the poem start. */
  private formState(ctx: RowContext): { verse: number; chars: number } {
    const ids = ctx.inputIds;
    const begin = poemStart(ctx, this.starts, this.texts);
    let verse = 0;
    let chars = 0;
    for (let i = begin; i < ids.length; i++) {
      const id = ids[i];
      const k = this.hanLen[id];
      if (k > 0) {
        chars += k;
        continue;
      }
      for (const ch of this.texts[id] ?? '') {
        if (VERSE_CLOSERS.has(ch) && chars > 0) {
          verse++;
          chars = 0;
        } else if (HAN.test(ch)) chars++;
      }
    }
    return { verse, chars };
  }

  /** Free-acrostic state: lines begun in the generated text, and whether the next token begins one. */
  private freeState(ctx: RowContext): { started: number; atStart: boolean } {
    const ids = ctx.inputIds;
    const last = ctx.promptLength - 1;
    let atStart = last < 0 || this.starts.has(ids[last]) || endsWithBreak(this.texts[ids[last]] ?? '');
    let started = 0;
    for (let i = ctx.promptLength; i < ids.length; i++) {
      if (atStart) {
        started++;
        atStart = false;
      }
      if (endsWithBreak(this.texts[ids[i]] ?? '')) atStart = true;
    }
    return { started, atStart };
  }

  /** True once the poem (form) or every acrostic line is finished. */
  isComplete(ctx: RowContext): boolean {
    if (this.opts.form) return this.formState(ctx).verse >= this.lines;
    const s = this.freeState(ctx);
    return s.started >= this.acrosticIds.length && s.atStart;
  }

  process(scores: Float32Array, ctx: RowContext): void {
    const n = scores.length;
    if (this.opts.form) {
      const { verse, chars } = this.formState(ctx);
      if (verse >= this.lines) return; // complete: the caller stops this row
      if (chars >= this.lineChars) {
        forceOnly(scores, verse % 2 === 0 ? this.comma : this.period);
        return;
      }
      if (chars === 0 && verse < this.acrosticIds.length) {
        forceOnly(scores, this.acrosticIds[verse]);
        return;
      }
      const room = this.lineChars - chars;
      for (let id = 0; id < n; id++) {
        const k = this.hanLen[id];
        if (k === 0 || k > room) scores[id] = -Infinity;
      }
      return;
    }
    const { started, atStart } = this.freeState(ctx);
    if (started >= this.acrosticIds.length && atStart) return; // complete
    if (atStart) {
      forceOnly(scores, this.acrosticIds[started]);
      return;
    }
    for (const e of this.eos) if (e < n) scores[e] = -Infinity;
    for (let id = 0; id < n; id++) if (this.innerBreak[id]) scores[id] = -Infinity;
  }
}

function endsWithBreak(text: string): boolean {
  return text.length > 0 && FREE_BREAKS.has(text[text.length - 1]);
}

/** Only `id` stays; its score is kept (finite even if a processor removed it, so the constraint wins). */
function forceOnly(scores: Float32Array, id: number): void {
  const v = scores[id];
  scores.fill(-Infinity);
  scores[id] = Number.isFinite(v) ? v : 0;
}

/**
 * Where the poem begins in a row: just after the last start token (BOS/EOS)
 * or newline-bearing token of the prompt, else 0.
 * @param starts ids that open a text (`eosTokenIds`, `bosTokenId`)
 * @param texts decoded text of each token id ({@link tokenTexts})
 */
export function poemStart(ctx: RowContext, starts: ReadonlySet<number>, texts: readonly string[]): number {
  const ids = ctx.inputIds;
  for (let i = ctx.promptLength - 1; i >= 0; i--) {
    if (starts.has(ids[i]) || (texts[ids[i]] ?? '').includes('\n')) return i + 1;
  }
  return 0;
}
