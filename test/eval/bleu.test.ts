import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bleuStatistics, computeBleu, corpusBleu, sentenceBleu, type BleuOptions } from '../../src/eval/index.js';
import { MuseError } from '../../src/errors.js';
import { close, fixtures } from './fixtures.js';

// Published values from sacreBLEU's own test suite (mjpost/sacrebleu,
// test/test_bleu.py and test/test_sentence_bleu.py; the README example).
const README_REFS = [
  ['The dog bit the man.', 'It was not unexpected.', 'The man bit him first.'],
  ['The dog had bit the man.', 'No one was surprised.', 'The man had bitten the dog.'],
];
const README_HYPS = ['The dog bit the man.', "It wasn't surprising.", 'The man had just bitten him.'];

test('sacreBLEU test_corpus_bleu values (README example, two reference streams)', () => {
  const cases: [BleuOptions, number][] = [
    [{}, 48.530827],
    [{ tokenize: 'none' }, 49.1919566],
    [{ tokenize: '13a' }, 48.530827],
    [{ tokenize: 'intl' }, 43.91623493],
    [{ smoothMethod: 'none' }, 48.530827],
  ];
  for (const [opts, expected] of cases) close(corpusBleu(README_HYPS, README_REFS, opts).score, expected, JSON.stringify(opts), 1e-6);
  // empty hypotheses are scored, not removed
  assert.equal(corpusBleu(['', '', ''], README_REFS).score, 0);
});

test('sacreBLEU test_sentence_bleu values (issue #98 example, effective order)', () => {
  const REF = 'producţia de zahăr brut se exprimă în zahăr alb;';
  const SYS = 'Producția de zahăr primă va fi exprimată în ceea ce privește zahărul alb;';
  const cases: [BleuOptions, number][] = [
    [{ smoothMethod: 'exp' }, 8.493],
    [{ smoothMethod: 'none' }, 0.0],
    [{ smoothMethod: 'floor' }, 4.51688],
    [{ smoothMethod: 'floor', smoothValue: 0.5 }, 10.1],
    [{ smoothMethod: 'add-k' }, 14.882],
    [{ smoothMethod: 'add-k', smoothValue: 2 }, 21.389],
    [{ tokenize: 'none' }, 7.347],
    [{ tokenize: 'intl' }, 8.493],
    [{ tokenize: 'char' }, 40.8759],
    [{ tokenize: 'char', lowercase: true }, 42.0267],
  ];
  for (const [opts, expected] of cases) close(sentenceBleu(SYS, [REF], opts).score, expected, JSON.stringify(opts), 1e-3);
  // #141: no match at all is 0 whatever the smoothing
  for (const smoothMethod of ['exp', 'none', 'floor', 'add-k'] as const) {
    assert.equal(sentenceBleu('this is a cat', ['okay thanks'], { smoothMethod }).score, 0);
  }
});

test('sacreBLEU test_scoring / test_degenerate_statistics (compute_bleu from statistics)', () => {
  close(computeBleu([11, 11, 9, 7, 5, 3, 10, 8, 6, 4], { smoothMethod: 'none' }).score / 100, 0.8375922397, 'scoring', 1e-8);
  const degenerate: [number[], number, number][] = [
    [[1, 0, 0, 0, 0, 0, 4, 4, 2, 1], 0.0, 0],
    [[10, 14, 0, 0, 0, 0, 10, 11, 12, 0], 0.0, 0],
    [[0, 0, 0, 0, 0, 0, 0, 0, 0, 0], 0.0, 0],
    [[6, 6, 6, 5, 4, 0, 6, 5, 4, 3], 0.0, 0],
    [[0, 0, 0, 0, 0, 0, 0, 0, 0, 0], 0.1, 0],
    [[5, 1, 0, 0, 0, 0, 0, 0, 0, 0], 0.01, 0],
  ];
  for (const [stats, value, expected] of degenerate) {
    assert.equal(computeBleu(stats, { smoothMethod: 'floor', smoothValue: value }).score, expected);
  }
});

