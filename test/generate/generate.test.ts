/**
 * generate() behaviour on the toy LM: sampling (seeded, distribution),
 * temperature 0, log-probs, EOS / min-new-tokens / stop strings, empty and
 * over-long prompts, the sliding window, left padding as the model sees it,
 * hooks, abort. References are computed independently from the toy LM's
 * closed form (ToyLM.scoreSequence), never from the decoding code.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generate, StopStringMatcher, type GenerationConfig } from '../../src/generate/index.js';
import { sampleChoice } from '../../src/generate/sampling.js';
import { Generator } from '../../src/tensor/random.js';
import { randomTables, ToyLM } from './fake-lm.js';
import { charTokenizer, listTokenizer } from './test-tokenizers.js';

const V = 12;
const tables = randomTables(V, 64, 7);
const quiet = { onWarning: (): void => {} };

function argmax(x: ArrayLike<number>): number {
  let b = 0;
  for (let i = 1; i < x.length; i++) if (x[i] > x[b]) b = i;
  return b;
}

function logSoftmax(x: ArrayLike<number>): number[] {
  const m = Math.max(...Array.from(x));
  const z = Math.log(Array.from(x).reduce((a, v) => a + Math.exp(v - m), 0));
  return Array.from(x, (v) => v - m - z);
}

/** Greedy continuation by full recompute over the window rule "keep the last `keep` when over maxPositions". */
function referenceGreedy(lm: ToyLM, prompt: number[], n: number, maxPos: number, keep: number): number[] {
  const seq = [...prompt];
  let winStart = 0;
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    if (seq.length - winStart > maxPos) winStart = seq.length - keep;
    const tok = argmax(lm.scoreSequence(seq.slice(winStart)));
    seq.push(tok);
    out.push(tok);
  }
  return out;
}

test('temperature 0 with doSample is greedy decoding', () => {
  const a = generate(new ToyLM(tables), [[1, 2]], { maxNewTokens: 15, doSample: true, temperature: 0, seed: 1 }, quiet);
  const b = generate(new ToyLM(tables), [[1, 2]], { maxNewTokens: 15 }, quiet);
  assert.deepEqual(a.sequences, b.sequences);
  assert.deepEqual(a.sequences[0], referenceGreedy(new ToyLM(tables), [1, 2], 15, 64, 48));
});

test('greedy log-probs are log_softmax of the logits at the chosen token', () => {
  const lm = new ToyLM(tables);
  const out = generate(lm, [[4]], { maxNewTokens: 6 }, quiet);
  const seq = [4];
  out.sequences[0].forEach((tok, i) => {
    const ref = logSoftmax(new ToyLM(tables).scoreSequence(seq))[tok];
    assert.ok(Math.abs(out.logprobs[0][i] - ref) < 1e-5, `step ${i}`);
    seq.push(tok);
  });
});

test('seeded sampling is reproducible, and different seeds differ', () => {
  const cfg: GenerationConfig = { maxNewTokens: 30, doSample: true, temperature: 1.3, topK: 0, seed: 123 };
  const a = generate(new ToyLM(tables), [[1]], cfg, quiet);
  const b = generate(new ToyLM(tables), [[1]], cfg, quiet);
  const c = generate(new ToyLM(tables), [[1]], { ...cfg, seed: 124 }, quiet);
  assert.deepEqual(a.sequences, b.sequences);
  assert.notDeepEqual(a.sequences, c.sequences);
  // an explicit generator wins over the seed
  const d = generate(new ToyLM(tables), [[1]], cfg, { ...quiet, generator: new Generator(123) });
  assert.deepEqual(d.sequences, a.sequences);
});

test('sampled first tokens follow softmax(top-k(logits / T)) (chi-square, fixed seed)', () => {
  const n = 4000;
  const T = 0.8;
  const k = 5;
  const out = generate(
    new ToyLM(tables),
    [[3, 9]],
    { maxNewTokens: 1, doSample: true, temperature: T, topK: k, numReturnSequences: n, seed: 2024 },
    quiet,
  );
  // Reference distribution from the closed form.
  const logits = Array.from(new ToyLM(tables).scoreSequence([3, 9]), (x) => Math.fround(x / T));
  const kth = [...logits].sort((x, y) => y - x)[k - 1];
  const kept = logits.map((x) => (x >= kth ? x : -Infinity));
  const p = logSoftmax(kept).map(Math.exp);
  const counts = new Array<number>(V).fill(0);
  for (const s of out.sequences) counts[s[0]]++;
  let chi2 = 0;
  let dof = -1;
  for (let v = 0; v < V; v++) {
    if (p[v] === 0) {
      assert.equal(counts[v], 0, `token ${v} is outside the top-${k} but was sampled`);
      continue;
    }
    chi2 += (counts[v] - n * p[v]) ** 2 / (n * p[v]);
    dof++;
  }
  assert.ok(chi2 < 20, `chi-square ${chi2.toFixed(2)} with ${dof} degrees of freedom`);
  // reported log-probs are those of the warped distribution
  out.sequences.slice(0, 20).forEach((s, i) => assert.ok(Math.abs(out.logprobs[i][0] - Math.log(p[s[0]])) < 1e-5));
});

