import { Tensor, Generator, fromArray, noGrad, crossEntropy, gelu, relu, matmul, embedding, stack, scaledDotProductAttention } from '../../tensor/index.js';
import { getBackend } from '../../backend/index.js';
import { Module } from '../../nn/module.js';
import { Dropout, Embedding, LayerNorm, Linear } from '../../nn/layers.js';
import { KVCache, cachedAttention } from '../kv-cache.js';
import { ShapeError } from '../../errors.js';
import type { CausalLM, LMCache, CausalLMForwardOptions } from '../causal-lm.js';
import { seq2seqConfig, type Seq2SeqConfig } from './config.js';

/**
 * Sinusoidal positional encoding of Vaswani et al. 2017, §3.5:
 * `PE[pos, 2i] = sin(pos / 10000^(2i/dModel))`, `PE[pos, 2i+1] = cos(pos / 10000^(2i/dModel))`
 * (sine and cosine interleaved, as the paper writes it; tensor2tensor and
 * HF Marian concatenate the sines and cosines instead, which is the same
 * encoding with permuted channels). Computed in float64, stored float32.
 *
 * @param length number of positions (0 … length − 1)
 * @param dModel width, even
 * @returns `[length, dModel]` row-major
 * @throws ShapeError when dModel is odd or length negative
 */
export function sinusoidalPositionalEncoding(length: number, dModel: number): Float32Array {
  if (dModel % 2 !== 0 || !Number.isInteger(length) || length < 0) {
    throw new ShapeError(`sinusoidalPositionalEncoding: need an even dModel and a length ≥ 0, got dModel ${dModel}, length ${length}`);
  }
  const out = new Float32Array(length * dModel);
  for (let pos = 0; pos < length; pos++) {
    for (let i = 0; i < dModel / 2; i++) {
      const angle = pos / Math.pow(10000, (2 * i) / dModel);
      out[pos * dModel + 2 * i] = Math.sin(angle);
      out[pos * dModel + 2 * i + 1] = Math.cos(angle);
    }
  }
  return out;
}

/** Glorot/Xavier uniform initialisation in place (`nn.Transformer`'s `_reset_parameters`): U(−a, a), a = √(6 / (fanIn + fanOut)). */
function xavierUniform(w: Tensor, gen: Generator): void {
  const [fanOut, fanIn] = w.shape as [number, number];
  const a = Math.sqrt(6 / (fanIn + fanOut));
  const d = w.data as Float32Array;
  for (let i = 0; i < d.length; i++) d[i] = (2 * gen.random() - 1) * a;
}

function xavierLinear(inF: number, outF: number, gen: Generator, init: boolean, bias = true): Linear {
  const l = new Linear(inF, outF, { gen, init: false, bias });
  if (init) xavierUniform(l.weight, gen);
  return l;
}

/** Per-layer state of KV-cached decoding (inference only). */
interface DecodeState {
  cache: Seq2SeqCache;
  layer: number;
  /** Decoder-side padding mask `[batch, past + t]` or null. */
  attentionMask: Int32Array | null;
  source: EncodedSource;
}

/**
 * Multi-head attention (§3.2.2) with Hugging Face BART/Marian names:
 * `q_proj`, `k_proj`, `v_proj`, `out_proj` (`nn.Linear`, `[out, in]`, with bias).
 */
export class Seq2SeqAttention extends Module {
  readonly q_proj: Linear;
  readonly k_proj: Linear;
  readonly v_proj: Linear;
  readonly out_proj: Linear;
  readonly headDim: number;

  constructor(readonly dModel: number, readonly nHead: number, gen: Generator, init: boolean) {
    super();
    this.headDim = dModel / nHead;
    this.q_proj = this.registerModule('q_proj', xavierLinear(dModel, dModel, gen, init));
    this.k_proj = this.registerModule('k_proj', xavierLinear(dModel, dModel, gen, init));
    this.v_proj = this.registerModule('v_proj', xavierLinear(dModel, dModel, gen, init));
    this.out_proj = this.registerModule('out_proj', xavierLinear(dModel, dModel, gen, init));
  }

  /** `[B, T, C]` → `[B, H, T, D]`. */
  splitHeads(x: Tensor): Tensor {
    const [B, T] = x.shape as [number, number, number];
    return x.reshape([B, T, this.nHead, this.headDim]).permute([0, 2, 1, 3]);
  }

