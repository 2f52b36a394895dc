/**
 * Matrix products on the backend's batched GEMM. Backward passes use GEMM's
 * transpose flags on the stored operands; no transpose is ever materialised.
 */
import type { GemmParams } from '../backend/backend.js';
import { needsGrad, record } from './autograd.js';
import { Tensor, expectFloat } from './tensor.js';
import { be, broadcastTo, sumToShape } from './helpers.js';
import { broadcastShapes, sameShape, shapeStr, sizeOf } from './shape.js';
import { ConfigError, ShapeError } from '../errors.js';
import { allocF32 } from './pool.js';

/** Options of {@link matmul}: use an operand's last two axes transposed. */
export interface MatmulOptions {
  transA?: boolean;
  transB?: boolean;
}

type Gemm = Pick<GemmParams, 'a' | 'b' | 'c' | 'm' | 'n' | 'k' | 'transA' | 'transB'> & Partial<GemmParams>;

/** One backend GEMM call with defaults (batch 1, alpha 1, beta 0, zero offsets/strides). */
export function gemm(p: Gemm): void {
  be().gemm({
    batch: 1,
    alpha: 1,
    beta: 0,
    aOffset: 0,
    bOffset: 0,
    cOffset: 0,
    aBatchStride: 0,
    bBatchStride: 0,
    cBatchStride: 0,
    ...p,
  });
}

/**
 * Batched matrix product `op(a) · op(b)` with NumPy broadcasting of the batch
 * axes (PyTorch `matmul` for rank ≥ 2). `a` is `[..., m, k]` (`[..., k, m]` with
 * `transA`), `b` is `[..., k, n]` (`[..., n, k]` with `transB`); the result is
 * `[...batch, m, n]`. When `b` has no batch axes and `a` is not transposed the
 * whole product is ONE GEMM over the collapsed `[batch·m, k]` rows.
 * @throws ShapeError when an operand has rank < 2, inner sizes differ, or batch axes do not broadcast
 */
export function matmul(a: Tensor, b: Tensor, opts: MatmulOptions = {}): Tensor {
  expectFloat(a, 'matmul', 'a');
  expectFloat(b, 'matmul', 'b');
  const transA = opts.transA ?? false;
  const transB = opts.transB ?? false;
  if (a.shape.length < 2 || b.shape.length < 2) {
    throw new ShapeError(`matmul: operands need rank ≥ 2, got ${shapeStr(a.shape)} and ${shapeStr(b.shape)} (unsqueeze vectors first)`);
  }
  const ra = a.shape.length;
  const rb = b.shape.length;
  const [aR, aC] = [a.shape[ra - 2], a.shape[ra - 1]];
  const [bR, bC] = [b.shape[rb - 2], b.shape[rb - 1]];
  const m = transA ? aC : aR;
  const k = transA ? aR : aC;
  const kb = transB ? bC : bR;
  const n = transB ? bR : bC;
  if (k !== kb) {
    throw new ShapeError(
      `matmul: inner sizes differ: a ${shapeStr(a.shape)}${transA ? ' (transA)' : ''} gives k = ${k}, b ${shapeStr(b.shape)}${transB ? ' (transB)' : ''} gives k = ${kb}`,
    );
  }
  const aBatch = a.shape.slice(0, -2);
  const bBatch = b.shape.slice(0, -2);
  const outBatch = broadcastShapes(aBatch, bBatch, 'matmul (batch axes)');
  const outShape = [...outBatch, m, n];
  const nb = sizeOf(outBatch);
  const ad = a.data as Float32Array;
  const bd = b.data as Float32Array;
  const out = allocF32(nb * m * n);

  if (sizeOf(bBatch) === 1 && !transA) {
    // [..., m, k] · [k, n]: one GEMM over all rows.
    const rows = nb * m;
    gemm({ a: ad, b: bd, c: out, m: rows, n, k, transA: false, transB });
    const res = new Tensor(out, outShape);
    if (needsGrad(a, b)) {
      // Keep an operand's values only if the other's gradient needs them, and never the tensors themselves.
      const aShape = a.requiresGrad ? a.shape : null;
      const aSize = a.size;
      const bGrad = b.requiresGrad;
      const bKeep = aShape ? bd : null;
      const aKeep = bGrad ? ad : null;
      record(res, [a, b], (g) => {
        let da: Float32Array | null = null;
        let db: Float32Array | null = null;
        if (aShape) {
          da = allocF32(rows * k);
          gemm({ a: g, b: bKeep!, c: da, m: rows, n: k, k: n, transA: false, transB: !transB });
          if (da.length !== aSize) da = sumToShape(da, [...outBatch, m, k], aShape);
        }
        if (bGrad) {
          db = allocF32(k * n);
          if (!transB) gemm({ a: aKeep!, b: g, c: db, m: k, n, k: rows, transA: true, transB: false });
          else gemm({ a: g, b: aKeep!, c: db, m: n, n: k, k: rows, transA: true, transB: false });
        }
        return [da, db];
      });
    }
    return res;
  }

  // General batched case: per-operand batch stride, or a materialised broadcast.
  const operand = (t: Tensor, batch: number[], rows: number, cols: number): { data: Float32Array; stride: number } => {
    const padded = [...new Array<number>(outBatch.length - batch.length).fill(1), ...batch];
    if (sameShape(padded, outBatch)) return { data: t.data as Float32Array, stride: rows * cols };
    if (sizeOf(batch) === 1) return { data: t.data as Float32Array, stride: 0 };
    return { data: broadcastTo(t.data as Float32Array, t.shape, [...outBatch, rows, cols]), stride: rows * cols };
  };
  const A = operand(a, aBatch, aR, aC);
  const B = operand(b, bBatch, bR, bC);
  const cStride = m * n;
  gemm({ a: A.data, b: B.data, c: out, batch: nb, m, n, k, transA, transB, aBatchStride: A.stride, bBatchStride: B.stride, cBatchStride: cStride });
  const res = new Tensor(out, outShape);
  if (needsGrad(a, b)) {
    const aShape = a.requiresGrad ? a.shape : null;
    const bShape = b.requiresGrad ? b.shape : null;
    const Bk = aShape ? B : null;
    const Ak = bShape ? A : null;
    record(res, [a, b], (g) => {
      let da: Float32Array | null = null;
      let db: Float32Array | null = null;
      const B = Bk!;
      const A = Ak!;
      if (aShape) {
        const full = allocF32(nb * aR * aC);
        const common = { batch: nb, cBatchStride: aR * aC };
        if (!transA) {
          gemm({ ...common, a: g, b: B.data, c: full, m, n: k, k: n, transA: false, transB: !transB, aBatchStride: cStride, bBatchStride: B.stride });
        } else {
          gemm({ ...common, a: B.data, b: g, c: full, m: k, n: m, k: n, transA: transB, transB: true, aBatchStride: B.stride, bBatchStride: cStride });
        }
        da = sumToShape(full, [...outBatch, aR, aC], aShape);
      }
      if (bShape) {
        const full = allocF32(nb * bR * bC);
        const common = { batch: nb, cBatchStride: bR * bC };
        if (!transB) {
          gemm({ ...common, a: A.data, b: g, c: full, m: k, n, k: m, transA: !transA, transB: false, aBatchStride: A.stride, bBatchStride: cStride });
        } else {
          gemm({ ...common, a: g, b: A.data, c: full, m: n, n: k, k: m, transA: true, transB: transA, aBatchStride: cStride, bBatchStride: A.stride });
        }
        db = sumToShape(full, [...outBatch, bR, bC], bShape);
      }
      return [da, db];
    });
  }
  return res;
}

