import { test } from 'node:test';
import assert from 'node:assert/strict';
import { distinctN, repetitionRate, selfBleu, sentenceBleu } from '../../src/eval/index.js';
import { close, fixtures } from './fixtures.js';

test('distinct-n and seq-rep-n agree with plain counting over sacreBLEU 13a tokens (fixture)', () => {
  const { texts, distinct, seqRep2 } = fixtures.diversity;
  for (const n of [1, 2, 3]) close(distinctN(texts, n), distinct[String(n)], `distinct-${n}`);
  close(repetitionRate(texts, 2), seqRep2, 'seq-rep-2');
});

test('distinct-n and repetition on hand-checked sets', () => {
  // tokens: a b a b | a c → unigrams a,b,a,b,a,c: 3 distinct of 6
  assert.equal(distinctN(['a b a b', 'a c'], 1), 0.5);
  // bigrams: ab, ba, ab, ac → 3 distinct of 4
  assert.equal(distinctN(['a b a b', 'a c'], 2), 0.75);
  assert.equal(distinctN([''], 1), 0);
  // seq-rep-2: text 1: 1 − 2/3; text 2: 1 − 1/1 = 0 → mean 1/6
  close(repetitionRate(['a b a b', 'a c'], 2), 1 / 6, 'rep');
  assert.equal(repetitionRate(['a', 'b'], 4), 0);
  assert.throws(() => distinctN(['a'], 0), /positive integer/);
});

test('self-BLEU equals sacreBLEU sentence BLEU of each text against all others, averaged', () => {
  const { texts, expected } = fixtures.selfBleu;
  close(selfBleu(texts), expected, 'self-BLEU vs sacreBLEU');
  // and against muse's own sentence BLEU computed the slow way
  const slow = texts.map((t, i) => sentenceBleu(t, texts.filter((x, j) => j !== i && x !== '')).score);
  close(selfBleu(texts), slow.reduce((a, b) => a + b, 0) / slow.length, 'self-BLEU vs sentenceBleu');
  close(selfBleu(['same text here', 'same text here']), 100, 'identical texts');
  assert.throws(() => selfBleu(['only one']), /at least two/);
});
