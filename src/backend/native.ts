/**
 * The native backend: the C++ kernels in `native/` (node-addon-api, OpenMP,
 * AVX-512/AVX2 microkernels), built by `npm install` into
 * `native/build/Release/muse_native.node` and loaded here with `createRequire`.
 * Typed arrays cross into C++ zero-copy; the addon checks every size against
 * the arrays it was given and throws a `RangeError` instead of touching memory
 * out of bounds. See docs/native.md.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type {
  AdamWParams,
  AttentionBackwardParams,
  AttentionParams,
  Backend,
  BertTrainBackwardParams,
  BertTrainForwardParams,
  BertTrainKernels,
  BertTrainShape,
  BertTrainWorkspace,
  BinaryOp,
  F32,
  GemmParams,
  GptDecodeParams,
  GptTrainBackwardParams,
  GptTrainForwardParams,
  GptTrainKernels,
  GptTrainShape,
  GptTrainWorkspace,
  I32,
  ReduceOp,
  UnaryOp,
} from './backend.js';

/** What the addon reports about its build. */
export interface NativeInfo {
  /** Instruction set the kernels were compiled for: `avx512`, `avx2` or `portable`. */
  isa: string;
  /** The GEMM microkernel, e.g. `avx512 8x32` (MR × NR). */
  gemmKernel: string;
  /** OpenMP threads a kernel may use. */
  threads: number;
  openmp: boolean;
}

/**
 * The raw addon surface (argument order as in `native/src/addon.cc`). Prefer
 * the {@link Backend} from {@link loadNativeBackend}; benches use the extras
 * (`fmaPeak`, `info`, `setThreads`).
 */
