/**
 * The tiny seeded models of the llama.cpp oracle: the fixture generator
 * (scripts/fixtures/llamacpp-oracle.ts) writes them as GGUF with muse's
 * writer and records what llama.cpp computes; test/gguf/llamacpp.test.ts
 * rebuilds the same files (same seeds, same bytes) and checks muse against
 * the recording. Widths are multiples of 256 so the K-quants apply without
 * fallbacks.
 */
import { GPT } from '../../src/models/gpt2/model.js';
import { modelTensors } from '../../src/models/pretrained.js';
import { Generator } from '../../src/tensor/index.js';
import { ByteLevelBPETokenizer, CharTokenizer, type BaseTokenizer } from '../../src/tokenizers/index.js';
import type { StTensor } from '../../src/io/safetensors.js';
import type { HfModelForGguf } from '../../src/gguf/write.js';
import type { GgufFileType } from '../../src/gguf/mix.js';

export const ORACLE_TEXT =
  'The cat sat on the mat. The dog ate the cat food! A bird sang in the tree, and the cat watched the bird.\n' +
  'Then the dog ran to the park, where the children played with a red ball until the sun went down.';

/** One oracle case: an architecture, a tokenizer kind and a file type. */
export interface OracleCase {
  name: string;
  arch: 'gpt2' | 'llama' | 'qwen2' | 'qwen3';
  tokenizer: 'bpe' | 'char';
  type: GgufFileType;
}

export const ORACLE_TYPES: GgufFileType[] = ['f32', 'f16', 'q8_0', 'q4_0', 'q4_k_m'];

export const ORACLE_CASES: OracleCase[] = [
  ...ORACLE_TYPES.map((type): OracleCase => ({ name: `gpt2-${type}`, arch: 'gpt2', tokenizer: 'bpe', type })),
  { name: 'gpt2-char-f32', arch: 'gpt2', tokenizer: 'char', type: 'f32' },
  ...(['llama', 'qwen2', 'qwen3'] as const).flatMap((arch) => ORACLE_TYPES.map((type): OracleCase => ({ name: `${arch}-${type}`, arch, tokenizer: 'bpe', type }))),
];

/** Prompts whose tokenization and continuations are recorded. */
export const ORACLE_PROMPTS = ['The cat sat on the', 'the dog ran to the park, where'];

export function oracleTokenizer(kind: 'bpe' | 'char'): BaseTokenizer {
  if (kind === 'char') return CharTokenizer.train([ORACLE_TEXT], { specialTokens: ['<|endoftext|>'] });
  return ByteLevelBPETokenizer.train([ORACLE_TEXT], { vocabSize: 320, specialTokens: ['<|endoftext|>'] });
}

function randn(gen: Generator, shape: number[], std: number, mean = 0): StTensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = mean + std * gen.normal();
  return { dtype: 'F32', shape, data };
}

/** Hyperparameters of the Llama-family oracle models (HF config fields). */
export function oracleLlamaConfig(arch: 'llama' | 'qwen2' | 'qwen3', vocab: number): Record<string, unknown> {
  return {
    model_type: arch,
    vocab_size: vocab,
    hidden_size: 256,
    intermediate_size: 512,
    num_hidden_layers: 2,
    num_attention_heads: 4,
    num_key_value_heads: 2,
    head_dim: arch === 'qwen3' ? 128 : 64,
    max_position_embeddings: 256,
    rms_norm_eps: 1e-5,
    rope_theta: arch === 'llama' ? 500000 : 1000000,
    rope_scaling: null,
    attention_bias: false,
    tie_word_embeddings: arch === 'qwen2',
    bos_token_id: null,
    eos_token_id: vocab - 1,
  };
}

