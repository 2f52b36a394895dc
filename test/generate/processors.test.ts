/**
 * Logits processors and warpers against independent references:
 * - hf-processors.json: HF transformers' Python processors ported to torch
 *   (test/fixtures/generate/make_fixtures.py);
 * - @huggingface/transformers (transformers.js), whose JS processors serve as
 *   a second oracle for repetition penalty, no-repeat-n-gram, bad words,
 *   min-new-tokens and temperature: their outputs are committed in
 *   test/fixtures/transformersjs/processors.json (generate.ts beside it).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { resolveGenerationConfig } from '../../src/generate/config.js';
import {
  buildLogitsProcessors,
  MinNewTokensLengthLogitsProcessor,
  NoBadWordsLogitsProcessor,
  NoRepeatNGramLogitsProcessor,
  RepetitionPenaltyLogitsProcessor,
  type RowContext,
} from '../../src/generate/logits-process.js';
import {
  buildLogitsWarpers,
  TemperatureLogitsWarper,
  TopKLogitsWarper,
  TopPLogitsWarper,
  TypicalLogitsWarper,
} from '../../src/generate/logits-warp.js';
import { PROCESSOR_CASES, PROCESSOR_IDS, PROCESSOR_SEEDS, PROCESSOR_VOCAB, randomRow } from '../fixtures/transformersjs/cases.js';

interface Fixture {
  logits: number[][];
  cases: {
    kind: 'warpers' | 'processors';
    config: Record<string, number | number[]>;
    inputIds?: number[][];
    expected: (number | null)[][];
  }[];
}

const fixture = JSON.parse(
  readFileSync(fileURLToPath(new URL('../fixtures/generate/hf-processors.json', import.meta.url)), 'utf8'),
) as Fixture;

function ctxOf(ids: number[], promptLength = ids.length): RowContext {
  return { inputIds: Int32Array.from(ids), promptLength, batchIndex: 0 };
}

function assertRow(actual: Float32Array, expected: (number | null)[], label: string): void {
  assert.equal(actual.length, expected.length);
  for (let v = 0; v < expected.length; v++) {
    const e = expected[v];
    if (e === null) assert.equal(actual[v], -Infinity, `${label}: token ${v} should be removed, got ${actual[v]}`);
    else {
      assert.ok(Number.isFinite(actual[v]), `${label}: token ${v} should be kept (HF ${e}), got ${actual[v]}`);
      assert.ok(Math.abs(actual[v] - e) <= 1e-5 * Math.max(1, Math.abs(e)), `${label}: token ${v}: ${actual[v]} vs HF ${e}`);
    }
  }
}

test('warpers match HF (top-k, top-p, min-p, typical-p, temperature, chained in HF order)', () => {
  for (const c of fixture.cases.filter((x) => x.kind === 'warpers')) {
    const k = c.config as Record<string, number>;
    const cfg = resolveGenerationConfig({
      doSample: true,
      temperature: k.temperature,
      topK: k.top_k,
      topP: k.top_p,
      minP: k.min_p,
      typicalP: k.typical_p,
    });
    const V = fixture.logits[0].length;
    const warpers = buildLogitsWarpers(cfg, V, k.min_keep ?? 1);
    fixture.logits.forEach((row, r) => {
      const s = Float32Array.from(row);
      for (const w of warpers) w.process(s, ctxOf([1, 2, 3]));
      assertRow(s, c.expected[r], `${JSON.stringify(c.config)} row ${r}`);
    });
  }
});

test('processors match HF (repetition penalty, no-repeat-ngram, min-new-tokens)', () => {
  for (const c of fixture.cases.filter((x) => x.kind === 'processors')) {
    const k = c.config as Record<string, number & number[]>;
    const cfg = resolveGenerationConfig({
      repetitionPenalty: k.repetition_penalty,
      noRepeatNgramSize: k.no_repeat_ngram_size,
      minNewTokens: k.min_new_tokens,
      eosTokenId: k.eos,
    });
    const V = fixture.logits[0].length;
    const procs = buildLogitsProcessors(cfg, V);
    fixture.logits.forEach((row, r) => {
      const s = Float32Array.from(row);
      const ids = (c.inputIds as number[][])[r];
      for (const p of procs) p.process(s, ctxOf(ids, (k.prompt_len) ?? ids.length));
      assertRow(s, c.expected[r], `${JSON.stringify(c.config)} row ${r}`);
    });
  }
});

interface TransformersJsFixture {
  generator: string;
  rows: Record<string, (number | null)[][]>;
}
const tjs = JSON.parse(
  readFileSync(fileURLToPath(new URL('../fixtures/transformersjs/processors.json', import.meta.url)), 'utf8'),
) as TransformersJsFixture;

test('repetition penalty, no-repeat-ngram, bad words, min-new-tokens, temperature agree with transformers.js', () => {
  const V = PROCESSOR_VOCAB;
  const ours: Record<string, { process(s: Float32Array, c: RowContext): void }> = {
    'repetition 1.4': new RepetitionPenaltyLogitsProcessor(1.4, V),
    'repetition 0.6': new RepetitionPenaltyLogitsProcessor(0.6, V),
    'ngram 2': new NoRepeatNGramLogitsProcessor(2),
    'ngram 3': new NoRepeatNGramLogitsProcessor(3),
    'ngram 1': new NoRepeatNGramLogitsProcessor(1),
    'bad words': new NoBadWordsLogitsProcessor([[4], [3, 5, 8], [5, 12], [9, 9, 9]], []),
    'min new tokens': new MinNewTokensLengthLogitsProcessor(5, [2, 6]),
    'min new tokens reached': new MinNewTokensLengthLogitsProcessor(4, [2]),
    temperature: new TemperatureLogitsWarper(0.7),
  };
  for (const c of PROCESSOR_CASES) {
    const proc = ours[c.name];
    const expected = tjs.rows[c.name];
    assert.ok(proc && expected, `case ${c.name} is in the test and in the fixture`);
    PROCESSOR_SEEDS.forEach((seed, r) => {
      const a = randomRow(V, seed);
      proc.process(a, ctxOf(PROCESSOR_IDS, c.promptLength));
      assert.deepEqual([...a], expected[r].map((v) => v ?? -Infinity), `${c.name} (seed ${seed}, ${tjs.generator})`);
    });
  }
});

test('a bad word equal to [eos] is dropped so EOS stays reachable (HF)', () => {
  const p = new NoBadWordsLogitsProcessor([[2], [4]], [2]);
  const s = new Float32Array(6).fill(1);
  p.process(s, ctxOf([0]));
  assert.equal(s[2], 1);
  assert.equal(s[4], -Infinity);
});

test('top-k keeps ties with the k-th score, and topK ≥ vocab or 0 are no-ops', () => {
  const s = Float32Array.from([1, 5, 3, 3, 0, 3]);
  new TopKLogitsWarper(2, 1, 6).process(s);
  // k-th largest is 3: every 3 stays (torch: scores < topk[..., -1])
  assert.deepEqual([...s], [-Infinity, 5, 3, 3, -Infinity, 3]);
  const t = Float32Array.from([1, 2, 3]);
  new TopKLogitsWarper(10, 1, 3).process(t);
  assert.deepEqual([...t], [1, 2, 3]);
  const cfg = resolveGenerationConfig({ doSample: true, topK: 0, topP: 1 });
  assert.equal(buildLogitsWarpers(cfg, 3, 1).length, 0, 'topK 0 and topP 1 add no warper');
});

test('top-p over a large vocabulary (partial selection path) matches a full sort', () => {
  const V = 5000;
  const row = randomRow(V, 42);
  for (const p of [0.05, 0.5, 0.95, 0.999]) {
    const s = Float32Array.from(row);
    new TopPLogitsWarper(p, 1, V).process(s);
    // Reference: HF's definition on a fully sorted copy.
    const mx = Math.max(...row);
    const probs = [...row].map((x) => Math.exp(x - mx));
    const z = probs.reduce((a, b) => a + b, 0);
    const order = [...row.keys()].sort((a, b) => row[b] - row[a]);
    let above = 0;
    const kept = new Set<number>();
    for (const i of order) {
      if (above < p || kept.size === 0) kept.add(i);
      above += probs[i] / z;
    }
    for (let i = 0; i < V; i++) assert.equal(Number.isFinite(s[i]), kept.has(i), `topP ${p}, token ${i}`);
  }
});

test('typical-p over a large vocabulary (mass selection path) matches HF’s sort-based definition', () => {
  const V = 3000;
  const row = randomRow(V, 7);
  for (const mass of [0.2, 0.6, 0.95]) {
    const s = Float32Array.from(row);
    new TypicalLogitsWarper(mass, 1, V).process(s);
    const mx = Math.max(...row);
    const z = [...row].reduce((a, x) => a + Math.exp(x - mx), 0);
    const logp = [...row].map((x) => x - mx - Math.log(z));
    const ent = -logp.reduce((a, l) => a + Math.exp(l) * l, 0);
    const shifted = logp.map((l) => Math.abs(-l - ent));
    const order = [...row.keys()].sort((a, b) => shifted[a] - shifted[b] || a - b);
    let cum = 0;
    let last = order.length - 1;
    for (let r = 0; r < order.length; r++) {
      cum += Math.exp(logp[order[r]]);
      if (cum >= mass) {
        last = r;
        break;
      }
    }
    const thr = shifted[order[last]];
    for (let i = 0; i < V; i++) assert.equal(Number.isFinite(s[i]), shifted[i] <= thr, `typicalP ${mass}, token ${i}`);
  }
});

test('topP 0 keeps only the most likely token (HF: minTokensToKeep = 1)', async () => {
  const { TopPLogitsWarper } = await import('../../src/generate/logits-warp.js');
  const scores = Float32Array.from([0.5, 2, 1, -1]);
  new TopPLogitsWarper(0, 1, 4).process(scores);
  assert.deepEqual([...scores].map((v) => v === -Infinity), [true, false, true, true]);
});