export interface NativeAddon {
  gemm(
    a: F32, b: F32, c: F32, batch: number, m: number, n: number, k: number, transA: boolean, transB: boolean,
    alpha: number, beta: number, aOffset: number, bOffset: number, cOffset: number,
    aBatchStride: number, bBatchStride: number, cBatchStride: number,
  ): void;
  unary(op: number, x: F32, out: F32, n: number): void;
  unaryBackward(op: number, x: F32, y: F32, dy: F32, dx: F32, n: number): void;
  /** `meta` = [rank, ...shape, ...aStrides, ...bStrides]. */
  binary(op: number, a: F32, b: F32, out: F32, meta: Float64Array): void;
  reduce(op: number, x: F32, out: F32, outer: number, dim: number, inner: number): void;
  argmax(x: F32, out: I32, outer: number, dim: number, inner: number): void;
  /** `meta` = [rank, ...shape, ...srcStrides]. */
  copyStrided(src: F32 | I32, srcOffset: number, dst: F32 | I32, meta: Float64Array): void;
  softmax(x: F32, out: F32, rows: number, cols: number): void;
  softmaxBackward(y: F32, dy: F32, dx: F32, rows: number, cols: number): void;
  logSoftmax(x: F32, out: F32, rows: number, cols: number): void;
  logSoftmaxBackward(y: F32, dy: F32, dx: F32, rows: number, cols: number): void;
  layerNorm(x: F32, w: F32 | null, b: F32 | null, out: F32, mean: F32, rstd: F32, rows: number, cols: number, eps: number): void;
  layerNormBackward(
    dy: F32, x: F32, w: F32 | null, mean: F32, rstd: F32, dx: F32, dw: F32 | null, db: F32 | null, rows: number, cols: number,
  ): void;
  embedding(weight: F32, ids: I32, out: F32, n: number, dim: number): void;
  embeddingBackward(dOut: F32, ids: I32, dWeight: F32, n: number, dim: number): void;
  crossEntropy(
    logits: F32, targets: I32, losses: F32, lse: F32, rows: number, classes: number, ignoreIndex: number, labelSmoothing: number,
  ): number;
  crossEntropyBackward(
    logits: F32, targets: I32, lse: F32, rowScale: F32, dLogits: F32, rows: number, classes: number,
    ignoreIndex: number, labelSmoothing: number,
  ): void;
  attention(
    q: F32, k: F32, v: F32, out: F32, lse: F32, mask: I32 | null, batch: number, heads: number, tq: number, tk: number,
    headDim: number, scale: number, causal: boolean,
  ): void;
  attentionBackward(
    q: F32, k: F32, v: F32, out: F32, lse: F32, mask: I32 | null, dOut: F32, dq: F32, dk: F32, dv: F32,
    batch: number, heads: number, tq: number, tk: number, headDim: number, scale: number, causal: boolean,
  ): void;
  adamw(
    param: F32, grad: F32, expAvg: F32, expAvgSq: F32, n: number, lr: number, beta1: number, beta2: number,
    eps: number, weightDecay: number, step: number, gradScale: number,
  ): void;
  sumSquares(x: F32, n: number): number;
  adamwMany(
    params: F32[], grads: F32[], expAvgs: F32[], expAvgSqs: F32[], weightDecays: number[], steps: number[], lr: number,
    beta1: number, beta2: number, eps: number, gradScale: number,
  ): void;
  sumSquaresMany(xs: F32[]): number;
  dropoutMask(state: Uint32Array, mask: F32, n: number, p: number): void;
  gptForwardCached(
    weights: F32[], kCaches: F32[], vCaches: F32[], ids: I32, pos: I32, mask: I32 | null, logits: F32, batch: number,
    t: number, past: number, capacity: number, nLayer: number, nHead: number, nEmbd: number, vocab: number,
    nPositions: number, eps: number, lastOnly: boolean,
  ): void;
  gptTrainWorkspace(
    batch: number, t: number, nLayer: number, nHead: number, nEmbd: number, vocab: number, nPositions: number, eps: number,
  ): object;
  gptTrainForward(
    ws: object, weights: F32[], ids: I32, targets: I32, masks: F32 | null, maskEmbd: boolean, maskResid: boolean,
    logits: F32, losses: F32, batch: number, t: number,
  ): number;
  gptTrainBackward(
    ws: object, weights: F32[], grads: F32[], ids: I32, targets: I32, masks: F32 | null, maskEmbd: boolean,
    maskResid: boolean, logits: F32, gScale: number, accumulate: boolean,
  ): void;
  bertTrainWorkspace(
    batch: number, t: number, nLayer: number, nHead: number, hidden: number, intermediate: number, vocab: number,
    nPositions: number, typeVocab: number, eps: number, act: number,
  ): object;
  bertTrainForward(
    ws: object, weights: F32[], ids: I32, tokenTypes: I32 | null, attentionMask: I32 | null, labels: I32,
    masks: F32 | null, logits: F32, losses: F32, batch: number, t: number,
  ): number;
  bertTrainBackward(
    ws: object, weights: F32[], grads: F32[], ids: I32, tokenTypes: I32 | null, attentionMask: I32 | null, labels: I32,
    masks: F32 | null, logits: F32, gScale: number, accumulate: boolean,
  ): void;
  /**
   * Register-only FMA throughput of all threads together, in GFLOP/s: the
   * fastest of ~0.5 ms bursts run between barriers for about `seconds`.
   */
  fmaPeak(seconds: number): number;
  info(): NativeInfo;
  /** Sets the OpenMP thread count for later kernels; returns the new count. */
  setThreads(n: number): number;
}

// Op codes: the order of the C++ enums in native/src/kernels.h.
const UNARY_CODE: Record<UnaryOp, number> = {
  neg: 0, exp: 1, log: 2, sqrt: 3, rsqrt: 4, tanh: 5, sigmoid: 6, relu: 7, gelu_tanh: 8, gelu_erf: 9, abs: 10,
};
const BINARY_CODE: Record<BinaryOp, number> = {
  add: 0, sub: 1, mul: 2, div: 3, pow: 4, max: 5, min: 6, eq: 7, ne: 8, lt: 9, le: 10, gt: 11, ge: 12,
};
const REDUCE_CODE: Record<ReduceOp, number> = { sum: 0, max: 1, min: 2 };

