/**
 * The kernel interface every backend implements.
 *
 * Kernels work on flat, contiguous, row-major typed arrays and plain integers;
 * they know nothing about `Tensor`, autograd or models (the arrows point down:
 * tensor → backend). Every kernel writes into an output buffer the caller
 * allocated, so the tensor layer owns all memory. Unless a kernel says
 * otherwise, outputs are overwritten (not accumulated) and inputs are not
 * modified. Sizes are element counts, never bytes.
 *
 * Two implementations exist: `js` (readable reference, browser fallback) and
 * `native` (C++ via N-API, OpenMP, SIMD). Both must give the same numbers
 * (relative 1e-5; GEMM 1e-4). Modelled on TensorFlow.js's one-kernel-interface,
 * many-backends design and on llm.c's forward/backward kernel pairs.
 */
import type { GptDecodeParams, GptTrainKernels } from '../models/gpt2/kernels.js';
import type { BertTrainKernels } from '../models/bert/kernels.js';

/** Float storage of every float32 tensor. */
export type F32 = Float32Array;
/** Integer storage (token ids, indices, masks). */
export type I32 = Int32Array;

/** Elementwise unary operations (`out[i] = f(x[i])`). */
export type UnaryOp =
  | 'neg'
  | 'exp'
  | 'log'
  | 'sqrt'
  | 'rsqrt'
  | 'tanh'
  | 'sigmoid'
  | 'relu'
  | 'gelu_tanh' // GELU, tanh approximation (GPT-2, HF "gelu_new")
  | 'gelu_erf' // GELU, exact erf form (BERT, PyTorch default)
  | 'abs';

/** Elementwise binary operations with NumPy broadcasting. */
export type BinaryOp =
  | 'add'
  | 'sub'
  | 'mul'
  | 'div'
  | 'pow'
  | 'max'
  | 'min'
  | 'eq'
  | 'ne'
  | 'lt'
  | 'le'
  | 'gt'
  | 'ge';

/** Reductions over one axis. */
export type ReduceOp = 'sum' | 'max' | 'min';

/**
 * Batched GEMM: for each batch `b`,
 * `C[b] = alpha · op(A[b]) · op(B[b]) + beta · C[b]`,
 * where `op(A)` is `[m, k]` and `op(B)` is `[k, n]`, `C[b]` is `[m, n]`.
 * `A[b]` is stored `[m, k]` (or `[k, m]` when `transA`), `B[b]` `[k, n]`
 * (or `[n, k]` when `transB`), all row-major and contiguous per batch.
 * Batch `b` starts at `aOffset + b·aBatchStride` (likewise B, C); a stride of 0
 * broadcasts that operand across the batch. With `beta = 0`, C's old contents
 * are ignored (NaN in C does not leak), as BLAS specifies.
 */
export interface GemmParams {
  a: F32;
  b: F32;
  c: F32;
  batch: number;
  m: number;
  n: number;
  k: number;
  transA: boolean;
  transB: boolean;
  alpha: number;
  beta: number;
  aOffset: number;
  bOffset: number;
  cOffset: number;
  aBatchStride: number;
  bBatchStride: number;
  cBatchStride: number;
}

/**
 * Fused scaled-dot-product attention (Vaswani et al. 2017, §3.2.1).
 * `q` is `[batch, heads, tq, headDim]`; `k`, `v` are `[batch, heads, tk, headDim]`;
 * `out` is `[batch, heads, tq, headDim]`; `lse` (saved for backward) is
 * `[batch, heads, tq]` and holds the log-sum-exp of each score row.
 * Scores are `scale · q·kᵀ`. With `causal`, query `i` sees keys `j ≤ i + (tk − tq)`
 * (so a KV-cached step with `tq = 1` sees every cached key). `keyPaddingMask`,
 * when given, is `[batch, tk]` with 1 = attend, 0 = masked. A row with every key
 * masked yields zeros (and `lse = -Infinity`), never NaN.
 */
export interface AttentionParams {
  q: F32;
  k: F32;
  v: F32;
  out: F32;
  lse: F32;
  batch: number;
  heads: number;
  tq: number;
  tk: number;
  headDim: number;
  scale: number;
  causal: boolean;
  keyPaddingMask: I32 | null;
}

