/**
 * Neural-network functional ops on the backend's fused kernels (PyTorch
 * `torch.nn.functional` semantics unless stated).
 */
import { needsGrad, record } from './autograd.js';
import { Tensor, expectFloat, expectInt } from './tensor.js';
import { be, mulBuf } from './helpers.js';
import { normDim, sameShape, shapeStr, sizeOf } from './shape.js';
import { transpose } from './ops-shape.js';
import * as ew from './ops-elementwise.js';
import * as rd from './ops-reduce.js';
import { defaultGenerator, type Generator } from './random.js';
import { ConfigError, ShapeError } from '../errors.js';
import { allocF32, allocZeroF32 } from './pool.js';

function rowwise(
  x: Tensor,
  dim: number,
  op: string,
  fwd: (x: Float32Array, out: Float32Array, rows: number, cols: number) => void,
  bwd: (y: Float32Array, dy: Float32Array, dx: Float32Array, rows: number, cols: number) => void,
): Tensor {
  expectFloat(x, op);
  const r = x.shape.length;
  const d = normDim(dim, Math.max(r, 1), op);
  if (r > 0 && d !== r - 1) return transpose(rowwise(transpose(x, d, r - 1), -1, op, fwd, bwd), d, r - 1);
  const cols = r === 0 ? 1 : x.shape[r - 1];
  const rows = cols === 0 ? 0 : x.size / cols;
  const out = allocF32(x.size);
  fwd(x.data as Float32Array, out, rows, cols);
  const res = new Tensor(out, x.shape);
  if (needsGrad(x)) {
    record(res, [x], (g) => {
      const dx = allocF32(g.length);
      bwd(out, g, dx, rows, cols);
      return [dx];
    });
  }
  return res;
}

/** Softmax along `dim` (default last), max-subtracted. A row of all −∞ gives NaN, as PyTorch. */
export function softmax(x: Tensor, dim = -1): Tensor {
  const b = be();
  return rowwise(x, dim, 'softmax', b.softmax.bind(b), b.softmaxBackward.bind(b));
}

/** Log-softmax along `dim` (default last): `x − logΣexp(x)`. */
export function logSoftmax(x: Tensor, dim = -1): Tensor {
  const b = be();
  return rowwise(x, dim, 'logSoftmax', b.logSoftmax.bind(b), b.logSoftmaxBackward.bind(b));
}

/**
 * Layer normalisation over the last axis (Ba et al. 2016; PyTorch
 * `F.layer_norm` with `normalized_shape = [C]`, biased variance).
 * @param x `[..., C]`
 * @param weight `[C]` or null (= 1); bias `[C]` or null (= 0)
 * @param eps added to the variance (PyTorch default 1e-5)
 * @throws ShapeError when weight or bias is not `[C]`
 */
export function layerNorm(x: Tensor, weight: Tensor | null, bias: Tensor | null, eps = 1e-5): Tensor {
  expectFloat(x, 'layerNorm');
  if (x.shape.length === 0) throw new ShapeError('layerNorm: input must have at least one axis');
  const cols = x.shape[x.shape.length - 1];
  for (const [name, p] of [['weight', weight], ['bias', bias]] as const) {
    if (p && (p.shape.length !== 1 || p.shape[0] !== cols)) {
      throw new ShapeError(`layerNorm: ${name} ${shapeStr(p.shape)} does not match the last axis of input ${shapeStr(x.shape)} (expected [${cols}])`);
    }
    if (p) expectFloat(p, 'layerNorm', name);
  }
  const rows = cols === 0 ? 0 : x.size / cols;
  const xd = x.data as Float32Array;
  const wd = weight ? (weight.data as Float32Array) : null;
  const out = allocF32(x.size);
  const mean = allocF32(rows);
  const rstd = allocF32(rows);
  be().layerNorm(xd, wd, bias ? (bias.data as Float32Array) : null, out, mean, rstd, rows, cols, eps);
  const res = new Tensor(out, x.shape);
  const parents = [x, weight, bias].filter((t): t is Tensor => t !== null);
  if (needsGrad(...parents)) {
    record(res, parents, (g) => {
      const dx = allocF32(x.size);
      const dw = weight && weight.requiresGrad ? allocZeroF32(cols) : null;
      const db = bias && bias.requiresGrad ? allocZeroF32(cols) : null;
      be().layerNormBackward(g, xd, wd, mean, rstd, dx, dw, db, rows, cols);
      const grads: (Float32Array | null)[] = [x.requiresGrad ? dx : null];
      if (weight) grads.push(dw);
      if (bias) grads.push(db);
      return grads;
    });
  }
  return res;
}

/**
 * Embedding lookup: rows of `weight` `[vocab, dim]` for int32 `ids` of any
 * shape → `[...ids.shape, dim]`. The gradient scatter-adds into the rows used.
 * @throws MuseError when ids are not int32; RangeError for an id outside [0, vocab)
 */
