import { ConfigError } from '../../errors.js';

/** The Hugging Face `model_type`s the llama family serves. */
export const LLAMA_MODEL_TYPES = ['llama', 'mistral', 'qwen2', 'qwen3'] as const;
/** One of {@link LLAMA_MODEL_TYPES}. */
export type LlamaModelType = (typeof LLAMA_MODEL_TYPES)[number];

/**
 * `rope_scaling` of a Hugging Face config (`rope_type`, or the older `type`):
 * `linear` (position interpolation, Chen et al. 2023), `dynamic` (dynamic
 * NTK), `llama3` (Llama 3.1's frequency-dependent scaling); `default` = none.
 */
export interface RopeScaling {
  rope_type: 'default' | 'linear' | 'dynamic' | 'llama3';
  factor: number;
  /** llama3 only. */
  low_freq_factor?: number;
  /** llama3 only. */
  high_freq_factor?: number;
  /** llama3 only: the context length the model was pretrained on. */
  original_max_position_embeddings?: number;
  [extra: string]: unknown;
}

/**
 * The configuration of a Llama-family decoder, with the field names of
 * transformers' `LlamaConfig`, `MistralConfig`, `Qwen2Config` and
 * `Qwen3Config`, so that `config.json` round-trips. The per-type attention
 * details (which projections carry biases, q/k norm, which layers slide) are
 * resolved by {@link llamaConfig} into the `resolved` helpers below.
 */
export interface LlamaConfig {
  model_type: LlamaModelType;
  vocab_size: number;
  hidden_size: number;
  intermediate_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  /** Key/value heads of grouped-query attention (Ainslie et al. 2023); = num_attention_heads for multi-head attention. */
  num_key_value_heads: number;
  /** Width of one head; hidden_size / num_attention_heads unless given. */
  head_dim: number;
  hidden_act: 'silu';
  max_position_embeddings: number;
  initializer_range: number;
  rms_norm_eps: number;
  rope_theta: number;
  rope_scaling: RopeScaling | null;
  /** llama/qwen3: biases on q/k/v/o projections; qwen2 always has q/k/v biases (and none on o). */
  attention_bias: boolean;
  /** llama: biases on the MLP projections. */
  mlp_bias: boolean;
  tie_word_embeddings: boolean;
  /** Mistral: window of every layer; qwen2/qwen3: window of layers ≥ max_window_layers when use_sliding_window. null = full attention. */
  sliding_window: number | null;
  use_sliding_window: boolean;
  max_window_layers: number;
  bos_token_id: number | null;
  eos_token_id: number | number[] | null;
  pad_token_id: number | null;
  [extra: string]: unknown;
}

/** A model_type's defaults: config fields, with null for the derived head_dim / num_key_value_heads. */
export type LlamaDefaults = Readonly<Record<string, unknown>>;

const COMMON: LlamaDefaults = {
  vocab_size: 32000,
  hidden_size: 4096,
  intermediate_size: 11008,
  num_hidden_layers: 32,
  num_attention_heads: 32,
  num_key_value_heads: null,
  head_dim: null,
  hidden_act: 'silu',
  max_position_embeddings: 2048,
  initializer_range: 0.02,
  rms_norm_eps: 1e-6,
  rope_theta: 10000,
  rope_scaling: null,
  attention_bias: false,
  mlp_bias: false,
  tie_word_embeddings: false,
  sliding_window: null,
  use_sliding_window: false,
  max_window_layers: 0,
  bos_token_id: 1,
  eos_token_id: 2,
  pad_token_id: null,
};

/** transformers' defaults per model_type (the values `LlamaConfig()` etc. take when config.json leaves a field out). */
export const LLAMA_DEFAULTS: Record<LlamaModelType, LlamaDefaults> = {
  llama: { ...COMMON, model_type: 'llama' },
  mistral: { ...COMMON, model_type: 'mistral', intermediate_size: 14336, num_key_value_heads: 8, max_position_embeddings: 4096 * 32, sliding_window: 4096 },
  qwen2: {
    ...COMMON, model_type: 'qwen2', vocab_size: 151936, intermediate_size: 22016, max_position_embeddings: 32768,
    sliding_window: 4096, max_window_layers: 28, bos_token_id: null, eos_token_id: null,
  },
  qwen3: {
    ...COMMON, model_type: 'qwen3', vocab_size: 151936, intermediate_size: 22016, head_dim: 128, max_position_embeddings: 32768,
    sliding_window: 4096, max_window_layers: 28, bos_token_id: null, eos_token_id: null,
  },
};

function bad(source: string, field: string, msg: string): ConfigError {
  return new ConfigError(`${source}: ${field} ${msg}`);
}