/**
 * Backward of {@link AttentionParams}: given `dOut` `[batch, heads, tq, headDim]`
 * and the forward's `out` and `lse`, writes `dq`, `dk`, `dv` (overwritten, same
 * shapes as q, k, v). Recomputes probabilities from `lse` (FlashAttention-style),
 * so the forward keeps no `[tq, tk]` matrix.
 */
export interface AttentionBackwardParams extends AttentionParams {
  dOut: F32;
  dq: F32;
  dk: F32;
  dv: F32;
}

/** One AdamW step (Loshchilov & Hutter 2019; PyTorch `torch.optim.AdamW` semantics). */
export interface AdamWParams {
  param: F32;
  grad: F32;
  expAvg: F32;
  expAvgSq: F32;
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** 1-based step count, used for bias correction. */
  step: number;
  /** Multiplies the gradient before the update (e.g. global-norm clipping). */
  gradScale: number;
}


/** The kernel set. See each method for shapes; all arrays are contiguous row-major. */
export interface Backend {
  readonly name: 'js' | 'native';

  /** See {@link GemmParams}. */
  gemm(p: GemmParams): void;

  /** `out[i] = op(x[i])` for `i < n`. `out` may alias `x`. */
  unary(op: UnaryOp, x: F32, out: F32, n: number): void;

  /**
   * Backward of a unary op: `dx[i] = dy[i] · op'(x[i])`. `y` is the forward output
   * (some derivatives are cheaper from it: exp, tanh, sigmoid, sqrt).
   */
  unaryBackward(op: UnaryOp, x: F32, y: F32, dy: F32, dx: F32, n: number): void;

  /**
   * Broadcast binary op over an output of shape `outShape` (rank r).
   * `aStrides`/`bStrides` are element strides of length r, 0 on broadcast axes.
   * Comparisons write 1 or 0 (as float). `out` is contiguous.
   */
  binary(op: BinaryOp, a: F32, aStrides: number[], b: F32, bStrides: number[], out: F32, outShape: number[]): void;

  /**
   * Reduce the middle axis of `x` viewed as `[outer, dim, inner]` into
   * `out` `[outer, inner]`.
   */
  reduce(op: ReduceOp, x: F32, out: F32, outer: number, dim: number, inner: number): void;

  /** Index of the maximum (first on ties) along the middle axis of `[outer, dim, inner]`; `out` is `[outer, inner]`. */
  argmax(x: F32, out: I32, outer: number, dim: number, inner: number): void;

  /**
   * Strided gather: `dst` (contiguous, shape `shape`) receives
   * `src[srcOffset + Σ idx[d]·srcStrides[d]]`. Serves permute, narrow, expand.
   * Works for both float and int arrays (same element type in and out).
   */
  copyStrided(src: F32 | I32, srcOffset: number, srcStrides: number[], shape: number[], dst: F32 | I32): void;

  /** Softmax over the last axis of `x` `[rows, cols]`. */
  softmax(x: F32, out: F32, rows: number, cols: number): void;
  /** `dx = y ⊙ (dy − Σ dy⊙y)` per row. */
  softmaxBackward(y: F32, dy: F32, dx: F32, rows: number, cols: number): void;
  /** Log-softmax over the last axis of `x` `[rows, cols]`. */
  logSoftmax(x: F32, out: F32, rows: number, cols: number): void;
  /** `dx = dy − softmax(x)·Σ dy`, with `y` the log-softmax output. */
  logSoftmaxBackward(y: F32, dy: F32, dx: F32, rows: number, cols: number): void;

  /**
   * LayerNorm over the last axis (Ba et al. 2016; PyTorch `F.layer_norm`, biased
   * variance): `out = (x − mean) · rstd · weight + bias`. `x`, `out` `[rows, cols]`;
   * `weight`, `bias` `[cols]` (either may be null = 1 / 0); `mean`, `rstd` `[rows]`
   * are written for backward.
   */
  layerNorm(x: F32, weight: F32 | null, bias: F32 | null, out: F32, mean: F32, rstd: F32, rows: number, cols: number, eps: number): void;
  /**
   * LayerNorm backward. Writes `dx` (overwrite); ACCUMULATES into `dWeight`
   * and `dBias` when they are non-null (parameters accumulate gradients).
   */
  layerNormBackward(dy: F32, x: F32, weight: F32 | null, mean: F32, rstd: F32, dx: F32, dWeight: F32 | null, dBias: F32 | null, rows: number, cols: number): void;