  /** `[B, H, T, D]` → out_proj of `[B, T, C]`. */
  private mergeHeads(y: Tensor): Tensor {
    const [B, , T] = y.shape as [number, number, number, number];
    return this.out_proj.forward(y.permute([0, 2, 1, 3]).reshape([B, T, this.dModel]));
  }

  /**
   * Differentiable attention of `query` `[B, Tq, C]` over `keyValue` `[B, Tk, C]`
   * (the same tensor for self-attention).
   * @param opts.causal each query i sees keys j ≤ i (decoder self-attention, §3.2.3)
   * @param opts.keyPaddingMask `[B, Tk]`, nonzero = attend (source padding)
   * @returns `[B, Tq, C]`
   */
  forward(query: Tensor, keyValue: Tensor, opts: { causal?: boolean; keyPaddingMask?: Tensor | null } = {}): Tensor {
    const q = this.splitHeads(this.q_proj.forward(query));
    const k = this.splitHeads(this.k_proj.forward(keyValue));
    const v = this.splitHeads(this.v_proj.forward(keyValue));
    return this.mergeHeads(scaledDotProductAttention(q, k, v, { causal: opts.causal ?? false, keyPaddingMask: opts.keyPaddingMask ?? null }));
  }

  /** KV-cached causal self-attention of `t` new positions (`x` `[B, t, C]`), appending their keys/values. */
  forwardCachedSelf(x: Tensor, cache: KVCache, layer: number, attentionMask: Int32Array | null): Tensor {
    const qkv = stack([this.q_proj.forward(x), this.k_proj.forward(x), this.v_proj.forward(x)].map((t) => this.splitHeads(t)), 0);
    return this.mergeHeads(cachedAttention(qkv, cache, layer, attentionMask));
  }

  /**
   * Cross-attention of decoder rows over their source's precomputed keys/values.
   * @param x `[B, t, C]` decoder states
   * @param mem keys/values `[sourceBatch, H, S, D]` of this layer
   * @param srcRow source row of each decoder row (beams share their source)
   * @param srcMask `[sourceBatch, S]` 1 = real token
   */
  forwardCachedCross(x: Tensor, mem: { k: Float32Array; v: Float32Array }, srcRow: Int32Array, srcMask: Int32Array, S: number): Tensor {
    const [B, T] = x.shape as [number, number, number];
    const H = this.nHead;
    const D = this.headDim;
    const q = this.splitHeads(this.q_proj.forward(x)).data as Float32Array; // [B, H, T, D]
    const out = new Float32Array(B * H * T * D);
    const lse = new Float32Array(T);
    const be = getBackend();
    for (let b = 0; b < B; b++) {
      const src = srcRow[b];
      for (let h = 0; h < H; h++) {
        const s = b * H + h;
        const m = (src * H + h) * S * D;
        be.attention({
          q: q.subarray(s * T * D, (s + 1) * T * D),
          k: mem.k.subarray(m, m + S * D),
          v: mem.v.subarray(m, m + S * D),
          out: out.subarray(s * T * D, (s + 1) * T * D),
          lse,
          batch: 1,
          heads: 1,
          tq: T,
          tk: S,
          headDim: D,
          scale: 1 / Math.sqrt(D),
          causal: false,
          keyPaddingMask: srcMask.subarray(src * S, (src + 1) * S),
        });
      }
    }
    return this.mergeHeads(fromArray(out, [B, H, T, D]));
  }

  /** Keys and values of encoder states `[B, S, C]`, each `[B, H, S, D]` (computed once per source). */
  projectMemory(memory: Tensor): { k: Float32Array; v: Float32Array } {
    return {
      k: this.splitHeads(this.k_proj.forward(memory)).data as Float32Array,
      v: this.splitHeads(this.v_proj.forward(memory)).data as Float32Array,
    };
  }
}

/** Shared wiring of a residual sublayer: post-LN `LN(x + drop(f(x)))` (§3.1, §5.4) or pre-LN `x + drop(f(LN(x)))`. */
function residual(x: Tensor, ln: LayerNorm, drop: Dropout, preLN: boolean, f: (h: Tensor) => Tensor): Tensor {
  if (preLN) return x.add(drop.forward(f(ln.forward(x))));
  return ln.forward(x.add(drop.forward(f(x))));
}

/** Position-wise feed-forward network (§3.3): `fc2(act(fc1(x)))`, HF names `fc1`, `fc2`. */
function feedForward(layer: { fc1: Linear; fc2: Linear; actDrop: Dropout; act: 'relu' | 'gelu' }, x: Tensor): Tensor {
  const h = layer.fc1.forward(x);
  return layer.fc2.forward(layer.actDrop.forward(layer.act === 'relu' ? relu(h) : gelu(h, 'none')));
}

