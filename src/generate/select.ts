/**
 * Selection helpers on flat score rows: argmax, log-sum-exp and partial
 * selection (quickselect) of the best candidates without a full sort, so a
 * decoding step stays O(vocab).
 */

/** Index of the largest value; the first one on ties (as `torch.argmax`); NaN is never chosen. */
export function argmax(x: ArrayLike<number>, n = x.length): number {
  let best = -1;
  let bestV = -Infinity;
  for (let i = 0; i < n; i++) {
    const v = x[i];
    if (v > bestV || (best < 0 && v === -Infinity)) {
      best = i;
      bestV = v;
    }
  }
  return best < 0 ? 0 : best;
}

/** log Σ exp(x[i]) over the first n values, stable (max-shifted); -Infinity when all are -Infinity. */
export function logSumExp(x: ArrayLike<number>, n = x.length): number {
  let m = -Infinity;
  for (let i = 0; i < n; i++) if (x[i] > m) m = x[i];
  if (m === -Infinity) return -Infinity;
  if (m === Infinity) return Infinity;
  let s = 0;
  for (let i = 0; i < n; i++) s += Math.exp(x[i] - m);
  return m + Math.log(s);
}

/** Deterministic pivot choice (xorshift32), independent of the sampling generator. */
let pivotState = 0x9e3779b9;
function randomIn(lo: number, hi: number): number {
  let x = pivotState;
  x ^= x << 13;
  x ^= x >>> 17;
  x ^= x << 5;
  pivotState = x >>> 0;
  return lo + (pivotState % (hi - lo + 1));
}

/**
 * Rearrange `idx[0..n)` so that its first `k` entries are the indices with
 * the largest `key[idx[i]]` ("a ranks before b" when its key is larger, ties
 * by smaller index). For k ≤ 256 a k-entry heap kept in `idx[0..k)` scans
 * the rest with one comparison per rejected candidate (O(n + m log k) for m
 * replacements); for larger k, quickselect with random pivots (expected
 * O(n)). Structured score rows (periodic values, long runs of ties) cannot
 * make either path quadratic.
 *
 * @param key scores to rank by (higher first)
 * @param idx candidate indices (permuted in place)
 * @param n number of candidates in `idx`
 * @param k how many best candidates to put first (clamped to n)
 * @param sorted sort the first k in descending order (default); otherwise
 *   they are in no particular order
 * @returns the clamped k
 */
export function selectTopK(key: ArrayLike<number>, idx: Int32Array, n: number, k: number, sorted = true): number {
  if (k > n) k = n;
  if (k <= 0) return 0;
  const before = (a: number, b: number): boolean => {
    const ka = key[a];
    const kb = key[b];
    return ka > kb || (ka === kb && a < b);
  };
  if (k < n) {
    if (k <= 256) {
      // Min-heap (root = worst kept) over idx[0..k).
      for (let i = (k >> 1) - 1; i >= 0; i--) siftDown(idx, i, k, before);
      for (let j = k; j < n; j++) {
        const c = idx[j];
        if (before(c, idx[0])) {
          idx[j] = idx[0];
          idx[0] = c;
          siftDown(idx, 0, k, before);
        }
      }
    } else {
      let lo = 0;
      let hi = n - 1;
      const target = k - 1;
      while (hi > lo) {
        swap(idx, randomIn(lo, hi), hi);
        const pivot = idx[hi];
        let store = lo;
        for (let i = lo; i < hi; i++) {
          if (before(idx[i], pivot)) swap(idx, i, store++);
        }
        swap(idx, store, hi);
        if (store === target) break;
        if (store > target) hi = store - 1;
        else lo = store + 1;
      }
    }
  }
  if (sorted) sortPrefix(idx, k, before);
  return k;
}

/** Restore the heap property below `i` in a heap whose root is the element ranked last. */
function siftDown(h: Int32Array, i: number, size: number, before: (a: number, b: number) => boolean): void {
  for (;;) {
    const l = 2 * i + 1;
    if (l >= size) return;
    const r = l + 1;
    // the child ranked later (worse) goes up
    const c = r < size && before(h[l], h[r]) ? r : l;
    if (!before(h[i], h[c])) return;
    swap(h, i, c);
    i = c;
  }
}

function swap(a: Int32Array, i: number, j: number): void {
  const t = a[i];
  a[i] = a[j];
  a[j] = t;
}

/** Sort idx[0..k) by `before`: insertion sort for short prefixes, else a typed-array sort by rank. */
function sortPrefix(idx: Int32Array, k: number, before: (a: number, b: number) => boolean): void {
  if (k <= 32) {
    for (let i = 1; i < k; i++) {
      const v = idx[i];
      let j = i - 1;
      while (j >= 0 && before(v, idx[j])) {
        idx[j + 1] = idx[j];
        j--;
      }
      idx[j + 1] = v;
    }
    return;
  }
  const part = idx.subarray(0, k);
  part.sort((a, b) => (before(a, b) ? -1 : before(b, a) ? 1 : 0));
}

/** Fill idx[0..n) with 0..n-1. */
export function iota(idx: Int32Array, n: number): void {
  for (let i = 0; i < n; i++) idx[i] = i;
}

/**
 * Mass selection, the quickselect analogue for "smallest prefix (in
 * descending `key` order, ties by ascending index) whose `prob` sum reaches
 * `mass`": rearranges `idx[0..n)` so that the crossing element — the first
 * one at which the running sum is ≥ mass — sits at the returned position c
 * and every element ranked before it sits in `idx[0..c)` (in no order).
 * Expected O(n): each round partitions around a pivot and keeps only the
 * side that holds the crossing point.
 *
 * @returns c, or -1 when the total mass stays below `mass` (rounding)
 */
export function massSelect(key: ArrayLike<number>, prob: ArrayLike<number>, idx: Int32Array, n: number, mass: number): number {
  const before = (a: number, b: number): boolean => {
    const ka = key[a];
    const kb = key[b];
    return ka > kb || (ka === kb && a < b);
  };
  let lo = 0;
  let hi = n; // the crossing element is in idx[lo..hi)
  let need = mass; // mass still to accumulate from idx[lo..)
  while (hi - lo > 16) {
    // Lomuto partition around a random pivot: everything ranked before it moves to the front of the range.
    swap(idx, randomIn(lo, hi - 1), hi - 1);
    const pivot = idx[hi - 1];
    let store = lo;
    let m = 0;
    for (let i = lo; i < hi - 1; i++) {
      const e = idx[i];
      if (before(e, pivot)) {
        m += prob[e];
        idx[i] = idx[store];
        idx[store++] = e;
      }
    }
    swap(idx, store, hi - 1); // pivot at `store`
    if (m >= need) {
      hi = store;
    } else if (m + prob[pivot] >= need) {
      return store;
    } else {
      need -= m + prob[pivot];
      lo = store + 1;
    }
  }
  sortPrefixRange(idx, lo, hi, before);
  for (let i = lo; i < hi; i++) {
    need -= prob[idx[i]];
    if (need <= 0) return i;
  }
  return -1;
}

function sortPrefixRange(idx: Int32Array, lo: number, hi: number, before: (a: number, b: number) => boolean): void {
  for (let i = lo + 1; i < hi; i++) {
    const v = idx[i];
    let j = i - 1;
    while (j >= lo && before(v, idx[j])) {
      idx[j + 1] = idx[j];
      j--;
    }
    idx[j + 1] = v;
  }
}
