/**
 * Reductions along axes (PyTorch semantics: `dim` omitted = all elements,
 * negative dims count from the end, `keepDim` keeps reduced axes as size 1).
 * Sums accumulate in float64 inside the kernels.
 */
import { needsGrad, record } from './autograd.js';
import { Tensor, expectFloat } from './tensor.js';
import { be, broadcastTo, scaled, sumToShape } from './helpers.js';
import { normDim, sizeOf } from './shape.js';
import * as ew from './ops-elementwise.js';
import { allocF32, allocZeroF32 } from './pool.js';

function floatOf(x: Tensor): Tensor {
  return x.dtype === 'float32' ? x : ew.toFloat32(x);
}

/** Sorted unique axes to reduce (all when `dim` is undefined). */
function reducedDims(x: Tensor, dim: number | number[] | undefined, op: string): number[] {
  if (dim === undefined) return x.shape.map((_, i) => i);
  const list = Array.isArray(dim) ? dim : [dim];
  return [...new Set(list.map((d) => normDim(d, x.shape.length, op)))].sort((a, b) => a - b);
}

function shapesFor(x: Tensor, dims: number[], keepDim: boolean): { kept: number[]; out: number[] } {
  const kept = x.shape.map((d, i) => (dims.includes(i) ? 1 : d));
  const out = keepDim ? kept : x.shape.filter((_, i) => !dims.includes(i));
  return { kept, out };
}

/** Sum over `dim` (one axis, several, or all when omitted). */
export function sum(x: Tensor, dim?: number | number[], keepDim = false): Tensor {
  const xf = floatOf(x);
  const dims = reducedDims(xf, dim, 'sum');
  const { kept, out } = shapesFor(xf, dims, keepDim);
  const xd = xf.data as Float32Array;
  let r = sumToShape(xd, xf.shape, kept);
  if (r === xd) r = xd.slice();
  const res = new Tensor(r, out);
  if (needsGrad(xf)) {
    const xShape = xf.shape; // the shape only: the input's data is not needed by the backward
    record(res, [xf], (g) => [broadcastTo(g, kept, xShape)]);
  }
  return res;
}

/** Mean over `dim` (one axis, several, or all when omitted). */
export function mean(x: Tensor, dim?: number | number[], keepDim = false): Tensor {
  const xf = floatOf(x);
  const dims = reducedDims(xf, dim, 'mean');
  const { kept, out } = shapesFor(xf, dims, keepDim);
  const n = sizeOf(dims.map((d) => xf.shape[d]));
  const xd = xf.data as Float32Array;
  const r = scaled(sumToShape(xd, xf.shape, kept), 1 / n);
  const res = new Tensor(r, out);
  if (needsGrad(xf)) {
    const xShape = xf.shape;
    record(res, [xf], (g) => [scaled(broadcastTo(g, kept, xShape), 1 / n)]);
  }
  return res;
}

function viewFor(x: Tensor, dim: number | undefined, op: string): { outer: number; len: number; inner: number; d: number | null } {
  if (dim === undefined) return { outer: 1, len: x.size, inner: 1, d: null };
  const d = normDim(dim, x.shape.length, op);
  return { outer: sizeOf(x.shape.slice(0, d)), len: x.shape[d], inner: sizeOf(x.shape.slice(d + 1)), d };
}

function outShapeFor(x: Tensor, d: number | null, keepDim: boolean): number[] {
  if (d === null) return keepDim ? x.shape.map(() => 1) : [];
  return keepDim ? x.shape.map((s, i) => (i === d ? 1 : s)) : x.shape.filter((_, i) => i !== d);
}

function extremum(op: 'max' | 'min', x: Tensor, dim: number | undefined, keepDim: boolean): Tensor {
  const xf = floatOf(x);
  const { outer, len, inner, d } = viewFor(xf, dim, op);
  if (len === 0) throw new RangeError(`${op}: cannot reduce an empty axis`);
  const xd = xf.data as Float32Array;
  const vals = allocF32(outer * inner);
  be().reduce(op, xd, vals, outer, len, inner);
  const res = new Tensor(vals, outShapeFor(xf, d, keepDim));
  if (needsGrad(xf)) {
    record(res, [xf], (g) => {
      // The gradient goes to the first extremal element (torch.max(dim) indices semantics).
      const idx = new Int32Array(outer * inner);
      if (op === 'max') be().argmax(xd, idx, outer, len, inner);
      else {
        const negx = allocF32(xd.length);
        be().unary('neg', xd, negx, xd.length);
        be().argmax(negx, idx, outer, len, inner);
      }
      const dx = allocZeroF32(xd.length);
      for (let o = 0; o < outer; o++) {
        for (let i = 0; i < inner; i++) dx[o * len * inner + idx[o * inner + i] * inner + i] = g[o * inner + i];
      }
      return [dx];
    });
  }
  return res;
}

/** Maximum over `dim` (all elements when omitted); NaN propagates; gradient to the first maximum. */
export function max(x: Tensor, dim?: number, keepDim = false): Tensor {
  return extremum('max', x, dim, keepDim);
}
/** Minimum over `dim` (all elements when omitted); NaN propagates; gradient to the first minimum. */
export function min(x: Tensor, dim?: number, keepDim = false): Tensor {
  return extremum('min', x, dim, keepDim);
}

/** Index (int32) of the first maximum along `dim`, or into the flattened tensor when omitted. No gradient. */
export function argmax(x: Tensor, dim?: number, keepDim = false): Tensor {
  const xf = floatOf(x);
  const { outer, len, inner, d } = viewFor(xf, dim, 'argmax');
  const idx = new Int32Array(outer * inner);
  be().argmax(xf.data as Float32Array, idx, outer, len, inner);
  return new Tensor(idx, outShapeFor(xf, d, keepDim));
}

/**
 * Variance over `dim` (all when omitted). `unbiased` (default true, as
 * `torch.var`) divides by n − 1 (Bessel's correction), else by n.
 */
export function variance(x: Tensor, dim?: number | number[], opts: { unbiased?: boolean; keepDim?: boolean } = {}): Tensor {
  const xf = floatOf(x);
  const unbiased = opts.unbiased ?? true;
  const dims = reducedDims(xf, dim, 'var');
  const n = sizeOf(dims.map((d) => xf.shape[d]));
  const mu = mean(xf, dims, true);
  const dev = ew.sub(xf, mu);
  return ew.div(sum(ew.mul(dev, dev), dims, opts.keepDim ?? false), n - (unbiased ? 1 : 0));
}

/**
 * `log Σ exp(x)` along `dim`, stabilised by subtracting the (detached) row
 * maximum (rows of all −∞ give −∞, as `torch.logsumexp`). The gradient is the
 * softmax along `dim`.
 */
export function logSumExp(x: Tensor, dim: number, keepDim = false): Tensor {
  expectFloat(x, 'logSumExp');
  const d = normDim(dim, x.shape.length, 'logSumExp');
  const m = max(x.detach(), d, true);
  const md = m.data as Float32Array;
  for (let i = 0; i < md.length; i++) if (!Number.isFinite(md[i])) md[i] = 0;
  const lse = ew.add(ew.log(sum(ew.exp(ew.sub(x, m)), d, true)), m);
  return keepDim ? lse : lse.reshape(x.shape.filter((_, i) => i !== d));
}