export function embedding(ids: Tensor, weight: Tensor): Tensor {
  expectInt(ids, 'embedding', 'ids');
  expectFloat(weight, 'embedding', 'weight');
  if (weight.shape.length !== 2) throw new ShapeError(`embedding: weight must be [vocab, dim], got ${shapeStr(weight.shape)}`);
  const [vocab, dim] = weight.shape;
  const idd = ids.data as Int32Array;
  for (let i = 0; i < idd.length; i++) {
    if (idd[i] < 0 || idd[i] >= vocab) throw new RangeError(`embedding: id ${idd[i]} at position ${i} is outside the vocabulary [0, ${vocab})`);
  }
  const n = idd.length;
  const out = allocF32(n * dim);
  be().embedding(weight.data as Float32Array, idd, out, n, dim);
  const res = new Tensor(out, [...ids.shape, dim]);
  if (needsGrad(weight)) {
    record(res, [weight], (g) => {
      const dw = allocZeroF32(vocab * dim);
      be().embeddingBackward(g, idd, dw, n, dim);
      return [dw];
    });
  }
  return res;
}

/**
 * Inverted dropout (Srivastava et al. 2014; PyTorch `F.dropout`): in training
 * each element is zeroed with probability `p` and survivors are scaled by
 * `1/(1−p)`; otherwise (or p = 0) the input is returned unchanged. The mask is
 * drawn from `gen` (element i is dropped when `gen.random() < p`, in row-major
 * order), so a seeded generator reproduces it.
 * @throws ConfigError when p is outside [0, 1]
 */
export function dropout(x: Tensor, p: number, training: boolean, gen: Generator = defaultGenerator()): Tensor {
  expectFloat(x, 'dropout');
  if (!(p >= 0 && p <= 1)) throw new ConfigError(`dropout: p must be in [0, 1], got ${p}`);
  if (!training || p === 0) return x;
  const n = x.size;
  const mask = allocF32(n);
  gen.fillDropoutMask(mask, p);
  const out = mulBuf(x.data as Float32Array, mask);
  const res = new Tensor(out, x.shape);
  if (needsGrad(x)) record(res, [x], (g) => [mulBuf(g, mask)]);
  return res;
}

/** Options of {@link crossEntropy}. */
export interface CrossEntropyOptions {
  /** Target value whose rows contribute neither loss nor gradient (default −100, as PyTorch). */
  ignoreIndex?: number;
  /** ε of label smoothing (Szegedy et al. 2016): target = (1−ε)·onehot + ε/classes. Default 0. */
  labelSmoothing?: number;
  /** 'mean' (default, over non-ignored rows), 'sum', or 'none' (per-row losses shaped like targets). */
  reduction?: 'mean' | 'sum' | 'none';
}

/**
 * Cross-entropy between logits `[..., classes]` (class axis last) and int32
 * targets `[...]` (PyTorch `F.cross_entropy` semantics, including ignoreIndex
 * and label smoothing; a 'mean' over zero non-ignored rows is NaN, as PyTorch).
 * Fused log-softmax + NLL: the backward is `softmax − target`.
 * @throws ShapeError when shapes disagree; MuseError when targets are not int32;
 *   RangeError for a target outside [0, classes) that is not ignoreIndex
 */
export function crossEntropy(logits: Tensor, targets: Tensor, opts: CrossEntropyOptions = {}): Tensor {
  expectFloat(logits, 'crossEntropy', 'logits');
  expectInt(targets, 'crossEntropy', 'targets');
  const ignoreIndex = opts.ignoreIndex ?? -100;
  const eps = opts.labelSmoothing ?? 0;
  const reduction = opts.reduction ?? 'mean';
  if (!(eps >= 0 && eps <= 1)) throw new ConfigError(`crossEntropy: labelSmoothing must be in [0, 1], got ${eps}`);
  if (reduction !== 'mean' && reduction !== 'sum' && reduction !== 'none') throw new ConfigError(`crossEntropy: reduction must be 'mean', 'sum' or 'none', got ${String(reduction)}`);
  if (logits.shape.length < 1 || !sameShape(logits.shape.slice(0, -1), targets.shape)) {
    throw new ShapeError(`crossEntropy: logits ${shapeStr(logits.shape)} need targets of shape ${shapeStr(logits.shape.slice(0, -1))}, got ${shapeStr(targets.shape)}`);
  }
  const classes = logits.shape[logits.shape.length - 1];
  const rows = targets.size;
  const td = targets.data as Int32Array;
  for (let i = 0; i < rows; i++) {
    const t = td[i];
    if (t !== ignoreIndex && (t < 0 || t >= classes)) {
      throw new RangeError(`crossEntropy: target ${t} at position ${i} is outside [0, ${classes}) and is not ignoreIndex (${ignoreIndex})`);
    }
  }
  const ld = logits.data as Float32Array;
  const losses = allocF32(rows);
  const lse = allocF32(rows);
  const count = be().crossEntropy(ld, td, losses, lse, rows, classes, ignoreIndex, eps);
  let res: Tensor;
  if (reduction === 'none') res = new Tensor(losses, targets.shape);
  else {
    let s = 0;
    for (let i = 0; i < rows; i++) s += losses[i];
    res = new Tensor(new Float32Array([reduction === 'mean' ? s / count : s]), []);
  }
  if (needsGrad(logits)) {
    record(res, [logits], (g) => {
      let rowScale: Float32Array;
      if (reduction === 'none') rowScale = g;
      else rowScale = allocF32(rows).fill(reduction === 'mean' ? g[0] / count : g[0]);
      const dl = allocF32(ld.length);
      be().crossEntropyBackward(ld, td, lse, rowScale, dl, rows, classes, ignoreIndex, eps);
      return [dl];
    });
  }
  return res;
}

