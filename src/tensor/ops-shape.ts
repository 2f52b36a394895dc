/**
 * Shape ops. `reshape` (and `squeeze`/`unsqueeze`/`flatten`, which are
 * reshapes) share storage with their input; every other op here returns a new
 * contiguous tensor. Work on float32 and int32 alike.
 */
import { BlockGrad, needsGrad, record, recordMulti } from './autograd.js';
import { Tensor } from './tensor.js';
import { be, broadcastTo, sumToShape } from './helpers.js';
import { coalesce, normDim, sameShape, shapeStr, sizeOf, stridesOf } from './shape.js';
import { MuseError, ShapeError } from '../errors.js';
import { allocF32, allocZeroF32 } from './pool.js';

function alloc(x: Tensor, n: number): Float32Array | Int32Array {
  return x.dtype === 'int32' ? new Int32Array(n) : allocF32(n);
}

/**
 * Same data, new shape (one entry may be −1 = inferred). Shares storage.
 * @throws ShapeError when the element counts differ
 */
export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  const s = [...shape];
  const neg = s.filter((d) => d === -1).length;
  if (neg > 1 || s.some((d) => !Number.isInteger(d) || d < -1)) throw new ShapeError(`reshape: invalid target shape ${shapeStr(shape)}`);
  if (neg === 1) {
    const known = sizeOf(s.filter((d) => d !== -1));
    const i = s.indexOf(-1);
    if (known === 0 || x.size % known !== 0) {
      throw new ShapeError(`reshape: cannot reshape ${shapeStr(x.shape)} (${x.size} elements) into ${shapeStr(shape)}`);
    }
    s[i] = x.size / known;
  }
  if (sizeOf(s) !== x.size) {
    throw new ShapeError(`reshape: cannot reshape ${shapeStr(x.shape)} (${x.size} elements) into ${shapeStr(shape)}`);
  }
  const res = new Tensor(x.data, s);
  if (needsGrad(x)) record(res, [x], (g) => [g]);
  return res;
}

/** Merge axes `startDim..endDim` into one (a reshape). */
export function flatten(x: Tensor, startDim = 0, endDim = -1): Tensor {
  if (x.shape.length === 0) return reshape(x, [1]);
  const s = normDim(startDim, x.shape.length, 'flatten');
  const e = normDim(endDim, x.shape.length, 'flatten');
  if (e < s) throw new ShapeError(`flatten: endDim ${endDim} comes before startDim ${startDim}`);
  return reshape(x, [...x.shape.slice(0, s), sizeOf(x.shape.slice(s, e + 1)), ...x.shape.slice(e + 1)]);
}

/** Insert a size-1 axis at `dim` (−1 = new last axis). Shares storage. */
export function unsqueeze(x: Tensor, dim: number): Tensor {
  const d = normDim(dim, x.shape.length + 1, 'unsqueeze');
  return reshape(x, [...x.shape.slice(0, d), 1, ...x.shape.slice(d)]);
}

/** Drop size-1 axes (only `dim` when given; a `dim` whose size is not 1 is left alone, as PyTorch). Shares storage. */
export function squeeze(x: Tensor, dim?: number): Tensor {
  if (dim === undefined) return reshape(x, x.shape.filter((d) => d !== 1));
  const d = normDim(dim, x.shape.length, 'squeeze');
  if (x.shape[d] !== 1) return reshape(x, x.shape);
  return reshape(x, x.shape.filter((_, i) => i !== d));
}

/** Gather `x` through `strides` (from `offset`) into a new contiguous buffer of `shape`. */
function gather(x: Tensor, offset: number, strides: number[], shape: number[]): Float32Array | Int32Array {
  const out = alloc(x, sizeOf(shape));
  if (out.length === 0) return out;
  const c = coalesce(shape, [strides]);
  be().copyStrided(x.data, offset, c.strides[0], c.shape, out);
  return out;
}

/**
 * Reorder axes: result axis i is input axis `dims[i]` (a copy).
 * @throws ShapeError when dims is not a permutation of the axes
 */