test('sampleChoice draws in proportion to softmax(scores)', () => {
  const scores = Float32Array.from([0, 1, 2, -Infinity, 0.5]);
  const p = logSoftmax(scores).map(Math.exp);
  const g = new Generator(5);
  const counts = [0, 0, 0, 0, 0];
  const n = 20000;
  for (let i = 0; i < n; i++) counts[sampleChoice(scores, g).token]++;
  assert.equal(counts[3], 0);
  for (let v = 0; v < 5; v++) assert.ok(Math.abs(counts[v] / n - p[v]) < 4 * Math.sqrt((p[v] * (1 - p[v])) / n) + 1e-9);
});

test('EOS ends a sequence (included), minNewTokens holds it back', () => {
  const eos = argmax(new ToyLM(tables).scoreSequence([1, 2]));
  const out = generate(new ToyLM(tables), [[1, 2]], { maxNewTokens: 5, eosTokenId: eos }, quiet);
  assert.deepEqual(out.sequences[0], [eos]);
  assert.deepEqual(out.finishReasons, ['eos']);
  const held = generate(new ToyLM(tables), [[1, 2]], { maxNewTokens: 5, eosTokenId: eos, minNewTokens: 3 }, quiet);
  assert.ok(held.sequences[0].slice(0, 3).every((t) => t !== eos));
});

test('maxLength (HF default 20) counts the prompt when maxNewTokens is unset', () => {
  const out = generate(new ToyLM(tables), [[1, 2, 3]], {}, quiet);
  assert.equal(out.sequences[0].length, 17);
  assert.deepEqual(out.finishReasons, ['length']);
});

test('an empty prompt starts from BOS, else from EOS', () => {
  const fromBos = generate(new ToyLM(tables), [[]], { maxNewTokens: 6, bosTokenId: 5 }, quiet);
  assert.deepEqual(fromBos.sequences[0], referenceGreedy(new ToyLM(tables), [5], 6, 64, 48));
  const fromEos = generate(new ToyLM(tables), [[]], { maxNewTokens: 6, eosTokenId: 11, minNewTokens: 6 }, quiet);
  const lm = new ToyLM(tables);
  generate(lm, [[]], { maxNewTokens: 1, eosTokenId: 11 }, quiet);
  assert.deepEqual(lm.calls[0].inputIds, [11]);
  assert.equal(fromEos.sequences[0].length, 6);
});

test('a prompt longer than the context keeps its last maxPositions tokens and warns how many were dropped', () => {
  const lm = new ToyLM(tables, 16);
  const prompt = Array.from({ length: 23 }, (_, i) => (i * 5) % V);
  const warnings: string[] = [];
  const out = generate(lm, [prompt], { maxNewTokens: 4 }, { onWarning: (m) => warnings.push(m) });
  assert.deepEqual(out.promptTokensDropped, [7]);
  assert.ok(warnings.some((w) => /dropped the first 7 tokens/.test(w)), warnings.join('\n'));
  assert.deepEqual(lm.calls[0].inputIds, prompt.slice(7));
  assert.deepEqual(out.sequences[0], referenceGreedy(new ToyLM(tables, 16), prompt.slice(7), 4, 16, 12));
});

test('generating past the context slides the window (windowKeep = maxPositions is nanoGPT sample.py)', () => {
  for (const keep of [16, 12, 1]) {
    const lm = new ToyLM(tables, 16);
    const warnings: string[] = [];
    const out = generate(lm, [[1, 2, 3]], { maxNewTokens: 40 }, { windowKeep: keep, onWarning: (m) => warnings.push(m) });
    assert.deepEqual(out.sequences[0], referenceGreedy(new ToyLM(tables, 16), [1, 2, 3], 40, 16, keep), `windowKeep ${keep}`);
    assert.equal(warnings.filter((w) => /sliding the window/.test(w)).length, 1);
    for (const c of lm.calls) assert.ok(c.past + c.t <= 16);
  }
  // default keep = 3/4 of the context: slides re-feed 12 tokens
  const lm = new ToyLM(tables, 16);
  const out = generate(lm, [[1, 2, 3]], { maxNewTokens: 40 }, quiet);
  assert.deepEqual(out.sequences[0], referenceGreedy(new ToyLM(tables, 16), [1, 2, 3], 40, 16, 12));
  assert.ok(lm.calls.some((c) => c.t === 12 && c.past === 0));
});

