/**
 * The char tokenizer: deterministic sorted vocabulary, one token per code
 * point, the unknown-character policy, and its `tokenizer.json` loading in
 * Hugging Face tokenizers (Rust) and transformers.js with the same ids.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ConfigError } from '../../src/errors.js';
import { CharTokenizer, loadTokenizer } from '../../src/tokenizers/index.js';
import { TEST_STRINGS } from '../fixtures/tokenizers/strings.js';
import { SHARED_DATA, hfTokenizers, skipNoData, skipNoOracle, tempDir } from './helpers.js';

const wellFormed = (s: string): string => s.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd');

test('vocabulary: special tokens first, then characters sorted by code point; training is deterministic', () => {
  const texts = ['banana\n', 'apple pie 🍎', '天地'];
  const t = CharTokenizer.train(texts, { specialTokens: ['<|endoftext|>'] });
  const chars = [...new Set([...texts.join('')])].sort((a, b) => (a.codePointAt(0) as number) - (b.codePointAt(0) as number));
  assert.equal(t.idToToken(0), '<|endoftext|>');
  chars.forEach((c, i) => assert.equal(t.idToToken(i + 1), c, `id ${i + 1}`));
  assert.equal(t.vocabSize, chars.length + 1);
  assert.equal(t.eosTokenId, 0);
  assert.deepEqual(CharTokenizer.train(texts, { specialTokens: ['<|endoftext|>'] }).toJSON(), t.toJSON());
  assert.deepEqual(CharTokenizer.train([...texts].reverse(), { specialTokens: ['<|endoftext|>'] }).toJSON(), t.toJSON());
});

test('one token per code point: emoji and astral characters are single tokens; newline and space are characters', () => {
  const t = CharTokenizer.train(['a b\n😀𠀀👍🏽']);
  const e = t.encode('😀 a\n👍🏽𠀀');
  assert.deepEqual(e.tokens, ['😀', ' ', 'a', '\n', '👍', '🏽', '𠀀']);
  assert.deepEqual(e.offsets, [[0, 1], [1, 2], [2, 3], [3, 4], [4, 5], [5, 6], [6, 7]]);
  assert.equal(t.decode(e.ids), '😀 a\n👍🏽𠀀');
});

test('unknown characters: [UNK] when present, else an error naming the character, or skipped by policy', () => {
  const withUnk = CharTokenizer.train(['abc'], { unkToken: '[UNK]' });
  assert.deepEqual(withUnk.encode('axb').tokens, ['a', '[UNK]', 'b']);
  assert.equal(withUnk.unkTokenId, 0);
  const listed = CharTokenizer.train(['abc'], { specialTokens: ['<pad>', '<unk>'] });
  assert.deepEqual(listed.encode('a€').tokens, ['a', '<unk>']);
  const strict = CharTokenizer.train(['abc']);
  assert.throws(() => strict.encode('abz'), (err: unknown) => err instanceof ConfigError && /"z" \(U\+007A\)/.test(err.message));
  const lenient = CharTokenizer.train(['abc'], { onUnknown: 'skip' });
  assert.deepEqual(lenient.encode('a z b').tokens, ['a', 'b']);
  const dir = tempDir();
  lenient.save(dir);
  assert.deepEqual(loadTokenizer(dir).encode('a z b').tokens, ['a', 'b'], 'the skip policy survives save/load');
});

test('minFrequency drops rare characters', () => {
  const t = CharTokenizer.train(['aaab'], { minFrequency: 2, unkToken: '[UNK]' });
  assert.equal(t.tokenToId('b'), undefined);
  assert.deepEqual(t.encode('ab').tokens, ['a', '[UNK]']);
});

test('special tokens inside text are single ids; decode skips them on request', () => {
  const t = CharTokenizer.train(['once upon a time'], { specialTokens: ['<|endoftext|>'] });
  const e = t.encode('a time<|endoftext|>once');
  assert.equal(e.ids.filter((id) => id === 0).length, 1);
  assert.deepEqual(e.offsets[6], [6, 19]);
  assert.equal(t.decode(e.ids), 'a time<|endoftext|>once');
  assert.equal(t.decode(e.ids, { skipSpecialTokens: true }), 'a timeonce');
});

test('Hugging Face tokenizers loads the saved tokenizer.json and gives the same ids, offsets and decode', { skip: skipNoOracle }, async () => {
  const oracle = hfTokenizers();
  assert.ok(oracle);
  const full = CharTokenizer.train(TEST_STRINGS, { specialTokens: ['<|endoftext|>', '[PAD]'] });
  const partial = CharTokenizer.train(TEST_STRINGS.slice(0, 20), { specialTokens: ['[UNK]'] });
  for (const t of [full, partial]) {
    const dir = tempDir();
    t.save(dir);
    const hf = oracle.Tokenizer.fromFile(join(dir, 'tokenizer.json'));
    for (const s of TEST_STRINGS) {
      const e = t.encode(s);
      const h = await hf.encode(s);
      assert.deepEqual(e.ids, h.getIds(), JSON.stringify(s));
      assert.deepEqual(e.offsets, h.getOffsets(), JSON.stringify(s));
      assert.equal(t.decode(e.ids), await hf.decode(h.getIds(), false), JSON.stringify(s));
      assert.equal(t.decode(e.ids, { skipSpecialTokens: true }), await hf.decode(h.getIds(), true), JSON.stringify(s));
    }
  }
  for (const s of TEST_STRINGS) assert.equal(full.decode(full.encode(s).ids), wellFormed(s), 'round trip');
});

test('Tang poems: ~7,000-character vocabulary, lossless round trip, same ids after save/load', { skip: skipNoData }, () => {
  const poems = readFileSync(join(SHARED_DATA, 'tang-poems.jsonl'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .slice(0, 20000)
    .map((l) => (JSON.parse(l) as { text: string }).text + '\n');
  const t = CharTokenizer.train(poems, { specialTokens: ['<|endoftext|>'], unkToken: '[UNK]' });
  assert.ok(t.vocabSize > 5000 && t.vocabSize < 9000, `vocab ${t.vocabSize}`);
  const dir = tempDir();
  t.save(dir);
  const back = loadTokenizer(dir);
  for (const p of poems.slice(0, 200)) {
    const ids = t.encode(p).ids;
    assert.equal(ids.length, [...p].length);
    assert.deepEqual(back.encode(p).ids, ids);
    assert.equal(back.decode(ids), p);
  }
});
