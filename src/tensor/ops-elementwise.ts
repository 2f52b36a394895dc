/**
 * Elementwise ops with NumPy broadcasting (PyTorch semantics). Arithmetic on
 * int32 tensors promotes them to float32 (exact below 2^24); results are
 * float32. Comparisons return float32 0/1 masks (not booleans: muse has no
 * bool dtype) and carry no gradient.
 */
import type { BinaryOp, UnaryOp } from '../backend/backend.js';
import { needsGrad, record } from './autograd.js';
import { Tensor, expectFloat, type Operand } from './tensor.js';
import { be, broadcastTo, mulBuf, scaled, sumToShape } from './helpers.js';
import { broadcastShapes, broadcastStrides, coalesce, sameShape, shapeStr, sizeOf } from './shape.js';
import { ShapeError } from '../errors.js';
import { allocF32 } from './pool.js';

/** A number as a float32 scalar tensor; tensors pass through. */
export function asTensor(x: Operand): Tensor {
  return typeof x === 'number' ? new Tensor(new Float32Array([x]), []) : x;
}

function floatData(t: Tensor): Float32Array {
  return t.data instanceof Float32Array ? t.data : Float32Array.from(t.data);
}

/** float32 copy of an int32 tensor (the tensor itself when already float32). */
export function toFloat32(t: Tensor): Tensor {
  if (t.dtype === 'float32') return t;
  return new Tensor(Float32Array.from(t.data), t.shape);
}

/** int32 copy truncating toward zero (the tensor itself when already int32). */
export function toInt32(t: Tensor): Tensor {
  if (t.dtype === 'int32') return t;
  const out = new Int32Array(t.size);
  const d = t.data;
  for (let i = 0; i < out.length; i++) out[i] = Math.trunc(d[i]);
  return new Tensor(out, t.shape);
}

/** Raw broadcast binary kernel call into a fresh buffer of `outShape`. */
export function binaryRaw(
  op: BinaryOp,
  a: Float32Array,
  aShape: readonly number[],
  b: Float32Array,
  bShape: readonly number[],
  outShape: readonly number[],
): Float32Array {
  const out = allocF32(sizeOf(outShape));
  if (out.length === 0) return out;
  // Fast paths: equal shapes, or one operand a single element (scalars).
  const aFull = a.length === out.length && sameShape(aShape, outShape);
  const bFull = b.length === out.length && sameShape(bShape, outShape);
  if ((aFull || a.length === 1) && (bFull || b.length === 1)) {
    be().binary(op, a, [aFull ? 1 : 0], b, [bFull ? 1 : 0], out, [out.length]);
    return out;
  }
  const c = coalesce([...outShape], [broadcastStrides(aShape, outShape), broadcastStrides(bShape, outShape)]);
  be().binary(op, a, c.strides[0], b, c.strides[1], out, c.shape);
  return out;
}

/**
 * The shape an input's gradient takes, or null when it needs none. Backward
 * closures keep this instead of the input tensor, whose data would otherwise
 * stay alive until the backward pass.
 */
function gradShape(t: Tensor): readonly number[] | null {
  return t.requiresGrad ? t.shape : null;
}

function binaryOp(op: BinaryOp, name: string, x: Operand, y: Operand): { a: Tensor; b: Tensor; outShape: number[]; out: Float32Array } {
  const a = asTensor(x);
  const b = asTensor(y);
  const outShape = broadcastShapes(a.shape, b.shape, name);
  const out = binaryRaw(op, floatData(a), a.shape, floatData(b), b.shape, outShape);
  return { a, b, outShape, out };
}

/** `a + b` with broadcasting. @throws ShapeError when the shapes do not broadcast */
export function add(x: Operand, y: Operand): Tensor {
  const { a, b, outShape, out } = binaryOp('add', 'add', x, y);
  const res = new Tensor(out, outShape);
  if (needsGrad(a, b)) {
    const [ga, gb] = [gradShape(a), gradShape(b)];
    record(res, [a, b], (g) => [ga && sumToShape(g, outShape, ga), gb && sumToShape(g, outShape, gb)]);
  }
  return res;
}

/** `a − b` with broadcasting. @throws ShapeError when the shapes do not broadcast */
export function sub(x: Operand, y: Operand): Tensor {
  const { a, b, outShape, out } = binaryOp('sub', 'sub', x, y);
  const res = new Tensor(out, outShape);
  if (needsGrad(a, b)) {
    const [ga, gb] = [gradShape(a), gradShape(b)];
    record(res, [a, b], (g) => [ga && sumToShape(g, outShape, ga), gb && sumToShape(scaled(g, -1), outShape, gb)]);
  }
  return res;
}

