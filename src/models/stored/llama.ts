/**
 * The Llama family (Llama, Mistral, Qwen2, Qwen3) on the stored-weight
 * decoder: the {@link DecoderSpec} from named weights (HF names, `[out, in]`
 * matrices of any ggml type) and a config, and {@link StoredLlamaLM}, an
 * inference-only {@link CausalLM} that holds its weights as stored (F16/BF16
 * safetensors, quantized GGUF tensors) instead of float32 parameters.
 */
import { FileFormatError, ShapeError } from '../../errors.js';
import type { CausalLM, LMCache, CausalLMForwardOptions } from '../causal-lm.js';
import { Module } from '../../nn/module.js';
import { layerWindow, llamaMaxPositions, type LlamaConfig } from '../llama/config.js';
import { ropeInvFreq, ropeTables } from '../llama/rope.js';
import { NativeDecoder, StoredDecoderLM, checkDecodeCache, type DecoderSpec, type KvCacheDtype } from './decoder.js';
import type { QuantizedWeight } from '../../quant/weight.js';

/** Looks up a tensor by its Hugging Face name (`model.layers.0.self_attn.q_proj.weight`), or undefined. */
export interface LlamaTensorSource {
  matrix(name: string): QuantizedWeight | undefined;
  vector(name: string): Float32Array | undefined;
}

/**
 * The decoder spec of a Llama-family model from its weights by HF name.
 * @throws FileFormatError naming a required tensor that is missing
 */
export function llamaDecoderSpec(cfg: LlamaConfig, src: LlamaTensorSource, source = 'the model'): DecoderSpec {
  const mat = (n: string): QuantizedWeight => {
    const w = src.matrix(n);
    if (!w) throw new FileFormatError(`${source}: missing tensor ${n}`);
    return w;
  };
  const vec = (n: string): Float32Array => {
    const v = src.vector(n);
    if (!v) throw new FileFormatError(`${source}: missing tensor ${n}`);
    return v;
  };
  const opt = (n: string): Float32Array | null => src.vector(n) ?? null;
  const embed = mat('model.embed_tokens.weight');
  const head = cfg.tie_word_embeddings ? embed : mat('lm_head.weight');
  return {
    norm: 'rmsnorm',
    mlp: 'swiglu',
    hidden: cfg.hidden_size,
    nHead: cfg.num_attention_heads,
    nKvHead: cfg.num_key_value_heads,
    headDim: cfg.head_dim,
    vocab: cfg.vocab_size,
    eps: cfg.rms_norm_eps,
    embed,
    normW: vec('model.norm.weight'),
    head,
    layers: Array.from({ length: cfg.num_hidden_layers }, (_, i) => {
      const p = `model.layers.${i}.`;
      return {
        norm1W: vec(`${p}input_layernorm.weight`),
        q: mat(`${p}self_attn.q_proj.weight`),
        k: mat(`${p}self_attn.k_proj.weight`),
        v: mat(`${p}self_attn.v_proj.weight`),
        qB: opt(`${p}self_attn.q_proj.bias`),
        kB: opt(`${p}self_attn.k_proj.bias`),
        vB: opt(`${p}self_attn.v_proj.bias`),
        qNorm: opt(`${p}self_attn.q_norm.weight`),
        kNorm: opt(`${p}self_attn.k_norm.weight`),
        o: mat(`${p}self_attn.o_proj.weight`),
        oB: opt(`${p}self_attn.o_proj.bias`),
        norm2W: vec(`${p}post_attention_layernorm.weight`),
        gate: mat(`${p}mlp.gate_proj.weight`),
        up: mat(`${p}mlp.up_proj.weight`),
        down: mat(`${p}mlp.down_proj.weight`),
        gateB: opt(`${p}mlp.gate_proj.bias`),
        upB: opt(`${p}mlp.up_proj.bias`),
        downB: opt(`${p}mlp.down_proj.bias`),
        window: layerWindow(cfg, i) ?? 0,
      };
    }),
  };
}

/** Positions `past + i` for every row (or the caller's), and the rotary tables for them. */
export function llamaStepInputs(
  cfg: LlamaConfig, batch: number, t: number, past: number, positionIds: Int32Array | null | undefined,
): { pos: Int32Array; cos: Float32Array; sin: Float32Array } {
  let pos = positionIds ?? null;
  if (pos && pos.length !== batch * t) throw new ShapeError(`positionIds must be [batch, t] = [${batch}, ${t}], got ${pos.length} values`);
  if (!pos) {
    pos = new Int32Array(batch * t);
    for (let b = 0; b < batch; b++) for (let i = 0; i < t; i++) pos[b * t + i] = past + i;
  }
  let maxPos = 0;
  for (const p of pos) if (p > maxPos) maxPos = p;
  const { cos, sin } = ropeTables(ropeInvFreq(cfg, maxPos), pos);
  return { pos, cos, sin };
}

/**
 * An inference-only Llama-family causal LM over stored weights (half
 * precision or quantized, read in place): the {@link CausalLM} interface on
 * the native decoder, with a float32 or float16 KV cache. It is a
 * {@link Module} without parameters (nothing to train or save: load the model
 * with `dtype: 'float32'` for that).
 */
export class StoredLlamaLM extends StoredDecoderLM implements CausalLM {
  protected readonly decoder: NativeDecoder;

  /**
   * @throws ConfigError when the native addon is not built
   * @throws FileFormatError naming a missing tensor
   */
  constructor(readonly config: LlamaConfig, src: LlamaTensorSource, opts: { kvCacheDtype?: KvCacheDtype; source?: string } = {}) {
    super();
    this.decoder = new NativeDecoder(llamaDecoderSpec(config, src, opts.source));
    this.kvCacheDtype = opts.kvCacheDtype ?? 'float32';
  }

  get vocabSize(): number {
    return this.config.vocab_size;
  }

  get maxPositions(): number {
    return llamaMaxPositions(this.config);
  }

  forward(
    inputIds: Int32Array, batch: number, t: number, cache: LMCache,
    opts: CausalLMForwardOptions = {},
  ): Float32Array {
    checkDecodeCache('StoredLlamaLM.forward', cache, t, this.maxPositions, `the model's ${this.maxPositions} positions`);
    const { pos, cos, sin } = llamaStepInputs(this.config, batch, t, cache.length, opts.positionIds);
    return this.decoder.forward(inputIds, batch, t, cache, { attentionMask: opts.attentionMask, positionIds: pos, cos, sin, lastOnly: opts.lastOnly });
  }
}
