/**
 * How GGUF architectures map onto Hugging Face models: tensor names
 * (llama.cpp's `LLM_TENSOR_NAMES` ↔ transformers' parameter names), layouts
 * (GPT-2's Conv1D weights are `[in, out]`, GGUF stores every weight as
 * `[out, in]`), and the row permutation llama.cpp's converter applies to the
 * `llama` architecture's q/k projections (its rotary embedding pairs
 * interleaved dimensions 2i, 2i+1, transformers' pairs i, i + d/2).
 *
 * Reference: llama.cpp `convert_hf_to_gguf.py` (`GPT2Model`, `LlamaModel`,
 * `Qwen2Model`, `Qwen3Model`, `LlamaModel.permute`) and `gguf-py`'s
 * `tensor_mapping.py`.
 */
import { ShapeError } from '../errors.js';

/** The GGUF `general.architecture` values muse reads and writes. */
export const GGUF_ARCHS = ['gpt2', 'llama', 'qwen2', 'qwen3'] as const;
/** One of {@link GGUF_ARCHS}. */
export type GgufArch = (typeof GGUF_ARCHS)[number];

/** One tensor's name in both worlds, and whether GPT-2's Conv1D layout applies. */
export interface NamePair {
  gguf: string;
  hf: string;
  /** HF stores this weight `[in, out]` (GPT-2 Conv1D); GGUF stores `[out, in]`. */
  conv1d?: boolean;
  /** `llama` architecture q (`'q'`) or k (`'k'`) projection rows are permuted in GGUF. */
  ropePermute?: 'q' | 'k';
}

/** Per-layer tensors of GPT-2 (`transformer.h.N.…`). */
const GPT2_LAYER: Array<[string, string, boolean]> = [
  ['attn_norm.weight', 'ln_1.weight', false],
  ['attn_norm.bias', 'ln_1.bias', false],
  ['attn_qkv.weight', 'attn.c_attn.weight', true],
  ['attn_qkv.bias', 'attn.c_attn.bias', false],
  ['attn_output.weight', 'attn.c_proj.weight', true],
  ['attn_output.bias', 'attn.c_proj.bias', false],
  ['ffn_norm.weight', 'ln_2.weight', false],
  ['ffn_norm.bias', 'ln_2.bias', false],
  ['ffn_up.weight', 'mlp.c_fc.weight', true],
  ['ffn_up.bias', 'mlp.c_fc.bias', false],
  ['ffn_down.weight', 'mlp.c_proj.weight', true],
  ['ffn_down.bias', 'mlp.c_proj.bias', false],
];

/** Per-layer tensors of the Llama family (`model.layers.N.…`); biases and q/k norms exist only where the model has them. */
const LLAMA_LAYER: Array<[string, string]> = [
  ['attn_norm.weight', 'input_layernorm.weight'],
  ['attn_q.weight', 'self_attn.q_proj.weight'],
  ['attn_q.bias', 'self_attn.q_proj.bias'],
  ['attn_k.weight', 'self_attn.k_proj.weight'],
  ['attn_k.bias', 'self_attn.k_proj.bias'],
  ['attn_v.weight', 'self_attn.v_proj.weight'],
  ['attn_v.bias', 'self_attn.v_proj.bias'],
  ['attn_output.weight', 'self_attn.o_proj.weight'],
  ['attn_output.bias', 'self_attn.o_proj.bias'],
  ['attn_q_norm.weight', 'self_attn.q_norm.weight'],
  ['attn_k_norm.weight', 'self_attn.k_norm.weight'],
  ['ffn_norm.weight', 'post_attention_layernorm.weight'],
  ['ffn_gate.weight', 'mlp.gate_proj.weight'],
  ['ffn_gate.bias', 'mlp.gate_proj.bias'],
  ['ffn_up.weight', 'mlp.up_proj.weight'],
  ['ffn_up.bias', 'mlp.up_proj.bias'],
  ['ffn_down.weight', 'mlp.down_proj.weight'],
  ['ffn_down.bias', 'mlp.down_proj.bias'],
];

/**
 * Every tensor name pair an architecture can have for `nLayers` layers (a
 * model has a subset: biases, q/k norms and `output.weight` are optional).
 */
export function namePairs(arch: GgufArch, nLayers: number): NamePair[] {
  const out: NamePair[] = [];
  if (arch === 'gpt2') {
    out.push({ gguf: 'token_embd.weight', hf: 'transformer.wte.weight' });
    out.push({ gguf: 'position_embd.weight', hf: 'transformer.wpe.weight' });
    for (let i = 0; i < nLayers; i++) {
      for (const [g, h, conv] of GPT2_LAYER) out.push({ gguf: `blk.${i}.${g}`, hf: `transformer.h.${i}.${h}`, ...(conv ? { conv1d: true } : {}) });
    }
    out.push({ gguf: 'output_norm.weight', hf: 'transformer.ln_f.weight' });
    out.push({ gguf: 'output_norm.bias', hf: 'transformer.ln_f.bias' });
    out.push({ gguf: 'output.weight', hf: 'lm_head.weight' });
    return out;
  }
  out.push({ gguf: 'token_embd.weight', hf: 'model.embed_tokens.weight' });
  for (let i = 0; i < nLayers; i++) {
    for (const [g, h] of LLAMA_LAYER) {
      const pair: NamePair = { gguf: `blk.${i}.${g}`, hf: `model.layers.${i}.${h}` };
      if (arch === 'llama' && (g.startsWith('attn_q.') || g.startsWith('attn_k.'))) pair.ropePermute = g.startsWith('attn_q.') ? 'q' : 'k';
      out.push(pair);
    }
  }
  out.push({ gguf: 'output_norm.weight', hf: 'model.norm.weight' });
  out.push({ gguf: 'output.weight', hf: 'lm_head.weight' });
  return out;
}

/**
 * llama.cpp's `LlamaModel.permute` on the rows of a q or k projection (or its
 * bias): within each head of `headDim` rows, HF row `i·headDim/2 + j` (i ∈
 * {0, 1}) moves to row `2j + i`. `inverse` undoes it (GGUF → HF). Works on
 * any row encoding: `rowBytes` bytes per row (F32, F16 or whole quantized
 * blocks — rows are independent), so quantized weights permute without
 * decoding.
 *
 * @param data `nHeads · headDim` rows of `rowBytes` bytes
 * @throws ShapeError when the size does not divide into heads of even width
 */
export function permuteRopeRows(data: Uint8Array, nHeads: number, headDim: number, rowBytes: number, inverse: boolean): Uint8Array {
  if (headDim % 2 !== 0 || data.length !== nHeads * headDim * rowBytes) {
    throw new ShapeError(`rope permutation: ${data.length} bytes are not ${nHeads} heads × ${headDim} rows × ${rowBytes} bytes (head_dim must be even)`);
  }
  const out = new Uint8Array(data.length);
  const half = headDim / 2;
  for (let h = 0; h < nHeads; h++) {
    for (let i = 0; i < 2; i++) {
      for (let j = 0; j < half; j++) {
        const hfRow = h * headDim + i * half + j;
        const ggRow = h * headDim + 2 * j + i;
        const [from, to] = inverse ? [ggRow, hfRow] : [hfRow, ggRow];
        out.set(data.subarray(from * rowBytes, (from + 1) * rowBytes), to * rowBytes);
      }
    }
  }
  return out;
}

/** Transpose a row-major `[rows, cols]` float32 matrix. */
export function transpose2d(x: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    for (let c = 0; c < cols; c++) out[c * rows + r] = x[base + c]!;
  }
  return out;
}