function positiveInt(cfg: Record<string, unknown>, field: string, source: string): void {
  const v = cfg[field];
  if (!Number.isInteger(v) || (v as number) <= 0) throw bad(source, field, `must be a positive integer, got ${JSON.stringify(v)}`);
}

/**
 * Complete (with transformers' defaults for the config's `model_type`) and
 * validate a Llama-family config. Unknown fields are kept so a config.json
 * written by transformers survives a round trip. The legacy `rope_scaling.type`
 * is read as `rope_type`.
 * @param partial config.json fields; `model_type` must be llama, mistral, qwen2 or qwen3
 * @param source how errors name the origin (default `config.json`)
 * @throws ConfigError naming the field: unknown model_type, a size that is not a
 *   positive integer, heads not dividing evenly, hidden_act other than silu,
 *   or a rope_scaling type/factor muse does not implement
 */
export function llamaConfig(partial: Partial<LlamaConfig> & Record<string, unknown>, source = 'config.json'): LlamaConfig {
  const type = partial.model_type;
  if (!LLAMA_MODEL_TYPES.includes(type as LlamaModelType)) {
    throw bad(source, 'model_type', `"${String(type)}" is not a Llama-family type; the llama family reads ${LLAMA_MODEL_TYPES.join(', ')}`);
  }
  const defaults = LLAMA_DEFAULTS[type as LlamaModelType];
  const raw: Record<string, unknown> = { ...defaults };
  for (const [k, v] of Object.entries(partial)) if (v !== undefined) raw[k] = v;
  // transformers ≥ 5 writes `rope_parameters` ({rope_type, rope_theta, factor, …}) in place of rope_theta + rope_scaling.
  const rp = partial.rope_parameters;
  if (rp !== undefined && rp !== null) {
    if (typeof rp !== 'object' || Array.isArray(rp)) throw bad(source, 'rope_parameters', `must be an object, got ${JSON.stringify(rp)}`);
    const { rope_theta: theta, ...scaling } = rp as Record<string, unknown>;
    if (theta !== undefined && partial.rope_theta === undefined) raw.rope_theta = theta;
    const rtype = scaling.rope_type ?? scaling.type;
    if (partial.rope_scaling === undefined || partial.rope_scaling === null) raw.rope_scaling = rtype === undefined || rtype === 'default' ? null : scaling;
  }
  // transformers keeps an explicit null for these (= the derived value).
  if (raw.num_key_value_heads === null || raw.num_key_value_heads === undefined) raw.num_key_value_heads = raw.num_attention_heads;
  for (const f of ['vocab_size', 'hidden_size', 'intermediate_size', 'num_hidden_layers', 'num_attention_heads', 'num_key_value_heads', 'max_position_embeddings']) {
    positiveInt(raw, f, source);
  }
  if (raw.head_dim === null || raw.head_dim === undefined) {
    if ((raw.hidden_size as number) % (raw.num_attention_heads as number) !== 0) {
      throw bad(source, 'hidden_size', `(${String(raw.hidden_size)}) must be divisible by num_attention_heads (${String(raw.num_attention_heads)}) when head_dim is not given`);
    }
    raw.head_dim = (raw.hidden_size as number) / (raw.num_attention_heads as number);
  }
  positiveInt(raw, 'head_dim', source);
  if ((raw.head_dim as number) % 2 !== 0) throw bad(source, 'head_dim', `must be even for rotary embeddings, got ${String(raw.head_dim)}`);
  if ((raw.num_attention_heads as number) % (raw.num_key_value_heads as number) !== 0) {
    throw bad(source, 'num_key_value_heads', `(${String(raw.num_key_value_heads)}) must divide num_attention_heads (${String(raw.num_attention_heads)})`);
  }
  if (raw.hidden_act !== 'silu') throw bad(source, 'hidden_act', `"${String(raw.hidden_act)}" is not supported; the llama family uses silu (SwiGLU)`);
  for (const f of ['rms_norm_eps', 'rope_theta']) {
    const v = raw[f];
    if (typeof v !== 'number' || !(v > 0)) throw bad(source, f, `must be a positive number, got ${JSON.stringify(v)}`);
  }
  for (const f of ['attention_bias', 'mlp_bias', 'tie_word_embeddings', 'use_sliding_window']) {
    if (typeof raw[f] !== 'boolean') throw bad(source, f, `must be true or false, got ${JSON.stringify(raw[f])}`);
  }
  if (raw.sliding_window !== null) positiveInt(raw, 'sliding_window', source);
  if (!Number.isInteger(raw.max_window_layers) || (raw.max_window_layers as number) < 0) {
    throw bad(source, 'max_window_layers', `must be a non-negative integer, got ${JSON.stringify(raw.max_window_layers)}`);
  }
  raw.rope_scaling = ropeScaling(raw.rope_scaling, source);
  return raw as LlamaConfig;
}

