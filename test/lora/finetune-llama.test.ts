// muse finetune --lora on pairs with a Llama-family base (the pairs pipeline trains GPT-2 fully, and either family with LoRA).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { pretrain } from '../../src/models/gpt2/pretrain.js';
import { finetune } from '../../src/models/gpt2/finetune.js';
import { loadCausalLM } from '../../src/models/registry.js';
import { readSafetensors } from '../../src/io/safetensors.js';
import type { TrainRecipe } from '../../src/pipelines/recipe.js';
import { muse } from '../reliability/helpers.js';

const lines = ['the fox and the crow', 'a lion and a mouse', 'the wind and the sun', 'the ant and the dove'];

/** A tiny Llama model pretrained for 4 steps in `dir/base/best`. */
async function tinyLlamaBase(dir: string): Promise<string> {
  const corpus = join(dir, 'c.jsonl');
  writeFileSync(corpus, Array.from({ length: 12 }, (_, i) => JSON.stringify({ text: lines[i % 4] })).join('\n') + '\n');
  const recipe = {
    model: { model_type: 'llama', hidden_size: 32, intermediate_size: 64, num_hidden_layers: 1, num_attention_heads: 2, num_key_value_heads: 1, max_position_embeddings: 32 } as unknown as TrainRecipe['model'],
    tokenizer: { type: 'char' },
    data: { field: 'text', separator: 'eos', valFraction: 0.2, script: 'keep' },
    training: { batchSize: 2, blockSize: 16, maxIters: 4, learningRate: 0.01, evalInterval: 4, evalIters: 1, warmupIters: 1, seed: 5 },
  } as TrainRecipe;
  await pretrain({ recipe, corpus: [corpus], outDir: join(dir, 'base'), progress: false, log: () => {} });
  return join(dir, 'base', 'best');
}

test('finetune --lora on pairs: a Llama base trains q_proj,v_proj adapters (PEFT defaults), the base stays as it was', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'muse-lora-llama-ft-'));
  try {
    const baseDir = await tinyLlamaBase(dir);
    const baseBytes = readFileSync(join(baseDir, 'model.safetensors'));
    const pairs = Array.from({ length: 8 }, (_, i) => ({ beginning: lines[i % 4].slice(0, 8), ending: lines[i % 4].slice(8) }));
    // Full fine-tuning on pairs stays GPT-2-only, and says to add --lora.
    await assert.rejects(finetune({ base: loadCausalLM(baseDir), pairs, outDir: join(dir, 'full'), maxIters: 2, progress: false, log: () => {} }), /add --lora/);
    const report = await finetune({
      base: loadCausalLM(baseDir), pairs, outDir: join(dir, 'ft'), maxIters: 12, batchSize: 2, valFraction: 0.25, learningRate: 0.01, progress: false, log: () => {},
      lora: { r: 2, loraAlpha: 4, loraDropout: 0, useRslora: false, targetModules: ['q_proj', 'v_proj'] },
    });
    // q_proj [32 → 32], v_proj [32 → 16] (one KV head of 16): r·(in + out) each.
    assert.equal(report.trainableParameters, 2 * (32 + 32) + 2 * (32 + 16));
    assert.ok(Number.isFinite(report.train.bestValLoss!));
    assert.ok(existsSync(join(dir, 'ft', 'best', 'adapter_config.json')));
    assert.ok(!existsSync(join(dir, 'ft', 'best', 'model.safetensors')));
    const t = readSafetensors(join(dir, 'ft', 'last', 'adapter_model.safetensors')).tensors;
    assert.deepEqual([...t.keys()].sort(), [
      'base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight', 'base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight',
      'base_model.model.model.layers.0.self_attn.v_proj.lora_A.weight', 'base_model.model.model.layers.0.self_attn.v_proj.lora_B.weight',
    ]);
    assert.ok(Array.from(t.get('base_model.model.model.layers.0.self_attn.v_proj.lora_B.weight')!.data).some((v) => v !== 0));
    assert.equal(report.after.hypotheses.length, report.heldOut);
    assert.deepEqual(readFileSync(join(baseDir, 'model.safetensors')), baseBytes);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('muse finetune --lora --base-dtype q8_0 --gradient-checkpointing (QLoRA-style) trains an adapter; bad --base-dtype uses are named', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'muse-qlora-cli-'));
  try {
    const baseDir = await tinyLlamaBase(dir);
    const pairsFile = join(dir, 'pairs.jsonl');
    writeFileSync(pairsFile, Array.from({ length: 8 }, (_, i) => JSON.stringify({ beginning: lines[i % 4].slice(0, 8), ending: lines[i % 4].slice(8) })).join('\n') + '\n');
    const common = ['finetune', '--model', baseDir, '--pairs', pairsFile, '--max-iters', '3', '--batch-size', '2', '--json'];
    const r = muse([...common, '--lora', '--target-modules', 'all-linear', '--base-dtype', 'q8_0', '--gradient-checkpointing', '--out', join(dir, 'q')]);
    assert.equal(r.status, 0, r.stderr);
    const report = JSON.parse(r.stdout.trim().split('\n').pop()!) as { trainableParameters: number; totalParameters: number; valLoss: number };
    assert.ok(report.trainableParameters > 0 && Number.isFinite(report.valLoss));
    // The stored base still counts: the total is the model's, not what stayed float32.
    assert.ok(report.totalParameters > 5000 + report.trainableParameters, String(report.totalParameters));
    assert.ok(existsSync(join(dir, 'q', 'best', 'adapter_model.safetensors')));
    const bad = muse([...common, '--lora', '--base-dtype', 'q9', '--out', join(dir, 'bad')]);
    assert.notEqual(bad.status, 0);
    assert.match(bad.stderr, /--base-dtype q9: use one of f32, f16, .*q8_0/);
    const noLora = muse([...common, '--base-dtype', 'q8_0', '--out', join(dir, 'nolora')]);
    assert.notEqual(noLora.status, 0);
    assert.match(noLora.stderr, /add --lora/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
