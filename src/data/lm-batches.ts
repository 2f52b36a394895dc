import { ConfigError } from '../errors.js';

/**
 * A source of random integers; the engine's `Generator`
 * (`src/tensor/random.ts`) fits, typed structurally so data/ need not import
 * the tensor code.
 */
export interface RandomSource {
  /** A uniform integer in [low, high) (high exclusive, like `torch.randint`). */
  randint(low: number, high: number): number;
}

/**
 * A batch for causal language modelling. `labels` are already shifted:
 * `labels[b, t]` is the token that follows `inputIds[b, t]` (nanoGPT's `y`),
 * so the loss is `crossEntropy(logits[b, t], labels[b, t])` with no further
 * shifting, and `-100` marks positions to ignore (PyTorch's `ignore_index`).
 */
export interface LMBatch {
  /** `[batchSize, seqLen]` row-major token ids. */
  inputIds: Int32Array;
  /** `[batchSize, seqLen]` next-token targets, `-100` = ignored. */
  labels: Int32Array;
  batchSize: number;
  seqLen: number;
}

function checkPositive(name: string, v: number): void {
  if (!Number.isSafeInteger(v) || v <= 0) throw new ConfigError(`${name} must be a positive integer, got ${v}`);
}

/**
 * nanoGPT's `get_batch` (train.py): `batchSize` windows at random offsets
 * `ix = randint(0, n - blockSize)`, drawn in row order, `x = data[i : i + blockSize]`,
 * `y = data[i + 1 : i + 1 + blockSize]`.
 *
 * @param data `[n]` token ids of one split
 * @param blockSize context length (`seqLen` of the batch)
 * @param batchSize rows
 * @param rng where the offsets come from
 * @returns inputIds and labels, each `[batchSize, blockSize]`
 * @throws ConfigError when `data` has fewer than `blockSize + 1` tokens
 */
export function getBatch(data: Int32Array | Uint16Array, blockSize: number, batchSize: number, rng: RandomSource): LMBatch {
  checkPositive('getBatch: blockSize', blockSize);
  checkPositive('getBatch: batchSize', batchSize);
  if (data.length < blockSize + 1) {
    throw new ConfigError(
      `getBatch: the split has ${data.length} tokens, fewer than blockSize + 1 = ${blockSize + 1}; use a smaller blockSize or more text`,
    );
  }
  const inputIds = new Int32Array(batchSize * blockSize);
  const labels = new Int32Array(batchSize * blockSize);
  for (let b = 0; b < batchSize; b++) {
    const i = rng.randint(0, data.length - blockSize);
    inputIds.set(data.subarray(i, i + blockSize), b * blockSize);
    labels.set(data.subarray(i + 1, i + 1 + blockSize), b * blockSize);
  }
  return { inputIds, labels, batchSize, seqLen: blockSize };
}

/**
 * Every token of a split once, in order, for evaluation (perplexity over a
 * whole validation set): consecutive non-overlapping windows of `blockSize`
 * inputs whose targets are the next tokens, so targets cover `data[1..n)`
 * exactly once. Full windows are grouped `batchSize` at a time (the last
 * batch may have fewer rows); a final shorter window holds the remaining
 * tokens as a batch of one row with `seqLen < blockSize`.
 *
 * Each window starts without context from the previous one (stride =
 * blockSize), which is how nanoGPT-style evaluation sees text; the numbers
 * are therefore a little worse than a sliding-window evaluation.
 *
 * @param data `[n]` token ids, n >= 2
 * @yields batches in order; `count` over them = ceil((n - 1) / blockSize) windows
 */
export function* sequentialBatches(data: Int32Array | Uint16Array, blockSize: number, batchSize: number): Generator<LMBatch> {
  checkPositive('sequentialBatches: blockSize', blockSize);
  checkPositive('sequentialBatches: batchSize', batchSize);
  const targets = data.length - 1;
  const full = Math.max(0, Math.floor(targets / blockSize));
  for (let w = 0; w < full; w += batchSize) {
    const rows = Math.min(batchSize, full - w);
    const inputIds = new Int32Array(rows * blockSize);
    const labels = new Int32Array(rows * blockSize);
    for (let r = 0; r < rows; r++) {
      const i = (w + r) * blockSize;
      inputIds.set(data.subarray(i, i + blockSize), r * blockSize);
      labels.set(data.subarray(i + 1, i + 1 + blockSize), r * blockSize);
    }
    yield { inputIds, labels, batchSize: rows, seqLen: blockSize };
  }
  const rest = targets - full * blockSize;
  if (rest > 0) {
    const i = full * blockSize;
    yield { inputIds: Int32Array.from(data.subarray(i, i + rest)), labels: Int32Array.from(data.subarray(i + 1, i + 1 + rest)), batchSize: 1, seqLen: rest };
  }
}

/** Number of batches {@link sequentialBatches} yields, for progress bars. */
export function countSequentialBatches(nTokens: number, blockSize: number, batchSize: number): number {
  const targets = Math.max(0, nTokens - 1);
  const full = Math.floor(targets / blockSize);
  return Math.ceil(full / batchSize) + (targets - full * blockSize > 0 ? 1 : 0);
}
