import { ConfigError, FileFormatError } from '../errors.js';
import { parseJsonLines, readTextFile, warnOnStderr, type WarningSink } from './text-file.js';

/** A story split in two: the model sees `beginning` and learns to write `ending`. */
export interface StoryPair {
  beginning: string;
  ending: string;
}

/** Options of {@link readPairs}. */
export interface ReadPairsOptions {
  beginningField?: string;
  endingField?: string;
  /** Where one-line warnings go (invalid UTF-8); default stderr. */
  onWarning?: WarningSink;
}

/**
 * Read story pairs from a JSON Lines file, one `{"beginning": …, "ending": …}`
 * object per line (blank lines skipped), e.g. the brief's
 * `seed-story-pairs.jsonl`.
 *
 * @throws FileFormatError for a missing file, bad JSON on line N, or a
 *   missing / non-string field on line N (listing the fields the line has)
 */
export function readPairs(path: string, opts: ReadPairsOptions = {}): StoryPair[] {
  const bField = opts.beginningField ?? 'beginning';
  const eField = opts.endingField ?? 'ending';
  const text = readTextFile(path, opts.onWarning ?? warnOnStderr);
  return parseJsonLines(text, path).map(({ line, value }) => {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      throw new FileFormatError(`${path} line ${line}: expected a JSON object with "${bField}" and "${eField}"`);
    }
    const rec = value as Record<string, unknown>;
    const get = (f: string): string => {
      if (!(f in rec)) {
        const present = Object.keys(rec).map((k) => `"${k}"`).join(', ') || 'no fields';
        throw new FileFormatError(`${path} line ${line}: no field "${f}"; this line has ${present} (name the fields with --beginning-field / --ending-field, or beginningField / endingField in the library)`);
      }
      const v = rec[f];
      if (typeof v !== 'string') throw new FileFormatError(`${path} line ${line}: field "${f}" is ${v === null ? 'null' : `a ${typeof v}`}, expected text`);
      return v;
    };
    return { beginning: get(bField), ending: get(eField) };
  });
}

/** Abbreviations whose period does not end an English sentence. */
const ABBREVIATIONS = new Set(['mr', 'mrs', 'ms', 'dr', 'st', 'mt', 'jr', 'sr', 'prof', 'vs', 'etc', 'e.g', 'i.e', 'no', 'vol', 'fig', 'capt', 'col', 'gen', 'rev']);

const TERMINATOR = /([.!?]+|[。！？]+)(["'”’」』）)\]]*)/g;

/**
 * Split text into sentences, each keeping its closing quotes.
 *
 * - Chinese: a sentence ends after `。`, `！` or `？` (runs of them count as
 *   one), plus any closing quotes or brackets (`”’」』）`).
 * - English: after `.`, `!` or `?` (and `...`), plus closing quotes, when
 *   whitespace and a word that does not start in lower case follow — so
 *   `"Big, was he!" said the old Frog.` stays one sentence — and the period
 *   does not end a common abbreviation (Mr., Dr., St., e.g.) or an initial.
 *
 * Text after the last terminator is a final sentence. Sentences are trimmed.
 */
export function splitSentences(text: string): string[] {
  const out: string[] = [];
  let start = 0;
  for (const m of text.matchAll(TERMINATOR)) {
    const end = m.index + m[0].length;
    const mark = m[1];
    if (!/[。！？]/.test(mark)) {
      const next = text.slice(end).match(/^(\s+)(\S?)/);
      if (end < text.length && !next) continue; // "3.5", "e.g.x": no space after
      if (next && next[2] && /\p{Ll}/u.test(next[2])) continue; // "… he!" said the Frog
      if (mark === '.') {
        const word = /([\p{L}.]+)$/u.exec(text.slice(start, m.index))?.[1] ?? '';
        if (ABBREVIATIONS.has(word.toLowerCase()) || /^\p{Lu}$/u.test(word) && word !== 'I') continue;
      }
    }
    const s = text.slice(start, end).trim();
    if (s) out.push(s);
    start = end;
  }
  const tail = text.slice(start).trim();
  if (tail) out.push(tail);
  return out;
}

/** Options of {@link fablesToPairs}. */
export interface FablesToPairsOptions {
  /** How many opening sentences form the beginning; default 1. */
  openingSentences?: number;
}

/**
 * Turn whole stories (e.g. Aesop's fables) into (beginning, ending) pairs:
 * the opening sentence(s) and the rest, cut where {@link splitSentences}
 * puts the boundary (the original spacing inside each part is kept).
 * Stories with no sentence left for the ending are skipped.
 *
 * @throws ConfigError when `openingSentences` is not a positive integer
 */
export function fablesToPairs(docs: readonly string[], opts: FablesToPairsOptions = {}): StoryPair[] {
  const k = opts.openingSentences ?? 1;
  if (!Number.isSafeInteger(k) || k < 1) throw new ConfigError(`fablesToPairs: openingSentences must be a positive integer, got ${k}`);
  const pairs: StoryPair[] = [];
  for (const doc of docs) {
    const sentences = splitSentences(doc);
    if (sentences.length <= k) continue;
    // locate the end of the k-th sentence in the original text, to keep its spacing
    let at = 0;
    for (let i = 0; i < k; i++) at = doc.indexOf(sentences[i], at) + sentences[i].length;
    pairs.push({ beginning: doc.slice(0, at).trim(), ending: doc.slice(at).trim() });
  }
  return pairs;
}

/** Options of {@link pairsToFinetuneExamples}. */
export interface FinetuneExampleOptions {
  /** Appended after the ending so the model learns to stop. */
  eosId: number;
  /** Longest `inputIds` (the model's context length, e.g. `n_positions`). */
  maxLength: number;
  /** Optional token put before the beginning (GPT-2 uses `<|endoftext|>` both ways). */
  bosId?: number;
  /**
   * Text put in front of the ending before encoding. Default: a space when
   * the beginning ends and the ending starts with non-CJK characters (so an
   * English ending is encoded as it is in running text, `" As"`), else none.
   */
  separator?: string;
}

/** One fine-tuning sequence; `labels` are shifted like `LMBatch`'s (lm-batches.ts). */
export interface FinetuneExample {
  /** `[seqLen]` token ids: [bos] beginning ending (without the final eos). */
  inputIds: Int32Array;
  /** `[seqLen]` next-token targets; -100 where the target is part of the beginning. */
  labels: Int32Array;
  /** True when the beginning (or, if even that was not enough, the ending) was cut. */
  truncated: boolean;
}

const CJK = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}\u3000-\u303f\uff00-\uffef]/u;

