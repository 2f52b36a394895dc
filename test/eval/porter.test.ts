import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PorterStemmer, type PorterMode } from '../../src/eval/index.js';
import { fixtures } from './fixtures.js';

test('stems agree with NLTK 3.8 PorterStemmer in all three modes', () => {
  const { words } = fixtures.porter;
  assert.ok(words.length > 2000);
  for (const mode of ['NLTK_EXTENSIONS', 'MARTIN_EXTENSIONS', 'ORIGINAL_ALGORITHM'] as PorterMode[]) {
    const stemmer = new PorterStemmer(mode);
    const expected = fixtures.porter[mode];
    const wrong = words.filter((w, i) => stemmer.stem(w) !== expected[i]).map((w, i) => `${w}→${stemmer.stem(w)}`);
    assert.deepEqual(wrong, [], `${mode}: ${wrong.slice(0, 10).join(', ')}`);
  }
});

test("examples from Porter's paper (1980)", () => {
  const s = new PorterStemmer('ORIGINAL_ALGORITHM');
  const pairs: [string, string][] = [
    ['caresses', 'caress'], ['ponies', 'poni'], ['agreed', 'agre'], ['plastered', 'plaster'], ['motoring', 'motor'],
    ['conflated', 'conflat'], ['hopping', 'hop'], ['filing', 'file'], ['relational', 'relat'], ['triplicate', 'triplic'],
    ['revival', 'reviv'], ['adoption', 'adopt'], ['controll', 'control'], ['generalizations', 'gener'],
  ];
  for (const [w, stem] of pairs) assert.equal(s.stem(w), stem, w);
  // NLTK's extensions: irregular forms and the y→i rule
  const n = new PorterStemmer();
  assert.equal(n.stem('dying'), 'die');
  assert.equal(n.stem('enjoy'), 'enjoy');
  assert.equal(n.stem('happy'), 'happi');
});