/** Where `npm install` puts the addon, relative to this file in src/backend or dist/backend. */
export function nativeAddonPath(): string {
  if (process.env.MUSE_NATIVE_ADDON) return process.env.MUSE_NATIVE_ADDON;
  const here = dirname(fileURLToPath(import.meta.url));
  return join(here, '..', '..', 'native', 'build', 'Release', 'muse_native.node');
}

let cachedAddon: NativeAddon | null | undefined;
let loadError: string | null = null;

/**
 * Loads the addon at `path` (uncached; `require` itself caches per path).
 * @returns the addon, or null with the reason in {@link nativeLoadError} (never throws)
 */
export function tryLoadNativeAddon(path: string): NativeAddon | null {
  try {
    const require = createRequire(import.meta.url);
    const addon = require(path) as Partial<NativeAddon> | null;
    if (addon && typeof addon.gemm === 'function' && typeof addon.attention === 'function') {
      loadError = null;
      return addon as NativeAddon;
    }
    loadError = `${path} is not the muse native addon`;
  } catch (err) {
    loadError = err instanceof Error ? err.message : String(err);
  }
  return null;
}

/**
 * Loads the addon once, from {@link nativeAddonPath} (overridable with
 * `MUSE_NATIVE_ADDON`).
 * @returns the addon, or null when it is not built or cannot be loaded (never throws)
 */
export function loadNativeAddon(): NativeAddon | null {
  if (cachedAddon === undefined) cachedAddon = tryLoadNativeAddon(nativeAddonPath());
  return cachedAddon;
}

/** Why the last {@link loadNativeAddon} returned null (for the one-line warning), or null. */
export function nativeLoadError(): string | null {
  return loadError;
}

/** Rank limit of `binary` and `copyStrided` (the C++ side collapses axes into fixed arrays). */
const MAX_RANK = 16;

/**
 * Builds the {@link Backend} over a loaded addon. Shape/stride lists travel in
 * one reused Float64Array, so a call allocates nothing on the JS side.
 */
