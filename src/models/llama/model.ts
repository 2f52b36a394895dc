import { Tensor, Generator, fromArray, noGrad, crossEntropy, matmul, ones, checkpoint, isGradEnabled } from '../../tensor/index.js';
import { Module } from '../../nn/module.js';
import { Embedding } from '../../nn/layers.js';
import { ShapeError } from '../../errors.js';
import { KVCache } from '../kv-cache.js';
import { lmLoss, lmTrainInputs, positionGrid } from '../lm-train.js';
import type { CausalLM, CausalLMForwardArgs, LMCache, CausalLMForwardOptions } from '../causal-lm.js';
import { layerWindow, llamaConfig, llamaMaxPositions, mlpBias, oBias, qkNorm, qkvBias, type LlamaConfig } from './config.js';
import { LlamaLinear } from './linear.js';
import { applyRotary, rmsNorm, siluMul } from './ops.js';
import { ropeInvFreq, ropeTables } from './rope.js';
import { cachedGQA, repeatKV, trainAttention } from './attention.js';
import { llamaFastForward, type LlamaFastState } from './fast-decode.js';

/** transformers' `LlamaRMSNorm`: `weight` `[dim]` (ones at init). */
export class LlamaRMSNorm extends Module {
  readonly weight: Tensor;
  constructor(readonly dim: number, readonly eps: number) {
    super();
    this.weight = this.registerParameter('weight', ones([dim]));
  }
  /** `[..., dim]` → same shape. */
  forward(x: Tensor): Tensor {
    return rmsNorm(x, this.weight, this.eps);
  }
}

/** What one forward pass shares across layers. */
export interface PassContext {
  /** Rotary tables `[B·T, headDim/2]` for this pass's positions. */
  cos: Float32Array;
  sin: Float32Array;
  /** Present on the cached (inference) path. */
  cache?: KVCache;
  attentionMask: Int32Array | null;
}

/**
 * Grouped-query self-attention with rotary embeddings (transformers'
 * `LlamaAttention` and its Mistral/Qwen2/Qwen3 variants): `q_proj`, `k_proj`,
 * `v_proj`, `o_proj`, and for Qwen3 the per-head `q_norm`/`k_norm` applied
 * before the rotation.
 */
export class LlamaAttention extends Module {
  readonly q_proj: LlamaLinear;
  readonly k_proj: LlamaLinear;
  readonly v_proj: LlamaLinear;
  readonly o_proj: LlamaLinear;
  readonly q_norm: LlamaRMSNorm | null = null;
  readonly k_norm: LlamaRMSNorm | null = null;
  readonly nHead: number;
  readonly nKV: number;
  readonly headDim: number;
  /** Sliding window of this layer, or null. */
  readonly window: number | null;

  constructor(cfg: LlamaConfig, readonly layer: number, gen: Generator, init: boolean) {
    super();
    const C = cfg.hidden_size;
    this.nHead = cfg.num_attention_heads;
    this.nKV = cfg.num_key_value_heads;
    this.headDim = cfg.head_dim;
    this.window = layerWindow(cfg, layer);
    const std = cfg.initializer_range;
    const b = qkvBias(cfg);
    this.q_proj = this.registerModule('q_proj', new LlamaLinear(C, this.nHead * this.headDim, { bias: b, std, gen, init }));
    this.k_proj = this.registerModule('k_proj', new LlamaLinear(C, this.nKV * this.headDim, { bias: b, std, gen, init }));
    this.v_proj = this.registerModule('v_proj', new LlamaLinear(C, this.nKV * this.headDim, { bias: b, std, gen, init }));
    this.o_proj = this.registerModule('o_proj', new LlamaLinear(this.nHead * this.headDim, C, { bias: oBias(cfg), std, gen, init }));
    if (qkNorm(cfg)) {
      this.q_norm = this.registerModule('q_norm', new LlamaRMSNorm(this.headDim, cfg.rms_norm_eps));
      this.k_norm = this.registerModule('k_norm', new LlamaRMSNorm(this.headDim, cfg.rms_norm_eps));
    }
  }