test('left padding: the model sees masks over pads and positions starting at 0 per row', () => {
  const lm = new ToyLM(tables);
  generate(lm, [[1, 2, 3, 4], [7]], { maxNewTokens: 3 }, quiet);
  const first = lm.calls[0];
  assert.equal(first.t, 4);
  assert.deepEqual(first.attentionMask, [1, 1, 1, 1, 0, 0, 0, 1]);
  assert.deepEqual(first.positionIds, [0, 1, 2, 3, 0, 0, 0, 0]);
  const second = lm.calls[1];
  assert.deepEqual(second.attentionMask, [1, 1, 1, 1, 1, 0, 0, 0, 1, 1]);
  assert.deepEqual(second.positionIds, [4, 1]);
});

test('numReturnSequences shares one prefill and returns prompt-major sequences', () => {
  const lm = new ToyLM(tables);
  const out = generate(lm, [[1], [2, 3]], { maxNewTokens: 3, doSample: true, numReturnSequences: 3, seed: 9 }, quiet);
  assert.equal(out.sequences.length, 6);
  assert.equal(lm.calls[0].batch, 2);
  assert.equal(lm.calls[1].batch, 6);
});

test('stop strings end a sequence (kept in the output) and match across tokens and overhangs', () => {
  const tok = charTokenizer('abcdefghijkl');
  const lm = new ToyLM(tables);
  const free = generate(lm, [[0]], { maxNewTokens: 20 }, quiet).sequences[0];
  const text = tok.decode(free);
  const stop = text.slice(4, 6);
  const cut = text.indexOf(stop) + stop.length;
  const out = generate(new ToyLM(tables), [[0]], { maxNewTokens: 20, stopStrings: [stop, 'zz'] }, { ...quiet, tokenizer: tok });
  assert.equal(tok.decode(out.sequences[0]), text.slice(0, cut));
  assert.deepEqual(out.finishReasons, ['stop']);

  // multi-character tokens: "st"+"op", an overhang "xsto"+"pper", and a match ending before the last token
  const vocab = ['st', 'op', 'xsto', 'pper', 'a', 'stop'];
  const m = new StopStringMatcher(listTokenizer(vocab), ['stop']);
  assert.equal(m.matches(Int32Array.from([4, 0, 1])), true);
  assert.equal(m.matches(Int32Array.from([2, 3])), true);
  assert.equal(m.matches(Int32Array.from([5, 4])), false);
  assert.equal(m.matches(Int32Array.from([4, 0])), false);
});

test('bad words are never generated; prefixAllowedTokensFn sees the batch index and the tokens so far', () => {
  const free = generate(new ToyLM(tables), [[1, 2]], { maxNewTokens: 12 }, quiet).sequences[0];
  const banned = free[0];
  const out = generate(new ToyLM(tables), [[1, 2]], { maxNewTokens: 12, badWordsIds: [[banned]] }, quiet);
  assert.ok(!out.sequences[0].includes(banned));
  const seen: [number, number[]][] = [];
  const res = generate(
    new ToyLM(tables),
    [[1, 2], [3]],
    {
      maxNewTokens: 3,
      prefixAllowedTokensFn: (b, ids) => {
        seen.push([b, [...ids]]);
        return [b === 0 ? 4 : 6];
      },
    },
    quiet,
  );
  assert.deepEqual(res.sequences, [
    [4, 4, 4],
    [6, 6, 6],
  ]);
  assert.deepEqual(seen.slice(0, 2), [
    [0, [1, 2]],
    [1, [3]],
  ]);
});

test('ids beyond the tokenizer vocabulary (padded model vocab) are never chosen', () => {
  const tok = charTokenizer('abcdef'); // 6 ids, model has 12
  const out = generate(new ToyLM(tables), [[0]], { maxNewTokens: 30, doSample: true, topK: 0, seed: 3 }, { ...quiet, tokenizer: tok });
  assert.ok(out.sequences[0].every((t) => t < 6));
});

test('an AbortSignal stops generation with finish reason abort', () => {
  const ac = new AbortController();
  let count = 0;
  const out = generate(new ToyLM(tables), [[1]], { maxNewTokens: 50 }, {
    ...quiet,
    signal: ac.signal,
    onToken: (e) => {
      if (e.tokenId >= 0 && ac.signal.aborted === false && e.sequence === 0) {
        if (++count === 3) ac.abort();
      }
    },
  });
  assert.equal(out.sequences[0].length, 3);
  assert.deepEqual(out.finishReasons, ['abort']);
});

test('sampling parameters with doSample false are ignored with a warning (as HF)', () => {
  const warnings: string[] = [];
  generate(new ToyLM(tables), [[1]], { maxNewTokens: 2, temperature: 0.7, topP: 0.9 }, { onWarning: (m) => warnings.push(m) });
  assert.ok(warnings.some((w) => /temperature, topP are ignored/.test(w)), warnings.join('\n'));
});
