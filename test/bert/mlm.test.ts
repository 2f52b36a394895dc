import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Generator } from '../../src/tensor/index.js';
import { LengthGroupedSampler, MlmCollator, chunkAtBoundaries, chineseWordIds, type MlmExample } from '../../src/models/bert/mlm-data.js';

// Special ids 0..4 as in BERT vocabularies: [PAD] [UNK] [CLS] [SEP] [MASK].
const PAD = 0, CLS = 2, SEP = 3, MASK = 4;
const V = 1000;

function rows(n: number, len: number, gen: Generator): MlmExample[] {
  return Array.from({ length: n }, () => {
    const ids = new Int32Array(len);
    ids[0] = CLS;
    for (let i = 1; i < len - 1; i++) ids[i] = gen.randint(5, V);
    ids[len - 1] = SEP;
    return { ids };
  });
}

test('token masking follows BERT: 15% selected; of those 80% [MASK], 10% random, 10% unchanged; specials never; labels hold the originals', () => {
  const gen = new Generator(7);
  const ex = rows(400, 52, gen);
  const c = new MlmCollator({ maskTokenId: MASK, padTokenId: PAD, specialIds: [0, 1, 2, 3, 4], vocabSize: V });
  const b = c.collate(ex, gen);
  let candidates = 0, selected = 0, masked = 0, unchanged = 0, random = 0;
  for (let r = 0; r < b.batchSize; r++) {
    for (let t = 0; t < b.seqLen; t++) {
      const i = r * b.seqLen + t;
      const orig = ex[r].ids[t];
      if (orig <= 4) {
        assert.equal(b.labels[i], -100, 'special token selected');
        assert.equal(b.inputIds[i], orig);
        continue;
      }
      candidates++;
      if (b.labels[i] === -100) {
        assert.equal(b.inputIds[i], orig, 'an unselected token changed');
        continue;
      }
      selected++;
      assert.equal(b.labels[i], orig);
      if (b.inputIds[i] === MASK) masked++;
      else if (b.inputIds[i] === orig) unchanged++;
      else {
        random++;
        assert.ok(b.inputIds[i] >= 5 && b.inputIds[i] < V, 'random replacement drew a special id');
      }
    }
  }
  // Binomial standard errors: 20,000 candidates → ±0.0025 on 15%; ~3,000 selected → ±0.007 on 80%, ±0.0055 on 10%.
  assert.ok(Math.abs(selected / candidates - 0.15) < 0.01, `selected ${selected / candidates}`);
  assert.ok(Math.abs(masked / selected - 0.8) < 0.03, `masked ${masked / selected}`);
  assert.ok(Math.abs(random / selected - 0.1) < 0.025, `random ${random / selected}`);
  assert.ok(Math.abs(unchanged / selected - 0.1) < 0.025, `unchanged ${unchanged / selected}`);
});

test('masking is dynamic (a new mask every call) and rows are padded to the longest with attention 0', () => {
  const gen = new Generator(3);
  const ex = [...rows(1, 40, gen), ...rows(1, 25, gen)];
  const c = new MlmCollator({ maskTokenId: MASK, padTokenId: PAD, specialIds: [0, 1, 2, 3, 4], vocabSize: V });
  const a = c.collate(ex, gen);
  const b = c.collate(ex, gen);
  assert.equal(a.seqLen, 40);
  assert.notDeepEqual(a.labels, b.labels);
  for (let t = 0; t < 40; t++) {
    assert.equal(a.attentionMask[40 + t], t < 25 ? 1 : 0);
    if (t >= 25) {
      assert.equal(a.inputIds[40 + t], PAD);
      assert.equal(a.labels[40 + t], -100);
    }
  }
});

test('a batch whose draw selects nothing still predicts one token (the loss stays defined)', () => {
  const c = new MlmCollator({ maskTokenId: MASK, padTokenId: PAD, specialIds: [0, 1, 2, 3, 4], vocabSize: V, mlmProbability: 1e-9 });
  const b = c.collate([{ ids: Int32Array.from([CLS, 10, 11, SEP]) }], new Generator(1));
  assert.equal([...b.labels].filter((l) => l !== -100).length, 1);
});