export function permute(x: Tensor, dims: readonly number[]): Tensor {
  const r = x.shape.length;
  const p = dims.map((d) => normDim(d, r, 'permute'));
  if (p.length !== r || new Set(p).size !== r) {
    throw new ShapeError(`permute: [${dims.join(', ')}] is not a permutation of the ${r} axes of ${shapeStr(x.shape)}`);
  }
  const st = stridesOf(x.shape);
  const shape = p.map((d) => x.shape[d]);
  const res = new Tensor(gather(x, 0, p.map((d) => st[d]), shape), shape);
  if (needsGrad(x)) {
    // Backward closures keep shapes, never the input tensor (its data would stay alive until backward).
    const xShape = [...x.shape];
    record(res, [x], (g) => {
      const inv = new Array<number>(r);
      p.forEach((d, i) => (inv[d] = i));
      const gs = stridesOf(shape);
      return [gather(new Tensor(g, shape), 0, inv.map((i) => gs[i]), xShape) as Float32Array];
    });
  }
  return res;
}

/** Swap two axes (a copy). */
export function transpose(x: Tensor, dim0: number, dim1: number): Tensor {
  const r = x.shape.length;
  const a = normDim(dim0, r, 'transpose');
  const b = normDim(dim1, r, 'transpose');
  const p = x.shape.map((_, i) => i);
  p[a] = b;
  p[b] = a;
  return permute(x, p);
}

/** Write `src` (shape `[outer, len, inner]`) into `dst` (`[outer, total, inner]`) at axis offset `start`: one memcpy per outer row. */
function placeBlock(dst: Float32Array | Int32Array, src: Float32Array | Int32Array, outer: number, len: number, total: number, start: number, inner: number): void {
  const block = len * inner;
  if (block === 0) return;
  for (let o = 0; o < outer; o++) {
    const s = o * block;
    (dst as Float32Array).set((src as Float32Array).subarray(s, s + block), (o * total + start) * inner);
  }
}

/**
 * `length` entries of axis `dim` starting at `start` (PyTorch `narrow`; a copy).
 * @throws ShapeError when the range falls outside the axis
 */
export function narrow(x: Tensor, dim: number, start: number, length: number): Tensor {
  const d = normDim(dim, x.shape.length, 'narrow');
  const size = x.shape[d];
  const s = start < 0 ? start + size : start;
  if (!Number.isInteger(s) || !Number.isInteger(length) || s < 0 || length < 0 || s + length > size) {
    throw new ShapeError(`narrow: range start ${start}, length ${length} does not fit axis ${d} of ${shapeStr(x.shape)}`);
  }
  const st = stridesOf(x.shape);
  const shape = x.shape.map((v, i) => (i === d ? length : v));
  const res = new Tensor(gather(x, s * st[d], st, shape), shape);
  if (needsGrad(x)) {
    const outer = sizeOf(x.shape.slice(0, d));
    record(res, [x], (g) => [new BlockGrad(g, outer, length, size, s, st[d])]);
  }
  return res;
}

/**
 * Python-style slice `x[..., start:end:step, ...]` along `dim`: negative
 * indices count from the end, out-of-range bounds are clamped. A copy.
 * @throws ShapeError when step is not a positive integer
 */
export function slice(x: Tensor, dim: number, start?: number, end?: number, step = 1): Tensor {
  const d = normDim(dim, x.shape.length, 'slice');
  if (!Number.isInteger(step) || step < 1) throw new ShapeError(`slice: step must be a positive integer, got ${step}`);
  const size = x.shape[d];
  const clamp = (v: number | undefined, dflt: number): number => {
    if (v === undefined) return dflt;
    const w = v < 0 ? v + size : v;
    return Math.min(Math.max(w, 0), size);
  };
  const s = clamp(start, 0);
  const e = Math.max(clamp(end, size), s);
  if (step === 1) return narrow(x, d, s, e - s);
  const len = Math.ceil((e - s) / step);
  const st = stridesOf(x.shape);
  const shape = x.shape.map((v, i) => (i === d ? len : v));
  const strides = st.map((v, i) => (i === d ? v * step : v));
  const res = new Tensor(gather(x, s * st[d], strides, shape), shape);
  if (needsGrad(x)) {
    const xSize = x.size;
    const outer = sizeOf(x.shape.slice(0, d));
    record(res, [x], (g) => {
      const dx = allocZeroF32(xSize);
      const inner = st[d];
      for (let o = 0; o < outer; o++) {
        for (let j = 0; j < len; j++) {
          const src = (o * len + j) * inner;
          dx.set(g.subarray(src, src + inner), (o * size + s + j * step) * inner);
        }
      }
      return [dx];
    });
  }
  return res;
}

