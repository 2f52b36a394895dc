import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Generator, fromArray, randn, noGrad, linear, dropout } from '../../src/tensor/index.js';
import { gradcheck, rnd } from '../tensor/gradcheck.js';
import { LlamaForCausalLM } from '../../src/models/llama/model.js';
import { GPT } from '../../src/models/gpt2/model.js';
import {
  injectLora, storeFrozenBase, dropoutLinear, loraScaling, matchesTarget, parseTargetModules, readAdapterConfig, storeLoraBases, storedLinear, loraParameters, PEFT_DEFAULT_TARGETS,
} from '../../src/lora/index.js';
import { f32Weight } from '../../src/quant/weight.js';
import { ConfigError } from '../../src/errors.js';

const tinyLlama = () => new LlamaForCausalLM({ model_type: 'llama', vocab_size: 40, hidden_size: 32, intermediate_size: 64, num_hidden_layers: 1, num_attention_heads: 2, num_key_value_heads: 1, max_position_embeddings: 32 }, { seed: 3 });
const hp = { r: 4, loraAlpha: 8, loraDropout: 0, useRslora: false };

test('scaling: alpha/r, rsLoRA alpha/sqrt(r); PEFT default targets', () => {
  assert.equal(loraScaling({ r: 16, loraAlpha: 32, useRslora: false }), 2);
  assert.equal(loraScaling({ r: 16, loraAlpha: 32, useRslora: true }), 8);
  assert.throws(() => loraScaling({ r: 0, loraAlpha: 1, useRslora: false }), ConfigError);
  assert.deepEqual(PEFT_DEFAULT_TARGETS.qwen2, ['q_proj', 'v_proj']);
  assert.deepEqual(parseTargetModules('q_proj, v_proj'), ['q_proj', 'v_proj']);
  assert.equal(parseTargetModules('all-linear'), 'all-linear');
  assert.ok(matchesTarget('model.layers.0.self_attn.q_proj', ['q_proj']));
  assert.ok(!matchesTarget('model.layers.0.self_attn.xq_proj', ['q_proj']));
  assert.ok(!matchesTarget('lm_head', 'all-linear'));
  // A string target_modules is a regular expression over the whole path (PEFT's re.fullmatch).
  assert.ok(matchesTarget('model.layers.0.self_attn.q_proj', { regex: '.*\\.(q_proj|v_proj)' }));
  assert.ok(!matchesTarget('model.layers.0.self_attn.q_proj', { regex: 'q_proj' }));
  assert.ok(matchesTarget('model.layers.3.mlp.up_proj', { regex: 'model\\.layers\\.(?P<n>\\d+)\\.mlp\\.up_proj' }));
});

test('regex target_modules: the pattern Unsloth writes picks q/k/v/o and the MLP; a pattern matching nothing is named', () => {
  const unsloth =
    '(?:.*?(?:language|text).*?(?:self_attn|attention|attn|mlp|feed_forward|ffn|dense).*?(?:q_proj|k_proj|v_proj|o_proj|gate_proj|up_proj|down_proj).*?)|' +
    '(?:\\bmodel\\.layers\\.[\\d]{1,}\\.(?:self_attn|attention|attn|mlp|feed_forward|ffn|dense)\\.(?:(?:q_proj|k_proj|v_proj|o_proj|gate_proj|up_proj|down_proj)))';
  const lm = injectLora(tinyLlama(), { ...hp, targetModules: { regex: unsloth } });
  assert.deepEqual(lm.layers.map((e) => e.path.split('.').pop()).sort(), ['down_proj', 'gate_proj', 'k_proj', 'o_proj', 'q_proj', 'up_proj', 'v_proj']);
  const attnOnly = injectLora(tinyLlama(), { ...hp, targetModules: { regex: '.*self_attn\\.[qv]_proj' } });
  assert.deepEqual(attnOnly.layers.map((e) => e.path), ['model.layers.0.self_attn.q_proj', 'model.layers.0.self_attn.v_proj']);
  assert.throws(() => injectLora(tinyLlama(), { ...hp, targetModules: { regex: '.*language_model.*\\.q_proj' } }), /matches no linear layer.*model\.layers\.0/);
});