/** `a ⊙ b` with broadcasting. @throws ShapeError when the shapes do not broadcast */
export function mul(x: Operand, y: Operand): Tensor {
  const { a, b, outShape, out } = binaryOp('mul', 'mul', x, y);
  const res = new Tensor(out, outShape);
  if (needsGrad(a, b)) {
    // Each side's gradient needs the other side's values: keep only those that will be used.
    const [ga, gb] = [gradShape(a), gradShape(b)];
    const [ad, as] = gb ? [floatData(a), a.shape] : [null, null];
    const [bd, bs] = ga ? [floatData(b), b.shape] : [null, null];
    record(res, [a, b], (g) => [
      ga && sumToShape(binaryRaw('mul', g, outShape, bd!, bs!, outShape), outShape, ga),
      gb && sumToShape(binaryRaw('mul', g, outShape, ad!, as!, outShape), outShape, gb),
    ]);
  }
  return res;
}

/** `a / b` with broadcasting. @throws ShapeError when the shapes do not broadcast */
export function div(x: Operand, y: Operand): Tensor {
  const { a, b, outShape, out } = binaryOp('div', 'div', x, y);
  const res = new Tensor(out, outShape);
  if (needsGrad(a, b)) {
    record(res, [a, b], (g) => {
      const bd = floatData(b);
      const ga = a.requiresGrad ? sumToShape(binaryRaw('div', g, outShape, bd, b.shape, outShape), outShape, a.shape) : null;
      let gb: Float32Array | null = null;
      if (b.requiresGrad) {
        // d(a/b)/db = −(a/b)/b
        const t = binaryRaw('div', mulBuf(g, out), outShape, bd, b.shape, outShape);
        gb = sumToShape(scaled(t, -1), outShape, b.shape);
      }
      return [ga, gb];
    });
  }
  return res;
}

/** `a ** b` with broadcasting (`Math.pow` semantics). @throws ShapeError when the shapes do not broadcast */
export function pow(x: Operand, y: Operand): Tensor {
  const { a, b, outShape, out } = binaryOp('pow', 'pow', x, y);
  const res = new Tensor(out, outShape);
  if (needsGrad(a, b)) {
    record(res, [a, b], (g) => {
      const ad = floatData(a);
      const bd = floatData(b);
      let ga: Float32Array | null = null;
      let gb: Float32Array | null = null;
      if (a.requiresGrad) {
        // b · a^(b−1)
        const bm1 = binaryRaw('sub', bd, b.shape, new Float32Array([1]), [], b.shape);
        const p = binaryRaw('pow', ad, a.shape, bm1, b.shape, outShape);
        const d = binaryRaw('mul', p, outShape, bd, b.shape, outShape);
        ga = sumToShape(mulBuf(g, d), outShape, a.shape);
      }
      if (b.requiresGrad) {
        // a^b · ln a
        const la = allocF32(ad.length);
        be().unary('log', ad, la, ad.length);
        const d = binaryRaw('mul', out, outShape, la, a.shape, outShape);
        gb = sumToShape(mulBuf(g, d), outShape, b.shape);
      }
      return [ga, gb];
    });
  }
  return res;
}

function minMax(op: 'max' | 'min', x: Operand, y: Operand): Tensor {
  const name = op === 'max' ? 'maximum' : 'minimum';
  const { a, b, outShape, out } = binaryOp(op, name, x, y);
  const res = new Tensor(out, outShape);
  if (needsGrad(a, b)) {
    record(res, [a, b], (g) => {
      // Ties split the gradient evenly, as PyTorch's maximum/minimum do.
      const ad = floatData(a);
      const bd = floatData(b);
      const wins = binaryRaw(op === 'max' ? 'gt' : 'lt', ad, a.shape, bd, b.shape, outShape);
      const ties = binaryRaw('eq', ad, a.shape, bd, b.shape, outShape);
      const wa = binaryRaw('add', wins, outShape, scaled(ties, 0.5), outShape, outShape);
      const gaFull = mulBuf(g, wa);
      return [
        a.requiresGrad ? sumToShape(gaFull, outShape, a.shape) : null,
        b.requiresGrad ? sumToShape(binaryRaw('sub', g, outShape, gaFull, outShape, outShape), outShape, b.shape) : null,
      ];
    });
  }
  return res;
}

/** Elementwise maximum (NaN propagates; ties split the gradient). */
export function maximum(x: Operand, y: Operand): Tensor {
  return minMax('max', x, y);
}
/** Elementwise minimum (NaN propagates; ties split the gradient). */
export function minimum(x: Operand, y: Operand): Tensor {
  return minMax('min', x, y);
}

