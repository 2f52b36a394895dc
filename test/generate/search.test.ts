/**
 * Greedy decoding and beam search against HF transformers' algorithms
 * (hf-search.json, produced by the torch port in make_fixtures.py on the same
 * toy LM), then properties HF guarantees: batched left-padded prompts decode
 * like single prompts, and the KV-cached decode equals a full recompute.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { generate } from '../../src/generate/index.js';
import type { GenerationConfig } from '../../src/generate/config.js';
import { ToyLM, type ToyTables } from './fake-lm.js';

interface HFConfig {
  max_new_tokens: number;
  eos?: number[];
  min_new_tokens?: number;
  repetition_penalty?: number;
  no_repeat_ngram_size?: number;
  num_beams?: number;
  length_penalty?: number;
  early_stopping?: boolean | 'never';
  num_return_sequences?: number;
}

const fx = JSON.parse(
  readFileSync(fileURLToPath(new URL('../fixtures/generate/hf-search.json', import.meta.url)), 'utf8'),
) as {
  lm: ToyTables;
  prompts: number[][];
  greedy: { config: HFConfig; outputs: number[][] }[];
  beam: { config: HFConfig; outputs: { tokens: number[]; score: number; finished: boolean }[][] }[];
  beamStopping: { config: HFConfig; prompt: number[]; outputs: { tokens: number[]; score: number }[] }[];
};

function ours(c: HFConfig): GenerationConfig {
  return {
    maxNewTokens: c.max_new_tokens,
    eosTokenId: c.eos && c.eos.length > 0 ? c.eos : undefined,
    minNewTokens: c.min_new_tokens,
    repetitionPenalty: c.repetition_penalty,
    noRepeatNgramSize: c.no_repeat_ngram_size,
    numBeams: c.num_beams,
    lengthPenalty: c.length_penalty,
    earlyStopping: c.early_stopping,
    numReturnSequences: c.num_return_sequences,
    bosTokenId: 0,
  };
}

const quiet = { onWarning: (): void => {} };

test('greedy decoding matches HF on the toy LM (single prompts and one left-padded batch)', () => {
  for (const g of fx.greedy) {
    for (let i = 0; i < fx.prompts.length; i++) {
      const out = generate(new ToyLM(fx.lm), [fx.prompts[i]], ours(g.config), quiet);
      assert.deepEqual(out.sequences[0], g.outputs[i], `${JSON.stringify(g.config)} prompt ${i}`);
      const eos = g.config.eos ?? [];
      const expectReason = eos.includes(g.outputs[i].at(-1) as number) ? 'eos' : 'length';
      assert.equal(out.finishReasons[0], expectReason);
    }
    const batched = generate(new ToyLM(fx.lm), fx.prompts, ours(g.config), quiet);
    assert.deepEqual(batched.sequences, g.outputs, `batched ${JSON.stringify(g.config)}`);
  }
});

test('beam search matches HF: sequences, scores, earlyStopping, lengthPenalty, numReturnSequences', () => {
  for (const b of fx.beam) {
    for (let i = 0; i < fx.prompts.length; i++) {
      const out = generate(new ToyLM(fx.lm), [fx.prompts[i]], ours(b.config), quiet);
      const want = b.outputs[i];
      assert.equal(out.sequences.length, want.length);
      want.forEach((w, k) => {
        const label = `${JSON.stringify(b.config)} prompt ${i} hyp ${k}`;
        assert.deepEqual(out.sequences[k], w.tokens, label);
        assert.ok(Math.abs((out.sequenceScores as number[])[k] - w.score) < 1e-4, `${label}: score ${out.sequenceScores?.[k]} vs HF ${w.score}`);
      });
    }
  }
});

test('beam search stopping rules match HF where they change the result (earlyStopping true/false/never)', () => {
  assert.ok(fx.beamStopping.length >= 9);
  for (const c of fx.beamStopping) {
    const out = generate(new ToyLM(fx.lm), [c.prompt], ours(c.config), quiet);
    c.outputs.forEach((w, k) => {
      const label = `${JSON.stringify(c.config)} prompt ${JSON.stringify(c.prompt)} hyp ${k}`;
      assert.deepEqual(out.sequences[k], w.tokens, label);
      assert.ok(Math.abs((out.sequenceScores as number[])[k] - w.score) < 1e-4, label);
    });
  }
});

test('beam search over a left-padded batch equals each prompt alone (also once some prompts are done)', () => {
  const groups = new Map<string, typeof fx.beamStopping>();
  for (const c of fx.beamStopping) groups.set(JSON.stringify(c.config), [...(groups.get(JSON.stringify(c.config)) ?? []), c]);
  for (const [key, cases] of groups) {
    const cfg = cases[0].config;
    const nRet = cfg.num_return_sequences ?? 1;
    const out = generate(new ToyLM(fx.lm), [...cases.map((c) => c.prompt), [5], [1, 1, 1, 1, 1]], ours(cfg), quiet);
    cases.forEach((c, i) => {
      for (let k = 0; k < nRet; k++) assert.deepEqual(out.sequences[i * nRet + k], c.outputs[k].tokens, `${key} ${JSON.stringify(c.prompt)}`);
    });
  }
  for (const b of fx.beam.slice(0, 3)) {
    const out = generate(new ToyLM(fx.lm), fx.prompts, ours(b.config), quiet);
    const nRet = b.config.num_return_sequences ?? 1;
    fx.prompts.forEach((_, i) => {
      for (let k = 0; k < nRet; k++) assert.deepEqual(out.sequences[i * nRet + k], b.outputs[i][k].tokens);
    });
  }
});

test('beam log-probs sum to the raw beam score (no processors) and finish reasons are reported', () => {
  const cfg = { numBeams: 3, maxNewTokens: 8, eosTokenId: 0, numReturnSequences: 3, lengthPenalty: 1 };
  const out = generate(new ToyLM(fx.lm), [fx.prompts[0]], cfg, quiet);
  out.sequences.forEach((seq, k) => {
    const sum = out.logprobs[k].reduce((a, b) => a + b, 0);
    assert.ok(Math.abs(sum / seq.length - (out.sequenceScores as number[])[k]) < 1e-5);
    assert.equal(out.finishReasons[k], seq.at(-1) === 0 ? 'eos' : 'length');
  });
});

test('KV-cached greedy decode equals a full recompute at every step (toy LM)', () => {
  const lm = new ToyLM(fx.lm);
  const prompt = [3, 4, 5];
  const steps: number[][] = [];
  const out = generate(lm, [prompt], { maxNewTokens: 20 }, { ...quiet, onToken: (e) => steps.push([e.tokenId]) });
  // Independent reference: recompute the whole sequence each step (nanoGPT sample.py style).
  const seq = [...prompt];
  for (let i = 0; i < 20; i++) {
    const logits = new ToyLM(fx.lm).scoreSequence(seq);
    let best = 0;
    for (let v = 1; v < logits.length; v++) if (logits[v] > logits[best]) best = v;
    assert.equal(out.sequences[0][i], best, `step ${i}`);
    seq.push(best);
  }
  // One prefill of 3 tokens, then one token per step, never more.
  assert.deepEqual(
    lm.calls.map((c) => c.t),
    [3, ...Array(19).fill(1)],
  );
});

test('beam sampling: seeded, reproducible, and at a tiny temperature it finds the beam-search hypotheses', () => {
  const base = { numBeams: 3, maxNewTokens: 8, eosTokenId: 0, numReturnSequences: 2 };
  const a = generate(new ToyLM(fx.lm), fx.prompts, { ...base, doSample: true, seed: 4 }, quiet);
  const b = generate(new ToyLM(fx.lm), fx.prompts, { ...base, doSample: true, seed: 4 }, quiet);
  assert.deepEqual(a.sequences, b.sequences);
  for (let i = 0; i < a.sequences.length; i += 2) assert.ok((a.sequenceScores as number[])[i] >= (a.sequenceScores as number[])[i + 1]);
  // logp / T dominates the Gumbel noise as T → 0: the same hypotheses as deterministic beam search
  const cold = generate(new ToyLM(fx.lm), fx.prompts, { ...base, doSample: true, temperature: 0.001, seed: 4 }, quiet);
  const beam = fx.beam[0];
  fx.prompts.forEach((_, i) => {
    for (let k = 0; k < 2; k++) assert.deepEqual(cold.sequences[i * 2 + k], beam.outputs[i][k].tokens);
  });
});
