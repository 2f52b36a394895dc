/**
 * The BPE model: a vocabulary, an ordered merge list, and the merge loop that
 * turns a word's initial symbols into tokens. The loop is the one of Hugging
 * Face tokenizers' `Word::merge_all`: a min-heap of candidate merges ordered by
 * (rank, position), a doubly linked list of live symbols, and stale heap
 * entries skipped when the pair at their position has changed — so the
 * result equals the Rust library's on every merge list, including
 * overlapping runs such as `aaaa`.
 */
import { FileFormatError } from '../errors.js';
import { PairMap } from './pair-map.js';

/** Largest position that fits in the heap key `rank * 2^31 + pos`. */
const POS_SCALE = 2 ** 31;

// Scratch buffers reused across calls (single-threaded JS): symbol ids, links, heap.
let symId = new Int32Array(256);
let symPrev = new Int32Array(256);
let symNext = new Int32Array(256);
let symAlive = new Uint8Array(256);
let heapKey = new Float64Array(512);
let heapNew = new Int32Array(512);

function ensureScratch(n: number): void {
  if (symId.length >= n) return;
  let cap = symId.length;
  while (cap < n) cap *= 2;
  symId = new Int32Array(cap);
  symPrev = new Int32Array(cap);
  symNext = new Int32Array(cap);
  symAlive = new Uint8Array(cap);
}

/** Options of a BPE model (the `model` object of a `tokenizer.json` with `type: "BPE"`). */
export interface BPEModelOptions {
  /** Token substituted for a symbol missing from the vocabulary; `null` drops such symbols, as the Rust library does. */
  unkToken?: string | null;
  /** Whether consecutive unknown symbols fuse into one unknown token. */
  fuseUnk?: boolean;
  /** Where the vocabulary and merges came from, for error messages. */
  source?: string;
  /** 1-based line number of each merge in its file, for error messages. */
  mergeLines?: readonly number[];
}

/**
 * A byte-pair-encoding model (Sennrich et al. 2016; GPT-2's ranks-based
 * variant): vocabulary `token → id` and merges in priority order.
 */
export class BPEModel {
  readonly vocab: ReadonlyMap<string, number>;
  /** Token string of each id (holes are `undefined`). */
  readonly idToToken: readonly (string | undefined)[];
  readonly merges: readonly (readonly [string, string])[];
  readonly unkToken: string | null;
  readonly unkId: number;
  readonly fuseUnk: boolean;
  private readonly ranks: PairMap;

  /**
   * @throws FileFormatError when a merge names a token, or produces a token, that is not in the vocabulary
   */
  constructor(vocab: ReadonlyMap<string, number>, merges: readonly (readonly [string, string])[], options: BPEModelOptions = {}) {
    this.vocab = vocab;
    const idToToken: (string | undefined)[] = [];
    for (const [tok, id] of vocab) idToToken[id] = tok;
    this.idToToken = idToToken;
    this.merges = merges;
    this.unkToken = options.unkToken ?? null;
    this.unkId = this.unkToken !== null ? vocab.get(this.unkToken) ?? -1 : -1;
    this.fuseUnk = options.fuseUnk ?? false;
    this.ranks = new PairMap(merges.length);
    const where = (k: number): string => {
      const line = options.mergeLines ? `line ${options.mergeLines[k]}` : `merge #${k}`;
      return `${options.source ?? 'merges'} ${line} ("${merges[k][0]} ${merges[k][1]}")`;
    };
    for (let k = 0; k < merges.length; k++) {
      const [a, b] = merges[k];
      const ia = vocab.get(a);
      const ib = vocab.get(b);
      const im = vocab.get(a + b);
      if (ia === undefined || ib === undefined || im === undefined) {
        const missing = ia === undefined ? a : ib === undefined ? b : a + b;
        throw new FileFormatError(
          `${where(k)}: token "${missing}" is not in the vocabulary; the vocabulary and merges files do not belong together`,
        );
      }
      this.ranks.set(ia, ib, k, im);
    }
  }

