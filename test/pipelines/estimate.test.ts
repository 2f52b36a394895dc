import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { estimateTraining } from '../../src/pipelines/estimate.js';
import { loadRecipe } from '../../src/pipelines/recipe.js';
import { GPT } from '../../src/models/gpt2/model.js';
import { BertForMaskedLM } from '../../src/models/bert/model.js';

const configs = join(dirname(fileURLToPath(import.meta.url)), '../../configs');
const count = (m: { parameters(): { size: number }[] }): number => m.parameters().reduce((s, p) => s + p.size, 0);

test('estimate counts the parameters of the model a GPT recipe builds', () => {
  const recipe = loadRecipe(join(configs, 'shakespeare-char-baby.json'));
  const e = estimateTraining(recipe, 65);
  const model = new GPT({ ...recipe.model, vocab_size: 65, n_positions: recipe.model.n_positions ?? recipe.training.blockSize });
  assert.equal(e.parameters, count(model));
  assert.equal(e.tokensPerIter, recipe.training.batchSize * recipe.training.blockSize);
});

test('estimate of a BERT recipe: the BertForMaskedLM it builds, the head counted on the masked share', () => {
  const recipe = loadRecipe(join(configs, 'tang-poems-bert.json'));
  const e = estimateTraining(recipe, 6195);
  const model = new BertForMaskedLM({ ...(recipe.model as Record<string, unknown>), vocab_size: 6195 }, { init: false });
  assert.equal(e.parameters, count(model));
  const C = 192, L = 4, I = 768, T = recipe.training.blockSize, p = 0.4;
  const expected = 6 * (L * (4 * C * C + 2 * C * I) + p * (C * C + 6195 * C)) + 12 * L * C * T;
  assert.ok(Math.abs(e.flopsPerToken - expected) < 1e-6 * expected, `${e.flopsPerToken} vs ${expected}`);
});