  /**
   * `x` `[B, T, hidden]` → `[B, T, hidden]`: differentiable without a cache
   * (training); with `ctx.cache` (inference) the new keys/values are appended to it.
   */
  forward(x: Tensor, ctx: PassContext): Tensor {
    const [B, T] = x.shape as [number, number, number];
    const H = this.nHead;
    const Hk = this.nKV;
    const D = this.headDim;
    let q = this.q_proj.forward(x).reshape([B * T, H, D]);
    let k = this.k_proj.forward(x).reshape([B * T, Hk, D]);
    if (this.q_norm && this.k_norm) {
      q = this.q_norm.forward(q);
      k = this.k_norm.forward(k);
    }
    const qh = applyRotary(q, ctx.cos, ctx.sin).reshape([B, T, H, D]).permute([0, 2, 1, 3]);
    const kh = applyRotary(k, ctx.cos, ctx.sin).reshape([B, T, Hk, D]).permute([0, 2, 1, 3]);
    const vh = this.v_proj.forward(x).reshape([B, T, Hk, D]).permute([0, 2, 1, 3]);
    const y = ctx.cache
      ? cachedGQA(qh, kh, vh, ctx.cache, this.layer, ctx.attentionMask, this.window)
      : trainAttention(qh, repeatKV(kh, H / Hk), repeatKV(vh, H / Hk), this.window);
    return this.o_proj.forward(y.permute([0, 2, 1, 3]).reshape([B, T, H * D]));
  }
}

/** SwiGLU feed-forward (Shazeer 2020): `down_proj(silu(gate_proj(x)) ⊙ up_proj(x))`. */
export class LlamaMLP extends Module {
  readonly gate_proj: LlamaLinear;
  readonly up_proj: LlamaLinear;
  readonly down_proj: LlamaLinear;
  constructor(cfg: LlamaConfig, gen: Generator, init: boolean) {
    super();
    const C = cfg.hidden_size;
    const I = cfg.intermediate_size;
    const o = { bias: mlpBias(cfg), std: cfg.initializer_range, gen, init };
    this.gate_proj = this.registerModule('gate_proj', new LlamaLinear(C, I, o));
    this.up_proj = this.registerModule('up_proj', new LlamaLinear(C, I, o));
    this.down_proj = this.registerModule('down_proj', new LlamaLinear(I, C, o));
  }
  /** `[B, T, hidden]` → same shape. */
  forward(x: Tensor): Tensor {
    return this.down_proj.forward(siluMul(this.gate_proj.forward(x), this.up_proj.forward(x)));
  }
}

/** A pre-norm decoder layer: `h = x + attn(input_layernorm(x))`, `h + mlp(post_attention_layernorm(h))`. */
export class LlamaDecoderLayer extends Module {
  readonly input_layernorm: LlamaRMSNorm;
  readonly self_attn: LlamaAttention;
  readonly post_attention_layernorm: LlamaRMSNorm;
  readonly mlp: LlamaMLP;
  constructor(cfg: LlamaConfig, layer: number, gen: Generator, init: boolean) {
    super();
    this.input_layernorm = this.registerModule('input_layernorm', new LlamaRMSNorm(cfg.hidden_size, cfg.rms_norm_eps));
    this.self_attn = this.registerModule('self_attn', new LlamaAttention(cfg, layer, gen, init));
    this.post_attention_layernorm = this.registerModule('post_attention_layernorm', new LlamaRMSNorm(cfg.hidden_size, cfg.rms_norm_eps));
    this.mlp = this.registerModule('mlp', new LlamaMLP(cfg, gen, init));
  }
  /** `[B, T, hidden]` → same shape; appends this layer's keys/values to `ctx.cache` when there is one. */
  forward(x: Tensor, ctx: PassContext): Tensor {
    const h = x.add(this.self_attn.forward(this.input_layernorm.forward(x), ctx));
    return h.add(this.mlp.forward(this.post_attention_layernorm.forward(h)));
  }
}

/** The trunk (`LlamaModel`): `embed_tokens`, `layers.{i}`, `norm`. */
export class LlamaModel extends Module {
  readonly embed_tokens: Embedding;
  readonly layers: LlamaDecoderLayer[] = [];
  readonly norm: LlamaRMSNorm;
  constructor(cfg: LlamaConfig, gen: Generator, init: boolean) {
    super();
    this.embed_tokens = this.registerModule('embed_tokens', new Embedding(cfg.vocab_size, cfg.hidden_size, { std: cfg.initializer_range, gen, init }));
    const layers = this.registerModule('layers', new Module());
    for (let i = 0; i < cfg.num_hidden_layers; i++) this.layers.push(layers.registerModule(String(i), new LlamaDecoderLayer(cfg, i, gen, init)));
    this.norm = this.registerModule('norm', new LlamaRMSNorm(cfg.hidden_size, cfg.rms_norm_eps));
  }
}

