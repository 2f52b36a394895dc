import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fromArray, noGrad } from '../../src/tensor/index.js';
import { Seq2SeqTransformer } from '../../src/models/seq2seq/model.js';
import { generate } from '../../src/generate/index.js';

const V = 5;
const EOS = 0;
const START = 1;

/** A tiny random model whose distributions are peaked enough that greedy and beam search differ. */
function tinyModel(seed: number): Seq2SeqTransformer {
  const m = new Seq2SeqTransformer(
    { vocab_size: V, d_model: 8, encoder_layers: 1, decoder_layers: 2, encoder_attention_heads: 2, decoder_attention_heads: 2, encoder_ffn_dim: 16, decoder_ffn_dim: 16, max_position_embeddings: 16, eos_token_id: EOS, pad_token_id: EOS, decoder_start_token_id: START, dropout: 0.1 },
    { seed },
  );
  // Sharper distributions: scale the shared embedding (also the output projection).
  const w = m.model.shared!.weight.data as Float32Array;
  for (let i = 0; i < w.length; i++) w[i] *= 3;
  return m;
}

/** Log-softmax rows of a full teacher-forced recompute (no cache): `[tgtLen][V]`. */
function logProbs(m: Seq2SeqTransformer, src: number[], dec: number[]): number[][] {
  const logits = noGrad(() => m.eval().forward({ inputIds: fromArray(Int32Array.from(src), [1, src.length], 'int32'), decoderInputIds: fromArray(Int32Array.from(dec), [1, dec.length], 'int32') }).logits.data);
  const rows: number[][] = [];
  for (let t = 0; t < dec.length; t++) {
    const row = Array.from(logits.subarray(t * V, (t + 1) * V));
    const mx = Math.max(...row);
    const z = Math.log(row.reduce((s, x) => s + Math.exp(x - mx), 0)) + mx;
    rows.push(row.map((x) => x - z));
  }
  return rows;
}

test('greedy decoding through generate() equals argmax over full recomputes (no cache), for every source of a batch', () => {
  const m = tinyModel(3);
  const sources = [[2, 3, 4, 0], [4, 4, 0]];
  const out = generate(m.bindSource(sources), [[], []], { doSample: false, maxNewTokens: 8, bosTokenId: START, eosTokenId: EOS });
  sources.forEach((src, r) => {
    const dec = [START];
    const expect: number[] = [];
    for (let i = 0; i < 8; i++) {
      const lp = logProbs(m, src, dec).at(-1)!;
      const next = lp.indexOf(Math.max(...lp));
      expect.push(next);
      if (next === EOS) break;
      dec.push(next);
    }
    assert.deepEqual(out.sequences[r], expect, `source ${r}`);
  });
});

test('beam search returns the best-scored hypothesis (exhaustive enumeration on a tiny model)', () => {
  const maxNew = 3;
  let differed = false;
  for (const seed of [1, 2, 3, 4, 5, 6]) {
    const m = tinyModel(seed);
    const src = [3, 2, 4, 0];
    // Every finished hypothesis: ends with EOS within maxNew tokens, or is maxNew tokens long.
    let best = { score: -Infinity, seq: [] as number[] };
    const visit = (prefix: number[], sum: number): void => {
      const lp = logProbs(m, src, [START, ...prefix]).at(-1)!;
      for (let v = 0; v < V; v++) {
        const seq = [...prefix, v];
        const s = sum + lp[v];
        if (v === EOS || seq.length === maxNew) {
          const score = s / seq.length; // lengthPenalty 1 (HF default)
          if (score > best.score) best = { score, seq };
        } else visit(seq, s);
      }
    };
    visit([], 0);
    const out = generate(m.bindSource([src]), [[]], { numBeams: 40, maxNewTokens: maxNew, bosTokenId: START, eosTokenId: EOS, earlyStopping: true });
    assert.deepEqual(out.sequences[0], best.seq, `seed ${seed}`);
    assert.ok(Math.abs(out.sequenceScores![0] - best.score) < 1e-4, `seed ${seed}: score ${out.sequenceScores![0]} vs ${best.score}`);
    const greedy = generate(m.bindSource([src]), [[]], { doSample: false, maxNewTokens: maxNew, bosTokenId: START, eosTokenId: EOS });
    if (greedy.sequences[0].join() !== best.seq.join()) differed = true;
  }
  assert.ok(differed, 'on at least one seed beam search finds a better hypothesis than greedy (otherwise the test shows nothing)');
});

test('sampling with a seed is reproducible and numReturnSequences rows keep their source', () => {
  const m = tinyModel(7);
  const lm = m.bindSource([[2, 0], [3, 4, 0]]);
  const cfg = { doSample: true, temperature: 1, topK: 0, maxNewTokens: 6, bosTokenId: START, eosTokenId: EOS, seed: 11, numReturnSequences: 3 };
  const a = generate(lm, [[], []], cfg);
  const b = generate(lm, [[], []], cfg);
  assert.deepEqual(a.sequences, b.sequences);
  assert.equal(a.sequences.length, 6);
  // Every returned token's log-prob equals a full recompute on that row's own source.
  const sources = [[2, 0], [3, 4, 0]];
  a.sequences.forEach((seq, i) => {
    const lp = logProbs(m, sources[Math.floor(i / 3)], [START, ...seq.slice(0, -1)]);
    seq.forEach((tok, t) => assert.ok(Math.abs(lp[t][tok] - a.logprobs[i][t]) < 1e-4, `sequence ${i} token ${t}`));
  });
});
