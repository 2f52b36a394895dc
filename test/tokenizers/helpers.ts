/**
 * Shared test helpers: where the real tokenizer files are, and the Hugging
 * Face oracle (npm `tokenizers`, the Rust library's Node binding), loaded
 * lazily so a platform without the binary skips those checks with a message.
 */
import { existsSync, mkdtempSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadTokenizer, type Tokenizer } from '../../src/tokenizers/index.js';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const SHARED_VOCAB = resolve(REPO_ROOT, '..', 'shared', 'vocab');
export const SHARED_DATA = resolve(REPO_ROOT, '..', 'shared', 'data');
export const FIXTURES = join(REPO_ROOT, 'test', 'fixtures', 'tokenizers');

/** `false` when the real vocabularies are present, else the reason to skip. */
export const skipNoVocab: false | string = existsSync(SHARED_VOCAB) ? false : `no ${SHARED_VOCAB} (real tokenizer files); skipped`;
export const skipNoData: false | string = existsSync(SHARED_DATA) ? false : `no ${SHARED_DATA} (corpora); skipped`;

export interface HFEncoding {
  getIds(): number[];
  getTokens(): string[];
  getOffsets(): number[][];
  getAttentionMask(): number[];
}
export interface HFTokenizer {
  encode(s: string, pair?: string | null, opts?: { addSpecialTokens?: boolean }): Promise<HFEncoding>;
  encodeBatch(s: string[], opts?: { addSpecialTokens?: boolean }): Promise<HFEncoding[]>;
  decode(ids: number[], skip: boolean): Promise<string>;
  setPadding(opts?: { direction?: string; padId?: number; padToken?: string; maxLength?: number }): void;
  setTruncation(maxLength: number, opts?: { direction?: string }): void;
  disableTruncation(): void;
}
interface HFModule {
  Tokenizer: { fromFile(p: string): HFTokenizer; fromString(json: string): HFTokenizer };
}

let oracle: HFModule | null | undefined;

/** The npm `tokenizers` module, or null when its native binary cannot load here. */
export function hfTokenizers(): HFModule | null {
  if (oracle !== undefined) return oracle;
  try {
    oracle = createRequire(import.meta.url)('tokenizers') as HFModule;
  } catch {
    oracle = null;
  }
  return oracle;
}

export const skipNoOracle: false | string = hfTokenizers() ? false : 'npm tokenizers (Hugging Face oracle) cannot load on this platform; skipped';

/** A fresh temporary directory. */
export function tempDir(prefix = 'muse-tok-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Deterministic pseudo-random generator (mulberry32) for fuzz strings. */
export { mulberry32 as rng } from '../../src/data/split.js';

const POOL = [
  'a', 'b', 'Z', 'é', 'e\u0301', 'ß', 'İ', 'Σ', 'ж', '7', '0', '½', '\u0661',
  ' ', ' ', ' ', '  ', '\n', '\t', '\r\n', '\u00a0', '\u3000', '\u0085', '\u200b', '\ufeff',
  "'", "'s", "'ll", '"', ',', '.', '!', '?', '-', '_', '$', '^', '`', '~', '|', '<', '>',
  '你', '好', '龍', '鳳', '，', '。', '！', '：', '（', '）', '《', '》', '、', 'ア', 'ひ', '한',
  '😀', '🍕', '👍🏽', '\u{20000}', '\u{2B820}', '\u0000', '\u0007', '\ufffd',
  'the', 'The', 'ing', 'tion', 'un', 'Hello', 'world', '123', '2023',
];

/** A random string from a pool of awkward pieces (spaces, marks, CJK, emoji, controls, punctuation). */
export function fuzzString(next: () => number, maxPieces = 12): string {
  const n = Math.floor(next() * maxPieces);
  let s = '';
  for (let i = 0; i < n; i++) s += POOL[Math.floor(next() * POOL.length)];
  return s;
}

const loaded = new Map<string, Tokenizer>();

/** One of the real tokenizers in ../shared/vocab, loaded once per test file. */
export function sharedTokenizer(name: string): Tokenizer {
  let t = loaded.get(name);
  if (!t) {
    t = loadTokenizer(join(SHARED_VOCAB, name));
    loaded.set(name, t);
  }
  return t;
}
