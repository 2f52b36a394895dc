/**
 * Bootstrap resampling for BLEU and chrF as sacreBLEU 2.x does it
 * (`sacrebleu/significance.py`): a 95% confidence interval from 1000
 * resamples of segments (`--confidence`), and the paired bootstrap test of
 * Koehn (2004) in the form of Moses' `bootstrap-hypothesis-difference-
 * significance.pl` (`--paired-bs`). Resampling draws from muse's own seeded
 * generator, so intervals and p-values agree with sacreBLEU's statistically,
 * not digit for digit (sacreBLEU draws from NumPy's PCG64).
 */
import { ConfigError } from '../errors.js';
import { type BleuOptions, bleuSignature, bleuStatistics, computeBleu } from './bleu.js';
import { type ChrfOptions, chrfFScore, chrfSignature, chrfStatistics } from './chrf.js';

/** Segment statistics in the layout both BLEU and chrF use. */
export interface SegmentStatistics {
  stats: Float64Array;
  width: number;
  segments: number;
}

/** Options of the resampling functions. */
export interface BootstrapOptions {
  /** Number of resamples (default 1000, sacreBLEU's). */
  nSamples?: number;
  /** Generator seed (default 12345, sacreBLEU's `SACREBLEU_SEED`). */
  seed?: number;
}

/** Mean of the resampled scores and the half-width of their 95% interval. */
export interface ConfidenceInterval {
  /** The score on the actual data. */
  score: number;
  /** Mean over resamples. */
  mean: number;
  /** Half the distance between the 2.5th and 97.5th percentile resample (sacreBLEU's `ci`). */
  ci: number;
}

/** Result of {@link pairedBootstrap}. */
export interface PairedBootstrapResult {
  baseline: ConfidenceInterval;
  system: ConfidenceInterval & {
    /** Probability of a difference at least this large arising by chance; small means significant. */
    pValue: number;
  };
  /** Signature with `bs:` and `seed:` fields, sacreBLEU style. */
  signature: string;
}

/**
 * xoshiro128** (Blackman & Vigna, 2018) seeded through splitmix32: a small,
 * fast generator with a 128-bit state, plenty for resampling indices.
 */
export class Xoshiro128 {
  private s = new Uint32Array(4);

  constructor(seed: number) {
    let x = seed >>> 0;
    for (let i = 0; i < 4; i++) {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      this.s[i] = (z ^ (z >>> 16)) >>> 0;
    }
  }

  /** A uniform 32-bit unsigned integer. */
  nextUint32(): number {
    const s = this.s;
    const result = Math.imul(rotl(Math.imul(s[1], 5) >>> 0, 7), 9) >>> 0;
    const t = (s[1] << 9) >>> 0;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return result;
  }

