// HF model ↔ GGUF: names, layouts, the llama q/k permutation, hyperparameters, the tokenizer
// metadata, and llama-quantize's per-tensor type mix.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GPT } from '../../src/models/gpt2/model.js';
import { modelTensors } from '../../src/models/pretrained.js';
import { fromArray } from '../../src/tensor/index.js';
import { ByteLevelBPETokenizer, CharTokenizer } from '../../src/tokenizers/index.js';
import { GgufFile, metaNumber, metaString, metaStrings } from '../../src/io/gguf.js';
import { writeGguf } from '../../src/io/gguf-write.js';
import type { StTensor } from '../../src/io/safetensors.js';
import { hfToGguf, typeCounts } from '../../src/gguf/write.js';
import { readGgufModel } from '../../src/gguf/read.js';
import { loadGgufGPT2 } from '../../src/gguf/load.js';
import { permuteRopeRows } from '../../src/gguf/arch.js';
import { tensorTypeFor, useMoreBits } from '../../src/gguf/mix.js';
import { dequantizeRow, quantizeRow } from '../../src/quant/formats.js';

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'muse-gguf-conv-'));
}

function tinyGPT(vocab: number): GPT {
  return new GPT({ vocab_size: vocab, n_positions: 32, n_embd: 64, n_layer: 2, n_head: 4, initializer_range: 0.2, resid_pdrop: 0, embd_pdrop: 0, attn_pdrop: 0 }, { seed: 3 });
}

function lastLogits(model: GPT, ids: number[]): Float32Array {
  const V = model.config.vocab_size;
  const out = model.forward(fromArray(Int32Array.from(ids), [1, ids.length], 'int32'));
  return (out.logits.data as Float32Array).slice((ids.length - 1) * V);
}