export function createNativeBackend(addon: NativeAddon): Backend {
  const meta = new Float64Array(1 + 3 * MAX_RANK);
  const fillMeta = (shape: number[], ...lists: number[][]): Float64Array => {
    const r = shape.length;
    if (r > MAX_RANK) throw new RangeError(`muse native: rank ${r} exceeds ${MAX_RANK}; reshape the tensor to fewer axes`);
    meta[0] = r;
    for (let d = 0; d < r; d++) meta[1 + d] = shape[d];
    lists.forEach((list, l) => {
      for (let d = 0; d < r; d++) meta[1 + r * (1 + l) + d] = list[d];
    });
    return meta;
  };
  return {
    name: 'native',
    gemm(p: GemmParams): void {
      addon.gemm(
        p.a, p.b, p.c, p.batch, p.m, p.n, p.k, p.transA, p.transB, p.alpha, p.beta,
        p.aOffset, p.bOffset, p.cOffset, p.aBatchStride, p.bBatchStride, p.cBatchStride,
      );
    },
    unary(op, x, out, n) {
      addon.unary(UNARY_CODE[op], x, out, n);
    },
    unaryBackward(op, x, y, dy, dx, n) {
      addon.unaryBackward(UNARY_CODE[op], x, y, dy, dx, n);
    },
    binary(op, a, aStrides, b, bStrides, out, outShape) {
      addon.binary(BINARY_CODE[op], a, b, out, fillMeta(outShape, aStrides, bStrides));
    },
    reduce(op, x, out, outer, dim, inner) {
      addon.reduce(REDUCE_CODE[op], x, out, outer, dim, inner);
    },
    argmax(x, out, outer, dim, inner) {
      addon.argmax(x, out, outer, dim, inner);
    },
    copyStrided(src, srcOffset, srcStrides, shape, dst) {
      addon.copyStrided(src, srcOffset, dst, fillMeta(shape, srcStrides));
    },
    softmax(x, out, rows, cols) {
      addon.softmax(x, out, rows, cols);
    },
    softmaxBackward(y, dy, dx, rows, cols) {
      addon.softmaxBackward(y, dy, dx, rows, cols);
    },
    logSoftmax(x, out, rows, cols) {
      addon.logSoftmax(x, out, rows, cols);
    },
    logSoftmaxBackward(y, dy, dx, rows, cols) {
      addon.logSoftmaxBackward(y, dy, dx, rows, cols);
    },
    layerNorm(x, weight, bias, out, mean, rstd, rows, cols, eps) {
      addon.layerNorm(x, weight, bias, out, mean, rstd, rows, cols, eps);
    },
    layerNormBackward(dy, x, weight, mean, rstd, dx, dWeight, dBias, rows, cols) {
      addon.layerNormBackward(dy, x, weight, mean, rstd, dx, dWeight, dBias, rows, cols);
    },
    embedding(weight, ids, out, n, dim) {
      addon.embedding(weight, ids, out, n, dim);
    },
    embeddingBackward(dOut, ids, dWeight, n, dim) {
      addon.embeddingBackward(dOut, ids, dWeight, n, dim);
    },
    crossEntropy(logits, targets, losses, lse, rows, classes, ignoreIndex, labelSmoothing) {
      return addon.crossEntropy(logits, targets, losses, lse, rows, classes, ignoreIndex, labelSmoothing);
    },
    crossEntropyBackward(logits, targets, lse, rowScale, dLogits, rows, classes, ignoreIndex, labelSmoothing) {
      addon.crossEntropyBackward(logits, targets, lse, rowScale, dLogits, rows, classes, ignoreIndex, labelSmoothing);
    },
    attention(p: AttentionParams): void {
      addon.attention(
        p.q, p.k, p.v, p.out, p.lse, p.keyPaddingMask, p.batch, p.heads, p.tq, p.tk, p.headDim, p.scale, p.causal,
      );
    },
    attentionBackward(p: AttentionBackwardParams): void {
      addon.attentionBackward(
        p.q, p.k, p.v, p.out, p.lse, p.keyPaddingMask, p.dOut, p.dq, p.dk, p.dv,
        p.batch, p.heads, p.tq, p.tk, p.headDim, p.scale, p.causal,
      );
    },
    adamw(p: AdamWParams): void {
      addon.adamw(
        p.param, p.grad, p.expAvg, p.expAvgSq, p.param.length, p.lr, p.beta1, p.beta2, p.eps, p.weightDecay, p.step,
        p.gradScale,
      );
    },
    sumSquares(x, n) {
      return addon.sumSquares(x, n);
    },
    adamwMany:
      typeof addon.adamwMany === 'function'
        ? (ps: AdamWParams[]): void => {
            if (ps.length === 0) return;
            const h = ps[0]!;
            for (const p of ps) {
              if (p.lr !== h.lr || p.beta1 !== h.beta1 || p.beta2 !== h.beta2 || p.eps !== h.eps || p.gradScale !== h.gradScale) {
                throw new RangeError('adamwMany: every tensor must share lr, beta1, beta2, eps and gradScale');
              }
            }
            addon.adamwMany(
              ps.map((p) => p.param), ps.map((p) => p.grad), ps.map((p) => p.expAvg), ps.map((p) => p.expAvgSq),
              ps.map((p) => p.weightDecay), ps.map((p) => p.step), h.lr, h.beta1, h.beta2, h.eps, h.gradScale,
            );
          }
        : undefined,
    sumSquaresMany: typeof addon.sumSquaresMany === 'function' ? (xs: F32[]): number => addon.sumSquaresMany(xs) : undefined,
    dropoutMask: typeof addon.dropoutMask === 'function' ? (state, mask, n, p) => addon.dropoutMask(state, mask, n, p) : undefined,
    // An addon built before the decode fast path existed simply lacks it.
    gptForwardCached:
      typeof addon.gptForwardCached === 'function'
        ? (p: GptDecodeParams): void =>
            addon.gptForwardCached(
              p.weights, p.kCaches, p.vCaches, p.ids, p.positionIds, p.attentionMask, p.logits, p.batch, p.t, p.past,
              p.capacity, p.nLayer, p.nHead, p.nEmbd, p.vocab, p.nPositions, p.eps, p.lastOnly,
            )
        : undefined,
    gptTrain: typeof addon.gptTrainForward === 'function' ? nativeGptTrain(addon) : undefined,
    bertTrain: typeof addon.bertTrainForward === 'function' ? nativeBertTrain(addon) : undefined,
  };
}

