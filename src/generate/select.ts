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

/**
 * Rearrange `idx[0..n)` so that its first `k` entries are the indices with
 * the largest `key[idx[i]]`, sorted in descending key order (the rest in no
 * order). Expected O(n + k log k): Hoare quickselect with median-of-three
 * pivots, then a sort of the prefix. Ties are ordered by ascending index.
 *
 * @param key scores to rank by (higher first)
 * @param idx candidate indices (permuted in place)
 * @param n number of candidates in `idx`
 * @param k how many best candidates to put first (clamped to n)
 * @returns the clamped k
 */
export function selectTopK(key: ArrayLike<number>, idx: Int32Array, n: number, k: number): number {
  if (k > n) k = n;
  if (k <= 0) return 0;
  // "a before b" when a ranks higher: larger key, then smaller index.
  const before = (a: number, b: number): boolean => {
    const ka = key[a];
    const kb = key[b];
    return ka > kb || (ka === kb && a < b);
  };
  if (k < n) {
    let lo = 0;
    let hi = n - 1;
    const target = k - 1; // position that must hold the k-th best
    while (hi > lo) {
      const mid = (lo + hi) >>> 1;
      // median of three into idx[mid]
      if (before(idx[hi], idx[lo])) swap(idx, lo, hi);
      if (before(idx[mid], idx[lo])) swap(idx, lo, mid);
      if (before(idx[hi], idx[mid])) swap(idx, mid, hi);
      const pivot = idx[mid];
      let i = lo;
      let j = hi;
      while (i <= j) {
        while (before(idx[i], pivot)) i++;
        while (before(pivot, idx[j])) j--;
        if (i <= j) {
          swap(idx, i, j);
          i++;
          j--;
        }
      }
      if (target <= j) hi = j;
      else if (target >= i) lo = i;
      else break;
    }
  }
  sortPrefix(idx, k, before);
  return k;
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
