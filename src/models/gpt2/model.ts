import {
  Tensor,
  Generator,
  fromArray,
  noGrad,
  isGradEnabled,
  crossEntropy,
  gelu,
  scaledDotProductAttention,
  matmul,
  checkpoint,
} from '../../tensor/index.js';
import { Module } from '../../nn/module.js';
import { Conv1D, Dropout, Embedding, LayerNorm } from '../../nn/layers.js';
import { KVCache, cachedAttention } from '../kv-cache.js';
import { ShapeError } from '../../errors.js';
import { getBackend } from '../../backend/index.js';
import { fusedLMLoss, fusedTrainSupported, type FusedGPTParams } from './train-step.js';
import type { Backend } from '../../backend/backend.js';
import type { CausalLM, CausalLMForwardArgs, LMCache, CausalLMForwardOptions } from '../causal-lm.js';
import { gptConfig, type GPTConfig } from './config.js';
import { lmLoss, lmTrainInputs, positionGrid } from '../lm-train.js';

/**
 * Causal multi-head self-attention of GPT-2 (Radford et al. 2019), HF names:
 * `c_attn` (Conv1D `[n_embd, 3·n_embd]` producing q, k, v) and `c_proj`.
 */
export class GPTAttention extends Module {
  readonly c_attn: Conv1D;
  readonly c_proj: Conv1D;
  private readonly residDropout: Dropout;
  readonly nHead: number;
  readonly headDim: number;

  constructor(cfg: GPTConfig, gen: Generator, init = true) {
    super();
    const C = cfg.n_embd;
    this.nHead = cfg.n_head;
    this.headDim = C / cfg.n_head;
    this.c_attn = this.registerModule('c_attn', new Conv1D(C, 3 * C, { std: cfg.initializer_range, gen, init }));
    // GPT-2 scales the residual projections by 1/√(2·n_layer) at init (paper §2.3).
    this.c_proj = this.registerModule('c_proj', new Conv1D(C, C, { std: cfg.initializer_range / Math.sqrt(2 * cfg.n_layer), gen, init }));
    this.residDropout = this.registerModule('resid_dropout', new Dropout(cfg.resid_pdrop, gen));
  }

  /**
   * `x` `[batch, seqLen, n_embd]` → `[batch, seqLen, n_embd]`. Without a cache
   * this is the differentiable training path (fused causal attention); with a
   * cache (inference, no grad) the new keys/values are appended to `layerCache`.
   */
  forward(x: Tensor, layerCache?: { cache: KVCache; layer: number; attentionMask: Int32Array | null }): Tensor {
    const [B, T, C] = x.shape as [number, number, number];
    const H = this.nHead;
    const D = this.headDim;
    const qkv = this.c_attn.forward(x).reshape([B, T, 3, H, D]).permute([2, 0, 3, 1, 4]); // [3, B, H, T, D]
    let y: Tensor;
    if (layerCache) {
      y = cachedAttention(qkv, layerCache.cache, layerCache.layer, layerCache.attentionMask);
    } else {
      const q = qkv.narrow(0, 0, 1).reshape([B, H, T, D]);
      const k = qkv.narrow(0, 1, 1).reshape([B, H, T, D]);
      const v = qkv.narrow(0, 2, 1).reshape([B, H, T, D]);
      y = scaledDotProductAttention(q, k, v, { causal: true });
    }
    y = y.permute([0, 2, 1, 3]).reshape([B, T, C]);
    return this.residDropout.forward(this.c_proj.forward(y));
  }
}

/** GPT-2 MLP: `c_fc` (n_embd → n_inner), GELU, `c_proj` (n_inner → n_embd), dropout. */
export class GPTMLP extends Module {
  readonly c_fc: Conv1D;
  readonly c_proj: Conv1D;
  private readonly dropout: Dropout;
  private readonly approximate: 'tanh' | 'none';