test('GPT-2 → GGUF (F32) → GPT-2: same weights, same logits, same tokenizer', () => {
  const dir = tmp();
  try {
    const tok = ByteLevelBPETokenizer.train(['the cat sat on the mat. the dog ate the cat food!'], { vocabSize: 300, specialTokens: ['<|endoftext|>'] });
    const model = tinyGPT(tok.vocabSize);
    const path = join(dir, 'g.gguf');
    const eos = tok.tokenToId('<|endoftext|>')!;
    const file = hfToGguf({ config: model.config, tensors: modelTensors(model), tokenizerJson: tok.toJSON() as Record<string, unknown>, specialIds: { bos: eos, eos } }, 'f32');
    writeGguf(path, file);
    const f = GgufFile.open(path);
    assert.equal(metaString(f.metadata, 'general.architecture'), 'gpt2');
    assert.equal(metaString(f.metadata, 'tokenizer.ggml.model'), 'gpt2');
    assert.equal(metaString(f.metadata, 'tokenizer.ggml.pre'), 'gpt-2');
    assert.equal(metaStrings(f.metadata, 'tokenizer.ggml.tokens')!.length, tok.vocabSize);
    // GGUF stores every weight [out, in]: c_attn's Conv1D [64, 192] becomes ne = [64, 192] → shape [192, 64]
    assert.deepEqual(f.requireTensor('blk.0.attn_qkv.weight').shape, [192, 64]);
    assert.equal(f.tensor('output.weight'), undefined, 'a tied head is written once');
    f.close();
    const loaded = loadGgufGPT2(path);
    for (const [name, t] of modelTensors(model)) assert.deepEqual(modelTensors(loaded.model).get(name)!.data, t.data, name);
    const ids = tok.encodeIds('the cat ate');
    assert.deepEqual(loaded.tokenizer.encodeIds('the cat ate the dog'), tok.encodeIds('the cat ate the dog'));
    assert.deepEqual(lastLogits(loaded.model, ids), lastLogits(model, ids));
    assert.equal(loaded.generationConfig.eosTokenId, eos);
    // No generation_config.json in a GGUF: llama.cpp's sampling defaults and a budget bounded by the context (32).
    assert.equal(loaded.generationConfig.doSample, true);
    assert.equal(loaded.generationConfig.temperature, 0.8);
    assert.equal(loaded.generationConfig.topK, 40);
    assert.equal(loaded.generationConfig.topP, 0.95);
    assert.equal(loaded.generationConfig.maxNewTokens, 32);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('quantized GPT-2 GGUF loads with each weight equal to its dequantized blocks', () => {
  const dir = tmp();
  try {
    const tok = CharTokenizer.train(['hello world, how are you?\n'], { specialTokens: ['<|endoftext|>'] });
    const model = new GPT({ vocab_size: 256, n_positions: 16, n_embd: 256, n_layer: 2, n_head: 4, resid_pdrop: 0, embd_pdrop: 0, attn_pdrop: 0 }, { seed: 1 });
    const path = join(dir, 'q.gguf');
    const file = hfToGguf({ config: model.config, tensors: modelTensors(model), tokenizerJson: tok.toJSON() as Record<string, unknown> }, 'q4_k_m');
    // llama-quantize's mix: tied token_embd → Q6_K; attn_qkv/ffn_down of the use_more_bits layers → Q6_K; the rest Q4_K; 1-D and position_embd F32
    const types = new Map(file.tensors.map((t) => [t.name, t.type]));
    assert.equal(types.get('token_embd.weight'), 'Q6_K');
    assert.equal(types.get('position_embd.weight'), 'F32');
    assert.equal(types.get('blk.0.attn_qkv.weight'), 'Q4_K', 'use_more_bits(0, 2) is false');
    assert.equal(types.get('blk.1.attn_qkv.weight'), 'Q6_K');
    assert.equal(types.get('blk.0.attn_output.weight'), 'Q4_K');
    assert.equal(types.get('blk.1.ffn_up.weight'), 'Q4_K');
    assert.equal(types.get('blk.1.ffn_down.weight'), 'Q6_K');
    assert.equal(types.get('blk.0.attn_norm.bias'), 'F32');
    assert.equal(types.get('blk.0.ffn_down.weight'), 'Q4_K');
    assert.deepEqual(typeCounts(file), { F32: 19, Q6_K: 3, Q4_K: 6 });
    writeGguf(path, file);
    const loaded = loadGgufGPT2(path);
    const wte = modelTensors(model).get('transformer.wte.weight')!.data as Float32Array;
    const got = modelTensors(loaded.model).get('transformer.wte.weight')!.data as Float32Array;
    // the char vocabulary gains llama.cpp's 256 byte-fallback tokens, as zero rows after the model's own
    assert.equal(got.length, wte.length + 256 * 256);
    assert.deepEqual(got.subarray(0, wte.length), dequantizeRow('Q6_K', quantizeRow('Q6_K', wte), wte.length));
    assert.ok(got.subarray(wte.length).every((v) => v === 0));
    assert.deepEqual(loaded.tokenizer.encodeIds('how are you'), tok.encodeIds('how are you'));
    const f = GgufFile.open(path);
    assert.equal(metaString(f.metadata, 'tokenizer.ggml.model'), 'llama', 'a char vocabulary is stored SentencePiece-style');
    assert.ok(metaStrings(f.metadata, 'tokenizer.ggml.tokens')!.includes('▁'), 'space is stored as ▁');
    assert.equal(metaNumber(f.metadata, 'general.file_type'), 15, 'LLAMA_FTYPE_MOSTLY_Q4_K_M');
    f.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

function llamaTensors(cfg: { hidden: number; inter: number; layers: number; heads: number; kv: number; headDim: number; vocab: number; qkvBias?: boolean; qkNorm?: boolean; untied?: boolean }): Map<string, StTensor> {
  const out = new Map<string, StTensor>();
  let seed = 1;
  const rnd = (shape: number[]): StTensor => {
    const n = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
      data[i] = seed / 2 ** 32 - 0.5;
    }
    return { dtype: 'F32', shape, data };
  };
  const { hidden: H, inter: I, heads, kv, headDim: D } = cfg;
  out.set('model.embed_tokens.weight', rnd([cfg.vocab, H]));
  for (let i = 0; i < cfg.layers; i++) {
    const p = `model.layers.${i}.`;
    out.set(p + 'input_layernorm.weight', rnd([H]));
    out.set(p + 'self_attn.q_proj.weight', rnd([heads * D, H]));
    out.set(p + 'self_attn.k_proj.weight', rnd([kv * D, H]));
    out.set(p + 'self_attn.v_proj.weight', rnd([kv * D, H]));
    out.set(p + 'self_attn.o_proj.weight', rnd([H, heads * D]));
    if (cfg.qkvBias) {
      out.set(p + 'self_attn.q_proj.bias', rnd([heads * D]));
      out.set(p + 'self_attn.k_proj.bias', rnd([kv * D]));
      out.set(p + 'self_attn.v_proj.bias', rnd([kv * D]));
    }
    if (cfg.qkNorm) {
      out.set(p + 'self_attn.q_norm.weight', rnd([D]));
      out.set(p + 'self_attn.k_norm.weight', rnd([D]));
    }
    out.set(p + 'post_attention_layernorm.weight', rnd([H]));
    out.set(p + 'mlp.gate_proj.weight', rnd([I, H]));
    out.set(p + 'mlp.up_proj.weight', rnd([I, H]));
    out.set(p + 'mlp.down_proj.weight', rnd([H, I]));
  }
  out.set('model.norm.weight', rnd([H]));
  if (cfg.untied) out.set('lm_head.weight', rnd([cfg.vocab, H]));
  return out;
}

test('llama / qwen2 / qwen3 → GGUF → HF: tensors and config round-trip; llama q/k rows are permuted on disk', () => {
  const dir = tmp();
  try {
    for (const [modelType, extra] of [['llama', { untied: true }], ['mistral', {}], ['qwen2', { qkvBias: true }], ['qwen3', { qkNorm: true }]] as const) {
      const shape = { hidden: 64, inter: 96, layers: 2, heads: 4, kv: 2, headDim: modelType === 'qwen3' ? 32 : 16, vocab: 50, ...extra };
      const tensors = llamaTensors(shape);
      const config: Record<string, unknown> = {
        model_type: modelType, vocab_size: 50, hidden_size: 64, intermediate_size: 96, num_hidden_layers: 2, num_attention_heads: 4,
        num_key_value_heads: 2, head_dim: shape.headDim, max_position_embeddings: 128, rms_norm_eps: 1e-5, rope_theta: 500000,
        rope_scaling: modelType === 'llama' ? { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 8192 } : null,
        tie_word_embeddings: !('untied' in extra),
      };
      const path = join(dir, `${modelType}.gguf`);
      writeGguf(path, hfToGguf({ config, tensors }, 'f32'));
      const back = readGgufModel(path);
      assert.equal(back.modelType, modelType === 'mistral' ? 'llama' : modelType);
      for (const [name, t] of tensors) assert.deepEqual(back.tensors.get(name)?.data, t.data, `${modelType} ${name}`);
      assert.equal(back.tensors.size, tensors.size);
      assert.equal(back.config['num_key_value_heads'], 2);
      assert.equal(back.config['head_dim'], shape.headDim);
      assert.equal(back.config['rope_theta'], 500000);
      assert.equal(back.config['tie_word_embeddings'], !('untied' in extra));
      if (modelType === 'llama') assert.deepEqual(back.config['rope_scaling'], config['rope_scaling']);
      const f = GgufFile.open(path);
      const q = f.readTensorF32('blk.0.attn_q.weight');
      const hfq = tensors.get('model.layers.0.self_attn.q_proj.weight')!.data as Float32Array;
      // row 1 of head 0 on disk is HF row headDim/2 for llama (interleaved rope), row 1 for qwen (NeoX rope)
      const hfRow = modelType === 'llama' || modelType === 'mistral' ? shape.headDim / 2 : 1;
      assert.deepEqual(q.slice(64, 128), hfq.slice(hfRow * 64, hfRow * 64 + 64), `${modelType} q rows`);
      f.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the rope permutation is llama.cpp LlamaModel.permute (reshape(h, 2, d/2) → swap) and its inverse', () => {
  // 2 heads of 4 rows, 1 byte per row: HF rows [h0: a0 a1 b0 b1, h1: …] → GGUF [a0 b0 a1 b1, …]
  const hf = Uint8Array.from([0, 1, 2, 3, 4, 5, 6, 7]);
  const gg = permuteRopeRows(hf, 2, 4, 1, false);
  assert.deepEqual([...gg], [0, 2, 1, 3, 4, 6, 5, 7]);
  assert.deepEqual(permuteRopeRows(gg, 2, 4, 1, true), hf);
});

test('Q4_K_M mix follows llama.cpp: use_more_bits layers, fallbacks for rows not a multiple of 256, output Q6_K', () => {
  // use_more_bits(i, 32): first and last 4 layers and every third layer in between
  const more = Array.from({ length: 32 }, (_, i) => (useMoreBits(i, 32) ? i : -1)).filter((i) => i >= 0);
  assert.deepEqual(more, [0, 1, 2, 3, 6, 9, 12, 15, 18, 21, 24, 27, 28, 29, 30, 31]);
  const ctx = { fileType: 'q4_k_m' as const, nLayers: 32, nAttentionWv: 32, tiedEmbeddings: false };
  assert.equal(tensorTypeFor('blk.6.attn_v.weight', [4096, 1024], ctx), 'Q6_K');
  assert.equal(tensorTypeFor('blk.7.attn_v.weight', [4096, 1024], ctx), 'Q4_K');
  assert.equal(tensorTypeFor('blk.7.attn_k.weight', [4096, 1024], ctx), 'Q4_K');
  assert.equal(tensorTypeFor('blk.9.ffn_down.weight', [14336, 4096], ctx), 'Q6_K');
  assert.equal(tensorTypeFor('output.weight', [4096, 128256], ctx), 'Q6_K');
  assert.equal(tensorTypeFor('token_embd.weight', [4096, 128256], ctx), 'Q4_K');
  assert.equal(tensorTypeFor('token_embd.weight', [4096, 128256], { ...ctx, tiedEmbeddings: true }), 'Q6_K');
  assert.equal(tensorTypeFor('blk.7.ffn_up.weight', [896, 4864], ctx), 'Q5_0', 'Qwen2.5-0.5B width 896: Q4_K falls back to Q5_0');
  assert.equal(tensorTypeFor('blk.6.attn_v.weight', [896, 128], ctx), 'Q8_0', 'Q6_K falls back to Q8_0');
  assert.equal(tensorTypeFor('output.weight', [896, 151936], ctx), 'Q8_0');
  assert.equal(tensorTypeFor('blk.0.attn_norm.weight', [896], ctx), 'F32');
  assert.equal(tensorTypeFor('output.weight', [4096, 32000], { ...ctx, fileType: 'q4_0' }), 'Q6_K', 'Q4_0 files get a Q6_K head too');
  assert.equal(tensorTypeFor('output.weight', [4096, 32000], { ...ctx, fileType: 'q8_0' }), 'Q8_0');
  assert.equal(tensorTypeFor('blk.0.ffn_up.weight', [40, 8], { ...ctx, fileType: 'q8_0' }), 'F16', 'rows of 40 fit no block: F16');
  assert.equal(tensorTypeFor('blk.0.ffn_up.weight', [40, 8], { ...ctx, fileType: 'bf16' }), 'BF16');
});