test('whole-word masking selects whole words only, up to round(15% of tokens)', () => {
  const gen = new Generator(11);
  const c = new MlmCollator({ maskTokenId: MASK, padTokenId: PAD, specialIds: [0, 1, 2, 3, 4], vocabSize: V, wholeWordMask: true });
  // 60 tokens in words of 2 tokens (word w = tokens 2w+1, 2w+2), -1 on specials.
  const ids = new Int32Array(62);
  const wordIds = new Int32Array(62).fill(-1);
  ids[0] = CLS;
  ids[61] = SEP;
  for (let i = 1; i <= 60; i++) {
    ids[i] = 5 + i;
    wordIds[i] = Math.floor((i - 1) / 2);
  }
  for (let round = 0; round < 50; round++) {
    const b = c.collate([{ ids, wordIds }], gen);
    let n = 0;
    for (let w = 0; w < 30; w++) {
      const a = b.labels[2 * w + 1] !== -100;
      assert.equal(b.labels[2 * w + 2] !== -100, a, `word ${w} split`);
      if (a) n += 2;
    }
    assert.equal(n, 8, 'round(60 × 0.15) = 9 tokens: four 2-token words fit, a fifth would overshoot');
  }
});

test('chineseWordIds: ICU dictionary words share an id, punctuation gets -1', () => {
  const w = chineseWordIds('举头望明月，低头思故乡。');
  // ICU segments 举头|望|明月|，|低头|思|故乡|。 (checked with Intl.Segmenter's zh dictionary)
  assert.equal(w[0], w[1]);
  assert.notEqual(w[1], w[2]);
  assert.equal(w[3], w[4]);
  assert.equal(w[5], -1);
  assert.equal(w[11], -1);
  assert.equal(w[10], w[9]);
});

test('chunkAtBoundaries ends pieces after the last boundary that fits', () => {
  // 0 = boundary
  const ids = [5, 5, 0, 5, 5, 5, 0, 5, 5, 5, 5, 5, 5, 5, 0];
  assert.deepEqual(chunkAtBoundaries(ids, 8, (x) => x === 0), [[0, 7], [7, 15]]);
  assert.deepEqual(chunkAtBoundaries(ids, 4, (x) => x === 0), [[0, 3], [3, 7], [7, 11], [11, 15]]);
  assert.deepEqual(chunkAtBoundaries([], 4, () => false), []);
});

test('LengthGroupedSampler: buckets of whole lengths (≥ minBucketSize, short tail merged), one bucket per batch, every example equally likely', () => {
  // 300 examples of length 26, 60 of 49 and 60 of 50 (merged to reach 100), 120 of 51, 30 of 66 (a tail smaller than the minimum).
  const lengths = [...Array(300).fill(26), ...Array(60).fill(49), ...Array(60).fill(50), ...Array(120).fill(51), ...Array(30).fill(66)];
  const s = new LengthGroupedSampler(lengths, 100);
  const spans = s.buckets.map((b) => [...new Set(Array.from(b, (i) => lengths[i]!))].sort((x, y) => x - y));
  assert.deepEqual(spans, [[26], [49, 50], [51, 66]]);
  assert.equal(s.buckets.reduce((n, b) => n + b.length, 0), lengths.length);
  const gen = new Generator(3);
  const hits = new Float64Array(lengths.length);
  const draws = 4000;
  for (let k = 0; k < draws; k++) {
    const batch = s.sample(8, gen);
    assert.equal(batch.length, 8);
    const bucket = s.buckets.findIndex((b) => b.includes(batch[0]));
    for (const i of batch) {
      assert.ok(s.buckets[bucket].includes(i), 'a batch mixes buckets');
      hits[i]++;
    }
  }
  // Expected draws per example: 8 · 4000 / 570 ≈ 56.1; group means by length must all be close to it (binomial sd of a group mean < 1).
  for (const len of [26, 49, 50, 51, 66]) {
    let sum = 0, n = 0;
    lengths.forEach((l, i) => { if (l === len) { sum += hits[i]; n++; } });
    assert.ok(Math.abs(sum / n - (8 * draws) / lengths.length) < 4, `length ${len}: mean draws ${sum / n}`);
  }
  assert.throws(() => new LengthGroupedSampler([], 4), /no examples/);
});