  constructor(cfg: GPTConfig, gen: Generator, init = true) {
    super();
    const inner = cfg.n_inner ?? 4 * cfg.n_embd;
    this.c_fc = this.registerModule('c_fc', new Conv1D(cfg.n_embd, inner, { std: cfg.initializer_range, gen, init }));
    this.c_proj = this.registerModule('c_proj', new Conv1D(inner, cfg.n_embd, { std: cfg.initializer_range / Math.sqrt(2 * cfg.n_layer), gen, init }));
    this.dropout = this.registerModule('dropout', new Dropout(cfg.resid_pdrop, gen));
    this.approximate = cfg.activation_function === 'gelu' ? 'none' : 'tanh';
  }

  /** `[batch, seqLen, n_embd]` → same shape. */
  forward(x: Tensor): Tensor {
    return this.dropout.forward(this.c_proj.forward(gelu(this.c_fc.forward(x), this.approximate)));
  }
}

/** A pre-LayerNorm transformer block: `x + attn(ln_1(x))`, then `+ mlp(ln_2(·))`. */
export class GPTBlock extends Module {
  readonly ln_1: LayerNorm;
  readonly attn: GPTAttention;
  readonly ln_2: LayerNorm;
  readonly mlp: GPTMLP;

  constructor(cfg: GPTConfig, gen: Generator, init = true) {
    super();
    this.ln_1 = this.registerModule('ln_1', new LayerNorm(cfg.n_embd, cfg.layer_norm_epsilon));
    this.attn = this.registerModule('attn', new GPTAttention(cfg, gen, init));
    this.ln_2 = this.registerModule('ln_2', new LayerNorm(cfg.n_embd, cfg.layer_norm_epsilon));
    this.mlp = this.registerModule('mlp', new GPTMLP(cfg, gen, init));
  }

  /** `[batch, seqLen, n_embd]` → same shape. */
  forward(x: Tensor, layerCache?: { cache: KVCache; layer: number; attentionMask: Int32Array | null }): Tensor {
    const h = x.add(this.attn.forward(this.ln_1.forward(x), layerCache));
    return h.add(this.mlp.forward(this.ln_2.forward(h)));
  }
}

/** The `transformer` trunk of `GPT2LMHeadModel`: `wte`, `wpe`, `drop`, `h.{i}`, `ln_f`. */
export class GPTTransformer extends Module {
  readonly wte: Embedding;
  readonly wpe: Embedding;
  readonly h: GPTBlock[];
  readonly ln_f: LayerNorm;
  readonly drop: Dropout;

  constructor(cfg: GPTConfig, gen: Generator, init = true) {
    super();
    this.wte = this.registerModule('wte', new Embedding(cfg.vocab_size, cfg.n_embd, { std: cfg.initializer_range, gen, init }));
    this.wpe = this.registerModule('wpe', new Embedding(cfg.n_positions, cfg.n_embd, { std: cfg.initializer_range / 2, gen, init }));
    this.drop = this.registerModule('drop', new Dropout(cfg.embd_pdrop, gen));
    const blocks = this.registerModule('h', new Module());
    this.h = [];
    for (let i = 0; i < cfg.n_layer; i++) this.h.push(blocks.registerModule(String(i), new GPTBlock(cfg, gen, init)));
    this.ln_f = this.registerModule('ln_f', new LayerNorm(cfg.n_embd, cfg.layer_norm_epsilon));
  }
}

/** Output of {@link GPT.forward}. */
export interface GPTOutput {
  /** `[batch, seqLen, vocab_size]` */
  logits: Tensor;
  /** Mean cross-entropy over non-ignored positions (scalar), when labels/targets were given. */
  loss?: Tensor;
}

/**
 * GPT-2 language model (HF `GPT2LMHeadModel`): learned position embeddings,
 * pre-LayerNorm blocks, causal multi-head self-attention, 4× GELU MLP, final
 * LayerNorm and an `lm_head` tied to `transformer.wte.weight`. Parameter names
 * and layouts are Hugging Face's (`transformer.h.0.attn.c_attn.weight` is a
 * Conv1D `[in, out]`), so checkpoints round-trip with `transformers`.
 *
 * It also implements {@link CausalLM} (KV-cached incremental decoding) for
 * `src/generate/`.
 */
