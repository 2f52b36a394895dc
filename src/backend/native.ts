/**
 * The native backend: the C++ kernels in `native/` (node-addon-api, OpenMP,
 * AVX-512/AVX2 microkernels), built by `npm install` into
 * `native/build/Release/muse_native.node` and loaded here with `createRequire`.
 * Typed arrays cross into C++ zero-copy; the addon checks every size against
 * the arrays it was given and throws a `RangeError` instead of touching memory
 * out of bounds. The argument lists are those of the signature table
 * (`native-signatures.ts`), checked against the addon's own when it loads.
 * See docs/native.md.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type {
  AdamWParams,
  AttentionBackwardParams,
  AttentionParams,
  Backend,
  BinaryOp,
  F32,
  GemmParams,
  I32,
  ReduceOp,
  UnaryOp,
} from './backend.js';
import type { GptDecodeParams, GptTrainBackwardParams, GptTrainForwardParams, GptTrainKernels, GptTrainShape, GptTrainWorkspace } from '../models/gpt2/kernels.js';
import type { BertTrainBackwardParams, BertTrainForwardParams, BertTrainKernels, BertTrainShape, BertTrainWorkspace } from '../models/bert/kernels.js';
import { checkNativeSignatures, type NativeHandle, type NativeKernels } from './native-signatures.js';

export type { NativeInfo, NativeHandle } from './native-signatures.js';
export { NativeSignatureError, NATIVE_SIGNATURES, checkNativeSignatures } from './native-signatures.js';

/**
 * The raw addon surface: the kernels of {@link NATIVE_SIGNATURES} (argument
 * order, kinds and lengths as in its table, shared with
 * `native/src/signatures.cc`) plus `signatures()`, the addon's own copy of the
 * table. Prefer the {@link Backend} from {@link loadNativeBackend}; benches use
 * the extras (`fmaPeak`, `info`, `setThreads`).
 */
export type NativeAddon = NativeKernels & {
  /** The addon's kernel table, checked against {@link NATIVE_SIGNATURES} when it loads. */
  signatures(): unknown;
};

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
 * Loads the addon at `path` (uncached; `require` itself caches per path) and
 * checks its kernel table against {@link NATIVE_SIGNATURES}.
 * @returns the addon, or null with the reason in {@link nativeLoadError} when it cannot be loaded
 * @throws NativeSignatureError when it loads but its kernel table differs from this build's (naming the kernel and argument)
 */
export function tryLoadNativeAddon(path: string): NativeAddon | null {
  let addon: Partial<NativeAddon> | null;
  try {
    const require = createRequire(import.meta.url);
    addon = require(path) as Partial<NativeAddon> | null;
  } catch (err) {
    loadError = err instanceof Error ? err.message : String(err);
    return null;
  }
  if (!addon || typeof addon.gemm !== 'function') {
    loadError = `${path} is not the muse native addon`;
    return null;
  }
  checkNativeSignatures(typeof addon.signatures === 'function' ? addon.signatures() : undefined, undefined, path);
  loadError = null;
  return addon as NativeAddon;
}

/**
 * Loads the addon once, from {@link nativeAddonPath} (overridable with
 * `MUSE_NATIVE_ADDON`).
 * @returns the addon, or null when it is not built or cannot be loaded
 * @throws NativeSignatureError when the addon's kernel table differs from this build's
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
    adamwMany(ps: AdamWParams[]): void {
      if (ps.length === 0) return;
      const h = ps[0];
      for (const p of ps) {
        if (p.lr !== h.lr || p.beta1 !== h.beta1 || p.beta2 !== h.beta2 || p.eps !== h.eps || p.gradScale !== h.gradScale) {
          throw new RangeError('adamwMany: every tensor must share lr, beta1, beta2, eps and gradScale');
        }
      }
      addon.adamwMany(
        ps.map((p) => p.param), ps.map((p) => p.grad), ps.map((p) => p.expAvg), ps.map((p) => p.expAvgSq),
        ps.map((p) => p.weightDecay), ps.map((p) => p.step), h.lr, h.beta1, h.beta2, h.eps, h.gradScale,
      );
    },
    sumSquaresMany(xs: F32[]): number {
      return addon.sumSquaresMany(xs);
    },
    dropoutMask(state, mask, n, p) {
      addon.dropoutMask(state, mask, n, p);
    },
    gptForwardCached(p: GptDecodeParams): void {
      addon.gptForwardCached(
        p.weights, p.kCaches, p.vCaches, p.ids, p.positionIds, p.attentionMask, p.logits, p.batch, p.t, p.past,
        p.capacity, p.nLayer, p.nHead, p.nEmbd, p.vocab, p.nPositions, p.eps, p.lastOnly,
      );
    },
    gptTrain: nativeGptTrain(addon),
    bertTrain: nativeBertTrain(addon),
  };
}

interface NativeBertTrainWorkspace extends BertTrainWorkspace {
  readonly handle: NativeHandle;
}

function nativeBertTrain(addon: NativeAddon): BertTrainKernels {
  const handle = (ws: BertTrainWorkspace): NativeHandle => (ws as NativeBertTrainWorkspace).handle;
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
  readonly handle: NativeHandle;
}

function nativeGptTrain(addon: NativeAddon): GptTrainKernels {
  const handle = (ws: GptTrainWorkspace): NativeHandle => (ws as NativeGptTrainWorkspace).handle;
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
 * @throws NativeSignatureError when the addon's kernel table differs from this build's
 */
export function loadNativeBackend(): Backend | null {
  const addon = loadNativeAddon();
  return addon ? createNativeBackend(addon) : null;
}
