import type { BinaryOp, F32, I32, UnaryOp } from '../backend.js';

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);
const GELU_C = 0.044715;
const INV_SQRT_2 = Math.SQRT1_2;
const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);

/**
 * Complementary error function with relative error below 1.2e-7 everywhere
 * (the Chebyshev fit of Press et al., Numerical Recipes, 2nd ed., §6.2
 * `erfcc`). JavaScript has no `Math.erf`; working through erfc keeps the
 * relative precision of `1 + erf(x)` for very negative x, which exact GELU needs.
 */
export function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r =
    t *
    Math.exp(
      -z * z -
        1.26551223 +
        t *
          (1.00002368 +
            t *
              (0.37409196 +
                t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? r : 2 - r;
}

/** `out[i] = op(x[i])`; `out` may alias `x`. */
export function unary(op: UnaryOp, x: F32, out: F32, n: number): void {
  switch (op) {
    case 'neg':
      for (let i = 0; i < n; i++) out[i] = -x[i];
      return;
    case 'exp':
      for (let i = 0; i < n; i++) out[i] = Math.exp(x[i]);
      return;
    case 'log':
      for (let i = 0; i < n; i++) out[i] = Math.log(x[i]);
      return;
    case 'sqrt':
      for (let i = 0; i < n; i++) out[i] = Math.sqrt(x[i]);
      return;
    case 'rsqrt':
      for (let i = 0; i < n; i++) out[i] = 1 / Math.sqrt(x[i]);
      return;
    case 'tanh':
      for (let i = 0; i < n; i++) out[i] = Math.tanh(x[i]);
      return;
    case 'sigmoid':
      // Two branches so exp never overflows.
      for (let i = 0; i < n; i++) {
        const v = x[i];
        if (v >= 0) out[i] = 1 / (1 + Math.exp(-v));
        else {
          const e = Math.exp(v);
          out[i] = e / (1 + e);
        }
      }
      return;
    case 'relu':
      for (let i = 0; i < n; i++) out[i] = x[i] > 0 ? x[i] : x[i] !== x[i] ? x[i] : 0;
      return;
    case 'gelu_tanh':
      // Hendrycks & Gimpel 2016, tanh approximation (GPT-2 `gelu_new`).
      for (let i = 0; i < n; i++) {
        const v = x[i];
        out[i] = 0.5 * v * (1 + Math.tanh(SQRT_2_OVER_PI * (v + GELU_C * v * v * v)));
      }
      return;
    case 'gelu_erf':
      // x·Φ(x) = ½·x·erfc(−x/√2).
      for (let i = 0; i < n; i++) {
        const v = x[i];
        out[i] = 0.5 * v * erfc(-v * INV_SQRT_2);
      }
      return;
    case 'abs':
      for (let i = 0; i < n; i++) out[i] = Math.abs(x[i]);
      return;
    default: {
      const never: never = op;
      throw new Error(`unknown unary op ${String(never)}`);
    }
  }
}

/** `dx[i] = dy[i] · op'(x[i])`, using the forward output `y` where that is cheaper. */
export function unaryBackward(op: UnaryOp, x: F32, y: F32, dy: F32, dx: F32, n: number): void {
  switch (op) {
    case 'neg':
      for (let i = 0; i < n; i++) dx[i] = -dy[i];
      return;
    case 'exp':
      for (let i = 0; i < n; i++) dx[i] = dy[i] * y[i];
      return;
    case 'log':
      for (let i = 0; i < n; i++) dx[i] = dy[i] / x[i];
      return;
    case 'sqrt':
      for (let i = 0; i < n; i++) dx[i] = (0.5 * dy[i]) / y[i];
      return;
    case 'rsqrt':
      // d/dx x^{-1/2} = −½ x^{-3/2} = −½ y³
      for (let i = 0; i < n; i++) dx[i] = -0.5 * dy[i] * y[i] * y[i] * y[i];
      return;
    case 'tanh':
      for (let i = 0; i < n; i++) dx[i] = dy[i] * (1 - y[i] * y[i]);
      return;
    case 'sigmoid':
      for (let i = 0; i < n; i++) dx[i] = dy[i] * y[i] * (1 - y[i]);
      return;
    case 'relu':
      for (let i = 0; i < n; i++) dx[i] = x[i] > 0 ? dy[i] : 0;
      return;
    case 'gelu_tanh':
      for (let i = 0; i < n; i++) {
        const v = x[i];
        const t = Math.tanh(SQRT_2_OVER_PI * (v + GELU_C * v * v * v));
        const dInner = SQRT_2_OVER_PI * (1 + 3 * GELU_C * v * v);
        dx[i] = dy[i] * (0.5 * (1 + t) + 0.5 * v * (1 - t * t) * dInner);
      }
      return;
    case 'gelu_erf':
      // Φ(x) + x·φ(x)
      for (let i = 0; i < n; i++) {
        const v = x[i];
        dx[i] = dy[i] * (0.5 * erfc(-v * INV_SQRT_2) + v * INV_SQRT_2PI * Math.exp(-0.5 * v * v));
      }
      return;
    case 'abs':
      // PyTorch: sign(x), 0 at x = 0.
      for (let i = 0; i < n; i++) dx[i] = x[i] > 0 ? dy[i] : x[i] < 0 ? -dy[i] : 0;
      return;
    default: {
      const never: never = op;
      throw new Error(`unknown unary op ${String(never)}`);
    }
  }
}

function binaryFn(op: BinaryOp): (a: number, b: number) => number {
  switch (op) {
    case 'add':
      return (a, b) => a + b;
    case 'sub':
      return (a, b) => a - b;
    case 'mul':
      return (a, b) => a * b;
    case 'div':
      return (a, b) => a / b;
    case 'pow':
      return Math.pow;
    case 'max':
      return Math.max; // NaN propagates, as torch.maximum
    case 'min':
      return Math.min;
    case 'eq':
      return (a, b) => (a === b ? 1 : 0);
    case 'ne':
      return (a, b) => (a !== b ? 1 : 0);
    case 'lt':
      return (a, b) => (a < b ? 1 : 0);
    case 'le':
      return (a, b) => (a <= b ? 1 : 0);
    case 'gt':
      return (a, b) => (a > b ? 1 : 0);
    case 'ge':
      return (a, b) => (a >= b ? 1 : 0);
    default: {
      const never: never = op;
      throw new Error(`unknown binary op ${String(never)}`);
    }
  }
}

function isContiguous(strides: number[], shape: number[]): boolean {
  let s = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    if (shape[d] !== 1 && strides[d] !== s) return false;
    s *= shape[d];
  }
  return true;
}

/**
 * Broadcast binary op. Fast paths for the common layouts (same shape, scalar
 * operand); otherwise an odometer over the outer axes with a strided inner loop.
 */
export function binary(op: BinaryOp, a: F32, aStrides: number[], b: F32, bStrides: number[], out: F32, outShape: number[]): void {
  const f = binaryFn(op);
  let total = 1;
  for (const d of outShape) total *= d;
  if (total === 0) return;
  const aCont = isContiguous(aStrides, outShape);
  const bCont = isContiguous(bStrides, outShape);
  const aScalar = aStrides.every((s, d) => s === 0 || outShape[d] === 1);
  const bScalar = bStrides.every((s, d) => s === 0 || outShape[d] === 1);
  if (aCont && bCont) {
    if (op === 'add') for (let i = 0; i < total; i++) out[i] = a[i] + b[i];
    else if (op === 'mul') for (let i = 0; i < total; i++) out[i] = a[i] * b[i];
    else for (let i = 0; i < total; i++) out[i] = f(a[i], b[i]);
    return;
  }
  if (aCont && bScalar) {
    const bv = b[0];
    for (let i = 0; i < total; i++) out[i] = f(a[i], bv);
    return;
  }
  if (aScalar && bCont) {
    const av = a[0];
    for (let i = 0; i < total; i++) out[i] = f(av, b[i]);
    return;
  }
  const r = outShape.length;
  const last = outShape[r - 1];
  const as = aStrides[r - 1];
  const bs = bStrides[r - 1];
  const idx = new Array<number>(r).fill(0);
  let ao = 0;
  let bo = 0;
  for (let o = 0; o < total; o += last) {
    for (let j = 0; j < last; j++) out[o + j] = f(a[ao + j * as], b[bo + j * bs]);
    // advance the odometer over axes 0..r-2
    for (let d = r - 2; d >= 0; d--) {
      idx[d]++;
      ao += aStrides[d];
      bo += bStrides[d];
      if (idx[d] < outShape[d]) break;
      ao -= aStrides[d] * outShape[d];
      bo -= bStrides[d] * outShape[d];
      idx[d] = 0;
    }
  }
}

/** Strided gather into contiguous `dst` (see `Backend.copyStrided`). */
export function copyStrided(src: F32 | I32, srcOffset: number, srcStrides: number[], shape: number[], dst: F32 | I32): void {
  const r = shape.length;
  let total = 1;
  for (const d of shape) total *= d;
  if (total === 0) return;
  if (r === 0) {
    dst[0] = src[srcOffset];
    return;
  }
  const last = shape[r - 1];
  const ls = srcStrides[r - 1];
  const idx = new Array<number>(r).fill(0);
  let so = srcOffset;
  for (let o = 0; o < total; o += last) {
    if (ls === 1) {
      for (let j = 0; j < last; j++) dst[o + j] = src[so + j];
    } else {
      for (let j = 0; j < last; j++) dst[o + j] = src[so + j * ls];
    }
    for (let d = r - 2; d >= 0; d--) {
      idx[d]++;
      so += srcStrides[d];
      if (idx[d] < shape[d]) break;
      so -= srcStrides[d] * shape[d];
      idx[d] = 0;
    }
  }
}
