import { ShapeError } from '../errors.js';

/** `[2, 3]` for messages. */
export function shapeStr(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

/** Number of elements of `shape` (1 for a scalar `[]`). */
export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Row-major contiguous element strides. */
export function stridesOf(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    s[d] = acc;
    acc *= shape[d];
  }
  return s;
}

/**
 * Resolve a possibly negative axis (`-1` = last).
 * @throws ShapeError naming the op when the axis is out of range
 */
export function normDim(dim: number, rank: number, op: string): number {
  if (!Number.isInteger(dim) || dim < -rank || dim >= rank) {
    throw new ShapeError(`${op}: dim ${dim} is out of range for a tensor of rank ${rank} (valid: ${-rank}..${rank - 1})`);
  }
  return dim < 0 ? dim + rank : dim;
}

/**
 * NumPy broadcasting of two shapes (align right; sizes must match or be 1).
 * @throws ShapeError naming the op and both shapes
 */
export function broadcastShapes(a: readonly number[], b: readonly number[], op: string): number[] {
  const r = Math.max(a.length, b.length);
  const out = new Array<number>(r);
  for (let i = 0; i < r; i++) {
    const da = i < r - a.length ? 1 : a[i - (r - a.length)];
    const db = i < r - b.length ? 1 : b[i - (r - b.length)];
    if (da !== db && da !== 1 && db !== 1) {
      throw new ShapeError(`${op}: shapes ${shapeStr(a)} and ${shapeStr(b)} cannot be broadcast together (axis ${i}: ${da} vs ${db})`);
    }
    out[i] = da === 1 ? db : da;
  }
  return out;
}

/** Strides that read a contiguous tensor of `shape` as if it had the (broadcast) shape `outShape`: 0 on broadcast axes. */
export function broadcastStrides(shape: readonly number[], outShape: readonly number[]): number[] {
  const r = outShape.length;
  const own = stridesOf(shape);
  const out = new Array<number>(r).fill(0);
  for (let i = 0; i < shape.length; i++) {
    const o = i + (r - shape.length);
    out[o] = shape[i] === 1 && outShape[o] !== 1 ? 0 : own[i];
  }
  return out;
}

/**
 * Merge adjacent axes that every operand walks contiguously (or all
 * broadcasts), so kernels see the fewest axes: `[B, T, C] + [C]` becomes
 * `[B·T, C] + [C]`. Axes of size 1 are dropped.
 */
export function coalesce(shape: number[], strides: number[][]): { shape: number[]; strides: number[][] } {
  const outShape: number[] = [];
  const outStrides: number[][] = strides.map(() => []);
  for (let d = 0; d < shape.length; d++) {
    if (shape[d] === 1) continue;
    const last = outShape.length - 1;
    if (last >= 0 && strides.every((s, k) => outStrides[k][last] === s[d] * shape[d])) {
      outShape[last] *= shape[d];
      strides.forEach((s, k) => (outStrides[k][last] = s[d]));
    } else {
      outShape.push(shape[d]);
      strides.forEach((s, k) => outStrides[k].push(s[d]));
    }
  }
  if (outShape.length === 0) return { shape: [1], strides: strides.map(() => [0]) };
  return { shape: outShape, strides: outStrides };
}

/** True when two shapes are identical. */
export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
