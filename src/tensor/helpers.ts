import { getBackend } from '../backend/index.js';
import type { Backend } from '../backend/backend.js';
import { broadcastStrides, coalesce, sameShape, sizeOf } from './shape.js';
import { allocF32 } from './pool.js';

/** The active backend (resolved on every call so `setBackend` takes effect at once). */
export function be(): Backend {
  return getBackend();
}

/**
 * Sum `g` (contiguous, shape `gShape`) down to `target`, the shape of an
 * operand that was broadcast to `gShape`: one backend reduce per run of
 * broadcast axes. Returns `g` itself when nothing was broadcast.
 */
export function sumToShape(g: Float32Array, gShape: readonly number[], target: readonly number[]): Float32Array {
  if (sameShape(gShape, target)) return g;
  const r = gShape.length;
  const t = [...new Array<number>(r - target.length).fill(1), ...target];
  const cur = [...gShape];
  let buf = g;
  let d = 0;
  while (d < r) {
    if (!(t[d] === 1 && cur[d] !== 1)) {
      d++;
      continue;
    }
    let e = d;
    while (e < r && t[e] === 1) e++;
    const outer = sizeOf(cur.slice(0, d));
    const dim = sizeOf(cur.slice(d, e));
    const inner = sizeOf(cur.slice(e));
    const out = allocF32(outer * inner);
    be().reduce('sum', buf, out, outer, dim, inner);
    buf = out;
    for (let i = d; i < e; i++) cur[i] = 1;
    d = e;
  }
  return buf === g ? g.slice() : buf;
}

/** Materialise a contiguous tensor of `shape` broadcast to `outShape` (a copy). */
export function broadcastTo<T extends Float32Array | Int32Array>(data: T, shape: readonly number[], outShape: readonly number[]): T {
  const out = (data instanceof Int32Array ? new Int32Array(sizeOf(outShape)) : allocF32(sizeOf(outShape))) as T;
  if (sameShape(shape, outShape)) {
    out.set(data);
    return out;
  }
  const c = coalesce([...outShape], [broadcastStrides(shape, outShape)]);
  be().copyStrided(data, 0, c.strides[0], c.shape, out);
  return out;
}

/** `out = a ⊙ s` for a scalar `s` (fresh buffer), through the backend. */
export function scaled(a: Float32Array, s: number): Float32Array {
  const out = allocF32(a.length);
  if (a.length) be().binary('mul', a, [1], new Float32Array([s]), [0], out, [a.length]);
  return out;
}

/** `out = a ⊙ b` for equal-length contiguous buffers (fresh buffer). */
export function mulBuf(a: Float32Array, b: Float32Array): Float32Array {
  const out = allocF32(a.length);
  if (a.length) be().binary('mul', a, [1], b, [1], out, [a.length]);
  return out;
}