function compare(op: BinaryOp, x: Operand, y: Operand): Tensor {
  const { outShape, out } = binaryOp(op, op, x, y);
  return new Tensor(out, outShape);
}
/** `a == b` as float32 1/0 (no gradient). */
export function eq(x: Operand, y: Operand): Tensor { return compare('eq', x, y); }
/** `a != b` as float32 1/0 (no gradient). */
export function ne(x: Operand, y: Operand): Tensor { return compare('ne', x, y); }
/** `a < b` as float32 1/0 (no gradient). */
export function lt(x: Operand, y: Operand): Tensor { return compare('lt', x, y); }
/** `a <= b` as float32 1/0 (no gradient). */
export function le(x: Operand, y: Operand): Tensor { return compare('le', x, y); }
/** `a > b` as float32 1/0 (no gradient). */
export function gt(x: Operand, y: Operand): Tensor { return compare('gt', x, y); }
/** `a >= b` as float32 1/0 (no gradient). */
export function ge(x: Operand, y: Operand): Tensor { return compare('ge', x, y); }

function unaryOp(op: UnaryOp, x: Tensor): Tensor {
  const xd = floatData(x);
  const out = allocF32(xd.length);
  be().unary(op, xd, out, xd.length);
  const res = new Tensor(out, x.shape);
  if (needsGrad(x)) {
    record(res, [x], (g) => {
      const dx = allocF32(g.length);
      be().unaryBackward(op, xd, out, g, dx, g.length);
      return [dx];
    });
  }
  return res;
}

/** `−x`. */
export function neg(x: Tensor): Tensor { return unaryOp('neg', x); }
/** `eˣ`. */
export function exp(x: Tensor): Tensor { return unaryOp('exp', x); }
/** Natural logarithm. */
export function log(x: Tensor): Tensor { return unaryOp('log', x); }
/** Square root. */
export function sqrt(x: Tensor): Tensor { return unaryOp('sqrt', x); }
/** `1/√x`. */
export function rsqrt(x: Tensor): Tensor { return unaryOp('rsqrt', x); }
/** Hyperbolic tangent. */
export function tanh(x: Tensor): Tensor { return unaryOp('tanh', x); }
/** Logistic sigmoid `1/(1+e^{−x})`. */
export function sigmoid(x: Tensor): Tensor { return unaryOp('sigmoid', x); }
/** `max(x, 0)` (gradient 0 at 0, as PyTorch). */
export function relu(x: Tensor): Tensor { return unaryOp('relu', x); }
/** `|x|` (gradient 0 at 0, as PyTorch). */
export function abs(x: Tensor): Tensor { return unaryOp('abs', x); }

/**
 * GELU (Hendrycks & Gimpel 2016). `approximate = 'none'` (PyTorch's default) is
 * the exact `x·Φ(x)`; `'tanh'` is the tanh approximation GPT-2 uses (HF `gelu_new`,
 * PyTorch `F.gelu(x, approximate='tanh')`).
 */
export function gelu(x: Tensor, approximate: 'tanh' | 'none' = 'none'): Tensor {
  return unaryOp(approximate === 'tanh' ? 'gelu_tanh' : 'gelu_erf', x);
}

/**
 * `cond ? a : b` elementwise with broadcasting of all three (PyTorch
 * `torch.where`); `cond` is any tensor, nonzero = true. Gradients flow to `a`
 * and `b` (not `cond`). Selection (not arithmetic) so infinities in the
 * unselected branch never leak.
 * @throws ShapeError when the shapes do not broadcast
 */
export function where(cond: Tensor, x: Operand, y: Operand): Tensor {
  const a = asTensor(x);
  const b = asTensor(y);
  const outShape = broadcastShapes(broadcastShapes(cond.shape, a.shape, 'where'), b.shape, 'where');
  const c = broadcastTo(floatData(cond), cond.shape, outShape);
  const av = broadcastTo(floatData(a), a.shape, outShape);
  const bv = broadcastTo(floatData(b), b.shape, outShape);
  const n = c.length;
  const out = allocF32(n);
  for (let i = 0; i < n; i++) {
    const isTrue = c[i] !== 0;
    c[i] = isTrue ? 1 : 0;
    out[i] = isTrue ? av[i] : bv[i];
  }
  const res = new Tensor(out, outShape);
  if (needsGrad(a, b)) {
    const [sa, sb] = [gradShape(a), gradShape(b)];
    record(res, [a, b], (g) => {
      const ga = mulBuf(g, c);
      return [sa && sumToShape(ga, outShape, sa), sb && sumToShape(binaryRaw('sub', g, outShape, ga, outShape, outShape), outShape, sb)];
    });
  }
  return res;
}

/**
 * `x` with `value` wherever `mask` (broadcast to x's shape) is nonzero
 * (PyTorch `masked_fill`).
 * @throws ShapeError when mask does not broadcast to x's shape
 */
export function maskedFill(x: Tensor, mask: Tensor, value: number): Tensor {
  expectFloat(x, 'maskedFill');
  const s = broadcastShapes(x.shape, mask.shape, 'maskedFill');
  if (!sameShape(s, x.shape)) {
    throw new ShapeError(`maskedFill: mask of shape ${shapeStr(mask.shape)} does not broadcast to the input's shape ${shapeStr(x.shape)}`);
  }
  return where(mask, value, x);
}
