import { ConfigError } from '../../errors.js';

/**
 * Configuration of the encoder–decoder Transformer (Vaswani et al. 2017),
 * `model_type: "muse-seq2seq"`. Field names follow Hugging Face's
 * encoder–decoder configs (`BartConfig` / `MarianConfig`: `d_model`,
 * `encoder_layers`, `encoder_ffn_dim`, `scale_embedding`,
 * `decoder_start_token_id`, …) so the file reads familiar; `normalize_before`
 * is fairseq's name for pre-LayerNorm.
 */
export interface Seq2SeqConfig {
  model_type: 'muse-seq2seq';
  vocab_size: number;
  /** Model width (the paper's d_model). */
  d_model: number;
  encoder_layers: number;
  decoder_layers: number;
  encoder_attention_heads: number;
  decoder_attention_heads: number;
  /** Inner size of the position-wise feed-forward network (the paper's d_ff). */
  encoder_ffn_dim: number;
  decoder_ffn_dim: number;
  /** `relu` (the paper) or `gelu` (exact erf). */
  activation_function: 'relu' | 'gelu';
  /** Residual dropout P_drop (§5.4): on every sublayer output and on embeddings + positional encodings. */
  dropout: number;
  /** Dropout on the feed-forward hidden activations (0 in the paper). */
  activation_dropout: number;
  /** Longest source and longest target the model accepts (the sinusoid itself has no limit). */
  max_position_embeddings: number;
  /** Multiply token embeddings by √d_model (§3.4). */
  scale_embedding: boolean;
  /**
   * One matrix for source embeddings, target embeddings and the pre-softmax
   * projection (§3.4, Press & Wolf 2017). False gives three separate matrices.
   */
  share_embeddings: boolean;
  /** false = post-LN as in the paper, `LayerNorm(x + Sublayer(x))`; true = pre-LN `x + Sublayer(LayerNorm(x))` with a final LayerNorm per stack. */
  normalize_before: boolean;
  layer_norm_eps: number;
  /** Std of the token-embedding initialisation (default d_model^−½, so scaled embeddings have unit variance). */
  init_std: number | null;
  /** ε of label smoothing used by the training loss (§5.4: 0.1). */
  label_smoothing: number;
  pad_token_id: number;
  bos_token_id: number | null;
  eos_token_id: number;
  /** The first decoder input (BART uses its EOS `</s>`; here the tokenizer's end-of-text by default). */
  decoder_start_token_id: number;
  [extra: string]: unknown;
}

/** Defaults: the paper's base model shape scaled down to something that trains on one CPU core. */
export const SEQ2SEQ_DEFAULTS: Seq2SeqConfig = {
  model_type: 'muse-seq2seq',
  vocab_size: 1000,
  d_model: 256,
  encoder_layers: 3,
  decoder_layers: 3,
  encoder_attention_heads: 4,
  decoder_attention_heads: 4,
  encoder_ffn_dim: 1024,
  decoder_ffn_dim: 1024,
  activation_function: 'relu',
  dropout: 0.1,
  activation_dropout: 0,
  max_position_embeddings: 512,
  scale_embedding: true,
  share_embeddings: true,
  normalize_before: false,
  layer_norm_eps: 1e-5,
  init_std: null,
  label_smoothing: 0.1,
  pad_token_id: 0,
  bos_token_id: null,
  eos_token_id: 0,
  decoder_start_token_id: 0,
};

/**
 * Complete and validate a seq2seq config; unknown fields are kept so that a
 * `config.json` round-trips.
 * @throws ConfigError naming the field: sizes not positive integers, d_model
 *   not divisible by a head count, a dropout outside [0, 1), an unknown
 *   activation, a special token id outside the vocabulary
 */
export function seq2seqConfig(partial: Partial<Seq2SeqConfig> & Record<string, unknown>): Seq2SeqConfig {
  const cfg = { ...SEQ2SEQ_DEFAULTS, ...partial, model_type: 'muse-seq2seq' } as Seq2SeqConfig;
  for (const k of ['vocab_size', 'd_model', 'encoder_layers', 'decoder_layers', 'encoder_attention_heads', 'decoder_attention_heads', 'encoder_ffn_dim', 'decoder_ffn_dim', 'max_position_embeddings'] as const) {
    const v = cfg[k];
    if (!Number.isInteger(v) || v <= 0) throw new ConfigError(`seq2seq config: ${k} must be a positive integer, got ${String(v)}`);
  }
  for (const k of ['encoder_attention_heads', 'decoder_attention_heads'] as const) {
    if (cfg.d_model % cfg[k] !== 0) throw new ConfigError(`seq2seq config: d_model (${cfg.d_model}) must be divisible by ${k} (${cfg[k]})`);
  }
  if (cfg.d_model % 2 !== 0) throw new ConfigError(`seq2seq config: d_model (${cfg.d_model}) must be even (sinusoidal encoding pairs sin/cos)`);
  for (const k of ['dropout', 'activation_dropout', 'label_smoothing'] as const) {
    const v = cfg[k];
    if (typeof v !== 'number' || v < 0 || v >= 1) throw new ConfigError(`seq2seq config: ${k} must be in [0, 1), got ${String(v)}`);
  }
  if (cfg.activation_function !== 'relu' && cfg.activation_function !== 'gelu') {
    throw new ConfigError(`seq2seq config: activation_function "${String(cfg.activation_function)}" is not supported; use relu (the paper) or gelu`);
  }
  for (const k of ['pad_token_id', 'eos_token_id', 'decoder_start_token_id'] as const) {
    const v = cfg[k];
    if (!Number.isInteger(v) || v < 0 || v >= cfg.vocab_size) throw new ConfigError(`seq2seq config: ${k} must be a token id in [0, ${cfg.vocab_size}), got ${String(v)}`);
  }
  return cfg;
}

/** Number of parameters (shared embeddings counted once). */
export function seq2seqParameterCount(cfg: Seq2SeqConfig): number {
  const C = cfg.d_model;
  const attn = 4 * (C * C + C);
  const ln = 2 * C;
  const ffn = (f: number) => C * f + f + f * C + C;
  const enc = cfg.encoder_layers * (attn + ln + ffn(cfg.encoder_ffn_dim) + ln);
  const dec = cfg.decoder_layers * (2 * attn + 3 * ln + ffn(cfg.decoder_ffn_dim));
  const finalLn = cfg.normalize_before ? 2 * ln : 0;
  const emb = cfg.vocab_size * C * (cfg.share_embeddings ? 1 : 3);
  return enc + dec + finalLn + emb;
}