export class GPT extends Module implements CausalLM {
  readonly config: GPTConfig;
  /**
   * Use the backend's one-call decode kernel for KV-cached inference when it
   * has one (native). false forces the op-by-op path (tests compare the two).
   */
  fastDecode = true;
  /**
   * Compute the training loss and gradients with the backend's whole-step
   * kernel (`train-step.ts`; the native backend) when it has one and the config
   * allows it (tanh GELU, 4× MLP). false forces the op-by-op autograd path,
   * which every backend has (tests compare the two).
   */
  fusedTrain = true;
  /**
   * Activation checkpointing on the autograd path (HF
   * `gradient_checkpointing_enable()`): each block keeps only its input and
   * recomputes its activations in the backward pass (`checkpoint`, dropout
   * masks replayed). The fused path keeps its own buffers and ignores it.
   */
  gradientCheckpointing = false;
  /** The generator of initialisation and of every Dropout module (the fused path draws its masks from it too). */
  private readonly generator: Generator;
  readonly transformer: GPTTransformer;

  /**
   * @param config HF GPT-2 config fields (completed with GPT-2 defaults and validated)
   * @param opts.seed seed of the generator used for initialisation and dropout
   * @param opts.init false = zero weights, for a model whose checkpoint is loaded next (default true)
   * @throws ConfigError for an invalid config
   */
  constructor(config: Partial<GPTConfig>, opts: { seed?: number; generator?: Generator; init?: boolean } = {}) {
    super();
    this.config = gptConfig(config);
    const gen = opts.generator ?? new Generator(opts.seed ?? 1337);
    this.generator = gen;
    this.transformer = this.registerModule('transformer', new GPTTransformer(this.config, gen, opts.init ?? true));
    if (!this.config.tie_word_embeddings) {
      throw new ShapeError('GPT: untied lm_head weights are not supported; set tie_word_embeddings: true (GPT-2 ties them)');
    }
  }

  get vocabSize(): number {
    return this.config.vocab_size;
  }

  get maxPositions(): number {
    return this.config.n_positions;
  }

  /** Keys and values of every layer, float32: `2 · n_layer · n_embd · 4` bytes per row and position. */
  get cacheBytesPerPosition(): number {
    return 2 * this.config.n_layer * this.config.n_embd * 4;
  }

  /**
   * Training/scoring forward pass (differentiable).
   * @param inputIds int32 `[batch, seqLen]`, seqLen ≤ n_positions
   * @param opts.targets int32 `[batch, seqLen]` next-token targets already aligned
   *   with the inputs (nanoGPT convention), -100 = ignored
   * @param opts.labels int32 `[batch, seqLen]` in HF convention: the model shifts
   *   them left by one inside (labels = inputIds is the LM loss), -100 = ignored
   * @returns logits `[batch, seqLen, vocab_size]` and the mean loss when targets/labels are given
   *   (then, on the fused path — see {@link GPT.fusedTrain} — the loss carries the gradient and the logits do not)
   * @throws ShapeError when seqLen exceeds n_positions or shapes disagree
   */
  forward(inputIds: Tensor, opts?: { targets?: Tensor; labels?: Tensor }): GPTOutput;
  /**
   * KV-cached inference ({@link CausalLM.forward}): feeds `t` new tokens per row,
   * appends them to `cache`, returns logits `[batch, vocab]` (`lastOnly`) or
   * `[batch, t, vocab]`. No gradients; dropout off.
   * @throws ShapeError when `cache.length + t` exceeds n_positions or a mask/position array has the wrong length
   */
  forward(...args: CausalLMForwardArgs): Float32Array;
  forward(
    inputIds: Tensor | Int32Array,
    a?: number | { targets?: Tensor; labels?: Tensor },
    t?: number,
    cache?: LMCache,
    opts: CausalLMForwardOptions = {},
  ): GPTOutput | Float32Array {
    if (inputIds instanceof Tensor) return this.forwardTrain(inputIds, (a as { targets?: Tensor; labels?: Tensor } | undefined) ?? {});
    return this.forwardCached(inputIds, a as number, t as number, cache as KVCache, opts);
  }

