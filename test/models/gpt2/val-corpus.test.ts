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

test('pretrain initFrom starts from a saved model: its tokenizer, its weights, a fresh schedule', async () => {
  const { pretrain } = await import('../../../src/models/gpt2/pretrain.js');
  const { loadGPT } = await import('../../../src/models/gpt2/weights.js');
  const dir = mkdtempSync(join(tmpdir(), 'muse-initfrom-'));
  try {
    const corpus = join(dir, 'c.jsonl');
    writeFileSync(corpus, Array.from({ length: 200 }, (_, i) => JSON.stringify({ text: `春眠不觉晓，处处闻啼鸟。${i % 7}` })).join('\n'));
    const recipe = (maxIters: number, learningRate = 0.01) =>
      ({
        model: { model_type: 'gpt2', n_layer: 1, n_head: 2, n_embd: 16, n_positions: 16 },
        tokenizer: { type: 'char' },
        data: { field: 'text', separator: 'eos', valFraction: 0.1 },
        training: { blockSize: 16, batchSize: 2, maxIters, learningRate, minLr: learningRate, warmupIters: 0, evalInterval: maxIters, evalIters: 1, seed: 3 },
      }) as unknown as TrainRecipe;
    await pretrain({ recipe: recipe(3), corpus: [corpus], outDir: join(dir, 'a'), progress: false, log: () => {} });
    const before = loadGPT(join(dir, 'a', 'best')).model;
    // one step at learning rate 0: the saved weights are the starting ones
    const s = await pretrain({ recipe: recipe(1, 0), corpus: [corpus], outDir: join(dir, 'b'), initFrom: join(dir, 'a', 'best'), progress: false, log: () => {} });
    assert.equal(s.step, 1);
    const after = loadGPT(join(dir, 'b', 'last')).model;
    const w = (m: typeof before) => [...m.namedParameters()].map(([n, p]) => [n, [...p.data.slice(0, 8)]]);
    assert.deepEqual(w(after), w(before));
    await assert.rejects(
      pretrain({ recipe: { ...recipe(1), model: { ...recipe(1).model, n_embd: 32 } }, corpus: [corpus], outDir: join(dir, 'c'), initFrom: join(dir, 'a', 'best'), progress: false, log: () => {} }),
      /--init-from: .*n_embd 16 .* 32/,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