function ropeScaling(v: unknown, source: string): RopeScaling | null {
  if (v === null || v === undefined) return null;
  if (typeof v !== 'object' || Array.isArray(v)) throw bad(source, 'rope_scaling', `must be an object or null, got ${JSON.stringify(v)}`);
  const r = { ...(v as Record<string, unknown>) };
  const type = r.rope_type ?? r.type;
  if (!['default', 'linear', 'dynamic', 'llama3'].includes(type as string)) {
    throw bad(source, 'rope_scaling.rope_type', `"${String(type)}" is not supported; muse implements default, linear, dynamic and llama3 (not yarn, longrope, su or mrope)`);
  }
  r.rope_type = type;
  if (type === 'default') {
    r.factor = typeof r.factor === 'number' ? r.factor : 1;
    return r as RopeScaling;
  }
  if (typeof r.factor !== 'number' || !(r.factor >= 1)) throw bad(source, 'rope_scaling.factor', `must be a number ≥ 1 for rope_type ${String(type)}, got ${JSON.stringify(r.factor)}`);
  if (type === 'llama3') {
    for (const f of ['low_freq_factor', 'high_freq_factor', 'original_max_position_embeddings']) {
      if (typeof r[f] !== 'number' || !((r[f]) > 0)) throw bad(source, `rope_scaling.${f}`, `must be a positive number for rope_type llama3, got ${JSON.stringify(r[f])}`);
    }
    if ((r.high_freq_factor as number) <= (r.low_freq_factor as number)) {
      throw bad(source, 'rope_scaling.high_freq_factor', `(${String(r.high_freq_factor)}) must exceed low_freq_factor (${String(r.low_freq_factor)})`);
    }
  }
  return r as RopeScaling;
}

/** Whether q/k/v projections carry biases: always for qwen2 (as transformers' `Qwen2Attention`), never for mistral, `attention_bias` otherwise. */
export function qkvBias(cfg: LlamaConfig): boolean {
  if (cfg.model_type === 'qwen2') return true;
  if (cfg.model_type === 'mistral') return false;
  return cfg.attention_bias;
}

/** Whether the output projection `o_proj` carries a bias (llama/qwen3: `attention_bias`; qwen2, mistral: never). */
export function oBias(cfg: LlamaConfig): boolean {
  return cfg.model_type === 'llama' || cfg.model_type === 'qwen3' ? cfg.attention_bias : false;
}

/** Whether the MLP projections carry biases (llama's `mlp_bias`; never for the others). */
export function mlpBias(cfg: LlamaConfig): boolean {
  return cfg.model_type === 'llama' ? cfg.mlp_bias : false;
}

/** Whether q and k get a per-head RMSNorm before rotary embeddings (Qwen3). */
export function qkNorm(cfg: LlamaConfig): boolean {
  return cfg.model_type === 'qwen3';
}

/**
 * Sliding-window size of layer `layer` (query at position p sees keys in
 * `(p − window, p]`), or null for full causal attention: Mistral's
 * `sliding_window` for every layer; qwen2/qwen3 only with
 * `use_sliding_window`, for layers ≥ `max_window_layers` (transformers'
 * `layer_types`); never for llama.
 */
export function layerWindow(cfg: LlamaConfig, layer: number): number | null {
  if (cfg.sliding_window === null) return null;
  if (cfg.model_type === 'mistral') return cfg.sliding_window;
  if ((cfg.model_type === 'qwen2' || cfg.model_type === 'qwen3') && cfg.use_sliding_window && layer >= cfg.max_window_layers) return cfg.sliding_window;
  return null;
}

/** Longest sequence the model accepts: max_position_embeddings, times the factor for dynamic NTK scaling (whose point is to exceed it). */
export function llamaMaxPositions(cfg: LlamaConfig): number {
  const r = cfg.rope_scaling;
  if (r && r.rope_type === 'dynamic') return Math.floor(cfg.max_position_embeddings * r.factor);
  return cfg.max_position_embeddings;
}

/** Number of parameters (a tied head counted once). */
export function llamaParameterCount(cfg: LlamaConfig): number {
  const C = cfg.hidden_size;
  const D = cfg.head_dim;
  const q = cfg.num_attention_heads * D;
  const kv = cfg.num_key_value_heads * D;
  const I = cfg.intermediate_size;
  const qkvB = qkvBias(cfg) ? q + 2 * kv : 0;
  const attn = C * (q + 2 * kv) + qkvB + q * C + (oBias(cfg) ? C : 0) + (qkNorm(cfg) ? 2 * D : 0);
  const mlp = 3 * C * I + (mlpBias(cfg) ? 2 * I + C : 0);
  const perLayer = attn + mlp + 2 * C;
  return cfg.vocab_size * C * (cfg.tie_word_embeddings ? 1 : 2) + cfg.num_hidden_layers * perLayer + C;
}