  /** `out[i, :] = weight[ids[i], :]`, `weight` `[vocab, dim]`, `out` `[n, dim]`. Ids are validated by the caller. */
  embedding(weight: F32, ids: I32, out: F32, n: number, dim: number): void;
  /** ACCUMULATES `dWeight[ids[i], :] += dOut[i, :]`. */
  embeddingBackward(dOut: F32, ids: I32, dWeight: F32, n: number, dim: number): void;

  /**
   * Cross-entropy from logits `[rows, classes]` and integer `targets` `[rows]`
   * (PyTorch `F.cross_entropy`): writes per-row `losses` `[rows]` (0 for rows whose
   * target is `ignoreIndex`) and `lse` `[rows]` for backward. With label smoothing ε
   * the target distribution is `(1−ε)·onehot + ε/classes`.
   * Returns the number of non-ignored rows.
   */
  crossEntropy(logits: F32, targets: I32, losses: F32, lse: F32, rows: number, classes: number, ignoreIndex: number, labelSmoothing: number): number;
  /**
   * Backward: `dLogits[r, :] = rowScale[r] · (softmax(logits[r]) − target_dist)`,
   * zero for ignored rows. `rowScale` `[rows]` carries the upstream gradient
   * (already divided by the count for `mean` reduction).
   */
  crossEntropyBackward(logits: F32, targets: I32, lse: F32, rowScale: F32, dLogits: F32, rows: number, classes: number, ignoreIndex: number, labelSmoothing: number): void;

  /** See {@link AttentionParams}. */
  attention(p: AttentionParams): void;
  /** See {@link AttentionBackwardParams}. */
  attentionBackward(p: AttentionBackwardParams): void;

  /** In-place AdamW update of `param`, `expAvg`, `expAvgSq`. */
  adamw(p: AdamWParams): void;

  /** `Σ x[i]²` over `n` elements, accumulated in float64 (for global-norm clipping). */
  sumSquares(x: F32, n: number): number;

  /**
   * Optional: {@link Backend.adamw} on many tensors in one call (the
   * multi-tensor form of torch.optim.AdamW). Every entry must share `lr`,
   * `beta1`, `beta2`, `eps` and `gradScale`; results equal one `adamw` call per tensor.
   */
  adamwMany?(ps: AdamWParams[]): void;

  /** Optional: `Σ_t sumSquares(xs[t])` in one call, with the same result. */
  sumSquaresMany?(xs: F32[]): number;

  /**
   * Optional: the GPT-2 decode fast path (see {@link GptDecodeParams}). Backends
   * without it leave it undefined and the model runs op by op.
   * @throws RangeError when an array is too short or an id/position is out of range
   */
  gptForwardCached?(p: GptDecodeParams): void;

  /**
   * Optional: an inverted-dropout mask drawn from a PCG32 stream (the
   * `Generator` of src/tensor/random.ts): for each i, `u = pcg32()/2^32`,
   * `mask[i] = u < p ? 0 : 1/(1−p)` (0 when p = 1). `state` is
   * `[hi, lo, incHi, incLo]` of the generator and is advanced by n draws.
   * Without it, `Generator.fillDropoutMask` runs the same loop in JS.
   */
  dropoutMask?(state: Uint32Array, mask: F32, n: number, p: number): void;

  /**
   * Optional: the whole GPT-2 training step as two kernels (native backend;
   * contract in `src/models/gpt2/kernels.ts`), data-parallel over the batch;
   * without it GPT-2 trains op by op through autograd.
   */
  gptTrain?: GptTrainKernels;
  /**
   * Optional: the whole BERT masked-LM training step as two kernels (native
   * backend; contract in `src/models/bert/kernels.ts`), data-parallel over the
   * batch; without it BERT trains op by op.
   */
  bertTrain?: BertTrainKernels;
}