/** An encoder layer: self-attention and feed-forward sublayers (§3.1). HF names: `self_attn`, `self_attn_layer_norm`, `fc1`, `fc2`, `final_layer_norm`. */
export class Seq2SeqEncoderLayer extends Module {
  readonly self_attn: Seq2SeqAttention;
  readonly self_attn_layer_norm: LayerNorm;
  readonly fc1: Linear;
  readonly fc2: Linear;
  readonly final_layer_norm: LayerNorm;
  readonly drop: Dropout;
  readonly actDrop: Dropout;
  readonly act: 'relu' | 'gelu';
  private readonly preLN: boolean;

  constructor(cfg: Seq2SeqConfig, gen: Generator, init: boolean) {
    super();
    const C = cfg.d_model;
    this.self_attn = this.registerModule('self_attn', new Seq2SeqAttention(C, cfg.encoder_attention_heads, gen, init));
    this.self_attn_layer_norm = this.registerModule('self_attn_layer_norm', new LayerNorm(C, cfg.layer_norm_eps));
    this.fc1 = this.registerModule('fc1', xavierLinear(C, cfg.encoder_ffn_dim, gen, init));
    this.fc2 = this.registerModule('fc2', xavierLinear(cfg.encoder_ffn_dim, C, gen, init));
    this.final_layer_norm = this.registerModule('final_layer_norm', new LayerNorm(C, cfg.layer_norm_eps));
    this.drop = this.registerModule('dropout', new Dropout(cfg.dropout, gen));
    this.actDrop = this.registerModule('activation_dropout', new Dropout(cfg.activation_dropout, gen));
    this.act = cfg.activation_function;
    this.preLN = cfg.normalize_before;
  }

  /** `x` `[B, S, C]`, `mask` `[B, S]` (nonzero = real token) → `[B, S, C]`. */
  forward(x: Tensor, mask: Tensor | null): Tensor {
    const h = residual(x, this.self_attn_layer_norm, this.drop, this.preLN, (y) => this.self_attn.forward(y, y, { keyPaddingMask: mask }));
    return residual(h, this.final_layer_norm, this.drop, this.preLN, (y) => feedForward(this, y));
  }
}

/**
 * A decoder layer: masked self-attention, encoder–decoder attention and
 * feed-forward sublayers (§3.1). HF names: `self_attn`, `self_attn_layer_norm`,
 * `encoder_attn`, `encoder_attn_layer_norm`, `fc1`, `fc2`, `final_layer_norm`.
 */
export class Seq2SeqDecoderLayer extends Module {
  readonly self_attn: Seq2SeqAttention;
  readonly self_attn_layer_norm: LayerNorm;
  readonly encoder_attn: Seq2SeqAttention;
  readonly encoder_attn_layer_norm: LayerNorm;
  readonly fc1: Linear;
  readonly fc2: Linear;
  readonly final_layer_norm: LayerNorm;
  readonly drop: Dropout;
  readonly actDrop: Dropout;
  readonly act: 'relu' | 'gelu';
  private readonly preLN: boolean;

  constructor(cfg: Seq2SeqConfig, gen: Generator, init: boolean) {
    super();
    const C = cfg.d_model;
    const H = cfg.decoder_attention_heads;
    this.self_attn = this.registerModule('self_attn', new Seq2SeqAttention(C, H, gen, init));
    this.self_attn_layer_norm = this.registerModule('self_attn_layer_norm', new LayerNorm(C, cfg.layer_norm_eps));
    this.encoder_attn = this.registerModule('encoder_attn', new Seq2SeqAttention(C, H, gen, init));
    this.encoder_attn_layer_norm = this.registerModule('encoder_attn_layer_norm', new LayerNorm(C, cfg.layer_norm_eps));
    this.fc1 = this.registerModule('fc1', xavierLinear(C, cfg.decoder_ffn_dim, gen, init));
    this.fc2 = this.registerModule('fc2', xavierLinear(cfg.decoder_ffn_dim, C, gen, init));
    this.final_layer_norm = this.registerModule('final_layer_norm', new LayerNorm(C, cfg.layer_norm_eps));
    this.drop = this.registerModule('dropout', new Dropout(cfg.dropout, gen));
    this.actDrop = this.registerModule('activation_dropout', new Dropout(cfg.activation_dropout, gen));
    this.act = cfg.activation_function;
    this.preLN = cfg.normalize_before;
  }

