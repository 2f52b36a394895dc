/**
 * BPE training (Sennrich et al. 2016, "Neural Machine Translation of Rare
 * Words with Subword Units", §3.1): repeatedly merge the most frequent
 * adjacent symbol pair over a word-frequency table. Deterministic: ties go to
 * the pair with the smaller ids (as in Hugging Face's `BpeTrainer`), symbol
 * ids are given in alphabet order and then merge order.
 *
 * The loop keeps, per pair, its weighted count and the words it occurs in; a
 * merge rewrites only those words (in place) and updates the counts of the
 * neighbouring pairs locally, and a max-heap with lazy invalidation picks the
 * next pair — so a merge costs time proportional to the occurrences it
 * touches, not to the corpus. Words live in one flat buffer and the initial
 * word lists in one compressed array, to keep the garbage collector idle.
 */
import { PairMap } from './pair-map.js';

/** Input of `trainMerges`: unique words as initial symbol ids, with their counts. */
export interface MergeTrainingInput {
  /** All words' symbol ids (into `alphabet`), concatenated. */
  symbols: Int32Array;
  /** Word w is `symbols[wordStarts[w], wordStarts[w + 1])`; length = words + 1. */
  wordStarts: Int32Array;
  /** Frequency of each word. */
  counts: ArrayLike<number>;
  /** Initial symbols; symbol id i is `alphabet[i]`. */
  alphabet: readonly string[];
  /** String of the token that merging `a` and `b` creates (e.g. `a + b`, or dropping a `##` prefix of `b`). */
  joinSymbols: (a: string, b: string) => string;
  /** Stop when this many symbols exist (alphabet included). */
  maxSymbols: number;
  /** Stop when the best pair occurs fewer times than this. */
  minFrequency: number;
  /** Called every 1,000 merges with the number of symbols so far. */
  onProgress?: (symbols: number) => void;
}

/** Result of `trainMerges`: every symbol (alphabet first, then merge products) and the merges in order. */
export interface MergeTrainingResult {
  symbols: string[];
  merges: [string, string][];
}

/** Collects words as initial symbol ids into the flat layout `trainMerges` takes. */
export class WordTable {
  private data = new Int32Array(1 << 16);
  private size = 0;
  private readonly starts: number[] = [0];
  readonly counts: number[] = [];

  /** Adds a word of `n` symbols, `symbolAt(i)` giving each, seen `count` times. */
  add(n: number, symbolAt: (i: number) => number, count: number): void {
    if (this.size + n > this.data.length) {
      let cap = this.data.length;
      while (cap < this.size + n) cap *= 2;
      const d = new Int32Array(cap);
      d.set(this.data.subarray(0, this.size));
      this.data = d;
    }
    for (let i = 0; i < n; i++) this.data[this.size + i] = symbolAt(i);
    this.size += n;
    this.starts.push(this.size);
    this.counts.push(count);
  }

  get symbols(): Int32Array {
    return this.data.subarray(0, this.size);
  }

  get wordStarts(): Int32Array {
    return Int32Array.from(this.starts);
  }
}

class GrowInt {
  data: Int32Array;
  constructor(n: number) {
    this.data = new Int32Array(n);
  }
  ensure(n: number): void {
    if (n <= this.data.length) return;
    let cap = this.data.length;
    while (cap < n) cap *= 2;
    const d = new Int32Array(cap);
    d.set(this.data);
    this.data = d;
  }
}

class GrowFloat {
  data: Float64Array;
  constructor(n: number) {
    this.data = new Float64Array(n);
  }
  ensure(n: number): void {
    if (n <= this.data.length) return;
    let cap = this.data.length;
    while (cap < n) cap *= 2;
    const d = new Float64Array(cap);
    d.set(this.data);
    this.data = d;
  }
}

/**
 * Learns merges from a word-frequency table. `input.symbols` is rewritten in place.
 * Time: O(total symbols) to count pairs, then per merge O(occurrences touched · log pairs).
 */
