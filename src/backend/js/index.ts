import type { Backend } from '../backend.js';
import { gemm } from './gemm.js';
import { binary, copyStrided, unary, unaryBackward } from './elementwise.js';
import { argmax, reduce, sumSquares } from './reduce.js';
import {
  crossEntropy,
  crossEntropyBackward,
  embedding,
  embeddingBackward,
  layerNorm,
  layerNormBackward,
  logSoftmax,
  logSoftmaxBackward,
  softmax,
  softmaxBackward,
} from './nn.js';
import { attention, attentionBackward } from './attention.js';
import { adamw } from './optim.js';

/**
 * The reference backend: every kernel of `Backend` as plain TypeScript loops,
 * numerically careful (max subtraction, float64 accumulators). It defines the
 * numbers the native backend is tested against, and is the fallback when the
 * addon is not built.
 */
export const jsBackend: Backend = {
  name: 'js',
  gemm,
  unary,
  unaryBackward,
  binary,
  reduce,
  argmax,
  copyStrided,
  softmax,
  softmaxBackward,
  logSoftmax,
  logSoftmaxBackward,
  layerNorm,
  layerNormBackward,
  embedding,
  embeddingBackward,
  crossEntropy,
  crossEntropyBackward,
  attention,
  attentionBackward,
  adamw,
  sumSquares,
};
