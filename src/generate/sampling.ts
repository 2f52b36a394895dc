/**
 * Choosing the next token from processed scores: greedy (argmax) or one
 * multinomial draw from softmax(scores) with a seeded generator (HF `_sample`
 * does `torch.multinomial(softmax(scores), 1)`). Both report the chosen
 * token's natural-log probability under the processed distribution.
 */
import { argmax, logSumExp } from './select.js';

/** A source of uniform numbers in [0, 1); `Generator` from `src/tensor/random.ts` is one. */
export interface RandomSource {
  random(): number;
}

/** A chosen token and its log-probability under softmax(scores). */
export interface Choice {
  token: number;
  logprob: number;
}

/** Greedy choice: the first highest score (as `torch.argmax`). */
export function greedyChoice(scores: Float32Array): Choice {
  const token = argmax(scores);
  return { token, logprob: scores[token] - logSumExp(scores) };
}

/** exp(score − max) of the last row sampled, reused across calls (grown on demand). */
let expScratch = new Float64Array(0);

/**
 * One draw from softmax(scores) by inverse transform sampling on a single
 * uniform number: O(vocab), one exp per finite score, no allocation.
 */
export function sampleChoice(scores: Float32Array, rng: RandomSource): Choice {
  const n = scores.length;
  let mx = -Infinity;
  for (let i = 0; i < n; i++) if (scores[i] > mx) mx = scores[i];
  if (mx === -Infinity) return { token: 0, logprob: -Infinity };
  if (expScratch.length < n) expScratch = new Float64Array(n);
  const e = expScratch;
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const s = scores[i];
    const v = s === -Infinity ? 0 : Math.exp(s - mx);
    e[i] = v;
    sum += v;
  }
  const u = rng.random() * sum;
  let acc = 0;
  let last = -1;
  for (let i = 0; i < n; i++) {
    const v = e[i];
    if (v === 0) continue;
    acc += v;
    last = i;
    if (u < acc) return { token: i, logprob: scores[i] - mx - Math.log(sum) };
  }
  // Rounding left u ≥ the final sum: take the last token with non-zero probability.
  return { token: last, logprob: scores[last] - mx - Math.log(sum) };
}

/**
 * Gumbel perturbation for sampling k items without replacement
 * (Kool et al. 2019, "Stochastic Beams and Where to Find Them"): the indices
 * of the k largest `logp + G`, G ~ Gumbel(0, 1), in decreasing order, are a
 * draw of k items without replacement from softmax(logp), in draw order — the
 * same distribution as `torch.multinomial(probs, k, replacement=False)`.
 * Writes the perturbed keys into `out` (-Infinity stays -Infinity).
 */
export function gumbelKeys(logp: ArrayLike<number>, out: Float64Array, n: number, rng: RandomSource): void {
  for (let i = 0; i < n; i++) {
    const v = logp[i];
    if (v === -Infinity) {
      out[i] = -Infinity;
      continue;
    }
    let u = rng.random();
    if (u === 0) u = Number.MIN_VALUE;
    out[i] = v - Math.log(-Math.log(u));
  }
}
