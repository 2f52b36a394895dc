/**
 * An opt-in probe of GPT's attention weights, for interpretability views
 * (the playground's heatmap). It recomputes each layer's attention
 * probabilities from the model's own weights on a separate pass, so the
 * normal forward path (fused attention, KV cache) stays untouched and pays
 * nothing for it.
 */
import { fromArray, matmul, noGrad, type Tensor } from '../../tensor/index.js';
import { ShapeError } from '../../errors.js';
import type { GPT } from './model.js';

/** Attention probabilities of every layer and head for one sequence. */
export interface AttentionMaps {
  nLayer: number;
  nHead: number;
  /** Number of tokens T. */
  seqLen: number;
  /**
   * One array per layer, `[nHead, T, T]` row-major: `weights[l][h·T·T + i·T + j]`
   * is how much query position i attends to key position j (0 for j > i;
   * each row sums to 1).
   */
  weights: Float32Array[];
}

/**
 * Per-layer, per-head attention probabilities `softmax(Q·Kᵀ/√headDim + causal mask)`
 * of `model` on `inputIds` — what HF's `output_attentions=True` returns for
 * GPT-2 (`attentions[l][0, h]`), with dropout off.
 *
 * The hidden states run through the model's own blocks (the unfused training
 * path, no cache); only the probabilities are recomputed from each block's
 * `ln_1` and `c_attn`.
 *
 * @param model a GPT (its train/eval mode is restored afterwards)
 * @param inputIds token ids, 1 ≤ length ≤ n_positions
 * @returns {@link AttentionMaps}
 * @throws ShapeError when the sequence is empty, longer than n_positions, or holds ids outside the vocabulary
 */
export function attentionProbe(model: GPT, inputIds: readonly number[]): AttentionMaps {
  const T = inputIds.length;
  const cfg = model.config;
  if (T === 0) throw new ShapeError('attentionProbe: inputIds is empty; pass at least one token');
  if (T > cfg.n_positions) {
    throw new ShapeError(`attentionProbe: ${T} tokens exceed n_positions ${cfg.n_positions}; pass the last ${cfg.n_positions} tokens`);
  }
  for (const id of inputIds) {
    if (!Number.isInteger(id) || id < 0 || id >= cfg.vocab_size) {
      throw new ShapeError(`attentionProbe: token id ${id} is outside the vocabulary [0, ${cfg.vocab_size})`);
    }
  }
  const H = cfg.n_head;
  const C = cfg.n_embd;
  const D = C / H;
  const scale = 1 / Math.sqrt(D);
  const wasTraining = model.training;
  if (wasTraining) model.eval();
  try {
    return noGrad(() => {
      const tr = model.transformer;
      const ids = fromArray(Int32Array.from(inputIds), [1, T], 'int32');
      const pos = fromArray(Int32Array.from({ length: T }, (_, i) => i), [1, T], 'int32');
      let x: Tensor = tr.drop.forward(tr.wte.forward(ids).add(tr.wpe.forward(pos)));
      const weights: Float32Array[] = [];
      for (const block of tr.h) {
        const qkv = block.attn.c_attn.forward(block.ln_1.forward(x)).reshape([1, T, 3, H, D]).permute([2, 0, 3, 1, 4]);
        const q = qkv.narrow(0, 0, 1).reshape([H, T, D]);
        const k = qkv.narrow(0, 1, 1).reshape([H, T, D]);
        const scores = matmul(q, k, { transB: true }).data as Float32Array; // [H, T, T]
        weights.push(causalSoftmax(scores, H, T, scale));
        x = block.forward(x);
      }
      return { nLayer: tr.h.length, nHead: H, seqLen: T, weights };
    });
  } finally {
    if (wasTraining) model.train();
  }
}

/** Row-wise softmax of `scale·scores` over keys j ≤ i (max-subtracted, float64 sums); masked entries are 0. */
function causalSoftmax(scores: Float32Array, H: number, T: number, scale: number): Float32Array {
  const out = new Float32Array(H * T * T);
  for (let h = 0; h < H; h++) {
    for (let i = 0; i < T; i++) {
      const row = (h * T + i) * T;
      let max = -Infinity;
      for (let j = 0; j <= i; j++) max = Math.max(max, scores[row + j] * scale);
      let sum = 0;
      for (let j = 0; j <= i; j++) {
        const e = Math.exp(scores[row + j] * scale - max);
        out[row + j] = e;
        sum += e;
      }
      for (let j = 0; j <= i; j++) out[row + j] = out[row + j] / sum;
    }
  }
  return out;
}
