import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tokenize13a, tokenize13aRegexp, tokenizeChar, tokenizeIntl, tokenizeZh } from '../../src/eval/sacrebleu-tokenizers.js';
import { pySplit } from '../../src/eval/pytext.js';
import { Xoshiro128 } from '../../src/eval/index.js';
import { fixtures } from './fixtures.js';

test('13a single-pass path equals the literal four-regexp path (fuzzed + every fixture line)', () => {
  const rng = new Xoshiro128(7);
  const alphabet = "ab .,.-'!?;:\"()x \t{|}~[\\]^_`#$%&*+<=>@/é\u00a0\u3000\u2028\u0085\u001c";
  for (let i = 0; i < 50000; i++) {
    let s = '';
    const n = 1 + rng.nextInt(14);
    for (let j = 0; j < n; j++) s += alphabet[rng.nextInt(alphabet.length)];
    assert.deepEqual(tokenize13a(s), tokenize13aRegexp(s), JSON.stringify(s));
  }
  for (const c of fixtures.bleu) for (const line of [...c.hyps, ...c.refs.flat()]) assert.deepEqual(tokenize13a(line), tokenize13aRegexp(line));
});

test("13a rules (mteval-v13a as in sacreBLEU's tokenizer_13a.py / tokenizer_re.py)", () => {
  assert.deepEqual(tokenize13a('Hello, world! It costs $3,000.50.'), ['Hello', ',', 'world', '!', 'It', 'costs', '$', '3,000.50', '.']);
  assert.deepEqual(tokenize13a('AT&amp;T 2019-2020 <skipped>x'), ['AT', '&', 'T', '2019', '-', '2020', 'x']);
  assert.deepEqual(tokenize13a("don't e-mail"), ["don't", 'e-mail']);
});

test('intl splits Unicode punctuation and symbols except between digits', () => {
  assert.deepEqual(tokenizeIntl('«Bonjour», 1.234,56 € — fin.'), ['«', 'Bonjour', '»', ',', '1.234,56', '€', '—', 'fin', '.']);
  // mteval-v14's known quirk: a number followed by a final dot keeps it
  assert.deepEqual(tokenizeIntl('in 2019.'), ['in', '2019.']);
});

test("zh reproduces tokenizer_zh.py's ranges as Python evaluates them", () => {
  assert.deepEqual(tokenizeZh('我爱北京。'), ['我', '爱', '北', '京', '。']);
  // '\u20000'-style bounds make U+2001–U+2A6D count as Chinese: — “ ” … are split off
  assert.deepEqual(tokenizeZh('a—b“c”…'), ['a', '—', 'b', '“', 'c', '”', '…']);
  // astral CJK (Extension B) is not in any effective range
  assert.deepEqual(tokenizeZh('𠀀𠀁'), ['𠀀𠀁']);
});

test('char tokenizes code points and drops whitespace; Python whitespace rules', () => {
  assert.deepEqual(tokenizeChar('a b𠀀'), ['a', 'b', '𠀀']);
  assert.deepEqual(pySplit(' a\u001cb\u0085c\ufeffd '), ['a', 'b', 'c\ufeffd']);
});