  private forwardTrain(inputIds: Tensor, opts: { targets?: Tensor; labels?: Tensor }): GPTOutput {
    const n = this.config.n_positions;
    const { B, T, targets } = lmTrainInputs('GPT.forward', inputIds, opts, { name: 'n_positions', value: n, hint: `truncate the input to the last ${n} tokens` });
    const be = getBackend();
    if (targets && this.fusedTrain && be.gptTrain && inputIds.dtype === 'int32' && targets.dtype === 'int32' && fusedTrainSupported(this.config, be) && (!isGradEnabled() || this.parameters().every((p) => p.requiresGrad))) {
      return fusedLMLoss(be.gptTrain, this, this.config, this.fusedParams(), inputIds, targets);
    }
    const hidden = this.trunk(inputIds, fromArray(positionGrid(B, T), [B, T], 'int32'));
    const logits = this.lmHead(hidden);
    if (!targets) return { logits };
    return { logits, loss: lmLoss(logits, targets, B, T, this.config.vocab_size) };
  }

  private forwardCached(
    ids: Int32Array,
    B: number,
    T: number,
    cache: KVCache,
    opts: CausalLMForwardOptions,
  ): Float32Array {
    if (!(cache instanceof KVCache)) throw new ShapeError('GPT.forward: the cache must come from this model\'s newCache()');
    if (ids.length !== B * T) throw new ShapeError(`GPT.forward: inputIds has ${ids.length} ids, expected batch·t = ${B}·${T}`);
    if (cache.batch !== B) throw new ShapeError(`GPT.forward: cache holds ${cache.batch} rows but batch is ${B}`);
    const past = cache.length;
    if (past + T > this.config.n_positions) {
      throw new ShapeError(`GPT.forward: ${past} cached + ${T} new tokens exceed n_positions ${this.config.n_positions}; truncate the prompt or slide the window`);
    }
    const mask = opts.attentionMask ?? null;
    if (mask && mask.length !== B * (past + T)) {
      throw new ShapeError(`GPT.forward: attentionMask must be [batch, past + t] = [${B}, ${past + T}], got ${mask.length} values`);
    }
    let pos = opts.positionIds ?? null;
    if (pos && pos.length !== B * T) throw new ShapeError(`GPT.forward: positionIds must be [batch, t] = [${B}, ${T}]`);
    if (!pos) {
      pos = new Int32Array(B * T);
      for (let b = 0; b < B; b++) for (let i = 0; i < T; i++) pos[b * T + i] = past + i;
    }
    const positions = pos;
    const fast = this.fastDecode ? getBackend().gptForwardCached : undefined;
    if (fast && this.config.activation_function !== 'gelu' && (this.config.n_inner ?? 4 * this.config.n_embd) === 4 * this.config.n_embd) {
      return this.forwardFused(fast, ids, positions, B, T, cache, mask, opts.lastOnly ?? false);
    }
    const wasTraining = this.training;
    if (wasTraining) this.eval();
    try {
      return noGrad(() => {
        let hidden = this.trunk(fromArray(ids, [B, T], 'int32'), fromArray(positions, [B, T], 'int32'), cache, mask);
        cache.advance(T);
        if (opts.lastOnly) hidden = hidden.narrow(1, T - 1, 1).reshape([B, this.config.n_embd]);
        return this.lmHead(hidden).data as Float32Array;
      });
    } finally {
      if (wasTraining) this.train();
    }
  }

