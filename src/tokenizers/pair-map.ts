/**
 * An open-addressing hash table keyed by a pair of non-negative 32-bit ids,
 * storing two int32 values per entry. BPE merge ranks and trainer pair
 * statistics are looked up in the innermost loops; a `Map` keyed by a combined
 * number would allocate heap numbers for keys above 2^31.
 */
export class PairMap {
  private keysA: Int32Array;
  private keysB: Int32Array;
  private valuesA: Int32Array;
  private valuesB: Int32Array;
  private mask: number;
  private count = 0;

  constructor(expected = 16) {
    let cap = 16;
    while (cap < expected * 2) cap *= 2;
    this.keysA = new Int32Array(cap).fill(-1);
    this.keysB = new Int32Array(cap);
    this.valuesA = new Int32Array(cap);
    this.valuesB = new Int32Array(cap);
    this.mask = cap - 1;
  }

  /** Number of stored pairs. */
  get size(): number {
    return this.count;
  }

  private slot(a: number, b: number): number {
    let h = (Math.imul(a, 0x9e3779b1) ^ Math.imul(b + 0x7f4a7c15, 0x85ebca77)) >>> 0;
    h ^= h >>> 15;
    let i = h & this.mask;
    const ka = this.keysA;
    while (true) {
      const k = ka[i];
      if (k === -1 || (k === a && this.keysB[i] === b)) return i;
      i = (i + 1) & this.mask;
    }
  }

  /** Slot index of the pair, or -1 if absent; read values with `valueA`/`valueB`. */
  find(a: number, b: number): number {
    const i = this.slot(a, b);
    return this.keysA[i] === -1 ? -1 : i;
  }

  valueA(slot: number): number {
    return this.valuesA[slot];
  }

  valueB(slot: number): number {
    return this.valuesB[slot];
  }

  /** Inserts or overwrites the pair's values. */
  set(a: number, b: number, va: number, vb: number): void {
    let i = this.slot(a, b);
    if (this.keysA[i] === -1) {
      if ((this.count + 1) * 2 > this.mask + 1) {
        this.grow();
        i = this.slot(a, b);
      }
      this.keysA[i] = a;
      this.keysB[i] = b;
      this.count++;
    }
    this.valuesA[i] = va;
    this.valuesB[i] = vb;
  }

  private grow(): void {
    const { keysA, keysB, valuesA, valuesB } = this;
    const cap = (this.mask + 1) * 2;
    this.keysA = new Int32Array(cap).fill(-1);
    this.keysB = new Int32Array(cap);
    this.valuesA = new Int32Array(cap);
    this.valuesB = new Int32Array(cap);
    this.mask = cap - 1;
    for (let i = 0; i < keysA.length; i++) {
      if (keysA[i] === -1) continue;
      const j = this.slot(keysA[i], keysB[i]);
      this.keysA[j] = keysA[i];
      this.keysB[j] = keysB[i];
      this.valuesA[j] = valuesA[i];
      this.valuesB[j] = valuesB[i];
    }
  }
}