  /**
   * @param x `[B, T, C]` target-side states
   * @param memory encoder output `[B, S, C]` (training) — or, with `state`, ignored
   * @param memoryMask `[B, S]` nonzero = real source token
   * @param state KV-cached decoding (inference): self-attention appends to the cache,
   *   cross-attention reads the source's precomputed keys/values
   * @returns `[B, T, C]`
   */
  forward(x: Tensor, memory: Tensor | null, memoryMask: Tensor | null, state?: DecodeState): Tensor {
    const selfAttn = state
      ? (y: Tensor) => this.self_attn.forwardCachedSelf(y, state.cache.self, state.layer, state.attentionMask)
      : (y: Tensor) => this.self_attn.forward(y, y, { causal: true });
    const crossAttn = state
      ? (y: Tensor) => this.encoder_attn.forwardCachedCross(y, state.source.memoryKV(state.layer), state.cache.srcRow, state.source.mask, state.source.sourceLength)
      : (y: Tensor) => this.encoder_attn.forward(y, memory as Tensor, { keyPaddingMask: memoryMask });
    let h = residual(x, this.self_attn_layer_norm, this.drop, this.preLN, selfAttn);
    h = residual(h, this.encoder_attn_layer_norm, this.drop, this.preLN, crossAttn);
    return residual(h, this.final_layer_norm, this.drop, this.preLN, (y) => feedForward(this, y));
  }
}

/** A stack of layers with its own token embedding (when embeddings are not shared) and, for pre-LN, a final `layer_norm`. */
export class Seq2SeqStack<L extends Module> extends Module {
  readonly layers: L[] = [];
  readonly embed_tokens: Embedding | null;
  readonly layer_norm: LayerNorm | null;
  constructor(cfg: Seq2SeqConfig, n: number, make: () => L, embed: Embedding | null) {
    super();
    this.embed_tokens = embed ? this.registerModule('embed_tokens', embed) : null;
    const list = this.registerModule('layers', new Module());
    for (let i = 0; i < n; i++) this.layers.push(list.registerModule(String(i), make()));
    this.layer_norm = cfg.normalize_before ? this.registerModule('layer_norm', new LayerNorm(cfg.d_model, cfg.layer_norm_eps)) : null;
  }
}

/** The `model` trunk: `shared` (tied embeddings), `encoder`, `decoder` (HF BART/Marian layout). */
export class Seq2SeqModel extends Module {
  readonly shared: Embedding | null;
  readonly encoder: Seq2SeqStack<Seq2SeqEncoderLayer>;
  readonly decoder: Seq2SeqStack<Seq2SeqDecoderLayer>;
  constructor(cfg: Seq2SeqConfig, gen: Generator, init: boolean) {
    super();
    const std = cfg.init_std ?? 1 / Math.sqrt(cfg.d_model);
    const emb = () => new Embedding(cfg.vocab_size, cfg.d_model, { std, gen, init });
    this.shared = cfg.share_embeddings ? this.registerModule('shared', emb()) : null;
    this.encoder = this.registerModule('encoder', new Seq2SeqStack(cfg, cfg.encoder_layers, () => new Seq2SeqEncoderLayer(cfg, gen, init), this.shared ? null : emb()));
    this.decoder = this.registerModule('decoder', new Seq2SeqStack(cfg, cfg.decoder_layers, () => new Seq2SeqDecoderLayer(cfg, gen, init), this.shared ? null : emb()));
  }
}

/** Output of {@link Seq2SeqTransformer.forward}. */
export interface Seq2SeqOutput {
  /** `[batch, targetLen, vocab_size]` */
  logits: Tensor;
  /** Mean (label-smoothed) cross-entropy over labels ≠ −100, when labels were given. */
  loss?: Tensor;
}

/** Inputs of {@link Seq2SeqTransformer.forward} (HF names). */
export interface Seq2SeqInputs {
  /** Source ids, int32 `[batch, srcLen]`. */
  inputIds: Tensor;
  /** `[batch, srcLen]`, 1 = real token, 0 = padding; null/absent = all real. */
  attentionMask?: Tensor | null;
  /** Decoder inputs, int32 `[batch, tgtLen]`; absent = labels shifted right behind `decoder_start_token_id`. */
  decoderInputIds?: Tensor;
  /** Target ids, int32 `[batch, tgtLen]`, −100 = ignored (padding). */
  labels?: Tensor;
  /** Overrides the config's `label_smoothing` for this call (e.g. 0 for an unsmoothed validation loss). */
  labelSmoothing?: number;
}

