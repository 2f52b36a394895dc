import { ConfigError } from '../../errors.js';

/**
 * GPT-2 configuration with Hugging Face `GPT2Config` field names, so that
 * `config.json` round-trips with `transformers` (`model_type: "gpt2"`).
 */
export interface GPTConfig {
  model_type: 'gpt2';
  vocab_size: number;
  /** Context length (maximum positions). */
  n_positions: number;
  n_embd: number;
  n_layer: number;
  n_head: number;
  /** MLP hidden size; null = 4·n_embd. */
  n_inner: number | null;
  /** `gelu_new` (tanh approximation, GPT-2) or `gelu` (exact erf). */
  activation_function: 'gelu_new' | 'gelu' | 'gelu_pytorch_tanh';
  resid_pdrop: number;
  embd_pdrop: number;
  attn_pdrop: number;
  layer_norm_epsilon: number;
  initializer_range: number;
  bos_token_id: number | null;
  eos_token_id: number | null;
  tie_word_embeddings: boolean;
  [extra: string]: unknown;
}

/** HF `GPT2Config` defaults (the 124 M GPT-2), used for fields a config.json leaves out. */
export const GPT2_DEFAULTS: GPTConfig = {
  model_type: 'gpt2',
  vocab_size: 50257,
  n_positions: 1024,
  n_embd: 768,
  n_layer: 12,
  n_head: 12,
  n_inner: null,
  activation_function: 'gelu_new',
  resid_pdrop: 0.1,
  embd_pdrop: 0.1,
  attn_pdrop: 0.1,
  layer_norm_epsilon: 1e-5,
  initializer_range: 0.02,
  bos_token_id: 50256,
  eos_token_id: 50256,
  tie_word_embeddings: true,
};

/**
 * Largest sizes {@link gptConfig} accepts: far above any GPT-2 (GPT-2 XL:
 * 1,024 positions, 1,600 wide, 48 layers, 50,257 tokens) and Llama-size
 * vocabularies, below what a typed array or memory could hold.
 */
export const GPT_SIZE_LIMITS = { vocab_size: 1 << 22, n_positions: 1 << 20, n_embd: 1 << 16, n_layer: 1024, n_head: 1024 } as const;

/**
 * Complete and validate a GPT-2 config (HF field names); unknown fields are kept
 * so that a `config.json` written by `transformers` survives a round trip.
 * @throws ConfigError naming the field when a size is not a positive integer
 *   or beyond {@link GPT_SIZE_LIMITS}, `layer_norm_epsilon` is not in (0, 1),
 *   `n_embd` is not divisible by `n_head`, or a dropout is outside [0, 1)
 */
export function gptConfig(partial: Partial<GPTConfig> & Record<string, unknown>): GPTConfig {
  const cfg = { ...GPT2_DEFAULTS, ...partial, model_type: 'gpt2' } as GPTConfig;
  for (const k of ['vocab_size', 'n_positions', 'n_embd', 'n_layer', 'n_head'] as const) {
    const v = cfg[k] as unknown;
    if (typeof v === 'string') throw new ConfigError(`GPT config: ${k} must be a positive integer, got the string ${JSON.stringify(v)}; write the number without quotes`);
    if (!Number.isInteger(v) || (v as number) <= 0) throw new ConfigError(`GPT config: ${k} must be a positive integer, got ${v === undefined ? 'nothing' : JSON.stringify(v) ?? String(v)}`);
    // Sizes far beyond any GPT-2 (whose arrays would not fit in memory) are refused here, not by a RangeError later.
    if ((v as number) > GPT_SIZE_LIMITS[k]) {
      throw new ConfigError(`GPT config: ${k} is ${v}, more than muse supports (${GPT_SIZE_LIMITS[k].toLocaleString('en-US')}); the file is probably corrupt or not a GPT-2 config`);
    }
  }
  const eps = cfg.layer_norm_epsilon as unknown;
  if (typeof eps !== 'number' || !Number.isFinite(eps) || eps <= 0 || eps >= 1) {
    throw new ConfigError(`GPT config: layer_norm_epsilon must be a small positive number (GPT-2: 1e-5), got ${JSON.stringify(eps) ?? String(eps)}`);
  }
  if (cfg.n_embd % cfg.n_head !== 0) {
    throw new ConfigError(`GPT config: n_embd (${cfg.n_embd}) must be divisible by n_head (${cfg.n_head})`);
  }
  for (const k of ['resid_pdrop', 'embd_pdrop', 'attn_pdrop'] as const) {
    const v = cfg[k];
    if (typeof v !== 'number' || v < 0 || v >= 1) throw new ConfigError(`GPT config: ${k} must be in [0, 1), got ${String(v)}`);
  }
  if (!['gelu_new', 'gelu', 'gelu_pytorch_tanh'].includes(cfg.activation_function)) {
    throw new ConfigError(`GPT config: activation_function "${cfg.activation_function}" is not supported; use gelu_new or gelu`);
  }
  return cfg;
}

/** Number of parameters (tied lm_head counted once). */
export function gptParameterCount(cfg: GPTConfig): number {
  const C = cfg.n_embd;
  const inner = cfg.n_inner ?? 4 * C;
  const perLayer = 2 * 2 * C + (C * 3 * C + 3 * C) + (C * C + C) + (C * inner + inner) + (inner * C + C);
  return cfg.vocab_size * C + cfg.n_positions * C + cfg.n_layer * perLayer + 2 * C + (cfg.tie_word_embeddings ? 0 : cfg.vocab_size * C);
}
