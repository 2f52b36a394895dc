/**
 * The training/scoring half of a decoder LM's `forward(Tensor)` that every
 * family shares: input checks, HF's label shift, the position grid and the
 * next-token loss. Each family keeps its own trunk and head.
 */
import { ShapeError } from '../errors.js';
import { type Tensor, crossEntropy, fromArray } from '../tensor/index.js';

/** The length limit a model puts on `seqLen`, as its error message names it. */
export interface SeqLenLimit {
  /** Config field name, e.g. `n_positions` or `max_position_embeddings`. */
  name: string;
  /** Longest sequence accepted. */
  value: number;
  /** What to do about it, e.g. `truncate the input`. */
  hint: string;
}

/**
 * Check `inputIds` `[batch, seqLen]` and resolve the aligned targets: `labels`
 * (HF convention, shifted left by one here) win over `targets` (nanoGPT
 * convention, already aligned).
 * @param who the message prefix, e.g. `GPT.forward`
 * @returns batch `B`, sequence length `T` and int32 targets `[B, T]` (−100 = ignored) or undefined
 * @throws ShapeError when `inputIds` is not 2-D, `seqLen` exceeds `limit.value` or the targets' shape differs
 */
export function lmTrainInputs(
  who: string,
  inputIds: Tensor,
  opts: { targets?: Tensor; labels?: Tensor },
  limit: SeqLenLimit,
): { B: number; T: number; targets: Tensor | undefined } {
  if (inputIds.shape.length !== 2) throw new ShapeError(`${who}: inputIds must be [batch, seqLen], got [${inputIds.shape.join(', ')}]`);
  const [B, T] = inputIds.shape as [number, number];
  if (T > limit.value) throw new ShapeError(`${who}: sequence length ${T} exceeds ${limit.name} ${limit.value}; ${limit.hint}`);
  const targets = opts.labels ? shiftLabels(opts.labels) : opts.targets;
  if (targets && (targets.shape.length !== 2 || targets.shape[0] !== B || targets.shape[1] !== T)) {
    throw new ShapeError(`${who}: targets must be [${B}, ${T}] like inputIds, got [${targets.shape.join(', ')}]`);
  }
  return { B, T, targets };
}

/** Positions 0 … T − 1 for every row: int32 `[B * T]`, row-major. */
export function positionGrid(B: number, T: number): Int32Array {
  const pos = new Int32Array(B * T);
  for (let b = 0; b < B; b++) for (let i = 0; i < T; i++) pos[b * T + i] = i;
  return pos;
}

/**
 * Mean next-token cross-entropy of logits `[B, T, V]` against int32 targets
 * `[B, T]`, positions with target −100 ignored (PyTorch's `ignore_index`).
 */
export function lmLoss(logits: Tensor, targets: Tensor, B: number, T: number, V: number): Tensor {
  return crossEntropy(logits.reshape([B * T, V]), targets.reshape([B * T]), { ignoreIndex: -100 });
}

/** HF's label shift: targets[:, t] = labels[:, t + 1], last position ignored. */
export function shiftLabels(labels: Tensor): Tensor {
  const [B, T] = labels.shape as [number, number];
  const src = labels.data as Int32Array;
  const out = new Int32Array(B * T).fill(-100);
  for (let b = 0; b < B; b++) out.set(src.subarray(b * T + 1, b * T + T), b * T);
  return fromArray(out, [B, T], 'int32');
}
