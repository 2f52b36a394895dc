/**
 * Loads test/fixtures/eval/reference-scores.json, the expected values
 * computed by sacreBLEU 2.x, rouge-score, NLTK 3.8 and NumPy
 * (test/fixtures/eval/gen_fixtures.py).
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';

const here = dirname(fileURLToPath(import.meta.url));

export interface BleuFixture {
  name: string;
  level: 'corpus' | 'sentence';
  hyps: string[];
  refs: string[][];
  opts: Record<string, unknown>;
  expected: {
    score: number;
    counts: number[];
    totals: number[];
    precisions: number[];
    bp: number;
    sysLen: number;
    refLen: number;
    signature: string;
  };
}

export interface ChrfFixture {
  name: string;
  level: 'corpus' | 'sentence';
  hyps: string[];
  refs: string[][];
  opts: Record<string, unknown>;
  expected: { score: number; name: string; signature: string };
}

export interface RougeFixture {
  name: string;
  hyp: string;
  ref: string;
  opts: Record<string, unknown>;
  expected: Record<string, { precision: number; recall: number; fmeasure: number }>;
}

export interface Fixtures {
  bleu: BleuFixture[];
  chrf: ChrfFixture[];
  rouge: RougeFixture[];
  porter: Record<string, string[]> & { words: string[] };
  nltk: { sentences: { hyp: string; refs: string[]; method1: number; unsmoothed: number }[]; corpus: number };
  selfBleu: { texts: string[]; expected: number };
  diversity: { texts: string[]; distinct: Record<string, number>; seqRep2: number };
  pairedBootstrap: {
    baseline: string[];
    system: string[];
    refs: string[][];
    expected: {
      baselineScore: number;
      systemScore: number;
      baselineMeanCi: [number, number];
      systemMeanCi: [number, number];
      pValue: number;
    };
  };
}

export const fixtures: Fixtures = JSON.parse(
  readFileSync(join(here, '..', 'fixtures', 'eval', 'reference-scores.json'), 'utf8'),
) as Fixtures;

/** Asserts |actual − expected| ≤ tol (default 1e-9, far inside the required 4th decimal). */
export function close(actual: number, expected: number, what: string, tol = 1e-9): void {
  assert.ok(Math.abs(actual - expected) <= tol, `${what}: got ${actual}, expected ${expected} (±${tol})`);
}