/**
 * Mean squared error `(a − b)²` with 'mean' (default), 'sum' or 'none' reduction (PyTorch `F.mse_loss`).
 * @throws ShapeError when the shapes do not broadcast
 */
export function mseLoss(a: Tensor, b: Tensor, opts: { reduction?: 'mean' | 'sum' | 'none' } = {}): Tensor {
  const d = ew.sub(a, b);
  const sq = ew.mul(d, d);
  const reduction = opts.reduction ?? 'mean';
  if (reduction === 'none') return sq;
  if (reduction === 'sum') return rd.sum(sq);
  if (reduction === 'mean') return rd.mean(sq);
  throw new ConfigError(`mseLoss: reduction must be 'mean', 'sum' or 'none', got ${String(reduction)}`);
}

/** Options of {@link scaledDotProductAttention}. */
export interface AttentionOptions {
  /** Mask future keys: query i sees keys j ≤ i + (tk − tq). */
  causal?: boolean;
  /** `[batch, tk]`, nonzero = attend, 0 = padding (any dtype). */
  keyPaddingMask?: Tensor | null;
  /** Score scale; default `1/√headDim`. */
  scale?: number;
}

/**
 * Fused scaled-dot-product attention `softmax(scale·q·kᵀ + mask)·v`
 * (Vaswani et al. 2017 §3.2.1) on the backend's attention kernels; the
 * backward recomputes probabilities from the saved log-sum-exp, so no
 * `[tq, tk]` matrix is kept. Queries whose keys are all masked output zeros.
 * @param q `[batch, heads, tq, headDim]`
 * @param k `[batch, heads, tk, headDim]`
 * @param v `[batch, heads, tk, headDim]`
 * @returns `[batch, heads, tq, headDim]`
 * @throws ShapeError naming the shapes when they disagree
 */
export function scaledDotProductAttention(q: Tensor, k: Tensor, v: Tensor, opts: AttentionOptions = {}): Tensor {
  for (const [name, t] of [['q', q], ['k', k], ['v', v]] as const) {
    expectFloat(t, 'scaledDotProductAttention', name);
    if (t.shape.length !== 4) throw new ShapeError(`scaledDotProductAttention: ${name} must be [batch, heads, seq, headDim], got ${shapeStr(t.shape)}`);
  }
  const [batch, heads, tq, headDim] = q.shape;
  const tk = k.shape[2];
  if (k.shape[0] !== batch || k.shape[1] !== heads || k.shape[3] !== headDim || !sameShape(k.shape, v.shape)) {
    throw new ShapeError(
      `scaledDotProductAttention: q ${shapeStr(q.shape)}, k ${shapeStr(k.shape)}, v ${shapeStr(v.shape)} disagree (k and v must be [${batch}, ${heads}, tk, ${headDim}])`,
    );
  }
  let mask: Int32Array | null = null;
  const kpm = opts.keyPaddingMask ?? null;
  if (kpm) {
    if (!sameShape(kpm.shape, [batch, tk])) {
      throw new ShapeError(`scaledDotProductAttention: keyPaddingMask ${shapeStr(kpm.shape)} must be [batch, tk] = [${batch}, ${tk}]`);
    }
    mask = new Int32Array(kpm.size);
    for (let i = 0; i < mask.length; i++) mask[i] = kpm.data[i] !== 0 ? 1 : 0;
  }
  const scale = opts.scale ?? 1 / Math.sqrt(headDim);
  const causal = opts.causal ?? false;
  const out = allocF32(sizeOf(q.shape));
  const lse = allocF32(batch * heads * tq);
  const common = {
    q: q.data as Float32Array,
    k: k.data as Float32Array,
    v: v.data as Float32Array,
    out,
    lse,
    batch,
    heads,
    tq,
    tk,
    headDim,
    scale,
    causal,
    keyPaddingMask: mask,
  };
  be().attention(common);
  const res = new Tensor(out, q.shape);
  if (needsGrad(q, k, v)) {
    record(res, [q, k, v], (g) => {
      const dq = allocF32(q.size);
      const dk = allocF32(k.size);
      const dv = allocF32(v.size);
      be().attentionBackward({ ...common, dOut: g, dq, dk, dv });
      return [dq, dk, dv];
    });
  }
  return res;
}

