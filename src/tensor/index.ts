/**
 * The tensor engine: `Tensor` with reverse-mode autograd, the functional op
 * API, random number generation. See docs/tensor.md.
 */
export { Tensor, type DType, type TensorData, type Operand, type NestedArray } from './tensor.js';
export { Generator, manualSeed, defaultGenerator } from './random.js';
export { noGrad, enableGrad, isGradEnabled } from './autograd.js';
export { checkpoint } from './checkpoint.js';
export { clearBufferPool } from './pool.js';
export { zeros, ones, full, arange, fromArray, tensor, randn, rand, randint } from './ops-creation.js';
export {
  reshape,
  flatten,
  transpose,
  permute,
  narrow,
  slice,
  concat,
  stack,
  split,
  expand,
  indexSelect,
  squeeze,
  unsqueeze,
  clone,
} from './ops-shape.js';
export {
  add,
  sub,
  mul,
  div,
  pow,
  maximum,
  minimum,
  neg,
  exp,
  log,
  sqrt,
  rsqrt,
  tanh,
  sigmoid,
  relu,
  abs,
  gelu,
  where,
  maskedFill,
  eq,
  ne,
  lt,
  le,
  gt,
  ge,
  toFloat32,
  toInt32,
} from './ops-elementwise.js';
export { sum, mean, max, min, argmax, variance, logSumExp } from './ops-reduce.js';
export { matmul, linear, type MatmulOptions, type LinearOptions } from './ops-linalg.js';
export {
  softmax,
  logSoftmax,
  layerNorm,
  embedding,
  dropout,
  crossEntropy,
  mseLoss,
  scaledDotProductAttention,
  type CrossEntropyOptions,
  type AttentionOptions,
} from './ops-nn.js';