export function trainMerges(input: MergeTrainingInput): MergeTrainingResult {
  const { counts, wordStarts } = input;
  const data = input.symbols;
  const numWords = wordStarts.length - 1;
  const symbols = [...input.alphabet];
  const symbolIds = new Map<string, number>();
  symbols.forEach((s, i) => symbolIds.set(s, i));
  const merges: [string, string][] = [];

  // Pair registry: pair (a, b) → pair index p, with count, words, heap bookkeeping.
  const index = new PairMap(1 << 16);
  const pairA = new GrowInt(1 << 16);
  const pairB = new GrowInt(1 << 16);
  const pairCount = new GrowFloat(1 << 16);
  const pairQueued = new GrowFloat(1 << 16);
  const pairLastWord = new GrowInt(1 << 16);
  const pairWords: (number[] | Int32Array)[] = [];
  let numPairs = 0;

  const pairOf = (a: number, b: number): number => {
    const s = index.find(a, b);
    if (s >= 0) return index.valueA(s);
    const p = numPairs++;
    pairA.ensure(numPairs);
    pairB.ensure(numPairs);
    pairCount.ensure(numPairs);
    pairQueued.ensure(numPairs);
    pairLastWord.ensure(numPairs);
    pairA.data[p] = a;
    pairB.data[p] = b;
    pairCount.data[p] = 0;
    pairQueued.data[p] = 0;
    pairLastWord.data[p] = -1;
    pairWords.push([]);
    index.set(a, b, p, 0);
    return p;
  };

  // Heap of (count, pair); larger count first, then smaller (a, b).
  let heapCount = new Float64Array(1 << 16);
  let heapPair = new Int32Array(1 << 16);
  let heapSize = 0;
  const better = (c1: number, p1: number, c2: number, p2: number): boolean => {
    if (c1 !== c2) return c1 > c2;
    const a1 = pairA.data[p1];
    const a2 = pairA.data[p2];
    if (a1 !== a2) return a1 < a2;
    return pairB.data[p1] < pairB.data[p2];
  };
  const push = (c: number, p: number): void => {
    if (heapSize >= heapCount.length) {
      const hc = new Float64Array(heapCount.length * 2);
      hc.set(heapCount);
      heapCount = hc;
      const hp = new Int32Array(heapPair.length * 2);
      hp.set(heapPair);
      heapPair = hp;
    }
    let i = heapSize++;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!better(c, p, heapCount[parent], heapPair[parent])) break;
      heapCount[i] = heapCount[parent];
      heapPair[i] = heapPair[parent];
      i = parent;
    }
    heapCount[i] = c;
    heapPair[i] = p;
    pairQueued.data[p] = c;
  };
  const pop = (): void => {
    const last = --heapSize;
    const c = heapCount[last];
    const p = heapPair[last];
    let i = 0;
    while (true) {
      let k = 2 * i + 1;
      if (k >= last) break;
      if (k + 1 < last && better(heapCount[k + 1], heapPair[k + 1], heapCount[k], heapPair[k])) k++;
      if (!better(heapCount[k], heapPair[k], c, p)) break;
      heapCount[i] = heapCount[k];
      heapPair[i] = heapPair[k];
      i = k;
    }
    heapCount[i] = c;
    heapPair[i] = p;
  };

  // Initial pair statistics; each pair's word list is a slice of one compressed array.
  const wordLen = new Int32Array(numWords);
  const distinctWords = new GrowInt(1 << 16);
  for (let w = 0; w < numWords; w++) {
    const start = wordStarts[w];
    const end = wordStarts[w + 1];
    wordLen[w] = end - start;
    const wc = counts[w];
    for (let i = start; i + 1 < end; i++) {
      const p = pairOf(data[i], data[i + 1]);
      pairCount.data[p] += wc;
      if (pairLastWord.data[p] !== w) {
        pairLastWord.data[p] = w;
        distinctWords.ensure(numPairs);
        distinctWords.data[p]++;
      }
    }
  }
  const listStart = new Int32Array(numPairs + 1);
  for (let p = 0; p < numPairs; p++) listStart[p + 1] = listStart[p] + distinctWords.data[p];
  const lists = new Int32Array(listStart[numPairs]);
  const fill = listStart.slice(0, numPairs);
  for (let p = 0; p < numPairs; p++) pairLastWord.data[p] = -1;
  for (let w = 0; w < numWords; w++) {
    for (let i = wordStarts[w]; i + 1 < wordStarts[w + 1]; i++) {
      const p = index.valueA(index.find(data[i], data[i + 1]));
      if (pairLastWord.data[p] !== w) {
        pairLastWord.data[p] = w;
        lists[fill[p]++] = w;
      }
    }
  }
  for (let p = 0; p < numPairs; p++) pairWords[p] = lists.subarray(listStart[p], listStart[p + 1]);
  for (let p = 0; p < numPairs; p++) if (pairCount.data[p] > 0) push(pairCount.data[p], p);

  const touched: number[] = [];
  const seenWord = new Int32Array(numWords).fill(-1);

  while (symbols.length < input.maxSymbols && heapSize > 0) {
    const c = heapCount[0];
    const best = heapPair[0];
    pop();
    if (c !== pairCount.data[best]) continue; // stale entry
    if (c <= 0 || c < input.minFrequency) break;
    const a = pairA.data[best];
    const b = pairB.data[best];
    const joined = input.joinSymbols(symbols[a], symbols[b]);
    let n = symbolIds.get(joined);
    if (n === undefined) {
      n = symbols.length;
      symbols.push(joined);
      symbolIds.set(joined, n);
    }
    merges.push([symbols[a], symbols[b]]);
    const newId = n;
    const mergeNo = merges.length;

    const list = pairWords[best];
    pairWords[best] = [];
    touched.length = 0;
    for (let k = 0; k < list.length; k++) {
      const w = list[k];
      if (seenWord[w] === mergeNo) continue;
      seenWord[w] = mergeNo;
      const base = wordStarts[w];
      const len = wordLen[w];
      const wc = counts[w];
      // Rewrite in place: the write position m never passes the read position i, and
      // data[i - 1] is still the original symbol whenever an earlier merge moved m behind i.
      let m = 0;
      for (let i = 0; i < len; ) {
        const x = data[base + i];
        if (i + 1 < len && x === a && data[base + i + 1] === b) {
          let p = pairOf(a, b);
          pairCount.data[p] -= wc;
          if (m > 0) {
            // Left neighbour: (data[i-1], a) becomes (data[m-1], new).
            p = pairOf(data[base + i - 1], a);
            pairCount.data[p] -= wc;
            touched.push(p);
            p = pairOf(data[base + m - 1], newId);
            pairCount.data[p] += wc;
            touched.push(p);
            if (pairLastWord.data[p] !== w) {
              pairLastWord.data[p] = w;
              (pairWords[p] as number[]).push(w);
            }
          }
          if (i + 2 < len && !(i + 3 < len && data[base + i + 2] === a && data[base + i + 3] === b)) {
            // Right neighbour: (b, data[i+2]) becomes (new, data[i+2]); a following occurrence handles its own left side.
            const right = data[base + i + 2];
            p = pairOf(b, right);
            pairCount.data[p] -= wc;
            touched.push(p);
            p = pairOf(newId, right);
            pairCount.data[p] += wc;
            touched.push(p);
            if (pairLastWord.data[p] !== w) {
              pairLastWord.data[p] = w;
              (pairWords[p] as number[]).push(w);
            }
          }
          data[base + m++] = newId;
          i += 2;
        } else {
          data[base + m++] = x;
          i++;
        }
      }
      wordLen[w] = m;
    }
    pairCount.data[best] = 0;
    for (const p of touched) {
      const cnt = pairCount.data[p];
      if (cnt > 0 && cnt !== pairQueued.data[p]) push(cnt, p);
    }
    if (input.onProgress && merges.length % 1000 === 0) input.onProgress(symbols.length);
  }
  return { symbols, merges };
}