test('injection: names, frozen base, A Kaiming-uniform, B zeros, all-linear skips lm_head', () => {
  const m = tinyLlama();
  const lm = injectLora(m, { ...hp, targetModules: 'all-linear' });
  assert.equal(lm.layers.length, 7);
  assert.ok(!lm.layers.some((e) => e.path === 'lm_head'));
  const names = loraParameters(lm).map(([n]) => n);
  assert.ok(names.includes('model.layers.0.self_attn.q_proj.lora_A.weight'));
  const A = lm.layers[0].lora.lora_A.weight;
  assert.deepEqual(A.shape, [4, 32]);
  const bound = 1 / Math.sqrt(32);
  assert.ok(Array.from(A.data).every((v) => Math.abs(v) <= bound) && Array.from(A.data).some((v) => v !== 0));
  assert.ok(Array.from(lm.layers[0].lora.lora_B.weight.data).every((v) => v === 0));
  const trainable = m.namedParameters().filter(([, p]) => p.requiresGrad).map(([n]) => n);
  assert.deepEqual(trainable.sort(), names.sort());
  const g = new GPT({ vocab_size: 20, n_positions: 8, n_embd: 8, n_head: 2, n_layer: 1 });
  const lg = injectLora(g, { ...hp, targetModules: PEFT_DEFAULT_TARGETS.gpt2 });
  assert.equal(lg.layers[0].fanInFanOut, true);
  assert.deepEqual(lg.layers[0].lora.lora_B.weight.shape, [24, 4]);
  assert.throws(() => injectLora(tinyLlama(), { ...hp, targetModules: ['c_attn'] }), /match no linear layer.*q_proj/);
});

test('adapter dropout is active only in training mode', () => {
  const m = tinyLlama();
  const lm = injectLora(m, { ...hp, loraDropout: 0.5, targetModules: ['q_proj'] });
  (lm.layers[0].lora.lora_B.weight.data as Float32Array).fill(0.1);
  const x = randn([2, 32], new Generator(1));
  const q = lm.layers[0].module;
  m.eval();
  const a = noGrad(() => q.forward(x).data.slice());
  const b = noGrad(() => q.forward(x).data.slice());
  assert.deepEqual(a, b);
  m.train();
  const c = noGrad(() => q.forward(x).data.slice());
  assert.notDeepEqual(a, c);
});

test('storedLinear: forward and input gradient of an F32 stored weight equal the float linear; Q8_0 base trains (QLoRA)', () => {
  const gen = new Generator(2);
  const W = randn([6, 32], gen);
  const x = randn([3, 32], gen);
  x.requiresGrad = true;
  const y = storedLinear(x, f32Weight(W.data as Float32Array, 6, 32), null);
  const g = randn([3, 6], gen);
  y.mul(g).sum().backward();
  const x2 = fromArray(x.data.slice(), [3, 32]);
  x2.requiresGrad = true;
  const y2 = x2.matmul(W, { transB: true });
  y2.mul(g).sum().backward();
  for (let i = 0; i < y.size; i++) assert.ok(Math.abs(y.data[i] - y2.data[i]) < 1e-4);
  for (let i = 0; i < x.size; i++) assert.ok(Math.abs(x.grad!.data[i] - x2.grad!.data[i]) < 1e-4);

  const m = tinyLlama();
  const lm = injectLora(m, { ...hp, targetModules: ['q_proj', 'v_proj'] });
  const ids = fromArray(Int32Array.from([1, 2, 3, 4, 5, 6, 7, 8]), [1, 8], 'int32');
  const before = noGrad(() => m.forward(ids).logits.data.slice());
  storeLoraBases(lm, 'Q8_0');
  const after = noGrad(() => m.forward(ids).logits.data.slice());
  let maxd = 0;
  for (let i = 0; i < before.length; i++) maxd = Math.max(maxd, Math.abs(before[i] - after[i]));
  assert.ok(maxd < 0.05 && maxd > 0, `Q8_0 base changes logits a little: ${maxd}`);
  const { loss } = m.forward(ids, { labels: ids });
  loss!.backward();
  const gB = lm.layers[0].lora.lora_B.weight.grad;
  assert.ok(gB && Array.from(gB.data).some((v) => v !== 0));
});

