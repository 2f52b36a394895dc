import { ConfigError } from '../errors.js';

/**
 * mulberry32: a tiny seeded 32-bit generator returning floats in [0, 1).
 * Enough for choosing which documents go to validation (and for the seeded
 * fuzz tests); not the engine's PCG32 (data/ sits below the tensor code and
 * must not import it).
 */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Options of {@link splitDocuments}. */
export interface SplitDocumentsOptions {
  /** Fraction of documents for validation, in [0, 1); default 0.1. */
  valFraction?: number;
  /** Seed of the shuffle that picks the validation documents; default 0. */
  seed?: number;
}

/**
 * Deterministic train/validation split by document: the same documents,
 * fraction and seed always give the same split, on every machine.
 *
 * The validation size is `ceil(valFraction * n)` (scikit-learn's
 * `train_test_split` rounding, so a small corpus still gets a validation
 * document); the documents are chosen by a seeded Fisher–Yates shuffle, and
 * both parts keep the corpus order.
 *
 * @returns `{ train, val }`
 * @throws ConfigError when `valFraction` is outside [0, 1) or would leave no
 *   training document
 */
export function splitDocuments<T>(docs: readonly T[], opts: SplitDocumentsOptions = {}): { train: T[]; val: T[] } {
  const valFraction = opts.valFraction ?? 0.1;
  if (!(valFraction >= 0 && valFraction < 1)) {
    throw new ConfigError(`splitDocuments: valFraction must be in [0, 1), got ${valFraction}`);
  }
  const n = docs.length;
  const nVal = Math.ceil(valFraction * n);
  if (n > 0 && nVal >= n) {
    throw new ConfigError(`splitDocuments: valFraction ${valFraction} of ${n} documents leaves none for training; use a smaller fraction or more documents`);
  }
  const order = Array.from({ length: n }, (_, i) => i);
  const rand = mulberry32(opts.seed ?? 0);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  const isVal = new Uint8Array(n);
  for (let k = 0; k < nVal; k++) isVal[order[k]] = 1;
  const train: T[] = [];
  const val: T[] = [];
  docs.forEach((d, i) => (isVal[i] ? val : train).push(d));
  return { train, val };
}

function checkFraction(trainFraction: number, fn: string): void {
  if (!(trainFraction > 0 && trainFraction <= 1)) {
    throw new ConfigError(`${fn}: trainFraction must be in (0, 1], got ${trainFraction}`);
  }
}

/**
 * nanoGPT's split of one long text (`data/shakespeare_char/prepare.py`):
 * the first `int(n * 0.9)` characters train, the rest validate. `n` counts
 * Unicode code points, as Python's `len(str)` does, so a text with emoji or
 * rare CJK characters splits where Python splits it.
 *
 * @param trainFraction default 0.9
 * @returns `{ train, val }`; tinyshakespeare (1,115,394 chars) gives 1,003,854 / 111,540
 */
export function splitText(text: string, trainFraction = 0.9): { train: string; val: string } {
  checkFraction(trainFraction, 'splitText');
  let codePoints = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (!(c >= 0xdc00 && c <= 0xdfff && i > 0 && (text.charCodeAt(i - 1) & 0xfc00) === 0xd800)) codePoints++;
  }
  const nTrain = Math.floor(codePoints * trainFraction);
  let cut = 0;
  for (let k = 0; k < nTrain; k++) {
    const c = text.charCodeAt(cut);
    cut += c >= 0xd800 && c <= 0xdbff && (text.charCodeAt(cut + 1) & 0xfc00) === 0xdc00 ? 2 : 1;
  }
  return { train: text.slice(0, cut), val: text.slice(cut) };
}

/**
 * The same split on token ids (`train_ids = ids[:int(n * 0.9)]`), returning
 * views of `ids` (no copy).
 *
 * @param ids `[n]` token ids
 * @param trainFraction default 0.9
 */
export function splitTokens(ids: Int32Array, trainFraction = 0.9): { train: Int32Array; val: Int32Array } {
  checkFraction(trainFraction, 'splitTokens');
  const nTrain = Math.floor(ids.length * trainFraction);
  return { train: ids.subarray(0, nTrain), val: ids.subarray(nTrain) };
}
