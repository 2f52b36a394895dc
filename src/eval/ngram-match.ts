/**
 * Clipped n-gram matching on integer token sequences, the inner loop of BLEU
 * and chrF. Sequences are arrays of small integer ids; an n-gram is packed
 * into one exact float64 key (base-`radix` digits), so counting is sorting
 * numbers instead of hashing strings. Callers make sure `radix ** n` stays
 * below 2^53, where every key is exact.
 */

/** Largest integer a float64 holds exactly. */
export const MAX_EXACT = 2 ** 53;

/**
 * Writes the packed keys of every n-gram of order `n` of `ids` into `out`
 * (from index 0), sorted ascending; returns how many there are
 * (`max(0, ids.length - n + 1)`).
 */
export function sortedNgramKeys(ids: ArrayLike<number>, len: number, n: number, radix: number, out: Float64Array): number {
  const count = len - n + 1;
  if (count <= 0) return 0;
  for (let i = 0; i < count; i++) {
    let key = 0;
    for (let j = 0; j < n; j++) key = key * radix + ids[i + j];
    out[i] = key;
  }
  sortPrefix(out, count);
  return count;
}

/** Sorts `a[0..count)` ascending: insertion sort for the short runs typical of sentences. */
export function sortPrefix(a: Float64Array, count: number): void {
  if (count > 48) {
    a.subarray(0, count).sort();
    return;
  }
  for (let i = 1; i < count; i++) {
    const v = a[i];
    let j = i - 1;
    while (j >= 0 && a[j] > v) {
      a[j + 1] = a[j];
      j--;
    }
    a[j + 1] = v;
  }
}

/**
 * Σ over distinct keys of min(count in `a`, count in `b`) for two sorted key
 * runs: the clipped match count of BLEU and chrF with one reference.
 */
export function clippedMatches(a: Float64Array, na: number, b: Float64Array, nb: number): number {
  let i = 0;
  let j = 0;
  let matches = 0;
  while (i < na && j < nb) {
    const x = a[i];
    const y = b[j];
    if (x < y) i++;
    else if (y < x) j++;
    else {
      let ca = 0;
      while (i < na && a[i] === x) {
        ca++;
        i++;
      }
      let cb = 0;
      while (j < nb && b[j] === x) {
        cb++;
        j++;
      }
      matches += ca < cb ? ca : cb;
    }
  }
  return matches;
}
