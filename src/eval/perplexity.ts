/**
 * Perplexity of a causal language model on a long token sequence with a
 * sliding window, following Hugging Face's "Perplexity of fixed-length
 * models" guide (https://huggingface.co/docs/transformers/perplexity):
 * windows of at most `maxLength` tokens advance by `stride`; in each window
 * only the tokens not scored by an earlier window are labelled (the rest are
 * -100), so every token after the first is scored exactly once, with at
 * least `maxLength − stride` tokens of context once the window is full.
 * Evaluation imports no tensor code: the model is reached through a scoring
 * function.
 */
import { ConfigError } from '../errors.js';

/** Label value that marks a position as not scored (PyTorch's `ignore_index`). */
export const IGNORE_INDEX = -100;

/** Summed natural-log negative log-likelihood and how many labels it covers. */
export interface NllSum {
  /** Σ −ln p(label) over the scored labels, in nats. */
  nll: number;
  /** Number of labels scored. */
  count: number;
}

/**
 * Scores one window, with Hugging Face's causal-LM label convention: labels
 * are aligned with `inputIds` and the model predicts `labels[t]` from
 * `inputIds[0..t)` (the shift happens inside), so `labels[0]` is never
 * scored; positions labelled -100 are skipped.
 *
 * @param inputIds token ids of the window, `[windowLen]`
 * @param labels `[windowLen]`, each the token id to score or -100
 */
export type ScoreFn = (inputIds: number[], labels: number[]) => NllSum | Promise<NllSum>;

/** Options of {@link perplexity}. */
export interface PerplexityOptions {
  /** Window length in tokens (the model's context size, e.g. 1024 for GPT-2). */
  maxLength: number;
  /** Step between window starts (default `maxLength`: disjoint windows). Smaller is slower and closer to full-context perplexity. */
  stride?: number;
}

/** A perplexity result. */
export interface PerplexityResult {
  /** exp(mean NLL). */
  perplexity: number;
  /** Mean NLL per scored token, in nats. */
  meanNll: number;
  /** Number of tokens scored. */
  tokens: number;
  /** Number of windows evaluated. */
  windows: number;
}

/**
 * Perplexity of the model behind `scoreFn` on `ids` with a sliding window.
 * Unlike the guide's `loss × (valid − 1)` bookkeeping, the exact summed NLL
 * and count returned by `scoreFn` are accumulated, so no token is weighted
 * twice or dropped.
 *
 * @param scoreFn window scorer (see {@link ScoreFn})
 * @param ids the whole tokenized text, `[seqLen]`, seqLen ≥ 2
 * @throws ConfigError for fewer than two tokens, `maxLength < 2`, a stride
 *   outside [1, maxLength], or a scorer that scores nothing
 */
export async function perplexity(scoreFn: ScoreFn, ids: ArrayLike<number>, opts: PerplexityOptions): Promise<PerplexityResult> {
  const { maxLength } = opts;
  const stride = opts.stride ?? maxLength;
  if (!Number.isInteger(maxLength) || maxLength < 2) throw new ConfigError(`maxLength must be an integer ≥ 2, got ${maxLength}`);
  if (!Number.isInteger(stride) || stride < 1 || stride > maxLength) {
    throw new ConfigError(`stride must be an integer in [1, maxLength=${maxLength}], got ${stride}`);
  }
  const seqLen = ids.length;
  if (seqLen < 2) throw new ConfigError(`perplexity needs at least 2 tokens, got ${seqLen}`);

  let nll = 0;
  let count = 0;
  let windows = 0;
  let prevEnd = 0;
  for (let begin = 0; begin < seqLen; begin += stride) {
    const end = Math.min(begin + maxLength, seqLen);
    const trgLen = end - prevEnd; // tokens not yet scored; < stride on the last window
    const inputIds = Array.from({ length: end - begin }, (_, i) => ids[begin + i]);
    const labels = inputIds.map((id, i) => (i < inputIds.length - trgLen ? IGNORE_INDEX : id));
    const r = await scoreFn(inputIds, labels);
    nll += r.nll;
    count += r.count;
    windows++;
    prevEnd = end;
    if (end === seqLen) break;
  }
  if (count === 0) throw new ConfigError('the scoring function scored no token; check that it honours the labels it is given');
  const meanNll = nll / count;
  return { perplexity: Math.exp(meanNll), meanNll, tokens: count, windows };
}