  /** Number of ids the vocabulary spans (largest id + 1). */
  get size(): number {
    return this.idToToken.length;
  }

  /**
   * Applies the merges to one word's initial symbol ids `symbols[0, n)` and
   * returns the final token ids. Unknown symbols (id -1) become `unkId`
   * (fused when `fuseUnk`), or are dropped when there is no unknown token.
   */
  mergeSymbols(symbols: ArrayLike<number>, n: number): number[] {
    ensureScratch(n);
    let m = 0;
    for (let i = 0; i < n; i++) {
      let id = symbols[i];
      if (id < 0) {
        if (this.unkId < 0) continue;
        if (this.fuseUnk && m > 0 && symId[m - 1] === this.unkId) continue;
        id = this.unkId;
      }
      symId[m++] = id;
    }
    if (m === 0) return [];
    if (m === 1) return [symId[0]];
    for (let i = 0; i < m; i++) {
      symPrev[i] = i - 1;
      symNext[i] = i + 1 < m ? i + 1 : -1;
      symAlive[i] = 1;
    }
    // Build the heap of initial candidate merges.
    if (heapKey.length < m) {
      heapKey = new Float64Array(m * 2);
      heapNew = new Int32Array(m * 2);
    }
    const ranks = this.ranks;
    let size = 0;
    for (let i = 0; i + 1 < m; i++) {
      const s = ranks.find(symId[i], symId[i + 1]);
      if (s >= 0) size = heapPush(size, ranks.valueA(s) * POS_SCALE + i, ranks.valueB(s));
    }
    while (size > 0) {
      const key = heapKey[0];
      const newId = heapNew[0];
      size = heapPop(size);
      const rank = Math.floor(key / POS_SCALE);
      const pos = key - rank * POS_SCALE;
      if (!symAlive[pos]) continue;
      const nx = symNext[pos];
      if (nx < 0) continue;
      const s = ranks.find(symId[pos], symId[nx]);
      if (s < 0 || ranks.valueB(s) !== newId) continue;
      // Merge the right symbol into this one.
      symId[pos] = newId;
      symAlive[nx] = 0;
      const nn = symNext[nx];
      symNext[pos] = nn;
      if (nn >= 0) symPrev[nn] = pos;
      const pv = symPrev[pos];
      if (pv >= 0) {
        const t = ranks.find(symId[pv], newId);
        if (t >= 0) size = heapPush(size, ranks.valueA(t) * POS_SCALE + pv, ranks.valueB(t));
      }
      if (nn >= 0) {
        const t = ranks.find(newId, symId[nn]);
        if (t >= 0) size = heapPush(size, ranks.valueA(t) * POS_SCALE + pos, ranks.valueB(t));
      }
    }
    const out: number[] = [];
    for (let i = 0; i >= 0; i = symNext[i]) out.push(symId[i]);
    return out;
  }
}

function heapPush(size: number, key: number, newId: number): number {
  if (size >= heapKey.length) {
    const k = new Float64Array(heapKey.length * 2);
    k.set(heapKey);
    heapKey = k;
    const v = new Int32Array(heapNew.length * 2);
    v.set(heapNew);
    heapNew = v;
  }
  let i = size;
  while (i > 0) {
    const parent = (i - 1) >> 1;
    if (heapKey[parent] <= key) break;
    heapKey[i] = heapKey[parent];
    heapNew[i] = heapNew[parent];
    i = parent;
  }
  heapKey[i] = key;
  heapNew[i] = newId;
  return size + 1;
}

function heapPop(size: number): number {
  const last = size - 1;
  const key = heapKey[last];
  const val = heapNew[last];
  let i = 0;
  while (true) {
    let c = 2 * i + 1;
    if (c >= last) break;
    if (c + 1 < last && heapKey[c + 1] < heapKey[c]) c++;
    if (heapKey[c] >= key) break;
    heapKey[i] = heapKey[c];
    heapNew[i] = heapNew[c];
    i = c;
  }
  heapKey[i] = key;
  heapNew[i] = val;
  return last;
}