/**
 * The encoder–decoder Transformer of Vaswani et al. 2017 ("Attention Is All
 * You Need"): token embeddings scaled by √d_model plus sinusoidal positional
 * encodings (§3.4–3.5), an encoder of self-attention + feed-forward layers
 * with source padding masks, a decoder with masked self-attention and
 * encoder–decoder attention, residual dropout and post-LayerNorm (§3.1, §5.4;
 * `normalize_before` switches to pre-LN), optionally one embedding matrix
 * shared by source, target and the pre-softmax projection, and a
 * label-smoothed cross-entropy loss (§5.4).
 *
 * Parameter names follow Hugging Face's BART/Marian layout
 * (`model.shared.weight`, `model.encoder.layers.0.self_attn.q_proj.weight`,
 * `model.decoder.layers.0.encoder_attn.k_proj.weight`, `lm_head.weight` when
 * untied). For decoding, {@link Seq2SeqTransformer.bindSource} encodes a
 * source batch once and returns a {@link CausalLM} over the decoder, which
 * `src/generate/` drives unchanged (greedy, sampling, beam search).
 */
export class Seq2SeqTransformer extends Module {
  readonly config: Seq2SeqConfig;
  readonly model: Seq2SeqModel;
  readonly lm_head: Linear | null;
  private readonly embedDrop: Dropout;
  private pe: Tensor;

  /**
   * @param config seq2seq config fields (completed with defaults and validated)
   * @param opts.seed seed of the generator used for initialisation and dropout
   * @param opts.init false = zero weights, for a model whose checkpoint is loaded next (default true)
   * @throws ConfigError for an invalid config
   */
  constructor(config: Partial<Seq2SeqConfig>, opts: { seed?: number; generator?: Generator; init?: boolean } = {}) {
    super();
    this.config = seq2seqConfig(config);
    const cfg = this.config;
    const gen = opts.generator ?? new Generator(opts.seed ?? 1337);
    const init = opts.init ?? true;
    this.model = this.registerModule('model', new Seq2SeqModel(cfg, gen, init));
    this.lm_head = cfg.share_embeddings ? null : this.registerModule('lm_head', xavierLinear(cfg.d_model, cfg.vocab_size, gen, init, false));
    this.embedDrop = this.registerModule('dropout', new Dropout(cfg.dropout, gen));
    this.pe = fromArray(sinusoidalPositionalEncoding(cfg.max_position_embeddings, cfg.d_model), [cfg.max_position_embeddings, cfg.d_model]);
  }

  get vocabSize(): number {
    return this.config.vocab_size;
  }

  /** `E[ids]·√d_model + PE[positions]`, dropout: ids `[B, T]`, positions int32 `[B, T]` → `[B, T, C]`. */
  private embed(ids: Tensor, positions: Tensor, side: 'encoder' | 'decoder'): Tensor {
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion -- needed: the rule misreads an assertion right of `??`
    const table = this.model.shared ?? (this.model[side].embed_tokens as Embedding);
    let x = table.forward(ids);
    if (this.config.scale_embedding) x = x.mul(Math.sqrt(this.config.d_model));
    return this.embedDrop.forward(x.add(embedding(positions, this.pe)));
  }

  private checkLength(T: number, what: string): void {
    const max = this.config.max_position_embeddings;
    if (T > max) throw new ShapeError(`Seq2SeqTransformer: ${what} length ${T} exceeds max_position_embeddings ${max}; truncate it`);
  }

  /**
   * Run the encoder (differentiable).
   * @param inputIds int32 `[batch, srcLen]`
   * @param attentionMask `[batch, srcLen]` 1 = real, 0 = padding (null = all real)
   * @returns encoder output `[batch, srcLen, d_model]`
   * @throws ShapeError for a bad shape or srcLen > max_position_embeddings
   */
  encode(inputIds: Tensor, attentionMask: Tensor | null = null): Tensor {
    if (inputIds.shape.length !== 2) throw new ShapeError(`Seq2SeqTransformer.encode: inputIds must be [batch, srcLen], got [${inputIds.shape.join(', ')}]`);
    const [B, S] = inputIds.shape as [number, number];
    this.checkLength(S, 'source');
    if (attentionMask && (attentionMask.shape[0] !== B || attentionMask.shape[1] !== S || attentionMask.shape.length !== 2)) {
      throw new ShapeError(`Seq2SeqTransformer.encode: attentionMask must be [${B}, ${S}] like inputIds, got [${attentionMask.shape.join(', ')}]`);
    }
    let x = this.embed(inputIds, positionGrid(B, S, 0), 'encoder');
    for (const layer of this.model.encoder.layers) x = layer.forward(x, attentionMask);
    return this.model.encoder.layer_norm ? this.model.encoder.layer_norm.forward(x) : x;
  }

