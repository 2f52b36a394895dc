/**
 * Logits warpers, applied only when sampling, after the processors, in HF's
 * order: temperature, top-k, top-p, min-p, typical-p (transformers
 * `_get_logits_processor`, `do_sample=True`). Each follows the HF class of the
 * same name; the sorts HF does are replaced by partial selection so a step
 * stays O(vocab) in the usual case.
 */
import type { ResolvedGenerationConfig } from './config.js';
import type { LogitsProcessor } from './logits-process.js';
import { massSelect, selectTopK, iota } from './select.js';

/** Divides the scores by the temperature (HF `TemperatureLogitsWarper`); temperature > 0. */
export class TemperatureLogitsWarper implements LogitsProcessor {
  constructor(readonly temperature: number) {}

  process(scores: Float32Array): void {
    const t = this.temperature;
    for (let i = 0; i < scores.length; i++) scores[i] /= t;
  }
}

/**
 * Keeps the `topK` highest scores (HF `TopKLogitsWarper`): k is raised to
 * `minTokensToKeep` and clamped to the vocabulary, and every score strictly
 * below the k-th largest is removed (so ties with the k-th are kept, as HF).
 */
export class TopKLogitsWarper implements LogitsProcessor {
  private readonly idx: Int32Array;
  readonly k: number;

  constructor(topK: number, minTokensToKeep: number, vocabSize: number) {
    this.k = Math.min(Math.max(topK, minTokensToKeep), vocabSize);
    this.idx = new Int32Array(vocabSize);
  }

  process(scores: Float32Array): void {
    const n = scores.length;
    if (this.k >= n) return;
    iota(this.idx, n);
    selectTopK(scores, this.idx, n, this.k, false);
    let threshold = Infinity; // the k-th largest score
    for (let r = 0; r < this.k; r++) if (scores[this.idx[r]] < threshold) threshold = scores[this.idx[r]];
    for (let i = 0; i < n; i++) if (scores[i] < threshold) scores[i] = -Infinity;
  }
}

/**
 * Position of the first token (in descending `key` order) at which the
 * running sum of `prob` reaches `mass`, with every better token before it in
 * `idx` (see {@link massSelect}); -1 when never reached.
 */
function crossing(key: ArrayLike<number>, prob: Float64Array, idx: Int32Array, n: number, mass: number): number {
  iota(idx, n);
  return massSelect(key, prob, idx, n, mass);
}

/** Writes exp(scores − max) / Σ into `prob` (float64). */
function softmaxInto(scores: Float32Array, prob: Float64Array): void {
  const n = scores.length;
  let mx = -Infinity;
  for (let i = 0; i < n; i++) if (scores[i] > mx) mx = scores[i];
  let s = 0;
  for (let i = 0; i < n; i++) {
    const e = mx === -Infinity ? 0 : Math.exp(scores[i] - mx);
    prob[i] = e;
    s += e;
  }
  const inv = s > 0 ? 1 / s : 0;
  for (let i = 0; i < n; i++) prob[i] *= inv;
}

/** Sets every score to -Infinity except those of idx[0..m). */
function keepOnly(scores: Float32Array, idx: Int32Array, m: number, saved: Float32Array): void {
  for (let r = 0; r < m; r++) saved[r] = scores[idx[r]];
  scores.fill(-Infinity);
  for (let r = 0; r < m; r++) scores[idx[r]] = saved[r];
}

/**
 * Nucleus sampling (Holtzman et al. 2020, §3.1; HF `TopPLogitsWarper`): keeps
 * the smallest set of most likely tokens whose probability reaches `topP`
 * (HF removes the tokens whose ascending cumulative probability is ≤ 1 − topP,
 * which is the same set), and at least `minTokensToKeep`.
 */
export class TopPLogitsWarper implements LogitsProcessor {
  private readonly idx: Int32Array;
  private readonly prob: Float64Array;
  private readonly saved: Float32Array;

  constructor(
    readonly topP: number,
    readonly minTokensToKeep: number,
    vocabSize: number,
  ) {
    this.idx = new Int32Array(vocabSize);
    this.prob = new Float64Array(vocabSize);
    this.saved = new Float32Array(vocabSize);
  }

  process(scores: Float32Array): void {
    const n = scores.length;
    softmaxInto(scores, this.prob);
    // Token at descending rank r is kept iff the mass strictly above it is < topP.
    // topP 0 keeps nothing but the minTokensToKeep best (HF: top_p=0 decodes greedily).
    const cross = this.topP <= 0 ? -1 : crossing(scores, this.prob, this.idx, n, this.topP);
    let keep = this.topP <= 0 ? 0 : cross < 0 ? n : cross + 1;
    if (keep < this.minTokensToKeep) {
      iota(this.idx, n);
      keep = selectTopK(scores, this.idx, n, this.minTokensToKeep, false);
    }
    if (keep >= n) return;
    keepOnly(scores, this.idx, keep, this.saved);
  }
}