  /** A uniform integer in [0, n), without modulo bias (rejection sampling). */
  nextInt(n: number): number {
    const limit = 2 ** 32 - (2 ** 32 % n);
    let x: number;
    do x = this.nextUint32();
    while (x >= limit);
    return x % n;
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/**
 * sacreBLEU's `estimate_ci`: mean of the scores and half the width between
 * the sorted scores at indices ⌊n/40⌋ and n − ⌊n/40⌋ − 1.
 */
export function estimateCi(scores: ArrayLike<number>): { mean: number; ci: number } {
  const sorted = Float64Array.from(scores).sort();
  const n = sorted.length;
  const lowerIdx = Math.floor(n / 40);
  const upperIdx = n - lowerIdx - 1;
  let sum = 0;
  for (let i = 0; i < n; i++) sum += sorted[i];
  return { mean: sum / n, ci: 0.5 * (sorted[upperIdx] - sorted[lowerIdx]) };
}

/**
 * sacreBLEU's `_compute_p_value` (after multeval): (1 + #{x > observed}) / (1 + n).
 */
export function pValue(sampleStats: ArrayLike<number>, observed: number): number {
  let c = 0;
  for (let i = 0; i < sampleStats.length; i++) if (sampleStats[i] > observed) c++;
  return (c + 1) / (sampleStats.length + 1);
}

function resampleIndices(segments: number, nSamples: number, seed: number): Int32Array[] {
  if (segments === 0) throw new ConfigError('bootstrap resampling needs at least one segment');
  if (!Number.isInteger(nSamples) || nSamples < 1) throw new ConfigError(`nSamples must be a positive integer, got ${nSamples}`);
  const rng = new Xoshiro128(seed);
  const out: Int32Array[] = [];
  for (let b = 0; b < nSamples; b++) {
    const idx = new Int32Array(segments);
    for (let i = 0; i < segments; i++) idx[i] = rng.nextInt(segments);
    out.push(idx);
  }
  return out;
}

function resampledScores(st: SegmentStatistics, indices: Int32Array[], score: (summed: Float64Array) => number): Float64Array {
  const out = new Float64Array(indices.length);
  const acc = new Float64Array(st.width);
  indices.forEach((idx, b) => {
    acc.fill(0);
    for (let i = 0; i < idx.length; i++) {
      const base = idx[i] * st.width;
      for (let j = 0; j < st.width; j++) acc[j] += st.stats[base + j];
    }
    out[b] = score(acc);
  });
  return out;
}

function total(st: SegmentStatistics): Float64Array {
  const acc = new Float64Array(st.width);
  for (let s = 0; s < st.segments; s++) for (let j = 0; j < st.width; j++) acc[j] += st.stats[s * st.width + j];
  return acc;
}

/**
 * Bootstrap confidence interval of a corpus metric from its segment
 * statistics (sacreBLEU's `--confidence`).
 * @param score maps summed statistics to the metric's score
 */
export function bootstrapConfidence(
  st: SegmentStatistics,
  score: (summed: Float64Array) => number,
  opts: BootstrapOptions = {},
): ConfidenceInterval {
  const indices = resampleIndices(st.segments, opts.nSamples ?? 1000, opts.seed ?? 12345);
  const { mean, ci } = estimateCi(resampledScores(st, indices, score));
  return { score: score(total(st)), mean, ci };
}

/**
 * Paired bootstrap resampling of two systems on the same segments
 * (sacreBLEU's `_paired_bs_test`): both are scored on the same resamples;
 * the p-value counts resamples whose centred absolute difference exceeds
 * the observed one.
 */
export function pairedBootstrapFromStatistics(
  baseline: SegmentStatistics,
  system: SegmentStatistics,
  score: (summed: Float64Array) => number,
  opts: BootstrapOptions = {},
): Omit<PairedBootstrapResult, 'signature'> {
  if (baseline.segments !== system.segments || baseline.width !== system.width) {
    throw new ConfigError(
      `paired bootstrap needs both systems on the same segments: baseline has ${baseline.segments}, system ${system.segments}`,
    );
  }
  const indices = resampleIndices(system.segments, opts.nSamples ?? 1000, opts.seed ?? 12345);
  const blScores = resampledScores(baseline, indices, score);
  const sysScores = resampledScores(system, indices, score);
  const blScore = score(total(baseline));
  const sysScore = score(total(system));
  const diffs = new Float64Array(indices.length);
  let meanDiff = 0;
  for (let b = 0; b < diffs.length; b++) {
    diffs[b] = Math.abs(sysScores[b] - blScores[b]);
    meanDiff += diffs[b];
  }
  meanDiff /= diffs.length;
  for (let b = 0; b < diffs.length; b++) diffs[b] -= meanDiff;
  const bl = estimateCi(blScores);
  const sy = estimateCi(sysScores);
  return {
    baseline: { score: blScore, ...bl },
    system: { score: sysScore, ...sy, pValue: pValue(diffs, Math.abs(blScore - sysScore)) },
  };
}

/** Which metric a paired test runs on, with its options. */
export type PairedMetric = { metric: 'bleu'; options?: BleuOptions } | { metric: 'chrf'; options?: ChrfOptions };

/**
 * Paired bootstrap test of `system` against `baseline` on BLEU or chrF
 * (sacreBLEU's `--paired-bs`), with 95% intervals for both.
 *
 * @param baseline baseline hypotheses, one per segment
 * @param system the compared system's hypotheses, same segments
 * @param refs reference streams `refs[stream][segment]`
 * @throws ConfigError for mismatched lengths or bad options
 */
export function pairedBootstrap(
  baseline: readonly string[],
  system: readonly string[],
  refs: readonly (readonly string[])[],
  metric: PairedMetric = { metric: 'bleu' },
  opts: BootstrapOptions = {},
): PairedBootstrapResult {
  if (baseline.length !== system.length) {
    throw new ConfigError(`baseline has ${baseline.length} lines but the system has ${system.length}; they must cover the same segments`);
  }
  const nSamples = opts.nSamples ?? 1000;
  const seed = opts.seed ?? 12345;
  if (metric.metric === 'bleu') {
    const o = metric.options ?? {};
    const bl = bleuStatistics(baseline, refs, o);
    const sy = bleuStatistics(system, refs, o);
    const res = pairedBootstrapFromStatistics(bl, sy, (s) => computeBleu(s, o).score, { nSamples, seed });
    return { ...res, signature: bleuSignature(o, sy.nrefs, { bootstrap: nSamples, seed }) };
  }
  const o = metric.options ?? {};
  const bl = chrfStatistics(baseline, refs, o);
  const sy = chrfStatistics(system, refs, o);
  const res = pairedBootstrapFromStatistics(bl, sy, (s) => chrfFScore(s, o), { nSamples, seed });
  return { ...res, signature: chrfSignature(o, sy.nrefs, { bootstrap: nSamples, seed }) };
}

/**
 * Corpus BLEU or chrF with a bootstrap 95% interval (sacreBLEU's `--confidence`).
 * @throws ConfigError for mismatched lengths or bad options
 */
export function confidenceInterval(
  hyps: readonly string[],
  refs: readonly (readonly string[])[],
  metric: PairedMetric = { metric: 'bleu' },
  opts: BootstrapOptions = {},
): ConfidenceInterval & { signature: string } {
  const nSamples = opts.nSamples ?? 1000;
  const seed = opts.seed ?? 12345;
  if (metric.metric === 'bleu') {
    const o = metric.options ?? {};
    const st = bleuStatistics(hyps, refs, o);
    const res = bootstrapConfidence(st, (s) => computeBleu(s, o).score, { nSamples, seed });
    return { ...res, signature: bleuSignature(o, st.nrefs, { bootstrap: nSamples, seed }) };
  }
  const o = metric.options ?? {};
  const st = chrfStatistics(hyps, refs, o);
  const res = bootstrapConfidence(st, (s) => chrfFScore(s, o), { nSamples, seed });
  return { ...res, signature: chrfSignature(o, st.nrefs, { bootstrap: nSamples, seed }) };
}