/**
 * Join tensors along an existing axis (PyTorch `cat`).
 * @throws ShapeError when ranks or the other axes differ; MuseError on mixed dtypes
 */
export function concat(ts: readonly Tensor[], dim = 0): Tensor {
  if (ts.length === 0) throw new ShapeError('concat: needs at least one tensor');
  const first = ts[0];
  const r = first.shape.length;
  const d = normDim(dim, r, 'concat');
  for (const t of ts) {
    if (t.dtype !== first.dtype) throw new MuseError('BAD_DTYPE', `concat: mixed dtypes ${first.dtype} and ${t.dtype}; convert with .float() or .int()`);
    if (t.shape.length !== r || t.shape.some((v, i) => i !== d && v !== first.shape[i])) {
      throw new ShapeError(`concat: shapes ${shapeStr(first.shape)} and ${shapeStr(t.shape)} differ outside axis ${d}`);
    }
  }
  const total = ts.reduce((s, t) => s + t.shape[d], 0);
  const shape = first.shape.map((v, i) => (i === d ? total : v));
  const outer = sizeOf(first.shape.slice(0, d));
  const inner = sizeOf(first.shape.slice(d + 1));
  const out = alloc(first, sizeOf(shape));
  const starts: number[] = [];
  let off = 0;
  for (const t of ts) {
    starts.push(off);
    placeBlock(out, t.data, outer, t.shape[d], total, off, inner);
    off += t.shape[d];
  }
  const res = new Tensor(out, shape);
  if (needsGrad(...ts)) {
    const lens = ts.map((t) => (t.requiresGrad ? t.shape[d] : -1));
    record(res, [...ts], (g) => {
      const gt = new Tensor(g, shape);
      const st = stridesOf(shape);
      return lens.map((len, i) => (len >= 0 ? (gather(gt, starts[i] * st[d], st, shape.map((v, j) => (j === d ? len : v))) as Float32Array) : null));
    });
  }
  return res;
}

/**
 * Join tensors of equal shape along a new axis `dim` (PyTorch `stack`).
 * @throws ShapeError when shapes differ
 */
export function stack(ts: readonly Tensor[], dim = 0): Tensor {
  if (ts.length === 0) throw new ShapeError('stack: needs at least one tensor');
  for (const t of ts) {
    if (!sameShape(t.shape, ts[0].shape)) throw new ShapeError(`stack: shapes ${shapeStr(ts[0].shape)} and ${shapeStr(t.shape)} differ`);
  }
  const d = normDim(dim, ts[0].shape.length + 1, 'stack');
  return concat(
    ts.map((t) => unsqueeze(t, d)),
    d,
  );
}

/**
 * Split along `dim` into chunks of `size` (the last may be smaller) or into
 * the given section sizes (PyTorch `split`). Each chunk is a copy.
 * @throws ShapeError when the sections do not add up to the axis size
 */
export function split(x: Tensor, sizeOrSections: number | readonly number[], dim = 0): Tensor[] {
  const d = normDim(dim, x.shape.length, 'split');
  const n = x.shape[d];
  let sections: number[];
  if (typeof sizeOrSections === 'number') {
    if (!Number.isInteger(sizeOrSections) || sizeOrSections <= 0) throw new ShapeError(`split: size must be a positive integer, got ${sizeOrSections}`);
    sections = [];
    for (let s = 0; s < n; s += sizeOrSections) sections.push(Math.min(sizeOrSections, n - s));
  } else {
    sections = [...sizeOrSections];
    if (sections.reduce((a, b) => a + b, 0) !== n) {
      throw new ShapeError(`split: sections [${sections.join(', ')}] do not add up to ${n}, the size of axis ${d} of ${shapeStr(x.shape)}`);
    }
  }
  const st = stridesOf(x.shape);
  const outer = sizeOf(x.shape.slice(0, d));
  const inner = st[d];
  const starts: number[] = [];
  let off = 0;
  const outs = sections.map((len) => {
    starts.push(off);
    const shape = x.shape.map((v, i) => (i === d ? len : v));
    const t = new Tensor(gather(x, off * inner, st, shape), shape);
    off += len;
    return t;
  });
  if (needsGrad(x)) {
    // One node for all chunks: the backward places every chunk's gradient
    // into one buffer (a concat), instead of one zero-padded buffer per chunk.
    const xSize = x.size;
    recordMulti(outs, [x], (gs) => {
      const dx = allocZeroF32(xSize);
      gs.forEach((g, i) => {
        if (g) placeBlock(dx, g, outer, sections[i], n, starts[i], inner);
      });
      return [dx];
    });
  }
  return outs;
}

