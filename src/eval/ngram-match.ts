/**
 * Clipped n-gram matching on integer sequences, the inner loop of BLEU,
 * chrF and ROUGE-N. Sequences hold dense ids in [0, alphabet) (see
 * `LocalIds`). The n-grams of order n get dense ids too, built from those of
 * order n − 1: id(n-gram at i) = intern(id_{n−1}(i) · alphabet + s[i+n−1]),
 * with a direct-address table, so counting is array indexing — no strings,
 * no hashing, no sorting — and exact for any length.
 */

/** Reusable state for {@link NgramMatcher.match}. */
export class NgramMatcher {
  private table = new Int32Array(4096);
  private stamp = new Int32Array(4096);
  private epoch = 0;
  private work: Int32Array[] = [];
  private hypCnt = new Int32Array(256);
  private refMax = new Int32Array(256);
  private tmp = new Int32Array(256);
  private readonly map = new Map<number, number>();

  private buf(k: number, len: number): Int32Array {
    if (!this.work[k] || this.work[k].length < len) this.work[k] = new Int32Array(Math.max(64, 2 * len));
    return this.work[k];
  }

  private ensureCounts(d: number): void {
    if (this.hypCnt.length < d) {
      const size = Math.max(256, 2 * d);
      this.hypCnt = new Int32Array(size);
      this.refMax = new Int32Array(size);
      this.tmp = new Int32Array(size);
    }
  }

  /**
   * Clipped matches of `seqs[0]` (the hypothesis) against the others (the
   * references) for orders 1…maxOrder: Σ over distinct hypothesis n-grams of
   * min(count in hypothesis, max count in any one reference). Writes order n
   * to `out[outAt + (n − 1) · outStride]`.
   *
   * @param seqs `[hyp, ref₁, …]`, dense ids in [0, alphabet)
   * @param lens their lengths
   */
  match(
    seqs: readonly ArrayLike<number>[],
    lens: readonly number[],
    alphabet: number,
    maxOrder: number,
    out: Float64Array | number[],
    outAt = 0,
    outStride = 1,
  ): void {
    const m = seqs.length;
    let total = 0;
    for (let k = 0; k < m; k++) {
      const w = this.buf(k, lens[k]);
      const s = seqs[k];
      for (let i = 0; i < lens[k]; i++) w[i] = s[i];
      total += lens[k];
    }
    this.ensureCounts(Math.max(total, alphabet) + 1);
    let distinct = alphabet; // ids of order 1 are the symbols themselves
    for (let n = 1; n <= maxOrder; n++) {
      const hypLen = lens[0] - n + 1;
      let any = hypLen > 0;
      if (n > 1) {
        // re-id n-grams of order n from order n − 1, in place
        distinct = this.extend(lens, n, alphabet, distinct, seqs);
      }
      let refAny = false;
      for (let k = 1; k < m; k++) if (lens[k] - n + 1 > 0) refAny = true;
      any = any && refAny;
      if (!any) {
        out[outAt + (n - 1) * outStride] = 0;
        continue;
      }
      const hc = this.hypCnt;
      const rm = this.refMax;
      hc.fill(0, 0, distinct);
      rm.fill(0, 0, distinct);
      const h = this.work[0];
      for (let i = 0; i < hypLen; i++) hc[h[i]]++;
      if (m === 2) {
        const r = this.work[1];
        const rl = lens[1] - n + 1;
        for (let i = 0; i < rl; i++) rm[r[i]]++;
      } else {
        const t = this.tmp;
        for (let k = 1; k < m; k++) {
          const r = this.work[k];
          const rl = lens[k] - n + 1;
          for (let i = 0; i < rl; i++) t[r[i]] = 0;
          for (let i = 0; i < rl; i++) t[r[i]]++;
          for (let i = 0; i < rl; i++) if (t[r[i]] > rm[r[i]]) rm[r[i]] = t[r[i]];
        }
      }
      let matches = 0;
      for (let i = 0; i < hypLen; i++) {
        const id = h[i];
        const c = hc[id];
        if (c > 0) {
          matches += c < rm[id] ? c : rm[id];
          hc[id] = 0; // count each distinct n-gram once
        }
      }
      out[outAt + (n - 1) * outStride] = matches;
    }
  }

  /** Replaces the order n − 1 ids in the work buffers by order n ids; returns the number of distinct ids. */
  private extend(lens: readonly number[], n: number, alphabet: number, prevDistinct: number, seqs: readonly ArrayLike<number>[]): number {
    const need = prevDistinct * alphabet;
    let next = 0;
    if (need <= 1 << 24) {
      if (this.table.length < need) {
        let size = this.table.length;
        while (size < need) size *= 2;
        this.table = new Int32Array(size);
        this.stamp = new Int32Array(size);
        this.epoch = 0;
      }
      const epoch = ++this.epoch;
      if (epoch === 0x7fffffff) {
        this.stamp.fill(0);
        this.epoch = 1;
      }
      const table = this.table;
      const stamp = this.stamp;
      for (let k = 0; k < lens.length; k++) {
        const w = this.work[k];
        const s = seqs[k];
        const count = lens[k] - n + 1;
        for (let i = 0; i < count; i++) {
          const key = w[i] * alphabet + s[i + n - 1];
          if (stamp[key] !== this.epoch) {
            stamp[key] = this.epoch;
            table[key] = next++;
          }
          w[i] = table[key];
        }
      }
    } else {
      // enormous segments: a hash map instead of the direct table
      const map = this.map;
      map.clear();
      for (let k = 0; k < lens.length; k++) {
        const w = this.work[k];
        const s = seqs[k];
        const count = lens[k] - n + 1;
        for (let i = 0; i < count; i++) {
          const key = w[i] * alphabet + s[i + n - 1];
          let id = map.get(key);
          if (id === undefined) {
            id = next++;
            map.set(key, id);
          }
          w[i] = id;
        }
      }
    }
    return next;
  }
}
