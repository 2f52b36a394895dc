/**
 * A fixed held-out set (`muse train --val-corpus`): its documents are the
 * validation stream, in file order with EOS after each, every corpus
 * document trains, and the tokenizer comes from the training documents only.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tokenizeCorpus } from '../../../src/models/gpt2/pretrain.js';
import type { TrainRecipe } from '../../../src/pipelines/recipe.js';

test('tokenizeCorpus with validation files: held-out documents validate, the whole corpus trains', () => {
  const dir = mkdtempSync(join(tmpdir(), 'muse-valcorpus-'));
  try {
    const train = Array.from({ length: 300 }, (_, i) => ({ text: `白日依山尽，黄河入海流。${i % 10}` }));
    const held = [{ text: '床前明月光，疑是地上霜。' }, { text: '举头望明月，低头思故乡。' }];
    writeFileSync(join(dir, 'train.jsonl'), train.map((r) => JSON.stringify(r)).join('\n'));
    writeFileSync(join(dir, 'held.jsonl'), held.map((r) => JSON.stringify(r)).join('\n'));
    const recipe = {
      model: { model_type: 'gpt2' },
      tokenizer: { type: 'char' },
      data: { field: 'text', separator: 'eos', valFraction: 0.5, shuffleDocuments: true },
      training: { blockSize: 8, batchSize: 1, maxIters: 1, learningRate: 0.1, evalInterval: 1, evalIters: 1, seed: 1 },
    } as unknown as TrainRecipe;
    const r = tokenizeCorpus(recipe, [join(dir, 'train.jsonl')], undefined, [join(dir, 'held.jsonl')]);
    const eos = r.tokenizer.eosTokenId!;
    assert.equal(r.train.length, train.reduce((n, d) => n + [...d.text].length + 1, 0)); // every training document, valFraction unused
    assert.equal(r.val.length, 2 * (12 + 1));
    assert.equal(r.val[12], eos);
    // characters seen only in the held-out poems are unknown to the tokenizer
    const unk = r.tokenizer.encodeIds('床', { addSpecialTokens: false });
    assert.deepEqual([...r.val.slice(0, 1)], unk);
    assert.equal(r.tokenizer.decode([...r.val.slice(1, 5)]).includes('前'), false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
