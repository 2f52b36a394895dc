import { ConfigError, MuseError, ShapeError } from '../errors.js';
import { runBackward, type GradNode } from './autograd.js';
import { shapeStr, sizeOf } from './shape.js';
import * as ew from './ops-elementwise.js';
import * as rd from './ops-reduce.js';
import * as sh from './ops-shape.js';
import * as la from './ops-linalg.js';
import * as nnf from './ops-nn.js';

/** Element type of a tensor: float32 for values, int32 for ids, indices and masks. */
export type DType = 'float32' | 'int32';
/** Storage matching a {@link DType}. */
export type TensorData = Float32Array | Int32Array;
/** A tensor or a number (broadcast as a scalar). */
export type Operand = Tensor | number;
/** Nested arrays of numbers, as returned by {@link Tensor.toArray}. */
export type NestedArray = number | NestedArray[];

/**
 * An n-dimensional array with reverse-mode autograd (PyTorch's `torch.Tensor`,
 * reduced to what muse needs). Storage is always contiguous row-major; shape
 * ops other than `reshape` return copies (see docs/tensor.md).
 *
 * Results of ops on tensors that require grad record a node (parents + a
 * backward closure); {@link Tensor.backward} walks those nodes once and frees them.
 */
export class Tensor {
  /** Element type. */
  readonly dtype: DType;
  /** Dimensions, outermost first; `[]` for a scalar. */
  readonly shape: number[];
  /** Contiguous row-major storage; `reshape`/`detach` results share it. */
  data: TensorData;
  /** Gradient accumulated by {@link Tensor.backward} (leaves only); set to null to reset. */
  grad: Tensor | null = null;
  private _requiresGrad = false;
  /** @internal the autograd node that produced this tensor (null for leaves; kept, marked released, after backward). */
  _node: GradNode | null = null;
  /** @internal which output of `_node` this tensor is. */
  _outIndex = 0;

  /**
   * Wrap `data` (not copied) as a tensor of `shape`.
   * @throws ShapeError when `data.length` is not the product of `shape`
   */
  constructor(data: TensorData, shape: readonly number[], dtype?: DType) {
    let n = 1;
    for (let i = 0; i < shape.length; i++) {
      const d = shape[i];
      if (!Number.isInteger(d) || d < 0) throw new ShapeError(`Tensor: invalid shape ${shapeStr(shape)}`);
      n *= d;
    }
    if (data.length !== n) {
      throw new ShapeError(`Tensor: ${data.length} elements do not fill shape ${shapeStr(shape)} (${n} elements)`);
    }
    const dt: DType = data instanceof Int32Array ? 'int32' : 'float32';
    if (dtype && dtype !== dt) throw new ConfigError(`Tensor: dtype ${dtype} does not match a ${data.constructor.name}`);
    this.dtype = dt;
    this.shape = shape.slice();
    this.data = data;
  }

  /** Number of elements. */
  get size(): number {
    return this.data.length;
  }

  /** Number of dimensions. */
  get ndim(): number {
    return this.shape.length;
  }

  /**
   * Whether gradients flow to this tensor. Only float32 tensors can require grad.
   * @throws ConfigError when set to true on an int32 tensor
   */
  get requiresGrad(): boolean {
    return this._requiresGrad;
  }
  set requiresGrad(v: boolean) {
    if (v && this.dtype !== 'float32') throw new ConfigError('requiresGrad: only float32 tensors can require gradients');
    this._requiresGrad = v;
  }

  /** True for tensors created by the user (no recorded producing op). */
  get isLeaf(): boolean {
    return this._node === null;
  }

  /** @internal attach the producing node. */
  _setNode(node: GradNode, outIndex: number): void {
    this._node = node;
    this._outIndex = outIndex;
    this._requiresGrad = true;
  }

  /** @internal a gradient tensor of this tensor's shape over `g`. */
  _makeGrad(g: Float32Array): Tensor {
    return new Tensor(g, this.shape);
  }

  /**
   * Backpropagate from this tensor: accumulate d(this)/d(leaf) into the
   * `.grad` of every leaf with `requiresGrad`, then release the graph.
   * @param grad upstream gradient, same shape; omitted = 1 for a scalar
   * @throws ShapeError when grad is missing for a non-scalar or has the wrong shape
   * @throws MuseError when this tensor does not require grad
   */
  backward(grad?: Tensor): void {
    runBackward(this, grad);
  }

  /** A tensor sharing this storage, cut from the graph (`requiresGrad = false`). */
  detach(): Tensor {
    return new Tensor(this.data, this.shape);
  }

  /** A copy with its own storage (gradients flow through). */
  clone(): Tensor {
    return sh.clone(this);
  }

  /**
   * The value of a one-element tensor.
   * @throws ShapeError when the tensor has more than one element
   */
  item(): number {
    if (this.size !== 1) throw new ShapeError(`item: tensor of shape ${shapeStr(this.shape)} has ${this.size} elements, not 1`);
    return this.data[0];
  }

  /** The values as nested arrays (a number for a scalar). */
  toArray(): NestedArray {
    const build = (dim: number, off: number): NestedArray => {
      if (dim === this.shape.length) return this.data[off];
      const stride = sizeOf(this.shape.slice(dim + 1));
      const out: NestedArray[] = [];
      for (let i = 0; i < this.shape[dim]; i++) out.push(build(dim + 1, off + i * stride));
      return out;
    };
    return build(0, 0);
  }