/** Options of {@link linear}. */
export interface LinearOptions {
  /**
   * `'outIn'` (default): weight is `[out, in]` as PyTorch `nn.Linear`;
   * `'inOut'`: weight is `[in, out]` as Hugging Face GPT-2's `Conv1D`.
   */
  weightLayout?: 'inOut' | 'outIn';
}

/**
 * Affine map `y = x·W (+ bias)` over the last axis: `x` `[..., in]` → `[..., out]`,
 * one GEMM over all rows with the bias pre-broadcast into the output (beta = 1).
 * Backward: `dx = dy·Wᵀ`, `dW` and `dbias` summed over rows, by GEMM flags.
 * @throws ShapeError naming both shapes when x, weight and bias disagree
 */
export function linear(x: Tensor, weight: Tensor, bias: Tensor | null = null, opts: LinearOptions = {}): Tensor {
  expectFloat(x, 'linear', 'x');
  expectFloat(weight, 'linear', 'weight');
  const layout = opts.weightLayout ?? 'outIn';
  if (layout !== 'outIn' && layout !== 'inOut') throw new ConfigError(`linear: weightLayout must be 'inOut' or 'outIn', got ${String(layout)}`);
  if (weight.shape.length !== 2) throw new ShapeError(`linear: weight must be 2-D, got ${shapeStr(weight.shape)}`);
  const inF = layout === 'outIn' ? weight.shape[1] : weight.shape[0];
  const outF = layout === 'outIn' ? weight.shape[0] : weight.shape[1];
  if (x.shape.length < 1 || x.shape[x.shape.length - 1] !== inF) {
    throw new ShapeError(`linear: input ${shapeStr(x.shape)} does not end in ${inF}, the in-features of weight ${shapeStr(weight.shape)} (${layout})`);
  }
  if (bias) {
    expectFloat(bias, 'linear', 'bias');
    if (bias.size !== outF || bias.shape.length !== 1) throw new ShapeError(`linear: bias ${shapeStr(bias.shape)} does not match out-features ${outF} of weight ${shapeStr(weight.shape)}`);
  }
  const rows = x.size / inF;
  const xd = x.data as Float32Array;
  const wd = weight.data as Float32Array;
  const out = allocF32(rows * outF);
  const transW = layout === 'outIn';
  if (bias && rows > 0) be().copyStrided(bias.data, 0, [0, 1], [rows, outF], out);
  gemm({ a: xd, b: wd, c: out, m: rows, n: outF, k: inF, transA: false, transB: transW, beta: bias ? 1 : 0 });
  const res = new Tensor(out, [...x.shape.slice(0, -1), outF]);
  if (needsGrad(x, weight, bias)) {
    // The input's values are kept only for the weight's gradient: a frozen layer (LoRA's base) keeps none of x.
    const xGrad = x.requiresGrad;
    const xKeep = weight.requiresGrad ? xd : null;
    const biasGrad = bias !== null && bias.requiresGrad;
    record(res, bias ? [x, weight, bias] : [x, weight], (g) => {
      let dx: Float32Array | null = null;
      let dw: Float32Array | null = null;
      let db: Float32Array | null = null;
      if (xGrad) {
        dx = allocF32(rows * inF);
        gemm({ a: g, b: wd, c: dx, m: rows, n: inF, k: outF, transA: false, transB: !transW });
      }
      if (xKeep) {
        dw = allocF32(inF * outF);
        if (transW) gemm({ a: g, b: xKeep, c: dw, m: outF, n: inF, k: rows, transA: true, transB: false });
        else gemm({ a: xKeep, b: g, c: dw, m: inF, n: outF, k: rows, transA: true, transB: false });
      }
      if (biasGrad) {
        db = allocF32(outF);
        be().reduce('sum', g, db, 1, rows, outF);
      }
      return bias ? [dx, dw, db] : [dx, dw];
    });
  }
  return res;
}