test('matches sacreBLEU on every BLEU fixture case (counts, totals, precisions, bp, lengths, signature)', () => {
  assert.ok(fixtures.bleu.length > 70);
  for (const c of fixtures.bleu) {
    const got =
      c.level === 'corpus'
        ? corpusBleu(c.hyps, c.refs, c.opts)
        : sentenceBleu(c.hyps[0], c.refs.map((r) => r[0]), c.opts);
    close(got.score, c.expected.score, `${c.name}: score`);
    assert.deepEqual(got.counts, c.expected.counts, `${c.name}: counts`);
    assert.deepEqual(got.totals, c.expected.totals, `${c.name}: totals`);
    got.precisions.forEach((p, i) => close(p, c.expected.precisions[i], `${c.name}: precision ${i + 1}`));
    close(got.bp, c.expected.bp, `${c.name}: bp`);
    assert.equal(got.sysLen, c.expected.sysLen, `${c.name}: sysLen`);
    assert.equal(got.refLen, c.expected.refLen, `${c.name}: refLen`);
    assert.equal(got.signature.replace(/\|version:.*$/, ''), c.expected.signature, `${c.name}: signature`);
  }
});

test('covers the cases the issue lists', () => {
  const names = fixtures.bleu.map((c) => c.name).join('\n');
  for (const needle of ['two reference streams', 'empty hypotheses', 'longer than references', 'unicode punctuation intl', 'chinese zh', 'chinese char', 'shakespeare sentence 0', 'shakespeare corpus 13a']) {
    assert.ok(names.includes(needle), needle);
  }
});

test('agrees with NLTK BLEU where the semantics coincide (whitespace tokens; method1 = floor 0.1)', () => {
  const { sentences, corpus } = fixtures.nltk;
  for (const s of sentences) {
    const refs = s.refs;
    close(sentenceBleu(s.hyp, refs, { tokenize: 'none', smoothMethod: 'floor', smoothValue: 0.1, effectiveOrder: false }).score / 100, s.method1, `method1 ${s.hyp}`);
    if (s.unsmoothed > 0) close(sentenceBleu(s.hyp, refs, { tokenize: 'none', smoothMethod: 'none', effectiveOrder: false }).score / 100, s.unsmoothed, `unsmoothed ${s.hyp}`);
  }
  const hyps = sentences.map((s) => s.hyp);
  const refs = [sentences.map((s) => s.refs[0]), sentences.map((s) => s.refs[1])];
  close(corpusBleu(hyps, refs, { tokenize: 'none', smoothMethod: 'none' }).score / 100, corpus, 'nltk corpus_bleu');
});

test('signature format and version field', () => {
  const s = corpusBleu(README_HYPS, README_REFS).signature;
  assert.match(s, /^nrefs:2\|case:mixed\|eff:no\|tok:13a\|smooth:exp\|version:muse-/);
  assert.match(sentenceBleu('a b', ['a b'], { smoothMethod: 'floor' }).signature, /eff:yes\|tok:13a\|smooth:floor\[0\.10\]/);
  assert.match(corpusBleu(['a'], [['a'], ['']]).signature, /^nrefs:1\|/);
  assert.match(corpusBleu(['a', 'b'], [['a', 'b'], ['', 'c']]).signature, /^nrefs:var\|/);
});

test('segment statistics sum to the corpus statistics', () => {
  const st = bleuStatistics(README_HYPS, README_REFS);
  assert.equal(st.width, 10);
  const sums = new Array(10).fill(0);
  for (let s = 0; s < st.segments; s++) for (let j = 0; j < 10; j++) sums[j] += st.stats[s * 10 + j];
  assert.deepEqual(sums, [17, 18, 14, 7, 5, 3, 17, 14, 11, 8]);
});

test('clear errors for mismatched streams, missing references and bad options', () => {
  assert.throws(() => corpusBleu(['a', 'b'], [['a']]), (e: unknown) => e instanceof MuseError && /stream 1 has 1 lines but there are 2/.test(e.message));
  // sacreBLEU 2.x keeps an empty reference (it drops only None): the segment scores 0, the file is not refused.
  assert.equal(corpusBleu(['a'], [['']]).score, 0);
  assert.equal(corpusBleu(['a b c d', 'x'], [['a b c d', '']]).refLen, 4);
  assert.throws(() => corpusBleu(['a'], []), MuseError);
  assert.throws(() => corpusBleu(['a'], [['a']], { tokenize: 'spm' as never }), /unknown BLEU tokenizer/);
  assert.throws(() => corpusBleu(['a'], [['a']], { smoothMethod: 'lin' as never }), /unknown BLEU smoothing/);
});
