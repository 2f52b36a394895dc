/**
 * Which storage type each tensor gets for a chosen file type, following
 * llama.cpp's `llama_model_quantize` (src/llama-quant.cpp:
 * `tensor_allows_quantization`, `llama_tensor_get_type_impl`,
 * `tensor_type_fallback`) for the types muse writes, so a muse-quantized
 * file holds the same types per tensor as `llama-quantize` would produce:
 *
 * - 1-D tensors, norms and `position_embd` are never quantized (kept F32);
 * - the output head (or the token embeddings when the head is tied) gets
 *   Q6_K for every quantized type but Q8_0 (Q8_0 when its rows are not a
 *   multiple of 256);
 * - Q4_K_M: Q4_K for most weights; Q6_K for `attn_v` (or GPT-2's fused
 *   `attn_qkv`) and `ffn_down` of the layers `use_more_bits` picks (the first
 *   and last eighth and every third layer between);
 * - rows that are not a whole number of blocks fall back: Q4_K → Q5_0,
 *   Q6_K → Q8_0, and to F16 when even 32 does not divide them.
 */
import type { GgmlType } from '../quant/formats.js';
import { BLOCK_SIZE } from '../quant/formats.js';

/** The file types `muse quantize` and `muse export` write (llama.cpp's `llama_ftype` names, lower case). */
export const GGUF_FILE_TYPES = ['f32', 'f16', 'bf16', 'q8_0', 'q4_0', 'q4_k_m'] as const;
/** One of {@link GGUF_FILE_TYPES}. */
export type GgufFileType = (typeof GGUF_FILE_TYPES)[number];

/** `general.file_type` values (`enum llama_ftype`). */
export const LLAMA_FTYPE: Readonly<Record<GgufFileType, number>> = { f32: 0, f16: 1, q4_0: 2, q8_0: 7, q4_k_m: 15, bf16: 32 };

/** The default storage type of a file type (what most weights get). */
export const DEFAULT_TYPE: Readonly<Record<GgufFileType, GgmlType>> = {
  f32: 'F32', f16: 'F16', bf16: 'BF16', q8_0: 'Q8_0', q4_0: 'Q4_0', q4_k_m: 'Q4_K',
};

/** llama.cpp's `use_more_bits(i_layer, n_layers)`. */
export function useMoreBits(i: number, n: number): boolean {
  const e = Math.trunc(n / 8);
  return i < e || i >= Math.trunc((7 * n) / 8) || (i - e) % 3 === 2;
}

/** `tensor_allows_quantization` for the architectures muse writes. */
export function allowsQuantization(name: string, nDims: number): boolean {
  if (nDims < 2) return false;
  if (!name.endsWith('weight')) return false;
  if (name.includes('_norm.weight')) return false;
  if (name === 'position_embd.weight' || name === 'token_types.weight') return false;
  return true;
}

function fallback(type: GgmlType, rowLength: number): GgmlType {
  if (rowLength % BLOCK_SIZE[type] === 0) return type;
  let t: GgmlType = type === 'Q4_K' ? 'Q5_0' : type === 'Q6_K' ? 'Q8_0' : type === 'Q5_K' ? 'F16' : 'F16';
  if (rowLength % BLOCK_SIZE[t] !== 0) t = 'F16';
  return t;
}

/** What the type choice needs to know about the whole model. */
export interface MixContext {
  fileType: GgufFileType;
  /** Number of layers (`n_ffn_down`). */
  nLayers: number;
  /** Number of `attn_v` / `attn_qkv` tensors (`n_attention_wv`). */
  nAttentionWv: number;
  /** True when the file has no `output.weight` (the head is tied to `token_embd`). */
  tiedEmbeddings: boolean;
}

/**
 * The storage type of one tensor.
 *
 * @param name GGUF tensor name (`blk.3.attn_v.weight`)
 * @param dims ggml dims (`dims[0]` = row length)
 * @param ctx see {@link MixContext}
 */
export function tensorTypeFor(name: string, dims: readonly number[], ctx: MixContext): GgmlType {
  if (!allowsQuantization(name, dims.length) || ctx.fileType === 'f32') return 'F32';
  let t = DEFAULT_TYPE[ctx.fileType];
  if (t === 'F16' || t === 'BF16') return t;
  const nx = dims[0];
  const layer = /^blk\.(\d+)\./.exec(name);
  const i = layer ? Number(layer[1]) : -1;
  if (name === 'output.weight' || (ctx.tiedEmbeddings && name === 'token_embd.weight')) {
    if (nx % BLOCK_SIZE[t] !== 0) t = 'Q8_0';
    else if (t !== 'Q8_0') t = 'Q6_K';
  } else if (ctx.fileType === 'q4_k_m') {
    if (name.includes('attn_v.weight') || name.includes('attn_qkv.weight')) {
      if (useMoreBits(i, ctx.nAttentionWv)) t = 'Q6_K';
    } else if (name.includes('ffn_down')) {
      if (useMoreBits(i, ctx.nLayers)) t = 'Q6_K';
    }
  }
  return fallback(t, nx);
}