  /**
   * Run the decoder over full target prefixes (differentiable, teacher forcing).
   * @param decoderInputIds int32 `[batch, tgtLen]`
   * @param memory encoder output `[batch, srcLen, d_model]`
   * @param memoryMask `[batch, srcLen]` (null = all real)
   * @returns logits `[batch, tgtLen, vocab_size]`
   */
  decode(decoderInputIds: Tensor, memory: Tensor, memoryMask: Tensor | null = null): Tensor {
    const [B, T] = decoderInputIds.shape as [number, number];
    this.checkLength(T, 'target');
    let x = this.embed(decoderInputIds, positionGrid(B, T, 0), 'decoder');
    for (const layer of this.model.decoder.layers) x = layer.forward(x, memory, memoryMask);
    return this.lmHead(this.model.decoder.layer_norm ? this.model.decoder.layer_norm.forward(x) : x);
  }

  /**
   * Training/scoring forward pass (differentiable): encoder, decoder with
   * teacher forcing, logits and the label-smoothed loss.
   * @returns logits `[batch, tgtLen, vocab_size]` and the loss when labels are given
   * @throws ShapeError when shapes disagree or a length exceeds max_position_embeddings
   */
  forward(inputs: Seq2SeqInputs): Seq2SeqOutput {
    const { inputIds, labels } = inputs;
    const mask = inputs.attentionMask ?? null;
    let dec = inputs.decoderInputIds;
    if (!dec) {
      if (!labels) throw new ShapeError('Seq2SeqTransformer.forward: give decoderInputIds or labels');
      dec = shiftTokensRight(labels, this.config.decoder_start_token_id, this.config.pad_token_id);
    }
    const memory = this.encode(inputIds, mask);
    if (dec.shape.length !== 2 || dec.shape[0] !== inputIds.shape[0]) {
      throw new ShapeError(`Seq2SeqTransformer.forward: decoderInputIds must be [${inputIds.shape[0]}, tgtLen], got [${dec.shape.join(', ')}]`);
    }
    const logits = this.decode(dec, memory, mask);
    if (!labels) return { logits };
    if (labels.shape.length !== 2 || labels.shape[0] !== dec.shape[0] || labels.shape[1] !== dec.shape[1]) {
      throw new ShapeError(`Seq2SeqTransformer.forward: labels must be [${dec.shape.join(', ')}] like decoderInputIds, got [${labels.shape.join(', ')}]`);
    }
    const [B, T] = labels.shape as [number, number];
    const V = this.config.vocab_size;
    const loss = crossEntropy(logits.reshape([B * T, V]), labels.reshape([B * T]), {
      ignoreIndex: -100,
      labelSmoothing: inputs.labelSmoothing ?? this.config.label_smoothing,
    });
    return { logits, loss };
  }

  /** Pre-softmax projection: tied `hidden · Eᵀ` (§3.4) or `lm_head`. `[..., C]` → `[..., V]`. */
  private lmHead(hidden: Tensor): Tensor {
    if (this.lm_head) return this.lm_head.forward(hidden);
    return matmul(hidden, (this.model.shared as Embedding).weight, { transB: true });
  }

  /**
   * Encode a batch of sources once (no gradients, dropout off) and return a
   * {@link CausalLM} over the decoder bound to it: generation feeds it target
   * tokens (starting from `decoder_start_token_id`) and it attends to these
   * sources. Row `i` of a cache made by `newCache(sources.length)` decodes
   * source `i`; `reorder()` (beam search) keeps each row with its source.
   *
   * @param sources `[batch][srcLen]` token ids (rows may differ in length; right-padded inside)
   * @throws ShapeError for an empty batch, an empty row or a row longer than max_position_embeddings
   */
  bindSource(sources: readonly (readonly number[])[]): Seq2SeqDecoderLM {
    return new Seq2SeqDecoderLM(this, EncodedSource.build(this, sources));
  }

