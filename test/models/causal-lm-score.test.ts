import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fromArray, noGrad } from '../../src/tensor/index.js';
import { GPT } from '../../src/models/gpt2/model.js';
import { causalLMScorer } from '../../src/models/causal-lm-score.js';
import { perplexity } from '../../src/eval/perplexity.js';

// The scorer reads logits through the CausalLM interface; the reference is the
// model's own differentiable cross-entropy (HF labels, -100 ignored) on the same window.
test('causalLMScorer: summed NLL equals the training loss × scored labels, -100 skipped', async () => {
  const model = new GPT({ vocab_size: 13, n_positions: 16, n_embd: 8, n_layer: 1, n_head: 2 }, { seed: 5 });
  model.eval();
  const ids = [1, 4, 7, 2, 9, 12, 0, 3, 5];
  const labels = [...ids];
  labels[3] = -100;
  const { nll, count } = await causalLMScorer(model)(ids, labels);
  const loss = noGrad(() =>
    model.forward(fromArray(Int32Array.from(ids), [1, ids.length], 'int32'), { labels: fromArray(Int32Array.from(labels), [1, ids.length], 'int32') }).loss!.item(),
  );
  assert.equal(count, ids.length - 2); // position 0 is never a target, one label ignored
  assert.ok(Math.abs(nll / count - loss) < 1e-5, `${nll / count} vs ${loss}`);
  const res = await perplexity(causalLMScorer(model), ids, { maxLength: 16, stride: 8 });
  assert.ok(Math.abs(res.meanNll - (await causalLMScorer(model)(ids, ids)).nll / (ids.length - 1)) < 1e-6);
});
