/**
 * A deterministic toy language model implementing CausalLM, for the
 * generation tests (the same function as ToyLM in
 * test/fixtures/generate/make_fixtures.py):
 *
 *   logits[v] = A[c[-1], v] + 0.5·B[c[-2], v] (if |c| ≥ 2)
 *             + 0.25·P[pos mod maxPos, v] + 0.3·mean_{t ∈ c} W[t, v]
 *
 * where c is what the position attends to (cached + new tokens whose mask
 * bit is 1, causally) and pos its position id. Wrong attention masks, wrong
 * position ids or a wrongly reordered cache all change the logits.
 *
 * Its cache records everything fed to it, so tests can inspect masks,
 * positions, slides and reorders.
 */
import { ShapeError } from '../../src/errors.js';
import type { CausalLM, LMCache } from '../../src/models/causal-lm.js';

export interface ToyTables {
  vocabSize: number;
  maxPositions: number;
  A: number[];
  B: number[];
  P: number[];
  W: number[];
}

/** One forward call as the model saw it. */
export interface ForwardCall {
  batch: number;
  t: number;
  past: number;
  inputIds: number[];
  attentionMask: number[] | null;
  positionIds: number[] | null;
}

export class RecordingCache implements LMCache {
  /** Per row: fed token ids, position ids and (latest) mask bits. */
  tokens: number[][];
  positions: number[][];
  mask: number[][];
  reorders: number[][] = [];
  clears = 0;

  constructor(readonly batchSize: number) {
    this.tokens = Array.from({ length: batchSize }, () => []);
    this.positions = Array.from({ length: batchSize }, () => []);
    this.mask = Array.from({ length: batchSize }, () => []);
  }

  get length(): number {
    return this.tokens[0]?.length ?? 0;
  }

  get batch(): number {
    return this.tokens.length;
  }

  reorder(indices: Int32Array): void {
    this.reorders.push([...indices]);
    this.tokens = [...indices].map((i) => [...this.tokens[i]]);
    this.positions = [...indices].map((i) => [...this.positions[i]]);
    this.mask = [...indices].map((i) => [...this.mask[i]]);
  }

  clear(): void {
    this.clears++;
    for (const a of [this.tokens, this.positions, this.mask]) for (const r of a) r.length = 0;
  }
}

export class ToyLM implements CausalLM {
  readonly vocabSize: number;
  readonly maxPositions: number;
  calls: ForwardCall[] = [];
  caches: RecordingCache[] = [];

  constructor(readonly tables: ToyTables, maxPositions?: number) {
    this.vocabSize = tables.vocabSize;
    this.maxPositions = maxPositions ?? tables.maxPositions;
  }

  newCache(batch: number): RecordingCache {
    const c = new RecordingCache(batch);
    this.caches.push(c);
    return c;
  }

  /** Logits of the context `ctx` (real tokens) whose last token sits at position `pos`. */
  logitsOf(ctx: readonly number[], pos: number): Float32Array {
    const { vocabSize: V, A, B, P, W } = this.tables;
    const out = new Float32Array(V);
    const last = ctx[ctx.length - 1];
    const prev = ctx.length >= 2 ? ctx[ctx.length - 2] : -1;
    const pr = pos % this.tables.maxPositions;
    for (let v = 0; v < V; v++) {
      let s = A[last * V + v];
      if (prev >= 0) s += 0.5 * B[prev * V + v];
      s += 0.25 * P[pr * V + v];
      let m = 0;
      for (const t of ctx) m += W[t * V + v];
      s += (0.3 * m) / ctx.length;
      out[v] = s;
    }
    return out;
  }

  /** Reference: logits after a plain (unpadded) token sequence, positions 0…n−1. */
  scoreSequence(tokens: readonly number[]): Float32Array {
    return this.logitsOf(tokens, tokens.length - 1);
  }

  forward(
    inputIds: Int32Array,
    batch: number,
    t: number,
    cache: LMCache,
    opts: { attentionMask?: Int32Array | null; positionIds?: Int32Array | null; lastOnly?: boolean } = {},
  ): Float32Array {
    const c = cache as RecordingCache;
    const past = c.length;
    if (c.batch !== batch) throw new ShapeError(`ToyLM: cache has ${c.batch} rows, input ${batch}`);
    if (inputIds.length !== batch * t) throw new ShapeError(`ToyLM: inputIds has ${inputIds.length} ids, want ${batch}×${t}`);
    if (past + t > this.maxPositions) {
      throw new ShapeError(`ToyLM: ${past} cached + ${t} new positions exceed maxPositions ${this.maxPositions}`);
    }
    const mask = opts.attentionMask ?? null;
    const pos = opts.positionIds ?? null;
    if (mask && mask.length !== batch * (past + t)) {
      throw new ShapeError(`ToyLM: attentionMask has ${mask.length} entries, want ${batch}×${past + t}`);
    }
    if (pos && pos.length !== batch * t) throw new ShapeError(`ToyLM: positionIds has ${pos.length}, want ${batch}×${t}`);
    this.calls.push({
      batch,
      t,
      past,
      inputIds: [...inputIds],
      attentionMask: mask ? [...mask] : null,
      positionIds: pos ? [...pos] : null,
    });
    const V = this.vocabSize;
    const lastOnly = opts.lastOnly ?? false;
    const out = new Float32Array(batch * (lastOnly ? 1 : t) * V);
    for (let r = 0; r < batch; r++) {
      for (let i = 0; i < t; i++) {
        c.tokens[r].push(inputIds[r * t + i]);
        c.positions[r].push(pos ? pos[r * t + i] : past + i);
      }
      c.mask[r] = Array.from({ length: past + t }, (_, j) => (mask ? mask[r * (past + t) + j] : 1));
      for (let i = lastOnly ? t - 1 : 0; i < t; i++) {
        const upto = past + i; // attends to columns 0…upto
        const ctx: number[] = [];
        for (let j = 0; j <= upto; j++) if (c.mask[r][j] === 1) ctx.push(c.tokens[r][j]);
        const logits = this.logitsOf(ctx, c.positions[r][upto]);
        out.set(logits, (r * (lastOnly ? 1 : t) + (lastOnly ? 0 : i)) * V);
      }
    }
    return out;
  }
}

/** Random tables (mulberry32), for tests that need no fixture. */
export function randomTables(vocabSize: number, maxPositions: number, seed: number): ToyTables {
  let a = seed >>> 0;
  const rand = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const normal = (): number => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
  const fill = (n: number, s: number): number[] => Array.from({ length: n }, () => normal() * s);
  return {
    vocabSize,
    maxPositions,
    A: fill(vocabSize * vocabSize, 1.2),
    B: fill(vocabSize * vocabSize, 1),
    P: fill(maxPositions * vocabSize, 1),
    W: fill(vocabSize * vocabSize, 1),
  };
}