/**
 * Broadcast to `shape` (−1 keeps an axis; new axes may be added in front), as
 * a copy (views are not shared here). The gradient sums over broadcast axes.
 * @throws ShapeError when an axis of size ≠ 1 would change
 */
export function expand(x: Tensor, shape: readonly number[]): Tensor {
  const r = shape.length;
  if (r < x.shape.length) throw new ShapeError(`expand: target ${shapeStr(shape)} has fewer axes than ${shapeStr(x.shape)}`);
  const target = shape.map((v, i) => {
    const j = i - (r - x.shape.length);
    const own = j >= 0 ? x.shape[j] : 1;
    const t = v === -1 ? own : v;
    if (j >= 0 && own !== 1 && own !== t) throw new ShapeError(`expand: cannot expand ${shapeStr(x.shape)} to ${shapeStr(shape)} (axis ${i}: ${own} → ${t})`);
    if (j < 0 && v === -1) throw new ShapeError(`expand: −1 is not allowed for the new leading axis ${i} in ${shapeStr(shape)}`);
    return t;
  });
  const res = new Tensor(broadcastTo(x.data, x.shape, target), target);
  if (needsGrad(x)) {
    const xShape = x.shape;
    record(res, [x], (g) => [sumToShape(g, target, xShape)]);
  }
  return res;
}

/**
 * Select entries `index` (int32, 1-D) along `dim` (PyTorch `index_select`);
 * repeated indices are allowed and their gradients add up.
 * @throws MuseError when index is not int32; ShapeError when not 1-D; RangeError for an out-of-range index
 */
export function indexSelect(x: Tensor, dim: number, index: Tensor): Tensor {
  const d = normDim(dim, x.shape.length, 'indexSelect');
  if (index.dtype !== 'int32') throw new MuseError('BAD_DTYPE', `indexSelect: index must be int32, got ${index.dtype} (convert with .int())`);
  if (index.shape.length !== 1) throw new ShapeError(`indexSelect: index must be 1-D, got shape ${shapeStr(index.shape)}`);
  const ids = index.data as Int32Array;
  const size = x.shape[d];
  for (let i = 0; i < ids.length; i++) {
    if (ids[i] < 0 || ids[i] >= size) throw new RangeError(`indexSelect: index ${ids[i]} is out of range for axis ${d} of size ${size}`);
  }
  const outer = sizeOf(x.shape.slice(0, d));
  const inner = sizeOf(x.shape.slice(d + 1));
  const n = ids.length;
  const shape = x.shape.map((v, i) => (i === d ? n : v));
  let out: Float32Array | Int32Array;
  if (x.dtype === 'float32') {
    const xd = x.data as Float32Array;
    const o32 = allocF32(sizeOf(shape));
    for (let o = 0; o < outer; o++) be().embedding(xd.subarray(o * size * inner), ids, o32.subarray(o * n * inner), n, inner);
    out = o32;
  } else {
    const oi = new Int32Array(sizeOf(shape));
    for (let o = 0; o < outer; o++) {
      for (let j = 0; j < n; j++) oi.set(x.data.subarray((o * size + ids[j]) * inner, (o * size + ids[j] + 1) * inner), (o * n + j) * inner);
    }
    out = oi;
  }
  const res = new Tensor(out, shape);
  if (needsGrad(x)) {
    const xSize = x.size;
    record(res, [x], (g) => {
      const dx = allocZeroF32(xSize);
      for (let o = 0; o < outer; o++) be().embeddingBackward(g.subarray(o * n * inner), ids, dx.subarray(o * size * inner), n, inner);
      return [dx];
    });
  }
  return res;
}

/** A copy with its own storage; gradients pass through. */
export function clone(x: Tensor): Tensor {
  const res = new Tensor(x.data.slice(), x.shape);
  if (needsGrad(x)) record(res, [x], (g) => [g]);
  return res;
}
