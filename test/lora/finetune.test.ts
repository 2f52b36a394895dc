import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { pretrain } from '../../src/models/gpt2/pretrain.js';
import { finetune } from '../../src/models/gpt2/finetune.js';
import { loadGPT2Dir } from '../../src/models/gpt2/family.js';
import { applyAdapter, loadAdapter, mergeAdapterToDir } from '../../src/lora/index.js';
import { fromArray, noGrad } from '../../src/tensor/index.js';

const poems = ['床前明月光，疑是地上霜。', '白日依山尽，黄河入海流。', '春眠不觉晓，处处闻啼鸟。', '千山鸟飞绝，万径人踪灭。'];

test('finetune --lora trains adapters only, saves PEFT checkpoints, leaves the base untouched', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'muse-lora-ft-'));
  try {
    const corpus = join(dir, 'poems.jsonl');
    writeFileSync(corpus, Array.from({ length: 20 }, (_, i) => JSON.stringify({ text: poems[i % 4] })).join('\n') + '\n');
    await pretrain({
      recipe: {
        model: { model_type: 'gpt2', n_layer: 1, n_head: 2, n_embd: 16, n_positions: 32, resid_pdrop: 0, embd_pdrop: 0, attn_pdrop: 0 },
        tokenizer: { type: 'char' },
        data: { field: 'text', separator: 'eos', valFraction: 0.2, script: 'simplified' },
        training: { batchSize: 4, blockSize: 16, maxIters: 20, learningRate: 0.01, evalInterval: 20, evalIters: 2, warmupIters: 2, seed: 5 },
      },
      corpus: [corpus], outDir: join(dir, 'base'), progress: false, log: () => {},
    });
    const baseDir = join(dir, 'base', 'best');
    const baseBytes = readFileSync(join(baseDir, 'model.safetensors'));
    const base = loadGPT2Dir(baseDir);
    const pairs = Array.from({ length: 10 }, (_, i) => ({ beginning: poems[i % 4].slice(0, 6), ending: poems[i % 4].slice(6) }));
    const report = await finetune({
      base, pairs, outDir: join(dir, 'ft'), maxIters: 30, batchSize: 4, valFraction: 0.2, progress: false, log: () => {},
      lora: { r: 4, loraAlpha: 8, loraDropout: 0.05, useRslora: false, targetModules: 'all-linear' },
    });
    // c_attn [16, 48], c_proj [16, 16], c_fc [16, 64], mlp.c_proj [64, 16]: r·(in + out) each.
    assert.equal(report.trainableParameters, 4 * (64 + 32 + 80 + 80));
    assert.ok(existsSync(join(dir, 'ft', 'best', 'adapter_model.safetensors')));
    assert.ok(existsSync(join(dir, 'ft', 'last', 'optimizer.safetensors')));
    assert.ok(!existsSync(join(dir, 'ft', 'best', 'model.safetensors')));
    const cfg = JSON.parse(readFileSync(join(dir, 'ft', 'best', 'adapter_config.json'), 'utf8')) as Record<string, unknown>;
    assert.equal(cfg.base_model_name_or_path, baseDir);
    assert.equal(cfg.fan_in_fan_out, true);
    assert.deepEqual(readFileSync(join(baseDir, 'model.safetensors')), baseBytes);
    const h = readFileSync(join(dir, 'ft', 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { event?: string; valLoss?: number })
      .filter((r) => r.event === 'eval').map((r) => r.valLoss!);
    assert.ok(h[h.length - 1] < h[0], `val loss ${h.join(' → ')}`);
    // The adapter changes the logits of a fresh base.
    const fresh = loadGPT2Dir(baseDir);
    const ids = fromArray(Int32Array.from(base.tokenizer.encode(poems[0], { addSpecialTokens: false }).ids), [1, 12], 'int32');
    const before = noGrad(() => fresh.model.forward(ids).logits.data.slice());
    loadAdapter(join(dir, 'ft', 'best'), fresh.model);
    const after = noGrad(() => fresh.model.forward(ids).logits.data.slice());
    assert.notDeepEqual(before, after);
    // muse merge: a plain GPT-2 directory whose logits are base + adapter.
    const mergedDir = join(dir, 'merged');
    assert.equal(mergeAdapterToDir(baseDir, join(dir, 'ft', 'best'), mergedDir), 4);
    const merged = loadGPT2Dir(mergedDir);
    assert.ok(!existsSync(join(mergedDir, 'adapter_config.json')));
    const m = noGrad(() => merged.model.forward(ids).logits.data.slice());
    for (let i = 0; i < m.length; i++) assert.ok(Math.abs(m[i] - after[i]) < 1e-4, `merged logit ${i}: ${m[i]} vs ${after[i]}`);
    // applyAdapter (generate --adapter) merges in memory: same logits again, on the fast paths.
    const g = applyAdapter(loadGPT2Dir(baseDir), join(dir, 'ft', 'best'));
    const a2 = noGrad(() => g.model.forward(ids).logits.data.slice());
    for (let i = 0; i < m.length; i++) assert.ok(Math.abs(a2[i] - m[i]) < 1e-5);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