/**
 * Min-p sampling (Nguyen et al. 2024; HF `MinPLogitsWarper`, applied after
 * temperature): removes tokens whose probability is below `minP` × the top
 * probability, keeping at least the `minTokensToKeep` best.
 */
export class MinPLogitsWarper implements LogitsProcessor {
  private readonly idx: Int32Array;
  private readonly saved: Float32Array;

  constructor(
    readonly minP: number,
    readonly minTokensToKeep: number,
    vocabSize: number,
  ) {
    this.idx = new Int32Array(vocabSize);
    this.saved = new Float32Array(vocabSize);
  }

  process(scores: Float32Array): void {
    const n = scores.length;
    let mx = -Infinity;
    for (let i = 0; i < n; i++) if (scores[i] > mx) mx = scores[i];
    if (mx === -Infinity) return;
    // p_i < minP · p_max  ⇔  exp(s_i − s_max) < minP
    let kept = 0;
    for (let i = 0; i < n; i++) if (!(Math.exp(scores[i] - mx) < this.minP)) kept++;
    if (kept < this.minTokensToKeep) {
      iota(this.idx, n);
      const m = selectTopK(scores, this.idx, n, this.minTokensToKeep);
      for (let r = 0; r < m; r++) this.saved[r] = scores[this.idx[r]];
      for (let i = 0; i < n; i++) if (Math.exp(scores[i] - mx) < this.minP) scores[i] = -Infinity;
      for (let r = 0; r < m; r++) scores[this.idx[r]] = this.saved[r];
      return;
    }
    for (let i = 0; i < n; i++) if (Math.exp(scores[i] - mx) < this.minP) scores[i] = -Infinity;
  }
}

/**
 * Locally typical sampling (Meister et al. 2023; HF `TypicalLogitsWarper`):
 * ranks tokens by |−log p − H| (H the entropy), finds the first rank at which
 * the cumulative probability reaches `typicalP`, and removes every token less
 * typical than that one; at least `minTokensToKeep` stay.
 */
export class TypicalLogitsWarper implements LogitsProcessor {
  private readonly idx: Int32Array;
  private readonly prob: Float64Array;
  private readonly negShift: Float64Array;

  constructor(
    readonly typicalP: number,
    readonly minTokensToKeep: number,
    vocabSize: number,
  ) {
    this.idx = new Int32Array(vocabSize);
    this.prob = new Float64Array(vocabSize);
    this.negShift = new Float64Array(vocabSize);
  }

  process(scores: Float32Array): void {
    const n = scores.length;
    const prob = this.prob;
    softmaxInto(scores, prob);
    let ent = 0;
    for (let i = 0; i < n; i++) if (prob[i] > 0) ent -= prob[i] * Math.log(prob[i]);
    const neg = this.negShift; // −|−log p − H|: larger = more typical
    for (let i = 0; i < n; i++) neg[i] = prob[i] > 0 ? -Math.abs(-Math.log(prob[i]) - ent) : -Infinity;
    // HF: last_ind = #(cumulative < mass), clamped to n − 1; drop shifted > shifted[last_ind].
    const cross = crossing(neg, prob, this.idx, n, this.typicalP);
    if (cross < 0) return; // never reached (rounding): HF keeps everything up to the least typical
    const threshold = neg[this.idx[cross]];
    const minKeep = Math.min(this.minTokensToKeep, n);
    if (minKeep > 1) {
      iota(this.idx, n);
      const m = selectTopK(neg, this.idx, n, minKeep, false);
      for (let r = 0; r < m; r++) neg[this.idx[r]] = Infinity; // protected: the minKeep most typical
    }
    for (let i = 0; i < n; i++) if (neg[i] < threshold) scores[i] = -Infinity;
  }
}

/**
 * The warpers `cfg` asks for, in HF's order. `minTokensToKeep` is 1, or for
 * beam sampling max(2, #EOS + 1) as HF does (so a beam always has a non-EOS
 * continuation).
 */
export function buildLogitsWarpers(
  cfg: ResolvedGenerationConfig,
  vocabSize: number,
  minTokensToKeep: number,
): LogitsProcessor[] {
  const out: LogitsProcessor[] = [];
  if (cfg.temperature !== 1) out.push(new TemperatureLogitsWarper(cfg.temperature));
  if (cfg.topK !== 0) out.push(new TopKLogitsWarper(cfg.topK, minTokensToKeep, vocabSize));
  if (cfg.topP < 1) out.push(new TopPLogitsWarper(cfg.topP, minTokensToKeep, vocabSize));
  if (cfg.minP !== undefined) out.push(new MinPLogitsWarper(cfg.minP, minTokensToKeep, vocabSize));
  if (cfg.typicalP < 1) out.push(new TypicalLogitsWarper(cfg.typicalP, minTokensToKeep, vocabSize));
  return out;
}
