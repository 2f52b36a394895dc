import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chrfWords, corpusChrf, sentenceChrf, type ChrfOptions } from '../../src/eval/index.js';
import { MuseError } from '../../src/errors.js';
import { close, fixtures } from './fixtures.js';

// Published values from sacreBLEU's test suite (mjpost/sacrebleu, test/test_chrf.py),
// which were themselves verified against chrF++.py.
test('sacreBLEU test_chrf values (β=3, ε-smoothing, as chrF++.py)', () => {
  const cases: [string[], string[], number][] = [
    [['abcdefg'], ['hijklmnop'], 0.0],
    [['a'], ['b'], 0.0],
    [[''], ['b'], 0.0],
    [[''], ['ref'], 0.0],
    [[''], ['reference'], 0.0],
    [['aa'], ['ab'], 8.3333],
    [['a', 'b'], ['a', 'c'], 8.3333],
    [['a'], ['a'], 16.6667],
    [['a b c'], ['a b c'], 50.0],
    [['a b c'], ['abc'], 50.0],
    [
      [' risk assessment must be made of those who are qualified and expertise in the sector - these are the scientists .'],
      ['risk assessment has to be undertaken by those who are qualified and expert in that area - that is the scientists .'],
      63.36173,
    ],
    [
      [' Die    Beziehung zwischen  Obama und Netanjahu ist nicht gerade  freundlich. '],
      ['Das Verhältnis zwischen Obama und Netanyahu ist nicht gerade freundschaftlich.'],
      64.1302698,
    ],
    [['Niemand hat die Absicht, eine Mauer zu errichten'], ['Niemand hat die Absicht, eine Mauer zu errichten'], 100.0],
  ];
  for (const [h, r, e] of cases) close(corpusChrf(h, [r], { beta: 3, epsSmoothing: true }).score, e, h[0], 1e-4);
});

test('sacreBLEU test_chrf_eff_order and test_chrf_keep_whitespace values', () => {
  const eff: [string[], string[], number][] = [
    [['a'], ['a'], 100.0],
    [[''], ['reference'], 0.0],
    [['a b c'], ['a b c'], 100.0],
    [['a b c'], ['abc'], 100.0],
    [[''], ['c'], 0.0],
    [['a', 'b'], ['a', 'c'], 50.0],
    [['aa'], ['ab'], 25.0],
  ];
  for (const [h, r, e] of eff) close(corpusChrf(h, [r], { beta: 3 }).score, e, h.join('|'), 1e-4);
  close(
    corpusChrf(['Die Beziehung zwischen Obama und Netanjahu ist nicht gerade freundlich.'], [['Das Verhältnis zwischen Obama und Netanyahu ist nicht gerade freundschaftlich.']], { beta: 3, whitespace: true }).score,
    67.3481606,
    'keep whitespace 1',
    1e-4,
  );
  close(
    sentenceChrf('Co nás nejvíc trápí, protože lékaři si vybírají, kdo bude žít a kdo zemře.', ['Nejvíce smutní jsme z toho, že musíme rozhodovat o tom, kdo bude žít a kdo zemře.'], { epsSmoothing: true }).score,
    39.14078509,
    'sentence level',
    1e-4,
  );
});

test('matches sacreBLEU on every chrF / chrF++ fixture case', () => {
  assert.ok(fixtures.chrf.length > 40);
  for (const c of fixtures.chrf) {
    const got =
      c.level === 'corpus'
        ? corpusChrf(c.hyps, c.refs, c.opts)
        : sentenceChrf(c.hyps[0], c.refs.map((r) => r[0]), c.opts);
    close(got.score, c.expected.score, c.name);
    assert.equal(got.name, c.expected.name, c.name);
    assert.equal(got.signature.replace(/\|version:.*$/, ''), c.expected.signature, c.name);
  }
});

test("chrF++ word splitting follows sacreBLEU's _remove_punctuation (issue #124 behaviour)", () => {
  assert.deepEqual(chrfWords('(hi) there, you!'), ['(hi', ')', 'there', ',', 'you', '!']);
  assert.deepEqual(chrfWords('"quoted a'), ['"', 'quoted', 'a']);
  assert.deepEqual(chrfWords('. ,'), ['.', ',']);
});

test('chrF errors name the problem', () => {
  assert.throws(() => corpusChrf(['a'], [['a', 'b']]), (e: unknown) => e instanceof MuseError && /stream 1 has 2 lines/.test(e.message));
  assert.equal(corpusChrf(['a'], [['']]).score, 0);
  assert.throws(() => corpusChrf(['a'], [['a']], { charOrder: 0, wordOrder: 0 }), /charOrder \+ wordOrder/);
});