  /** @internal decoder forward with a cache (used by {@link Seq2SeqDecoderLM}). */
  decodeCached(ids: Int32Array, B: number, T: number, cache: Seq2SeqCache, source: EncodedSource, positions: Int32Array, attentionMask: Int32Array | null, lastOnly: boolean): Float32Array {
    let x = this.embed(fromArray(ids, [B, T], 'int32'), fromArray(positions, [B, T], 'int32'), 'decoder');
    const layers = this.model.decoder.layers;
    for (let l = 0; l < layers.length; l++) x = layers[l].forward(x, null, null, { cache, layer: l, attentionMask, source });
    cache.self.advance(T);
    if (this.model.decoder.layer_norm) x = this.model.decoder.layer_norm.forward(x);
    if (lastOnly) x = x.narrow(1, T - 1, 1).reshape([B, this.config.d_model]);
    return this.lmHead(x).data as Float32Array;
  }

  /** Run `fn` with dropout off and no gradients, restoring the training flag. */
  inference<R>(fn: () => R): R {
    const wasTraining = this.training;
    if (wasTraining) this.eval();
    try {
      return noGrad(fn);
    } finally {
      if (wasTraining) this.train();
    }
  }
}

/** int32 `[B, T]` positions `start … start + T − 1` on every row. */
function positionGrid(B: number, T: number, start: number): Tensor {
  const pos = new Int32Array(B * T);
  for (let b = 0; b < B; b++) for (let i = 0; i < T; i++) pos[b * T + i] = start + i;
  return fromArray(pos, [B, T], 'int32');
}

/**
 * HF's `shift_tokens_right`: decoder inputs are the labels moved one step
 * right behind `decoderStartTokenId`, with −100 replaced by `padTokenId`.
 * @param labels int32 `[batch, tgtLen]`
 * @returns int32 `[batch, tgtLen]`
 */
export function shiftTokensRight(labels: Tensor, decoderStartTokenId: number, padTokenId: number): Tensor {
  const [B, T] = labels.shape as [number, number];
  const src = labels.data as Int32Array;
  const out = new Int32Array(B * T);
  for (let b = 0; b < B; b++) {
    out[b * T] = decoderStartTokenId;
    for (let i = 1; i < T; i++) {
      const v = src[b * T + i - 1];
      out[b * T + i] = v === -100 ? padTokenId : v;
    }
  }
  return fromArray(out, [B, T], 'int32');
}

/**
 * A source batch run through the encoder once, with each decoder layer's
 * cross-attention keys/values precomputed (`[batch, heads, srcLen, headDim]`):
 * decoding steps only project their queries.
 */
export class EncodedSource {
  private constructor(
    /** Number of sources. */
    readonly batch: number,
    /** Padded source length S. */
    readonly sourceLength: number,
    /** `[batch, S]`, 1 = real token. */
    readonly mask: Int32Array,
    private readonly kv: { k: Float32Array; v: Float32Array }[],
  ) {}

  /** Encode `sources` (right-padded) with `model` and project every layer's memory keys/values. */
  static build(model: Seq2SeqTransformer, sources: readonly (readonly number[])[]): EncodedSource {
    if (sources.length === 0) throw new ShapeError('bindSource: give at least one source row');
    const B = sources.length;
    const S = Math.max(...sources.map((r) => r.length));
    sources.forEach((r, i) => {
      if (r.length === 0) throw new ShapeError(`bindSource: source ${i} is empty; encode at least one token (e.g. the end-of-text token)`);
    });
    if (S > model.config.max_position_embeddings) {
      throw new ShapeError(`bindSource: a source has ${S} tokens but max_position_embeddings is ${model.config.max_position_embeddings}; truncate it`);
    }
    const ids = new Int32Array(B * S).fill(model.config.pad_token_id);
    const mask = new Int32Array(B * S);
    sources.forEach((r, b) => {
      r.forEach((id, i) => {
        if (!Number.isInteger(id) || id < 0 || id >= model.config.vocab_size) {
          throw new ShapeError(`bindSource: source ${b} token ${i} is ${id}, not an id of this model (0…${model.config.vocab_size - 1})`);
        }
        ids[b * S + i] = id;
        mask[b * S + i] = 1;
      });
    });
    return model.inference(() => {
      const maskT = fromArray(mask, [B, S], 'int32');
      const memory = model.encode(fromArray(ids, [B, S], 'int32'), maskT);
      const kv = model.model.decoder.layers.map((l) => l.encoder_attn.projectMemory(memory));
      return new EncodedSource(B, S, mask, kv);
    });
  }