  /** `Tensor(float32, [2, 3]) [[…], […]]`, values abbreviated beyond 6 per axis. */
  toString(): string {
    const fmt = (v: number): string => (this.dtype === 'int32' ? String(v) : Number.isInteger(v) ? v.toFixed(1) : v.toPrecision(5));
    const build = (dim: number, off: number): string => {
      if (dim === this.shape.length) return fmt(this.data[off]);
      const stride = sizeOf(this.shape.slice(dim + 1));
      const n = this.shape[dim];
      const idx = n > 6 ? [0, 1, 2, -1, n - 3, n - 2, n - 1] : [...Array(n).keys()];
      return `[${idx.map((i) => (i < 0 ? '…' : build(dim + 1, off + i * stride))).join(', ')}]`;
    };
    return `Tensor(${this.dtype}, ${shapeStr(this.shape)}${this.requiresGrad ? ', requiresGrad' : ''}) ${build(0, 0)}`;
  }

  /** A float32 copy (or this tensor when already float32). */
  float(): Tensor {
    return ew.toFloat32(this);
  }
  /** An int32 copy, truncating toward zero (or this tensor when already int32). No gradient. */
  int(): Tensor {
    return ew.toInt32(this);
  }

  // elementwise
  add(o: Operand): Tensor { return ew.add(this, o); }
  sub(o: Operand): Tensor { return ew.sub(this, o); }
  mul(o: Operand): Tensor { return ew.mul(this, o); }
  div(o: Operand): Tensor { return ew.div(this, o); }
  pow(o: Operand): Tensor { return ew.pow(this, o); }
  maximum(o: Operand): Tensor { return ew.maximum(this, o); }
  minimum(o: Operand): Tensor { return ew.minimum(this, o); }
  neg(): Tensor { return ew.neg(this); }
  exp(): Tensor { return ew.exp(this); }
  log(): Tensor { return ew.log(this); }
  sqrt(): Tensor { return ew.sqrt(this); }
  rsqrt(): Tensor { return ew.rsqrt(this); }
  tanh(): Tensor { return ew.tanh(this); }
  sigmoid(): Tensor { return ew.sigmoid(this); }
  relu(): Tensor { return ew.relu(this); }
  abs(): Tensor { return ew.abs(this); }
  gelu(approximate: 'tanh' | 'none' = 'none'): Tensor { return ew.gelu(this, approximate); }
  eq(o: Operand): Tensor { return ew.eq(this, o); }
  ne(o: Operand): Tensor { return ew.ne(this, o); }
  lt(o: Operand): Tensor { return ew.lt(this, o); }
  le(o: Operand): Tensor { return ew.le(this, o); }
  gt(o: Operand): Tensor { return ew.gt(this, o); }
  ge(o: Operand): Tensor { return ew.ge(this, o); }
  maskedFill(mask: Tensor, value: number): Tensor { return ew.maskedFill(this, mask, value); }

  // reductions
  sum(dim?: number | number[], keepDim = false): Tensor { return rd.sum(this, dim, keepDim); }
  mean(dim?: number | number[], keepDim = false): Tensor { return rd.mean(this, dim, keepDim); }
  max(dim?: number, keepDim = false): Tensor { return rd.max(this, dim, keepDim); }
  min(dim?: number, keepDim = false): Tensor { return rd.min(this, dim, keepDim); }
  argmax(dim?: number, keepDim = false): Tensor { return rd.argmax(this, dim, keepDim); }
  var(dim?: number | number[], opts: { unbiased?: boolean; keepDim?: boolean } = {}): Tensor { return rd.variance(this, dim, opts); }
  logSumExp(dim: number, keepDim = false): Tensor { return rd.logSumExp(this, dim, keepDim); }

  // shape
  reshape(shape: readonly number[]): Tensor { return sh.reshape(this, shape); }
  /** Alias of {@link Tensor.reshape} (storage is always contiguous). */
  view(shape: readonly number[]): Tensor { return sh.reshape(this, shape); }
  flatten(startDim = 0, endDim = -1): Tensor { return sh.flatten(this, startDim, endDim); }
  transpose(dim0: number, dim1: number): Tensor { return sh.transpose(this, dim0, dim1); }
  permute(dims: readonly number[]): Tensor { return sh.permute(this, dims); }
  narrow(dim: number, start: number, length: number): Tensor { return sh.narrow(this, dim, start, length); }
  slice(dim: number, start?: number, end?: number, step = 1): Tensor { return sh.slice(this, dim, start, end, step); }
  split(sizeOrSections: number | number[], dim = 0): Tensor[] { return sh.split(this, sizeOrSections, dim); }
  expand(shape: readonly number[]): Tensor { return sh.expand(this, shape); }
  indexSelect(dim: number, index: Tensor): Tensor { return sh.indexSelect(this, dim, index); }
  squeeze(dim?: number): Tensor { return sh.squeeze(this, dim); }
  unsqueeze(dim: number): Tensor { return sh.unsqueeze(this, dim); }

  // linear algebra and nn
  matmul(o: Tensor, opts: la.MatmulOptions = {}): Tensor { return la.matmul(this, o, opts); }
  softmax(dim = -1): Tensor { return nnf.softmax(this, dim); }
  logSoftmax(dim = -1): Tensor { return nnf.logSoftmax(this, dim); }
}

/** @internal assert a float32 tensor for ops that need one. */
export function expectFloat(t: Tensor, op: string, what = 'input'): void {
  if (t.dtype !== 'float32') throw new MuseError('BAD_DTYPE', `${op}: ${what} must be float32, got ${t.dtype} (convert with .float())`);
}
/** @internal assert an int32 tensor (ids, indices, targets). */
export function expectInt(t: Tensor, op: string, what: string): void {
  if (t.dtype !== 'int32') throw new MuseError('BAD_DTYPE', `${op}: ${what} must be int32, got ${t.dtype} (convert with .int())`);
}
