/**
 * A small caching allocator for the float buffers of the backward pass.
 *
 * Allocating fresh typed arrays costs far more than their size suggests: new
 * pages are faulted in and zeroed by the kernel, and V8 frees them only at its
 * next GC (measured here: ~80 MB of fresh Float32Arrays per step cost 40–95 ms
 * of CPU on this 2-core machine). The autograd engine knows exactly when an
 * intermediate gradient is dead (its consumer ran and did not pass it on), so
 * those buffers are recycled through this pool, as PyTorch's caching
 * allocator does. Only the backward pass draws from the pool; forward
 * outputs are user-visible and always freshly allocated.
 */

/** Buffers shorter than this are left to the GC (cheap to allocate). */
const MIN_POOLED = 1024;
/** At most this many floats (128 MiB) are kept for reuse. */
const MAX_POOLED_FLOATS = 32 * 1024 * 1024;

const free = new Map<number, Float32Array[]>();
let pooledFloats = 0;
let active = 0;
let enabled = true;
let poison = false;

/**
 * @internal switch recycling off/on (tests compare both); with `poisonRecycled`
 * every recycled uninitialised buffer is filled with NaN, so a kernel output
 * that is not fully overwritten shows up in the results.
 */
export function setPoolingEnabled(on: boolean, poisonRecycled = false): void {
  enabled = on;
  poison = poisonRecycled;
  if (!on) clearBufferPool();
}

/**
 * A float buffer for a kernel output that the kernel overwrites completely:
 * while a backward pass runs it may be a recycled buffer with stale contents;
 * otherwise it is fresh (zeroed).
 */
export function allocF32(n: number): Float32Array {
  if (active > 0 && enabled && n >= MIN_POOLED) {
    const b = free.get(n)?.pop();
    if (b) {
      pooledFloats -= n;
      return poison ? b.fill(NaN) : b;
    }
  }
  return new Float32Array(n);
}

/** A zero-filled float buffer (for accumulating or scattering kernels); recycled while backward runs. */
export function allocZeroF32(n: number): Float32Array {
  if (active > 0 && enabled && n >= MIN_POOLED) {
    const b = free.get(n)?.pop();
    if (b) {
      pooledFloats -= n;
      return b.fill(0);
    }
  }
  return new Float32Array(n);
}

/** Hand a dead buffer back (only whole, unshared buffers; the caller guarantees nothing references it). */
export function releaseF32(b: Float32Array): void {
  const n = b.length;
  if (!enabled || n < MIN_POOLED || b.byteOffset !== 0 || b.buffer.byteLength !== n * 4) return;
  if (pooledFloats + n > MAX_POOLED_FLOATS) return;
  let list = free.get(n);
  if (!list) {
    list = [];
    free.set(n, list);
  }
  list.push(b);
  pooledFloats += n;
}

/** Run `fn` with pooled allocation on (the backward pass). */
export function withPool<T>(fn: () => T): T {
  active++;
  try {
    return fn();
  } finally {
    active--;
  }
}

/** Drop every cached buffer (memory returns to the GC). @returns the number of floats released */
export function clearBufferPool(): number {
  const n = pooledFloats;
  free.clear();
  pooledFloats = 0;
  return n;
}
