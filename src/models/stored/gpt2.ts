/**
 * GPT-2 on the stored-weight decoder: the {@link DecoderSpec} of a {@link GPT}
 * with its linear layers (and optionally the tied embeddings) stored as a
 * chosen ggml type. Conv1D weights (`[in, out]`) are stored transposed, as
 * `[out, in]` rows, which is also how GGUF files hold GPT-2.
 */
import type { GPT } from '../gpt2/model.js';
import type { GgmlType } from '../../quant/formats.js';
import type { DecoderSpec } from './decoder.js';
import { quantizeMatrix } from '../../quant/quantize.js';
import { f32Weight } from '../../quant/weight.js';

/** Which tensors get the chosen type (the rest stay F32): llama.cpp keeps norms, biases and position embeddings in F32 too. */
export interface Gpt2SpecOptions {
  /** Type of the attention and MLP matrices. */
  type: GgmlType;
  /** Type of the tied token embeddings / output head; default `type` (F32 keeps them exact). */
  embedType?: GgmlType;
}

/**
 * The decoder spec of a loaded GPT-2 model, converting its weights to the
 * requested types (a new buffer per matrix; the model's float32 tensors can be
 * dropped afterwards).
 * @throws ShapeError when a width is not a multiple of the type's block size
 */
export function gpt2DecoderSpec(model: GPT, opts: Gpt2SpecOptions): DecoderSpec {
  const c = model.config;
  const C = c.n_embd;
  const F = c.n_inner ?? 4 * C;
  const t = model.transformer;
  const f = (x: { data: unknown }): Float32Array => x.data as Float32Array;
  const embedType = opts.embedType ?? opts.type;
  const embed = embedType === 'F32' ? f32Weight(f(t.wte.weight), c.vocab_size, C) : quantizeMatrix(f(t.wte.weight), c.vocab_size, C, embedType);
  return {
    norm: 'layernorm',
    mlp: 'gelu_tanh',
    hidden: C,
    nHead: c.n_head,
    nKvHead: c.n_head,
    headDim: C / c.n_head,
    vocab: c.vocab_size,
    eps: c.layer_norm_epsilon,
    embed,
    posEmbed: f32Weight(f(t.wpe.weight), c.n_positions, C),
    normW: f(t.ln_f.weight),
    normB: f(t.ln_f.bias),
    head: embed,
    layers: t.h.map((b) => ({
      norm1W: f(b.ln_1.weight),
      norm1B: f(b.ln_1.bias),
      qkv: quantizeMatrix(f(b.attn.c_attn.weight), 3 * C, C, opts.type, true),
      qkvB: f(b.attn.c_attn.bias),
      o: quantizeMatrix(f(b.attn.c_proj.weight), C, C, opts.type, true),
      oB: f(b.attn.c_proj.bias),
      norm2W: f(b.ln_2.weight),
      norm2B: f(b.ln_2.bias),
      up: quantizeMatrix(f(b.mlp.c_fc.weight), F, C, opts.type, true),
      upB: f(b.mlp.c_fc.bias),
      down: quantizeMatrix(f(b.mlp.c_proj.weight), C, F, opts.type, true),
      downB: f(b.mlp.c_proj.bias),
    })),
  };
}
