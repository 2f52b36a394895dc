/**
 * The real GPT through generate(): at every decoding step the KV-cached
 * logits equal a full recompute of the whole sequence (GPT's training
 * forward, no cache) within 1e-5 — for a single prompt, for left-padded
 * batch rows, after the sliding window re-prefills, and under beam search
 * (cache reordering), on both backends.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { getBackend, setBackend } from '../../src/backend/index.js';
import { generate } from '../../src/generate/index.js';
import type { CausalLM, LMCache } from '../../src/models/causal-lm.js';
import { GPT } from '../../src/models/gpt2/model.js';
import { fromArray } from '../../src/tensor/index.js';

const V = 37;
const P = 24;

function tinyGPT(): GPT {
  // A larger init than GPT-2's 0.02 so logits are O(1) and a 1e-5 check means something.
  return new GPT(
    { vocab_size: V, n_positions: P, n_embd: 32, n_layer: 2, n_head: 4, initializer_range: 0.25, resid_pdrop: 0, embd_pdrop: 0, attn_pdrop: 0 },
    { seed: 5 },
  );
}

/** Logits after `tokens` by a full forward of the whole sequence (positions 0…n−1, no cache). */
function fullRecompute(model: GPT, tokens: number[]): Float32Array {
  const out = model.forward(fromArray(Int32Array.from(tokens), [1, tokens.length], 'int32'));
  const data = out.logits.data as Float32Array;
  return data.slice((tokens.length - 1) * V, tokens.length * V);
}

/** Wraps the model and keeps a copy of every logits row it returns (before processors touch them). */
class Recorder implements CausalLM {
  rows: Float32Array[][] = [];
  constructor(readonly inner: GPT) {}
  get vocabSize(): number {
    return this.inner.vocabSize;
  }
  get maxPositions(): number {
    return this.inner.maxPositions;
  }
  newCache(batch: number): LMCache {
    return this.inner.newCache(batch);
  }
  forward(ids: Int32Array, batch: number, t: number, cache: LMCache, opts?: { attentionMask?: Int32Array | null; positionIds?: Int32Array | null; lastOnly?: boolean }): Float32Array {
    const out = this.inner.forward(ids, batch, t, cache, opts);
    this.rows.push(Array.from({ length: batch }, (_, r) => out.slice(r * V, (r + 1) * V)));
    return out;
  }
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

const quiet = { onWarning: (): void => {} };

for (const backend of ['js', 'native'] as const) {
  test(`KV-cached logits equal a full recompute at every step (${backend} backend)`, (t) => {
    const previous = getBackend().name;
    try {
      setBackend(backend);
    } catch {
      t.skip(`${backend} backend unavailable`);
      return;
    }
    if (getBackend().name !== backend) {
      setBackend(previous);
      t.skip(`${backend} backend unavailable (not built)`);
      return;
    }
    try {
      const gpt = tinyGPT();
      // 1. one prompt, greedy, 12 steps
      const rec = new Recorder(gpt);
      const prompt = [3, 14, 15, 9, 2];
      const out = generate(rec, [prompt], { maxNewTokens: 12 }, quiet);
      const seq = [...prompt];
      rec.rows.forEach((rows, i) => {
        const d = maxDiff(rows[0], fullRecompute(gpt, seq));
        assert.ok(d < 1e-5, `step ${i}: max |cached − full| = ${d}`);
        seq.push(out.sequences[0][i]);
      });

      // 2. a left-padded batch: every row against its own unpadded recompute
      const prompts = [[1, 2, 3, 4, 5, 6, 7], [8], [9, 10, 11]];
      const rec2 = new Recorder(gpt);
      const out2 = generate(rec2, prompts, { maxNewTokens: 6 }, quiet);
      const seqs = prompts.map((p) => [...p]);
      rec2.rows.forEach((rows, i) => {
        rows.forEach((row, r) => {
          const d = maxDiff(row, fullRecompute(gpt, seqs[r]));
          assert.ok(d < 1e-5, `batch row ${r}, step ${i}: ${d}`);
        });
        seqs.forEach((s, r) => s.push(out2.sequences[r][i]));
      });

      // 3. past the context: after a slide the logits equal a recompute of the kept window
      const rec3 = new Recorder(gpt);
      const long = Array.from({ length: 20 }, (_, i) => (i * 7) % V);
      const out3 = generate(rec3, [long], { maxNewTokens: 15 }, { ...quiet, windowKeep: 18 });
      const all = [...long];
      let winStart = 0;
      rec3.rows.forEach((rows, i) => {
        if (all.length - winStart > P) winStart = all.length - 18;
        const d = maxDiff(rows[0], fullRecompute(gpt, all.slice(winStart)));
        assert.ok(d < 1e-5, `window step ${i}: ${d}`);
        all.push(out3.sequences[0][i]);
      });
      assert.ok(winStart > 0, 'the window never slid');
    } finally {
      setBackend(previous);
    }
  });
}

/** The same GPT without a KV cache: every call recomputes the full sequence (the cache only stores tokens). */
class NoCacheGPT implements CausalLM {
  constructor(readonly gpt: GPT) {}
  get vocabSize(): number {
    return this.gpt.vocabSize;
  }
  get maxPositions(): number {
    return this.gpt.maxPositions;
  }
  newCache(batch: number): LMCache & { rows: number[][] } {
    const c = {
      rows: Array.from({ length: batch }, () => [] as number[]),
      get length() {
        return c.rows[0].length;
      },
      get batch() {
        return c.rows.length;
      },
      reorder(idx: Int32Array) {
        c.rows = [...idx].map((i) => [...c.rows[i]]);
      },
      clear() {
        c.rows.forEach((r) => (r.length = 0));
      },
    };
    return c;
  }
  forward(ids: Int32Array, batch: number, t: number, cache: LMCache): Float32Array {
    const c = cache as ReturnType<NoCacheGPT['newCache']>;
    const out = new Float32Array(batch * V);
    for (let r = 0; r < batch; r++) {
      c.rows[r].push(...ids.subarray(r * t, (r + 1) * t));
      out.set(fullRecompute(this.gpt, c.rows[r]), r * V);
    }
    return out;
  }
}

test('beam search with the KV cache (reordered every step) equals beam search on full recomputes', () => {
  const gpt = tinyGPT();
  const cfg = { numBeams: 4, maxNewTokens: 8, numReturnSequences: 4, eosTokenId: 0, lengthPenalty: 1.2 };
  const cached = generate(gpt, [[5, 6, 7]], cfg, quiet);
  const full = generate(new NoCacheGPT(gpt), [[5, 6, 7]], cfg, quiet);
  assert.deepEqual(cached.sequences, full.sequences);
  (cached.sequenceScores as number[]).forEach((s, i) => assert.ok(Math.abs(s - (full.sequenceScores as number[])[i]) < 1e-5));
});
