/**
 * BPE training (Sennrich et al. 2016, "Neural Machine Translation of Rare
 * Words with Subword Units", §3.1): repeatedly merge the most frequent
 * adjacent symbol pair over a word-frequency table. Deterministic: ties go to
 * the pair with the smaller ids (as in Hugging Face's `BpeTrainer`), symbol
 * ids are given in alphabet order and then merge order.
 *
 * The loop keeps, per pair, its weighted count and the words it occurs in; a
 * merge rewrites only those words and updates the counts of the neighbouring
 * pairs locally, and a max-heap with lazy invalidation picks the next pair —
 * so a merge costs time proportional to the occurrences it touches, not to
 * the corpus.
 */
import { PairMap } from './pair-map.js';

/** Input of `trainMerges`: unique words as initial symbol ids, with their counts. */
export interface MergeTrainingInput {
  /** Each unique word as symbol ids into `alphabet`. */
  words: Int32Array[];
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
 * Learns merges from a word-frequency table.
 * Time: O(total symbols) to count pairs, then per merge O(occurrences touched · log pairs).
 */
export function trainMerges(input: MergeTrainingInput): MergeTrainingResult {
  const { words, counts } = input;
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
  const pairWords: number[][] = [];
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

  // Initial pair statistics.
  for (let w = 0; w < words.length; w++) {
    const s = words[w];
    const wc = counts[w];
    for (let i = 0; i + 1 < s.length; i++) {
      const p = pairOf(s[i], s[i + 1]);
      pairCount.data[p] += wc;
      if (pairLastWord.data[p] !== w) {
        pairLastWord.data[p] = w;
        pairWords[p].push(w);
      }
    }
  }
  for (let p = 0; p < numPairs; p++) if (pairCount.data[p] > 0) push(pairCount.data[p], p);

  const touched: number[] = [];
  const seenWord = new Int32Array(words.length).fill(-1);
  let out = new Int32Array(64);

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
    for (const w of list) {
      if (seenWord[w] === mergeNo) continue;
      seenWord[w] = mergeNo;
      const s = words[w];
      const len = s.length;
      const wc = counts[w];
      if (out.length < len) out = new Int32Array(len * 2);
      let m = 0;
      let changed = false;
      for (let i = 0; i < len; ) {
        if (i + 1 < len && s[i] === a && s[i + 1] === b) {
          changed = true;
          let p = pairOf(a, b);
          pairCount.data[p] -= wc;
          if (m > 0) {
            // Left neighbour: (s[i-1], a) becomes (out[m-1], new).
            p = pairOf(s[i - 1], a);
            pairCount.data[p] -= wc;
            touched.push(p);
            p = pairOf(out[m - 1], newId);
            pairCount.data[p] += wc;
            touched.push(p);
            if (pairLastWord.data[p] !== w) {
              pairLastWord.data[p] = w;
              pairWords[p].push(w);
            }
          }
          if (i + 2 < len && !(i + 3 < len && s[i + 2] === a && s[i + 3] === b)) {
            // Right neighbour: (b, s[i+2]) becomes (new, s[i+2]); a following occurrence handles its own left side.
            p = pairOf(b, s[i + 2]);
            pairCount.data[p] -= wc;
            touched.push(p);
            p = pairOf(newId, s[i + 2]);
            pairCount.data[p] += wc;
            touched.push(p);
            if (pairLastWord.data[p] !== w) {
              pairLastWord.data[p] = w;
              pairWords[p].push(w);
            }
          }
          out[m++] = newId;
          i += 2;
        } else {
          out[m++] = s[i++];
        }
      }
      if (changed) words[w] = out.slice(0, m);
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