test('adapter_config.json: unsupported settings are named', () => {
  const dir = mkdtempSync(join(tmpdir(), 'muse-lora-cfg-'));
  try {
    const write = (o: Record<string, unknown>): void => {
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'adapter_config.json'), JSON.stringify({ peft_type: 'LORA', r: 8, lora_alpha: 16, target_modules: ['q_proj'], bias: 'none', ...o }));
    };
    write({});
    assert.equal(readAdapterConfig(dir).config.loraAlpha, 16);
    write({ use_dora: true });
    assert.throws(() => readAdapterConfig(dir), /DoRA/);
    write({ bias: 'all' });
    assert.throws(() => readAdapterConfig(dir), /bias "all"/);
    write({ peft_type: 'IA3' });
    assert.throws(() => readAdapterConfig(dir), /LoRA adapters only/);
    write({ target_modules: '.*\\.(q_proj|v_proj)' });
    assert.deepEqual(readAdapterConfig(dir).config.targetModules, { regex: '.*\\.(q_proj|v_proj)' });
    write({ target_modules: '(q_proj' });
    assert.throws(() => readAdapterConfig(dir), /adapter_config\.json: LoRA target_modules: the regular expression "\(q_proj" does not compile/);
    // Every key PEFT 0.19 writes (defaults as save_pretrained leaves them) loads.
    write({
      alpha_pattern: {}, auto_mapping: null, base_model_name_or_path: 'Qwen/Qwen2.5-0.5B', corda_config: null, eva_config: null, exclude_modules: null, fan_in_fan_out: false,
      inference_mode: true, init_lora_weights: true, layer_replication: null, layers_pattern: null, layers_to_transform: null, loftq_config: {}, lora_bias: false,
      megatron_config: null, megatron_core: 'megatron.core', modules_to_save: null, peft_version: '0.19.1', qalora_group_size: 16, rank_pattern: {}, revision: null,
      target_parameters: null, task_type: 'CAUSAL_LM', trainable_token_indices: null, use_dora: false, use_qalora: false, use_rslora: false,
    });
    assert.deepEqual(readAdapterConfig(dir).config, { r: 8, loraAlpha: 16, loraDropout: 0, useRslora: false, targetModules: ['q_proj'] });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('storeFrozenBase: every frozen linear layer stored (QLoRA base); F32 storage gives the same loss, Q8_0 a close one, and adapters still train', () => {
  const ids = fromArray(Int32Array.from({ length: 16 }, (_, i) => (i * 5) % 40), [2, 8], 'int32');
  const lossOf = (type: 'F32' | 'Q8_0' | null): { loss: number; gA: Float32Array; m: LlamaForCausalLM } => {
    const m = tinyLlama();
    const lm = injectLora(m, { ...hp, targetModules: ['q_proj', 'v_proj'] }, { gen: new Generator(4) });
    lm.layers[0].lora.lora_B.weight.data.fill(0.05);
    if (type) storeFrozenBase(lm, type);
    m.train();
    const { loss } = m.forward(ids, { targets: ids });
    loss!.backward();
    return { loss: loss!.item(), gA: Float32Array.from(lm.layers[0].lora.lora_A.weight.grad!.data as Float32Array), m };
  };
  const plain = lossOf(null);
  const f32 = lossOf('F32');
  const q8 = lossOf('Q8_0');
  assert.ok(Math.abs(f32.loss - plain.loss) < 1e-5, `${f32.loss} vs ${plain.loss}`);
  assert.ok(Math.abs(q8.loss - plain.loss) < 2e-3 && q8.loss !== plain.loss, `${q8.loss} vs ${plain.loss}`);
  for (let i = 0; i < plain.gA.length; i++) assert.ok(Math.abs(f32.gA[i] - plain.gA[i]) < 1e-5);
  // Adapted and non-adapted projections alike hand their float32 copies back; the output head (tied or not) stays.
  const names = q8.m.namedParameters().filter(([, p]) => p.data.length === 0).map(([n]) => n.split('.').slice(-2).join('.'));
  assert.deepEqual(names.sort(), ['down_proj.weight', 'gate_proj.weight', 'k_proj.weight', 'o_proj.weight', 'q_proj.weight', 'up_proj.weight', 'v_proj.weight']);
});

test('dropoutLinear equals linear(dropout(x)) value for value, and its gradients match finite differences', () => {
  const x = randn([3, 5, 8], new Generator(1));
  const A = randn([4, 8], new Generator(2));
  const fused = dropoutLinear(x, 0.3, new Generator(7), A);
  const plain = linear(dropout(x, 0.3, true, new Generator(7)), A, null, { weightLayout: 'outIn' });
  assert.deepEqual(Array.from(fused.data), Array.from(plain.data));
  assert.deepEqual(fused.shape, [3, 5, 4]);
  gradcheck('dropoutLinear', (xx, aa) => dropoutLinear(xx, 0.3, new Generator(7), aa), [rnd([2, 8], 3), rnd([4, 8], 4)]);
  assert.throws(() => dropoutLinear(randn([2, 7]), 0.3, new Generator(1), A), /must end in 8/);
});
