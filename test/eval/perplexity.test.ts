import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IGNORE_INDEX, perplexity, type NllSum } from '../../src/eval/index.js';
import { close } from './fixtures.js';

/** A unigram "model": p(token) = probs[token] whatever the context. */
function unigramScorer(probs: number[], log: { starts: number[]; scored: number[][] }) {
  return (inputIds: number[], labels: number[]): NllSum => {
    assert.equal(inputIds.length, labels.length);
    let nll = 0;
    let count = 0;
    const scored: number[] = [];
    // HF convention: labels[t] is predicted from inputIds[0..t); labels[0] never scored
    for (let t = 1; t < labels.length; t++) {
      if (labels[t] === IGNORE_INDEX) continue;
      assert.equal(labels[t], inputIds[t]);
      nll -= Math.log(probs[labels[t]]);
      count++;
      scored.push(t);
    }
    log.starts.push(inputIds.length);
    log.scored.push(scored);
    return { nll, count };
  };
}

test('a context-free model gives exp(mean −log p) over tokens 1…n−1 for every stride', async () => {
  const probs = [0.5, 0.25, 0.125, 0.125];
  const ids = Array.from({ length: 103 }, (_, i) => (i * 7 + (i >> 2)) % 4);
  let expectedNll = 0;
  for (let i = 1; i < ids.length; i++) expectedNll -= Math.log(probs[ids[i]]);
  const expected = Math.exp(expectedNll / (ids.length - 1));
  for (const [maxLength, stride] of [[16, 16], [16, 8], [16, 1], [200, 50], [2, 1]]) {
    const log = { starts: [], scored: [] };
    const r = await perplexity(unigramScorer(probs, log), ids, { maxLength, stride });
    // disjoint windows cannot score the first token of each window after the first
    const lost = stride === maxLength ? Math.ceil(ids.length / maxLength) - 1 : 0;
    if (lost === 0) {
      close(r.perplexity, expected, `ppl ${maxLength}/${stride}`, 1e-9);
      assert.equal(r.tokens, ids.length - 1);
    } else assert.equal(r.tokens, ids.length - 1 - lost);
  }
});

test('windows follow the HF sliding-window scheme: every token scored once, with full context after the first window', async () => {
  const log = { starts: [] as number[], scored: [] as number[][] };
  const ids = Array.from({ length: 50 }, (_, i) => i % 4);
  const r = await perplexity(unigramScorer([0.25, 0.25, 0.25, 0.25], log), ids, { maxLength: 20, stride: 8 });
  // windows begin at 0, 8, 16, 24, 32 (the last reaches the end)
  assert.equal(r.windows, 5);
  assert.deepEqual(log.starts, [20, 20, 20, 20, 18]);
  // absolute positions scored, in order, each once
  const begins = [0, 8, 16, 24, 32];
  const positions = log.scored.flatMap((s, w) => s.map((t) => begins[w] + t));
  assert.deepEqual(positions, Array.from({ length: 49 }, (_, i) => i + 1));
  // after the first window each scored token has ≥ maxLength − stride = 12 tokens of context
  log.scored.slice(1).forEach((s) => assert.ok(Math.min(...s) >= 12));
  close(r.perplexity, 4, 'uniform over 4 tokens', 1e-12);
});

test('validates its arguments', async () => {
  const f = () => ({ nll: 1, count: 1 });
  await assert.rejects(perplexity(f, [1], { maxLength: 4 }), /at least 2 tokens/);
  await assert.rejects(perplexity(f, [1, 2], { maxLength: 1 }), /maxLength/);
  await assert.rejects(perplexity(f, [1, 2], { maxLength: 4, stride: 5 }), /stride/);
  await assert.rejects(perplexity(() => ({ nll: 0, count: 0 }), [1, 2, 3], { maxLength: 4 }), /scored no token/);
});
