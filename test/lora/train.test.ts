import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { pretrain } from '../../src/models/gpt2/pretrain.js';
import { readSafetensors } from '../../src/io/safetensors.js';
import type { TrainRecipe } from '../../src/pipelines/recipe.js';

const recipe = (over: Partial<TrainRecipe['training']> = {}): TrainRecipe => ({
  model: { model_type: 'llama', hidden_size: 32, intermediate_size: 64, num_hidden_layers: 1, num_attention_heads: 2, num_key_value_heads: 1, max_position_embeddings: 32 } as unknown as TrainRecipe['model'],
  tokenizer: { type: 'char' },
  data: { field: 'text', separator: 'eos', valFraction: 0.2, script: 'keep' },
  training: { batchSize: 2, blockSize: 16, maxIters: 8, learningRate: 0.01, evalInterval: 4, evalIters: 1, warmupIters: 1, lrDecayIters: 8, seed: 5, ...over },
});

test('train --lora on a corpus (Llama base): adapter checkpoints, frozen base, exact resume', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'muse-lora-train-'));
  try {
    const corpus = join(dir, 'c.txt');
    writeFileSync(corpus, 'the quick brown fox jumps over the lazy dog. '.repeat(40));
    await pretrain({ recipe: recipe({ maxIters: 4 }), corpus: [corpus], outDir: join(dir, 'base'), progress: false, log: () => {} });
    const base = join(dir, 'base', 'best');
    const baseBytes = readFileSync(join(base, 'model.safetensors'));
    const lora = { r: 2, loraAlpha: 4, loraDropout: 0.1, useRslora: false, targetModules: ['q_proj', 'v_proj'] };
    // The recipe's model section is ignored with lora (the base's config.json is used), so a mismatching one is fine.
    const straight = await pretrain({ recipe: recipe(), corpus: [corpus], outDir: join(dir, 'a'), initFrom: base, lora, progress: false, log: () => {} });
    assert.equal(straight.step, 8);
    assert.ok(existsSync(join(dir, 'a', 'last', 'adapter_config.json')));
    assert.ok(!existsSync(join(dir, 'a', 'last', 'model.safetensors')));
    await pretrain({ recipe: recipe({ maxIters: 4 }), corpus: [corpus], outDir: join(dir, 'b'), initFrom: base, lora, progress: false, log: () => {} });
    await pretrain({ recipe: recipe(), corpus: [corpus], outDir: join(dir, 'b'), initFrom: base, lora, resume: true, progress: false, log: () => {} });
    const a = readSafetensors(join(dir, 'a', 'last', 'adapter_model.safetensors')).tensors;
    const b = readSafetensors(join(dir, 'b', 'last', 'adapter_model.safetensors')).tensors;
    assert.deepEqual([...a.keys()].sort(), [...b.keys()].sort());
    for (const [k, t] of a) assert.deepEqual(Array.from(t.data), Array.from(b.get(k)!.data), `${k} differs after resume`);
    assert.ok([...a.values()].some((t) => Array.from(t.data).some((v) => v !== 0)));
    assert.deepEqual(readFileSync(join(base, 'model.safetensors')), baseBytes);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
