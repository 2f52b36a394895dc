/**
 * Token interning for the counting metrics: strings become integer ids once
 * per corpus, and each segment's ids are renumbered densely (0, 1, 2, … in
 * order of first appearance) so n-gram keys packed in base "number of
 * distinct tokens in the segment" stay exact in a float64.
 */

/** Interns strings to consecutive integer ids. */
export class Vocab {
  private readonly ids = new Map<string, number>();

  /** Number of distinct strings seen. */
  get size(): number {
    return this.ids.size;
  }

  /** The id of `token`, assigning the next free one on first sight. */
  id(token: string): number {
    let id = this.ids.get(token);
    if (id === undefined) {
      id = this.ids.size;
      this.ids.set(token, id);
    }
    return id;
  }

  /** Ids of a token sequence. */
  encode(tokens: readonly string[]): Int32Array {
    const out = new Int32Array(tokens.length);
    for (let i = 0; i < tokens.length; i++) out[i] = this.id(tokens[i]);
    return out;
  }
}

/**
 * Renumbers ids densely per segment without clearing memory between
 * segments (a generation stamp marks which entries are current).
 */
export class LocalIds {
  private stamp: Int32Array;
  private local: Int32Array;
  private epoch = 0;
  /** Distinct ids seen since the last {@link begin}. */
  distinct = 0;

  constructor(capacity = 1024) {
    this.stamp = new Int32Array(capacity);
    this.local = new Int32Array(capacity);
  }

  /** Starts a new segment; `maxId` is the largest id it will contain. */
  begin(maxId: number): void {
    if (maxId >= this.stamp.length) {
      let cap = this.stamp.length;
      while (cap <= maxId) cap *= 2;
      const stamp = new Int32Array(cap);
      stamp.set(this.stamp);
      this.stamp = stamp;
      const local = new Int32Array(cap);
      local.set(this.local);
      this.local = local;
    }
    this.epoch++;
    this.distinct = 0;
  }

  /** Writes the dense ids of `ids[0..len)` into `out`. */
  map(ids: ArrayLike<number>, len: number, out: Int32Array): void {
    const stamp = this.stamp;
    const local = this.local;
    const epoch = this.epoch;
    for (let i = 0; i < len; i++) {
      const id = ids[i];
      if (stamp[id] !== epoch) {
        stamp[id] = epoch;
        local[id] = this.distinct++;
      }
      out[i] = local[id];
    }
  }
}