/**
 * Build causal-LM fine-tuning examples whose loss falls on the ending only,
 * the Hugging Face convention of masking prompt tokens with `-100`
 * (`ignore_index` of `CrossEntropyLoss`).
 *
 * The sequence is `s = [bos] + encode(beginning) + encode(sep + ending) + [eos]`;
 * `inputIds = s[0 .. n-1)` and `labels[t] = s[t+1]`, or -100 while `s[t+1]`
 * is still a beginning token — already shifted, unlike HF's `labels` (which
 * equal `input_ids` and are shifted inside the model): the same positions
 * carry loss, so `crossEntropy(logits, labels, {ignoreIndex: -100})` over all
 * positions is HF's loss.
 *
 * Too long (`n - 1 > maxLength`): the beginning loses tokens from its start
 * (left truncation: the words nearest the ending matter most), keeping at
 * least one token of context; if the ending alone is too long, its tail (and
 * the eos) is cut.
 *
 * @param encode text → token ids (a tokenizer's encode, without special tokens)
 * @throws ConfigError when `maxLength < 2`
 */
export function pairsToFinetuneExamples(
  pairs: readonly StoryPair[],
  encode: (s: string) => number[],
  opts: FinetuneExampleOptions,
): FinetuneExample[] {
  const { eosId, maxLength, bosId } = opts;
  if (!Number.isSafeInteger(maxLength) || maxLength < 2) {
    throw new ConfigError(`pairsToFinetuneExamples: maxLength must be an integer >= 2, got ${maxLength}`);
  }
  return pairs.map(({ beginning, ending }) => {
    const sep = opts.separator ?? (beginning && ending && !CJK.test(beginning.slice(-1)) && !CJK.test(ending[0]) && !/\s$/.test(beginning) ? ' ' : '');
    const prefix = [...(bosId === undefined ? [] : [bosId]), ...encode(beginning)];
    let target = [...encode(sep + ending), eosId];
    let truncated = false;
    // n - 1 = prefix + target - 1 inputs must fit in maxLength
    const over = prefix.length + target.length - 1 - maxLength;
    let keepFrom = bosId === undefined ? 0 : 1;
    let dropped = 0;
    if (over > 0) {
      truncated = true;
      const minContext = bosId === undefined ? 1 : 0; // bos already gives position 0 something to read
      const droppable = Math.max(0, prefix.length - keepFrom - minContext);
      dropped = Math.min(over, droppable);
      if (over > dropped) target = target.slice(0, target.length - (over - dropped));
    }
    const ctx = [...prefix.slice(0, keepFrom), ...prefix.slice(keepFrom + dropped)];
    const s = [...ctx, ...target];
    const n = s.length - 1;
    const inputIds = new Int32Array(n);
    const labels = new Int32Array(n);
    for (let t = 0; t < n; t++) {
      inputIds[t] = s[t]!;
      labels[t] = t + 1 >= ctx.length ? s[t + 1] : -100;
    }
    return { inputIds, labels, truncated };
  });
}

/**
 * Right-pad examples of different lengths into one batch: `inputIds` padded
 * with `padId`, `labels` with -100, `attentionMask` 1 on real tokens and 0 on
 * padding (HF's `DataCollatorForSeq2Seq` layout).
 *
 * @returns `[batchSize, seqLen]` arrays with seqLen = the longest example
 */
export function collateExamples(
  examples: readonly { inputIds: Int32Array; labels: Int32Array }[],
  padId: number,
): { inputIds: Int32Array; labels: Int32Array; attentionMask: Int32Array; batchSize: number; seqLen: number } {
  const seqLen = examples.reduce((m, e) => Math.max(m, e.inputIds.length), 0);
  const batchSize = examples.length;
  const inputIds = new Int32Array(batchSize * seqLen).fill(padId);
  const labels = new Int32Array(batchSize * seqLen).fill(-100);
  const attentionMask = new Int32Array(batchSize * seqLen);
  examples.forEach((e, b) => {
    inputIds.set(e.inputIds, b * seqLen);
    labels.set(e.labels, b * seqLen);
    attentionMask.fill(1, b * seqLen, b * seqLen + e.inputIds.length);
  });
  return { inputIds, labels, attentionMask, batchSize, seqLen };
}