interface NativeBertTrainWorkspace extends BertTrainWorkspace {
  readonly handle: object;
}

function nativeBertTrain(addon: NativeAddon): BertTrainKernels {
  const handle = (ws: BertTrainWorkspace): object => (ws as NativeBertTrainWorkspace).handle;
  return {
    workspace(s: BertTrainShape): BertTrainWorkspace {
      const h = addon.bertTrainWorkspace(
        s.batch, s.t, s.nLayer, s.nHead, s.hidden, s.intermediate, s.vocab, s.nPositions, s.typeVocab, s.eps, UNARY_CODE[s.act],
      );
      const ws: NativeBertTrainWorkspace = { shape: { ...s }, handle: h };
      return ws;
    },
    forward(p: BertTrainForwardParams): number {
      return addon.bertTrainForward(
        handle(p.workspace), p.weights, p.ids, p.tokenTypes, p.attentionMask, p.labels, p.masks, p.logits, p.losses, p.batch, p.t,
      );
    },
    backward(p: BertTrainBackwardParams): void {
      addon.bertTrainBackward(
        handle(p.workspace), p.weights, p.grads, p.ids, p.tokenTypes, p.attentionMask, p.labels, p.masks, p.logits, p.gScale,
        p.accumulate,
      );
    },
  };
}

/** A workspace of the native training path: the addon's handle and its shape. */
interface NativeGptTrainWorkspace extends GptTrainWorkspace {
  readonly handle: object;
}

function nativeGptTrain(addon: NativeAddon): GptTrainKernels {
  const handle = (ws: GptTrainWorkspace): object => (ws as NativeGptTrainWorkspace).handle;
  return {
    workspace(s: GptTrainShape): GptTrainWorkspace {
      const h = addon.gptTrainWorkspace(s.batch, s.t, s.nLayer, s.nHead, s.nEmbd, s.vocab, s.nPositions, s.eps);
      const ws: NativeGptTrainWorkspace = { shape: { ...s }, handle: h };
      return ws;
    },
    forward(p: GptTrainForwardParams): number {
      return addon.gptTrainForward(
        handle(p.workspace), p.weights, p.ids, p.targets, p.masks, p.maskEmbd, p.maskResid, p.logits, p.losses, p.batch, p.t,
      );
    },
    backward(p: GptTrainBackwardParams): void {
      addon.gptTrainBackward(
        handle(p.workspace), p.weights, p.grads, p.ids, p.targets, p.masks, p.maskEmbd, p.maskResid, p.logits, p.gScale,
        p.accumulate,
      );
    },
  };
}

/**
 * Load the native (C++ N-API) backend built from `native/` by `npm install`.
 * @returns the backend, or null when the addon is not built or fails to load
 *   (the caller then warns once, with {@link nativeLoadError}, and uses the js backend)
 */
export function loadNativeBackend(): Backend | null {
  const addon = loadNativeAddon();
  return addon ? createNativeBackend(addon) : null;
}
