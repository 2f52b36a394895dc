/**
 * WordPiece: loading `vocab.txt` (uncased by default, cased when
 * `tokenizer_config.json` says so), the greedy longest-match and `[UNK]`
 * rules, and training (checked with Hugging Face tokenizers loading the
 * result).
 */
import assert from 'node:assert/strict';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { WordPieceTokenizer, loadTokenizer, tokenizerFromJSON } from '../../src/tokenizers/index.js';
import { TEST_STRINGS } from '../fixtures/tokenizers/strings.js';
import { FIXTURES, SHARED_DATA, SHARED_VOCAB, hfTokenizers, skipNoData, skipNoOracle, skipNoVocab, tempDir } from './helpers.js';

const fixture = JSON.parse(readFileSync(join(FIXTURES, 'hf-expected.json'), 'utf8')) as Record<string, { ids: number[] }[]>;

test('vocab.txt alone loads like the full tokenizer.json (uncased); with do_lower_case false it is cased like bert-base-chinese', { skip: skipNoVocab }, () => {
  const uncased = tempDir();
  copyFileSync(join(SHARED_VOCAB, 'bert-base-uncased', 'vocab.txt'), join(uncased, 'vocab.txt'));
  const chinese = tempDir();
  copyFileSync(join(SHARED_VOCAB, 'bert-base-chinese', 'vocab.txt'), join(chinese, 'vocab.txt'));
  copyFileSync(join(SHARED_VOCAB, 'bert-base-chinese', 'tokenizer_config.json'), join(chinese, 'tokenizer_config.json'));
  const u = loadTokenizer(uncased);
  const c = loadTokenizer(chinese);
  const direct = WordPieceTokenizer.fromVocab(join(SHARED_VOCAB, 'bert-base-chinese', 'vocab.txt'), { lowercase: false });
  TEST_STRINGS.forEach((s, i) => {
    assert.deepEqual(u.encode(s).ids, fixture['bert-base-uncased'][i].ids, `uncased ${JSON.stringify(s)}`);
    assert.deepEqual(c.encode(s).ids, fixture['bert-base-chinese'][i].ids, `chinese ${JSON.stringify(s)}`);
    assert.deepEqual(direct.encode(s).ids, fixture['bert-base-chinese'][i].ids, `fromVocab ${JSON.stringify(s)}`);
  });
  assert.equal(c.padTokenId, 0);
  assert.equal(c.maskTokenId, 103);
  assert.equal(c.modelMaxLength, 512);
});

test('greedy longest-match-first with ## pieces; [UNK] for uncoverable and overlong words', () => {
  const vocab = new Map(['[UNK]', '[CLS]', '[SEP]', 'un', 'unaff', '##aff', '##able', '##a', '##ble', 'x'].map((t, i) => [t, i]));
  const t = new WordPieceTokenizer(vocab, { addedTokens: [], normalizer: { cleanText: true, handleChineseChars: true, stripAccents: null, lowercase: true } });
  assert.deepEqual(t.encode('unaffable', { addSpecialTokens: false }).tokens, ['unaff', '##able']);
  assert.deepEqual(t.encode('UnAffable!', { addSpecialTokens: false }).tokens, ['unaff', '##able', '[UNK]']);
  assert.deepEqual(t.encode('unaffz', { addSpecialTokens: false }).tokens, ['[UNK]'], 'one piece missing → the whole word is [UNK]');
  assert.deepEqual(t.encode('x'.repeat(101), { addSpecialTokens: false }).tokens, ['[UNK]']);
  assert.deepEqual(t.encode('unaffable', { addSpecialTokens: true }).tokens, ['[CLS]', 'unaff', '##able', '[SEP]']);
  assert.equal(t.decode(t.encode('unaffable x').ids, { skipSpecialTokens: false }), '[CLS] unaffable x [SEP]');
});

test('training: special tokens first, alphabet with ## characters, Hugging Face tokenizers gives the same ids', { skip: skipNoData || skipNoOracle }, async () => {
  const oracle = hfTokenizers();
  assert.ok(oracle);
  const fables = readFileSync(join(SHARED_DATA, 'aesop-fables.jsonl'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => (JSON.parse(l) as { text: string }).text);
  const poems = readFileSync(join(SHARED_DATA, 'song-ci.jsonl'), 'utf8')
    .split('\n')
    .slice(0, 300)
    .filter(Boolean)
    .map((l) => (JSON.parse(l) as { text: string }).text);
  const t = WordPieceTokenizer.train([...fables, ...poems], { vocabSize: 3000 });
  assert.deepEqual([0, 1, 2, 3, 4].map((i) => t.idToToken(i)), ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]']);
  assert.ok(t.vocabSize <= 3000 && t.vocabSize > 2500, `vocab ${t.vocabSize}`);
  assert.ok(t.tokenToId('##e') !== undefined && t.tokenToId('the') !== undefined);
  const dir = tempDir();
  t.save(dir);
  const hf = oracle.Tokenizer.fromFile(join(dir, 'tokenizer.json'));
  for (const s of [...fables.slice(0, 20), ...poems.slice(0, 20), ...TEST_STRINGS]) {
    const e = t.encode(s);
    const h = await hf.encode(s);
    assert.deepEqual(e.ids, h.getIds(), JSON.stringify(s));
    assert.deepEqual(e.offsets, h.getOffsets(), JSON.stringify(s));
    assert.equal(t.decode(e.ids), await hf.decode(h.getIds(), false));
  }
  // vocab.txt written next to tokenizer.json reloads to the same tokenizer.
  const legacy = tempDir();
  writeFileSync(join(legacy, 'vocab.txt'), readFileSync(join(dir, 'vocab.txt')));
  assert.deepEqual(loadTokenizer(legacy).encode(fables[0]).ids, t.encode(fables[0]).ids);
});

test('BertNormalizer variants (cased + strip accents, lowercase without stripping, no clean_text, no CJK split, short max word) equal the Rust library', { skip: skipNoVocab || skipNoOracle }, async () => {
  const oracle = hfTokenizers();
  assert.ok(oracle);
  type J = { normalizer: Record<string, unknown>; model: Record<string, unknown> };
  const base = JSON.parse(readFileSync(join(SHARED_VOCAB, 'bert-base-uncased', 'tokenizer.json'), 'utf8')) as J;
  const variants = [
    (j: J) => Object.assign(j.normalizer, { lowercase: false, strip_accents: true }),
    (j: J) => Object.assign(j.normalizer, { strip_accents: false, clean_text: false }),
    (j: J) => {
      Object.assign(j.normalizer, { handle_chinese_chars: false });
      j.model.max_input_chars_per_word = 5;
    },
  ];
  for (const change of variants) {
    const json = structuredClone(base);
    change(json);
    const dir = tempDir();
    writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(json));
    const hf = oracle.Tokenizer.fromFile(join(dir, 'tokenizer.json'));
    const t = tokenizerFromJSON(json);
    for (const s of TEST_STRINGS) {
      const e = t.encode(s);
      const h = await hf.encode(s);
      assert.deepEqual(e.ids, h.getIds(), `${JSON.stringify(json.normalizer)} on ${JSON.stringify(s)}`);
      assert.deepEqual(e.offsets, h.getOffsets(), JSON.stringify(s));
    }
  }
});