  /**
   * The decode fast path: the whole cached forward in one backend call
   * (native only). Same arithmetic as the op-by-op path; dropout is off
   * whatever the training flag says, as in the op-by-op cached path.
   */
  private forwardFused(
    kernel: NonNullable<Backend['gptForwardCached']>,
    ids: Int32Array,
    positions: Int32Array,
    B: number,
    T: number,
    cache: KVCache,
    mask: Int32Array | null,
    lastOnly: boolean,
  ): Float32Array {
    const c = this.config;
    const past = cache.length;
    cache.ensure(past + T);
    const tr = this.transformer;
    const weights: Float32Array[] = [tr.wte.weight, tr.wpe.weight, tr.ln_f.weight, tr.ln_f.bias].map((p) => p.data as Float32Array);
    const kCaches: Float32Array[] = [];
    const vCaches: Float32Array[] = [];
    let capacity = 0;
    for (let l = 0; l < tr.h.length; l++) {
      const b = tr.h[l];
      for (const p of [b.ln_1.weight, b.ln_1.bias, b.attn.c_attn.weight, b.attn.c_attn.bias, b.attn.c_proj.weight, b.attn.c_proj.bias,
        b.ln_2.weight, b.ln_2.bias, b.mlp.c_fc.weight, b.mlp.c_fc.bias, b.mlp.c_proj.weight, b.mlp.c_proj.bias]) {
        weights.push(p.data as Float32Array);
      }
      const buf = cache.layerBuffers(l);
      kCaches.push(buf.k);
      vCaches.push(buf.v);
      capacity = buf.capacity;
    }
    const logits = new Float32Array(B * (lastOnly ? 1 : T) * c.vocab_size);
    kernel({
      weights, kCaches, vCaches, ids, positionIds: positions, attentionMask: mask, logits,
      batch: B, t: T, past, capacity, nLayer: c.n_layer, nHead: c.n_head, nEmbd: c.n_embd, vocab: c.vocab_size,
      nPositions: c.n_positions, eps: c.layer_norm_epsilon, lastOnly,
    });
    cache.advance(T);
    return logits;
  }

  /** The parameters in the fused training path's structure. */
  private fusedParams(): FusedGPTParams {
    const tr = this.transformer;
    const c = this.config;
    const active = this.training && (c.embd_pdrop > 0 || c.resid_pdrop > 0);
    return {
      dropout: active ? { embd: c.embd_pdrop, resid: c.resid_pdrop, gen: this.generator } : null,
      wte: tr.wte.weight,
      wpe: tr.wpe.weight,
      lnfW: tr.ln_f.weight,
      lnfB: tr.ln_f.bias,
      blocks: tr.h.map((b) => ({
        ln1w: b.ln_1.weight, ln1b: b.ln_1.bias, attnW: b.attn.c_attn.weight, attnB: b.attn.c_attn.bias,
        projW: b.attn.c_proj.weight, projB: b.attn.c_proj.bias, ln2w: b.ln_2.weight, ln2b: b.ln_2.bias,
        fcW: b.mlp.c_fc.weight, fcB: b.mlp.c_fc.bias, fc2W: b.mlp.c_proj.weight, fc2B: b.mlp.c_proj.bias,
      })),
    };
  }

  /** Embeddings + blocks + final LayerNorm: ids `[B, T]`, positions `[B, T]` → `[B, T, n_embd]`. */
  private trunk(ids: Tensor, positions: Tensor, cache?: KVCache, attentionMask?: Int32Array | null): Tensor {
    const tr = this.transformer;
    let x = tr.wte.forward(ids).add(tr.wpe.forward(positions));
    x = tr.drop.forward(x);
    const recompute = this.gradientCheckpointing && this.training && isGradEnabled() && !cache;
    for (let i = 0; i < tr.h.length; i++) {
      const block = tr.h[i];
      if (recompute) x = checkpoint((h) => block.forward(h), x, block.parameters().filter((p) => p.requiresGrad));
      else x = block.forward(x, cache ? { cache, layer: i, attentionMask: attentionMask ?? null } : undefined);
    }
    return tr.ln_f.forward(x);
  }

  /** Tied lm_head: `[..., n_embd]` · wteᵀ → `[..., vocab_size]`. */
  private lmHead(hidden: Tensor): Tensor {
    return matmul(hidden, this.transformer.wte.weight, { transB: true });
  }

  /** An empty KV cache for `batch` rows (grows as tokens are fed, up to n_positions). */
  newCache(batch: number): LMCache {
    return new KVCache(this.config.n_layer, batch, this.config.n_head, this.config.n_embd / this.config.n_head, this.config.n_positions);
  }
}

