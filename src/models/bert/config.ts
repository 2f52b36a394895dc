import { ConfigError } from '../../errors.js';

/**
 * BERT configuration with Hugging Face `BertConfig` field names, so that a
 * `config.json` round-trips with `transformers` (`model_type: "bert"`,
 * `architectures: ["BertForMaskedLM"]`).
 */
export interface BertConfig {
  model_type: 'bert';
  vocab_size: number;
  hidden_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  intermediate_size: number;
  /** `gelu` (exact erf, BERT's), `gelu_new` / `gelu_pytorch_tanh` (tanh approximation) or `relu`. */
  hidden_act: 'gelu' | 'gelu_new' | 'gelu_pytorch_tanh' | 'relu';
  hidden_dropout_prob: number;
  /** Kept for round trips; the fused attention kernel applies no dropout to the attention probabilities. */
  attention_probs_dropout_prob: number;
  max_position_embeddings: number;
  type_vocab_size: number;
  initializer_range: number;
  layer_norm_eps: number;
  pad_token_id: number;
  /** Only `absolute` (learned) position embeddings are implemented. */
  position_embedding_type: 'absolute';
  tie_word_embeddings: boolean;
  [extra: string]: unknown;
}

/** HF `BertConfig` defaults (bert-base-uncased), used for fields a config.json leaves out. */
export const BERT_DEFAULTS: BertConfig = {
  model_type: 'bert',
  vocab_size: 30522,
  hidden_size: 768,
  num_hidden_layers: 12,
  num_attention_heads: 12,
  intermediate_size: 3072,
  hidden_act: 'gelu',
  hidden_dropout_prob: 0.1,
  attention_probs_dropout_prob: 0.1,
  max_position_embeddings: 512,
  type_vocab_size: 2,
  initializer_range: 0.02,
  layer_norm_eps: 1e-12,
  pad_token_id: 0,
  position_embedding_type: 'absolute',
  tie_word_embeddings: true,
};

/**
 * Complete and validate a BERT config (HF field names). Unknown fields are
 * kept so a `config.json` written by `transformers` survives a round trip.
 * @throws ConfigError naming the field for a size that is not a positive
 *   integer, `hidden_size` not divisible by `num_attention_heads`, a dropout
 *   outside [0, 1), an unsupported activation or position-embedding type
 */
export function bertConfig(partial: Partial<BertConfig> & Record<string, unknown>): BertConfig {
  const cfg = { ...BERT_DEFAULTS, ...partial, model_type: 'bert' } as BertConfig;
  for (const k of ['vocab_size', 'hidden_size', 'num_hidden_layers', 'num_attention_heads', 'intermediate_size', 'max_position_embeddings', 'type_vocab_size'] as const) {
    const v = cfg[k];
    if (!Number.isInteger(v) || v <= 0) throw new ConfigError(`BERT config: ${k} must be a positive integer, got ${String(v)}`);
  }
  if (cfg.hidden_size % cfg.num_attention_heads !== 0) {
    throw new ConfigError(`BERT config: hidden_size (${cfg.hidden_size}) must be divisible by num_attention_heads (${cfg.num_attention_heads})`);
  }
  for (const k of ['hidden_dropout_prob', 'attention_probs_dropout_prob'] as const) {
    const v = cfg[k];
    if (typeof v !== 'number' || v < 0 || v >= 1) throw new ConfigError(`BERT config: ${k} must be in [0, 1), got ${String(v)}`);
  }
  if (!['gelu', 'gelu_new', 'gelu_pytorch_tanh', 'relu'].includes(cfg.hidden_act)) {
    throw new ConfigError(`BERT config: hidden_act "${String(cfg.hidden_act)}" is not supported; use gelu (exact), gelu_new or relu`);
  }
  if (cfg.position_embedding_type !== 'absolute') {
    throw new ConfigError(`BERT config: position_embedding_type "${String(cfg.position_embedding_type)}" is not supported; only "absolute" (learned positions, as BERT) is`);
  }
  return cfg;
}

/** Number of parameters of `BertForMaskedLM` (no pooler; tied decoder counted once). */
export function bertParameterCount(cfg: BertConfig): number {
  const C = cfg.hidden_size;
  const I = cfg.intermediate_size;
  const embeddings = (cfg.vocab_size + cfg.max_position_embeddings + cfg.type_vocab_size) * C + 2 * C;
  const perLayer = 4 * (C * C + C) + 2 * C + (C * I + I) + (I * C + C) + 2 * C;
  const head = C * C + C + 2 * C + cfg.vocab_size + (cfg.tie_word_embeddings ? 0 : cfg.vocab_size * C);
  return embeddings + cfg.num_hidden_layers * perLayer + head;
}
