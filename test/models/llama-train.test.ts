import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { pretrain } from '../../src/models/gpt2/pretrain.js';
import { loadCausalLM } from '../../src/models/registry.js';
import { loadRecipe, type TrainRecipe } from '../../src/pipelines/recipe.js';
import { estimateTraining } from '../../src/pipelines/estimate.js';
import { LlamaForCausalLM } from '../../src/models/llama/model.js';
import { generate } from '../../src/generate/index.js';

const root = join(import.meta.dirname, '../..');

function recipe(over: Partial<TrainRecipe['training']> = {}): TrainRecipe {
  return {
    model: { model_type: 'qwen3', num_hidden_layers: 1, num_attention_heads: 2, num_key_value_heads: 1, hidden_size: 16, intermediate_size: 24, head_dim: 8, tie_word_embeddings: true } as unknown as TrainRecipe['model'],
    tokenizer: { type: 'char' },
    data: { field: 'text', separator: 'eos', valFraction: 0.2, script: 'keep' },
    training: { batchSize: 4, blockSize: 16, maxIters: 30, learningRate: 0.01, evalInterval: 15, evalIters: 2, warmupIters: 2, seed: 5, ...over },
  };
}

test('muse train recipes accept a llama-family model_type: loss falls, best/ loads and generates, resume continues', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'muse-llama-train-'));
  try {
    const corpus = join(dir, 'c.jsonl');
    writeFileSync(corpus, Array.from({ length: 30 }, (_, i) => JSON.stringify({ text: `to be or not to be ${i % 3}` })).join('\n') + '\n');
    const out = join(dir, 'run');
    const summary = await pretrain({ recipe: recipe(), corpus: [corpus], outDir: out, progress: false, log: () => {} });
    assert.equal(summary.step, 30);
    const loaded = loadCausalLM(join(out, 'best'));
    assert.ok(loaded.model instanceof LlamaForCausalLM);
    assert.ok(summary.valLoss! < Math.log(loaded.model.vocabSize), `val loss ${summary.valLoss}`);
    assert.equal(summary.parameters, loaded.model.numParameters());
    const cfg = JSON.parse(readFileSync(join(out, 'best', 'config.json'), 'utf8')) as Record<string, unknown>;
    assert.deepEqual(cfg.architectures, ['Qwen3ForCausalLM']);
    assert.equal(cfg.max_position_embeddings, 16);
    const g = generate(loaded.model, [loaded.tokenizer.encode('to', { addSpecialTokens: false }).ids], { maxNewTokens: 4, doSample: false });
    assert.equal(g.sequences[0].length, 4);
    const resumed = await pretrain({ recipe: recipe({ maxIters: 34 }), corpus: [corpus], outDir: out, resume: true, progress: false, log: () => {} });
    assert.equal(resumed.step, 34);
    const wider = recipe({ maxIters: 40 });
    wider.model = { ...wider.model, hidden_size: 32 };
    await assert.rejects(pretrain({ recipe: wider, corpus: [corpus], outDir: out, resume: true, progress: false, log: () => {} }), /hidden_size 16 but the recipe .* asks for 32/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('configs/shakespeare-char-llama.json matches shakespeare-char-baby in FLOPs per token and non-position parameters', () => {
  const baby = estimateTraining(loadRecipe(join(root, 'configs/shakespeare-char-baby.json')), 67);
  const llama = estimateTraining(loadRecipe(join(root, 'configs/shakespeare-char-llama.json')), 67);
  assert.ok(Math.abs(llama.flopsPerToken / baby.flopsPerToken - 1) < 1e-3, `${llama.flopsPerToken} vs ${baby.flopsPerToken}`);
  assert.ok(Math.abs(llama.nonEmbeddingParameters - baby.nonEmbeddingParameters) <= 128);
});