  /** Cross-attention keys/values of decoder layer `layer`. */
  memoryKV(layer: number): { k: Float32Array; v: Float32Array } {
    return this.kv[layer];
  }
}

/**
 * The cache of decoding with {@link Seq2SeqDecoderLM}: the decoder's
 * self-attention keys/values (a {@link KVCache}) and, per row, which source
 * it decodes. The sources' cross-attention keys/values are shared, not
 * copied, so `reorder()` for beam search moves only the self-attention
 * cache and the row → source map.
 */
export class Seq2SeqCache implements LMCache {
  srcRow: Int32Array;
  constructor(readonly self: KVCache, batch: number) {
    this.srcRow = new Int32Array(batch);
    for (let i = 0; i < batch; i++) this.srcRow[i] = i;
  }
  get length(): number {
    return this.self.length;
  }
  get batch(): number {
    return this.self.batch;
  }
  reorder(indices: Int32Array): void {
    this.self.reorder(indices);
    const next = new Int32Array(indices.length);
    indices.forEach((src, i) => (next[i] = this.srcRow[src]!));
    this.srcRow = next;
  }
  clear(): void {
    this.self.clear();
  }
}

/**
 * The decoder of a {@link Seq2SeqTransformer} as a {@link CausalLM} bound to
 * one encoded source batch (see {@link Seq2SeqTransformer.bindSource}), so
 * that `generate()`/`stream()` decode with it unchanged. Its prompt is the
 * decoder's: `[decoder_start_token_id]` (pass `bosTokenId` = that id and an
 * empty prompt, or the id itself).
 */
export class Seq2SeqDecoderLM implements CausalLM {
  constructor(
    readonly seq2seq: Seq2SeqTransformer,
    readonly source: EncodedSource,
  ) {}

  get vocabSize(): number {
    return this.seq2seq.config.vocab_size;
  }

  /** Longest target (decoder positions). */
  get maxPositions(): number {
    return this.seq2seq.config.max_position_embeddings;
  }

  /**
   * An empty cache whose row i decodes source i.
   * @throws ShapeError when `batch` differs from the number of bound sources
   */
  newCache(batch: number): LMCache {
    if (batch !== this.source.batch) {
      throw new ShapeError(`Seq2SeqDecoderLM.newCache: ${batch} rows asked but ${this.source.batch} sources are bound; decode one prompt per source`);
    }
    const cfg = this.seq2seq.config;
    const self = new KVCache(cfg.decoder_layers, batch, cfg.decoder_attention_heads, cfg.d_model / cfg.decoder_attention_heads, cfg.max_position_embeddings);
    return new Seq2SeqCache(self, batch);
  }

  /** See {@link CausalLM.forward}; `attentionMask`/`positionIds` refer to decoder (target) positions. */
  forward(
    inputIds: Int32Array,
    batch: number,
    t: number,
    cache: LMCache,
    opts: CausalLMForwardOptions = {},
  ): Float32Array {
    if (!(cache instanceof Seq2SeqCache)) throw new ShapeError('Seq2SeqDecoderLM.forward: the cache must come from this model\'s newCache()');
    if (inputIds.length !== batch * t) throw new ShapeError(`Seq2SeqDecoderLM.forward: inputIds has ${inputIds.length} ids, expected batch·t = ${batch}·${t}`);
    if (cache.batch !== batch) throw new ShapeError(`Seq2SeqDecoderLM.forward: cache holds ${cache.batch} rows but batch is ${batch}`);
    const past = cache.length;
    if (past + t > this.maxPositions) {
      throw new ShapeError(`Seq2SeqDecoderLM.forward: ${past} cached + ${t} new tokens exceed max_position_embeddings ${this.maxPositions}`);
    }
    const mask = opts.attentionMask ?? null;
    if (mask && mask.length !== batch * (past + t)) {
      throw new ShapeError(`Seq2SeqDecoderLM.forward: attentionMask must be [batch, past + t] = [${batch}, ${past + t}], got ${mask.length} values`);
    }
    let pos = opts.positionIds ?? null;
    if (pos && pos.length !== batch * t) throw new ShapeError(`Seq2SeqDecoderLM.forward: positionIds must be [batch, t] = [${batch}, ${t}]`);
    if (!pos) pos = positionGrid(batch, t, past).data as Int32Array;
    const positions = pos;
    return this.seq2seq.inference(() => this.seq2seq.decodeCached(inputIds, batch, t, cache, this.source, positions, mask, opts.lastOnly ?? false));
  }
}
