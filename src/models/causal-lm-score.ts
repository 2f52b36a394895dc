/**
 * Perplexity scoring for any {@link CausalLM}: the `ScoreFn` that
 * `eval/perplexity.ts` slides over a token stream (eval itself imports no
 * model code, so the model side of the contract lives here).
 */
import type { NllSum, ScoreFn } from '../eval/perplexity.js';
import { IGNORE_INDEX } from '../eval/perplexity.js';
import type { CausalLM } from './causal-lm.js';

/**
 * A scoring function over one window: the model's logits for every position of
 * `inputIds` (a fresh cache, batch 1), then the summed next-token negative
 * log-likelihood (nats) of each scored label. Labels follow Hugging Face:
 * `labels[i + 1]` is the target of position `i`, `-100` is skipped, so position 0
 * is never scored — the convention of transformers' perplexity guide.
 *
 * @param model any causal LM; its logits for a window are `[t, vocabSize]`
 * @returns a `ScoreFn` for {@link perplexity}
 * @throws whatever `model.forward` throws for a window longer than its context
 */
export function causalLMScorer(model: CausalLM): ScoreFn {
  const V = model.vocabSize;
  return (inputIds: number[], labels: number[]): NllSum => {
    const t = inputIds.length;
    const logits = model.forward(Int32Array.from(inputIds), 1, t, model.newCache(1), { lastOnly: false });
    let nll = 0;
    let count = 0;
    for (let i = 0; i + 1 < t; i++) {
      const target = labels[i + 1];
      if (target === undefined || target === IGNORE_INDEX) continue;
      const row = logits.subarray(i * V, (i + 1) * V);
      let max = -Infinity;
      for (let v = 0; v < V; v++) if (row[v] > max) max = row[v];
      let sum = 0;
      for (let v = 0; v < V; v++) sum += Math.exp(row[v] - max);
      nll += max + Math.log(sum) - row[target];
      count++;
    }
    return { nll, count };
  };
}
