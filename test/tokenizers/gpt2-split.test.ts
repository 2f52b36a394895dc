/**
 * The hand-written GPT-2 pre-tokenizer against the pattern itself (OpenAI
 * `encoder.py`), run with JavaScript's regex engine and `\s` read as Unicode
 * White_Space (Oniguruma's meaning), on fixed and random strings.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { gpt2Split } from '../../src/tokenizers/index.js';
import { TEST_STRINGS } from '../fixtures/tokenizers/strings.js';
import { fuzzString, rng } from './helpers.js';

const PATTERN = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\p{White_Space}\p{L}\p{N}]+|\p{White_Space}+(?!\P{White_Space})|\p{White_Space}+/gu;

function viaRegex(s: string): string[] {
  return [...s.matchAll(PATTERN)].map((m) => m[0]);
}

function viaScanner(s: string): string[] {
  const out: number[] = [];
  gpt2Split(s, 0, s.length, out);
  const pieces: string[] = [];
  for (let k = 0; k < out.length; k += 2) pieces.push(s.slice(out[k], out[k + 1]));
  return pieces;
}

test('gpt2Split equals the GPT-2 regex on the test strings and 3,000 random strings', () => {
  const next = rng(42);
  const strings = [...TEST_STRINGS.filter((s) => !/[\ud800-\udfff]/.test(s.replace(/[\ud800-\udbff][\udc00-\udfff]/g, ''))), "I'm 'tis it's  \n\n  x", ' ', '  ', 'a  ', '\t\ta'];
  for (let i = 0; i < 3000; i++) strings.push(fuzzString(next, 20));
  for (const s of strings) assert.deepEqual(viaScanner(s), viaRegex(s), JSON.stringify(s));
});