/** HF-named random weights of a Llama-family oracle model (seeded). */
export function oracleLlamaTensors(cfg: Record<string, unknown>, seed: number): Map<string, StTensor> {
  const gen = new Generator(seed);
  const H = cfg['hidden_size'] as number;
  const I = cfg['intermediate_size'] as number;
  const heads = cfg['num_attention_heads'] as number;
  const kv = cfg['num_key_value_heads'] as number;
  const D = cfg['head_dim'] as number;
  const V = cfg['vocab_size'] as number;
  const t = new Map<string, StTensor>();
  // With a tied head, small embeddings let the blocks move the residual stream (else every token predicts itself).
  const g = 1;
  t.set('model.embed_tokens.weight', randn(gen, [V, H], cfg['tie_word_embeddings'] ? 0.25 : 1));
  for (let i = 0; i < (cfg['num_hidden_layers'] as number); i++) {
    const p = `model.layers.${i}.`;
    t.set(p + 'input_layernorm.weight', randn(gen, [H], 0.1, 1));
    t.set(p + 'self_attn.q_proj.weight', randn(gen, [heads * D, H], 0.06 * g));
    t.set(p + 'self_attn.k_proj.weight', randn(gen, [kv * D, H], 0.06 * g));
    t.set(p + 'self_attn.v_proj.weight', randn(gen, [kv * D, H], 0.06 * g));
    if (cfg['model_type'] === 'qwen2') {
      t.set(p + 'self_attn.q_proj.bias', randn(gen, [heads * D], 0.1));
      t.set(p + 'self_attn.k_proj.bias', randn(gen, [kv * D], 0.1));
      t.set(p + 'self_attn.v_proj.bias', randn(gen, [kv * D], 0.1));
    }
    if (cfg['model_type'] === 'qwen3') {
      t.set(p + 'self_attn.q_norm.weight', randn(gen, [D], 0.1, 1));
      t.set(p + 'self_attn.k_norm.weight', randn(gen, [D], 0.1, 1));
    }
    t.set(p + 'self_attn.o_proj.weight', randn(gen, [H, heads * D], 0.06 * g));
    t.set(p + 'post_attention_layernorm.weight', randn(gen, [H], 0.1, 1));
    t.set(p + 'mlp.gate_proj.weight', randn(gen, [I, H], 0.08 * g));
    t.set(p + 'mlp.up_proj.weight', randn(gen, [I, H], 0.08 * g));
    t.set(p + 'mlp.down_proj.weight', randn(gen, [H, I], 0.08 * g));
  }
  t.set('model.norm.weight', randn(gen, [H], 0.1, 1));
  if (!cfg['tie_word_embeddings']) t.set('lm_head.weight', randn(gen, [V, H], 0.15));
  return t;
}

/** The GPT-2 oracle model (seeded; a wide init so the next-token distribution is peaked). */
export function oracleGPT(vocab: number): GPT {
  return new GPT(
    { vocab_size: vocab, n_positions: 128, n_embd: 256, n_layer: 2, n_head: 4, initializer_range: 0.2, resid_pdrop: 0, embd_pdrop: 0, attn_pdrop: 0 },
    { seed: 11 },
  );
}

/** The model of a case as what the GGUF writer takes, with its tokenizer. */
export function oracleModel(c: OracleCase): { hf: HfModelForGguf; tokenizer: BaseTokenizer; gpt?: GPT } {
  const tokenizer = oracleTokenizer(c.tokenizer);
  const eos = tokenizer.tokenToId('<|endoftext|>')!;
  if (c.arch === 'gpt2') {
    const gpt = oracleGPT(tokenizer.vocabSize);
    return {
      gpt,
      tokenizer,
      hf: { config: gpt.config, tensors: modelTensors(gpt), tokenizerJson: tokenizer.toJSON() as Record<string, unknown>, specialIds: { bos: eos, eos }, name: c.name },
    };
  }
  const config = { ...oracleLlamaConfig(c.arch, tokenizer.vocabSize), eos_token_id: eos };
  return {
    tokenizer,
    hf: { config, tensors: oracleLlamaTensors(config, 23), tokenizerJson: tokenizer.toJSON() as Record<string, unknown>, specialIds: { eos }, name: c.name },
  };
}

/** muse's own bundled models, exported by muse and run in llama.cpp (the target: the same greedy tokens). */
export interface BundledCase {
  name: string;
  model: string;
  type: GgufFileType;
  prompts: string[];
  tokens: number;
}

export const BUNDLED_CASES: BundledCase[] = [
  { name: 'muse-story-en-f32', model: 'models/muse-story-en', type: 'f32', prompts: ['Once upon a time', 'The little fox'], tokens: 40 },
  { name: 'muse-story-en-q8_0', model: 'models/muse-story-en', type: 'q8_0', prompts: ['Once upon a time'], tokens: 40 },
  { name: 'muse-poet-zh-f32', model: 'models/muse-poet-zh', type: 'f32', prompts: ['春风', '明月'], tokens: 24 },
  { name: 'muse-poet-zh-q4_k_m', model: 'models/muse-poet-zh', type: 'q4_k_m', prompts: ['春风'], tokens: 24 },
];