/** Output of {@link LlamaForCausalLM.forward} (training path). */
export interface LlamaOutput {
  /** `[batch, seqLen, vocab_size]` */
  logits: Tensor;
  /** Mean cross-entropy over non-ignored positions (scalar), when targets/labels were given. */
  loss?: Tensor;
}

/**
 * A Llama-family causal language model (transformers' `LlamaForCausalLM`,
 * `MistralForCausalLM`, `Qwen2ForCausalLM`, `Qwen3ForCausalLM`): token
 * embeddings, pre-RMSNorm decoder layers with rotary grouped-query attention
 * and a SwiGLU MLP, final RMSNorm, and an `lm_head` that is its own
 * `[vocab, hidden]` matrix or tied to `model.embed_tokens.weight`. Parameter
 * names are Hugging Face's, so `model.safetensors` round-trips.
 *
 * Differentiable forward for training (`forward(ids, {targets})`) and the
 * {@link CausalLM} interface (KV-cached decoding; the cache holds the
 * key/value heads only) for `src/generate/`.
 */
export class LlamaForCausalLM extends Module implements CausalLM {
  readonly config: LlamaConfig;
  readonly model: LlamaModel;
  /** The untied output projection, or null when tied to the embeddings. */
  readonly lm_head: LlamaLinear | null;
  /**
   * Run KV-cached inference on the native stored-weight decoder (one call per
   * step, `fast-decode.ts`) when the addon has it; false forces the op-by-op
   * path (tests compare the two).
   */
  fastDecode = true;
  /**
   * Activation checkpointing in training (HF `gradient_checkpointing_enable()`):
   * each decoder layer keeps only its input and recomputes its activations in
   * the backward pass (`checkpoint`), trading one more forward pass per layer
   * for activation memory of one layer instead of all of them.
   */
  gradientCheckpointing = false;
  /** The native decoder over this model's parameters, rebuilt when a parameter's storage changes. */
  private fastState: LlamaFastState | null = null;

  /**
   * @param config config.json fields (completed with the model_type's defaults and validated)
   * @param opts.seed seed of the initialisation generator; opts.init false = zero weights (a checkpoint is loaded next)
   * @throws ConfigError naming the config field at fault
   */
  constructor(config: Partial<LlamaConfig> & Record<string, unknown>, opts: { seed?: number; generator?: Generator; init?: boolean } = {}) {
    super();
    this.config = llamaConfig(config);
    const gen = opts.generator ?? new Generator(opts.seed ?? 1337);
    const init = opts.init ?? true;
    this.model = this.registerModule('model', new LlamaModel(this.config, gen, init));
    this.lm_head = this.config.tie_word_embeddings
      ? null
      : this.registerModule('lm_head', new LlamaLinear(this.config.hidden_size, this.config.vocab_size, { bias: false, std: this.config.initializer_range, gen, init }));
  }

  get vocabSize(): number {
    return this.config.vocab_size;
  }

  get maxPositions(): number {
    return llamaMaxPositions(this.config);
  }

  /**
   * Training/scoring forward pass (differentiable), positions 0 … seqLen − 1.
   * @param inputIds int32 `[batch, seqLen]`
   * @param opts.targets int32 `[batch, seqLen]` next-token targets aligned with the inputs (−100 = ignored)
   * @param opts.labels int32 `[batch, seqLen]` in HF convention (shifted left inside; labels = inputIds is the LM loss)
   * @returns logits `[batch, seqLen, vocab]` and the mean loss when targets/labels are given
   * @throws ShapeError when seqLen exceeds maxPositions or shapes disagree
   */
  forward(inputIds: Tensor, opts?: { targets?: Tensor; labels?: Tensor }): LlamaOutput;
  /**
   * KV-cached inference ({@link CausalLM.forward}): feeds `t` new tokens per
   * row, appends them to `cache`, returns logits `[batch, vocab]` (`lastOnly`)
   * or `[batch, t, vocab]`. No gradients.
   * @throws ShapeError when `cache.length + t` exceeds maxPositions or a mask/position array has the wrong length
   */
  forward(...args: CausalLMForwardArgs): Float32Array;
  forward(
    inputIds: Tensor | Int32Array,
    a?: number | { targets?: Tensor; labels?: Tensor },
    t?: number,
    cache?: LMCache,
    opts: CausalLMForwardOptions = {},
  ): LlamaOutput | Float32Array {
    if (inputIds instanceof Tensor) return this.forwardTrain(inputIds, (a as { targets?: Tensor; labels?: Tensor } | undefined) ?? {});
    return this.forwardCached(inputIds, a as number, t as number, cache as LMCache, opts);
  }

