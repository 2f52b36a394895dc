/**
 * The vectorizers against scikit-learn 1.2.1 (fixtures written by
 * test/fixtures/features/gen_vectorizer_fixtures.py): vocabulary_, feature
 * order, fit_transform and transform matrices, idf_, Normalizer.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { CountVectorizer, TfidfVectorizer, Normalizer, normalize, vectorizerFromJSON, CsrMatrix, type TfidfVectorizerOptions, type Norm } from '../../src/features/index.js';
import { MuseError } from '../../src/errors.js';

interface Case {
  name: string;
  class: 'CountVectorizer' | 'TfidfVectorizer';
  options: Record<string, unknown>;
  docs: string[];
  newDocs: string[];
  vocabulary: Record<string, number>;
  featureNames: string[];
  X: number[][];
  newX: number[][];
  idf?: number[];
}
const fx = JSON.parse(readFileSync(new URL('../fixtures/features/vectorizers.json', import.meta.url), 'utf8')) as {
  cases: Case[];
  normalizer: Record<'input' | 'l1' | 'l2' | 'max', number[][]>;
};

/** scikit-learn option names → ours. */
function options(o: Record<string, unknown>): TfidfVectorizerOptions {
  const out: TfidfVectorizerOptions = {};
  for (const [k, v] of Object.entries(o)) {
    switch (k) {
      case 'lowercase': out.lowercase = v as boolean; break;
      case 'ngram_range': out.ngramRange = v as [number, number]; break;
      case 'binary': out.binary = v as boolean; break;
      case 'analyzer': out.analyzer = v as 'char'; break;
      case 'token_pattern': out.tokenPattern = v as string; break;
      case 'stop_words': out.stopWords = v as string[]; break;
      case 'max_features': out.maxFeatures = v as number; break;
      // Python tells 1 from 1.0; the fixture's floats are written as fractions except max_df=3 (a count).
      case 'min_df': out.minDf = v as number; break;
      case 'max_df': out.maxDf = v as number; break;
      case 'smooth_idf': out.smoothIdf = v as boolean; break;
      case 'sublinear_tf': out.sublinearTf = v as boolean; break;
      case 'use_idf': out.useIdf = v as boolean; break;
      case 'norm': out.norm = v as Norm | null; break;
      default: throw new Error(`fixture option ${k} not mapped`);
    }
  }
  return out;
}

function assertMatrix(actual: number[][], expected: number[][], what: string): void {
  assert.equal(actual.length, expected.length, `${what}: rows`);
  expected.forEach((row, i) => {
    assert.equal(actual[i].length, row.length, `${what}: row ${i} width`);
    row.forEach((e, j) => assert.ok(Math.abs(actual[i][j] - e) <= 1e-12 + 1e-9 * Math.abs(e), `${what}[${i}][${j}]: ${actual[i][j]} vs scikit-learn ${e}`));
  });
}

for (const c of fx.cases) {
  test(`${c.class} matches scikit-learn: ${c.name}`, () => {
    const opts = options(c.options);
    const v = c.class === 'TfidfVectorizer' ? new TfidfVectorizer(opts) : new CountVectorizer(opts);
    const x = v.fitTransform(c.docs);
    assert.deepEqual(Object.fromEntries(v.vocabulary!), c.vocabulary);
    assert.deepEqual(v.featureNames(), c.featureNames);
    assertMatrix(x.toDense(), c.X, 'X');
    assertMatrix(v.transform(c.newDocs).toDense(), c.newX, 'transform(newDocs)');
    if (c.idf) assertMatrix([[...(v as TfidfVectorizer).idf!]], [c.idf], 'idf');
    // The JSON round trip transforms identically.
    const back = vectorizerFromJSON(JSON.parse(JSON.stringify(v.toJSON())));
    assertMatrix(back.transform(c.newDocs).toDense(), c.newX, 'transform after JSON round trip');
  });
}

test('Normalizer matches scikit-learn (l1, l2, max; a zero row stays zero), dense and CSR', () => {
  const input = fx.normalizer.input;
  for (const norm of ['l1', 'l2', 'max'] as const) {
    assertMatrix(new Normalizer(norm).transform(input), fx.normalizer[norm], norm);
    const csr = CsrMatrix.fromRowMaps(input.map((r) => new Map(r.map((v, j) => [j, v]))), input[0].length);
    assertMatrix(normalize(csr, norm).toDense(), fx.normalizer[norm], `${norm} CSR`);
  }
});

test('default token pattern on unsegmented Chinese: one token per punctuation-delimited run, single characters dropped', () => {
  const v = new CountVectorizer();
  v.fit(['床前明月光，疑是地上霜。', '月，光']);
  assert.deepEqual(v.featureNames(), ['床前明月光', '疑是地上霜']);
  const c = new CountVectorizer({ analyzer: 'char', ngramRange: [1, 1] });
  c.fit(['床前明月光，疑是地上霜。']);
  assert.ok(c.vocabulary!.has('月') && c.vocabulary!.has('，'));
});

test('errors name the problem and the fix', () => {
  assert.throws(() => new CountVectorizer({ stopWords: ['a', 'the'] }).fit(['a the', 'the a']), (e: unknown) => e instanceof MuseError && /only contain stop words/.test(e.message));
  assert.throws(() => new CountVectorizer({ minDf: 5 }).fit(['ab cd', 'cd ef']), /fewer documents than minDf/);
  assert.throws(() => new CountVectorizer({ minDf: 2 }).fit(['ab cd', 'ef gh']), /no terms remain/);
  assert.throws(() => new CountVectorizer({ ngramRange: [2, 1] }), /ngramRange/);
  assert.throws(() => new CountVectorizer({ tokenPattern: '(a)(b)' }), /capturing groups/);
  assert.throws(() => new CountVectorizer().transform(['x']), /not fitted/);
  assert.throws(() => new CountVectorizer({ analyzer: 'char', tokenizer: (d) => [d] }).fit(['ab']).toJSON(), /cannot be saved/);
});

test('custom tokenizer and explicit document-frequency bounds', () => {
  const v = new CountVectorizer({ tokenizer: (d) => d.split('|'), minDf: { count: 2 }, maxDf: { count: 2 } });
  v.fit(['x|y|z', 'x|y', 'x']);
  assert.deepEqual(v.featureNames(), ['y']);
});