  private forwardTrain(inputIds: Tensor, opts: { targets?: Tensor; labels?: Tensor }): LlamaOutput {
    const limit = { name: 'max_position_embeddings', value: this.maxPositions, hint: 'truncate the input' };
    const { B, T, targets } = lmTrainInputs('LlamaForCausalLM.forward', inputIds, opts, limit);
    const logits = this.head(this.trunk(inputIds, positionGrid(B, T)));
    if (!targets) return { logits };
    return { logits, loss: lmLoss(logits, targets, B, T, this.config.vocab_size) };
  }

  private forwardCached(
    ids: Int32Array,
    B: number,
    T: number,
    cacheIn: LMCache,
    opts: CausalLMForwardOptions,
  ): Float32Array {
    if (!(cacheIn instanceof KVCache)) throw new ShapeError("LlamaForCausalLM.forward: the cache must come from this model's newCache()");
    const cache = cacheIn;
    if (ids.length !== B * T) throw new ShapeError(`LlamaForCausalLM.forward: inputIds has ${ids.length} ids, expected batch·t = ${B}·${T}`);
    if (cache.batch !== B) throw new ShapeError(`LlamaForCausalLM.forward: cache holds ${cache.batch} rows but batch is ${B}`);
    const past = cache.length;
    if (past + T > this.maxPositions) {
      throw new ShapeError(`LlamaForCausalLM.forward: ${past} cached + ${T} new tokens exceed the model's ${this.maxPositions} positions; truncate the prompt or slide the window`);
    }
    const mask = opts.attentionMask ?? null;
    if (mask && mask.length !== B * (past + T)) {
      throw new ShapeError(`LlamaForCausalLM.forward: attentionMask must be [batch, past + t] = [${B}, ${past + T}], got ${mask.length} values`);
    }
    let pos = opts.positionIds ?? null;
    if (pos && pos.length !== B * T) throw new ShapeError(`LlamaForCausalLM.forward: positionIds must be [batch, t] = [${B}, ${T}]`);
    if (!pos) {
      pos = new Int32Array(B * T);
      for (let b = 0; b < B; b++) for (let i = 0; i < T; i++) pos[b * T + i] = past + i;
    }
    const positions = pos;
    if (this.fastDecode) {
      const fast = llamaFastForward(this, this.fastState, ids, B, T, cache, positions, mask, opts.lastOnly ?? false);
      if (fast) {
        this.fastState = fast.state;
        return fast.logits;
      }
    }
    return noGrad(() => {
      let hidden = this.trunk(fromArray(ids, [B, T], 'int32'), positions, cache, mask);
      cache.advance(T);
      if (opts.lastOnly) hidden = hidden.narrow(1, T - 1, 1).reshape([B, this.config.hidden_size]);
      return this.head(hidden).data as Float32Array;
    });
  }

  /** Embeddings + layers + final norm: ids `[B, T]`, positions `[B·T]` → `[B, T, hidden]`. */
  private trunk(ids: Tensor, positions: Int32Array, cache?: KVCache, attentionMask: Int32Array | null = null): Tensor {
    let maxPos = 0;
    for (const p of positions) if (p > maxPos) maxPos = p;
    const { cos, sin } = ropeTables(ropeInvFreq(this.config, maxPos), positions);
    const ctx: PassContext = { cos, sin, cache, attentionMask };
    let x = this.model.embed_tokens.forward(ids);
    const recompute = this.gradientCheckpointing && this.training && isGradEnabled() && !cache;
    for (const layer of this.model.layers) {
      x = recompute ? checkpoint((h) => layer.forward(h, ctx), x, layer.parameters().filter((p) => p.requiresGrad)) : layer.forward(x, ctx);
    }
    return this.model.norm.forward(x);
  }

  /** `[..., hidden]` → logits `[..., vocab]` through `lm_head` or the tied embeddings. */
  private head(hidden: Tensor): Tensor {
    if (this.lm_head) return this.lm_head.forward(hidden);
    return matmul(hidden, this.model.embed_tokens.weight, { transB: true });
  }

  /** An empty KV cache for `batch` rows (`num_key_value_heads` heads per layer; grows as tokens are fed). */
  newCache(batch: number): LMCache {
    const c = this.config;
    return new KVCache(c.num_hidden_layers, batch, c.num_key_value_heads, c.head_dim, this.maxPositions);
  }
}
