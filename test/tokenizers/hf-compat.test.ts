/**
 * The real GPT-2, bert-base-uncased and bert-base-chinese tokenizers against
 * Hugging Face tokenizers (Rust): the committed `hf-expected.json` for the
 * issue's 70 test strings, the live library on random awkward strings, and
 * cross-checks against gpt-tokenizer (r50k_base; its ids committed by
 * fixtures/tokenizers/generate-gpt-tokenizer.ts) and transformers.js (its
 * outputs committed in test/fixtures/transformersjs/, generate.ts beside it).
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { CharTokenizer, tokenizerFromJSON } from '../../src/tokenizers/index.js';
import { TEST_STRINGS } from '../fixtures/tokenizers/strings.js';
import { FIXTURES, type HFEncoding, SHARED_VOCAB, fuzzString, hfTokenizers, rng, sharedTokenizer, skipNoOracle, skipNoVocab, tempDir } from './helpers.js';

interface Expected {
  ids: number[];
  tokens: string[];
  offsets: [number, number][];
  noSpecial: number[];
  decoded: string;
  decodedSkip: string;
}
const fixture = JSON.parse(readFileSync(join(FIXTURES, 'hf-expected.json'), 'utf8')) as Record<string, Expected[]> & { strings: string[] };
const NAMES = ['gpt2', 'bert-base-uncased', 'bert-base-chinese'] as const;

const tok = sharedTokenizer;

test('fixture covers the issue: at least 60 strings, the same list as strings.ts', () => {
  assert.ok(TEST_STRINGS.length >= 60);
  assert.deepEqual(fixture.strings, [...TEST_STRINGS]);
});

for (const name of NAMES) {
  test(`${name}: ids, tokens, offsets and decode equal Hugging Face on every test string`, { skip: skipNoVocab }, () => {
    const t = tok(name);
    const rows = fixture[name];
    TEST_STRINGS.forEach((s, i) => {
      const exp = rows[i];
      const e = t.encode(s);
      const what = `${name} on ${JSON.stringify(s)}`;
      assert.deepEqual(e.ids, exp.ids, `ids, ${what}`);
      assert.deepEqual(e.tokens, exp.tokens, `tokens, ${what}`);
      assert.deepEqual(e.offsets, exp.offsets, `offsets, ${what}`);
      assert.deepEqual(t.encode(s, { addSpecialTokens: false }).ids, exp.noSpecial, `ids without special tokens, ${what}`);
      assert.equal(t.decode(e.ids), exp.decoded, `decode, ${what}`);
      assert.equal(t.decode(e.ids, { skipSpecialTokens: true }), exp.decodedSkip, `decode skipping special tokens, ${what}`);
    });
  });

  test(`${name}: equals the live Rust library on 200 random awkward strings`, { skip: skipNoVocab || skipNoOracle }, async () => {
    const hf = hfTokenizers()?.Tokenizer.fromFile(join(SHARED_VOCAB, name, 'tokenizer.json'));
    assert.ok(hf);
    const t = tok(name);
    const next = rng(name.length * 7919);
    for (let k = 0; k < 200; k++) {
      const s = fuzzString(next, 16);
      const e = t.encode(s);
      const h: HFEncoding = await hf.encode(s);
      assert.deepEqual(e.ids, h.getIds(), `ids of ${JSON.stringify(s)}`);
      assert.deepEqual(e.offsets, h.getOffsets(), `offsets of ${JSON.stringify(s)}`);
      assert.equal(t.decode(e.ids), await hf.decode(h.getIds(), false), `decode of ${JSON.stringify(s)}`);
    }
  });
}

test('gpt2: known ids from the vocabulary README', { skip: skipNoVocab }, () => {
  const t = tok('gpt2');
  assert.deepEqual(t.encode('Hello world').ids, [15496, 995]);
  assert.equal(t.tokenToId('<|endoftext|>'), 50256);
  assert.equal(t.eosTokenId, 50256);
  assert.equal(t.bosTokenId, 50256);
  assert.equal(t.vocabSize, 50257);
  assert.equal(t.padTokenId, undefined);
});

test('bert: known ids from the vocabulary README', { skip: skipNoVocab }, () => {
  const u = tok('bert-base-uncased');
  assert.deepEqual([u.padTokenId, u.unkTokenId, u.specialTokens.cls?.id, u.specialTokens.sep?.id, u.maskTokenId], [0, 100, 101, 102, 103]);
  assert.deepEqual(u.encode('Hello').ids, [101, 7592, 102]);
  assert.equal(u.vocabSize, 30522);
  const c = tok('bert-base-chinese');
  assert.deepEqual(c.encode('一天龙，。', { addSpecialTokens: false }).ids, [671, 1921, 7987, 8024, 511]);
  assert.equal(c.vocabSize, 21128);
});

test('gpt2: decode(encode(s)) === s for every test string (byte-level BPE is lossless)', { skip: skipNoVocab }, () => {
  const t = tok('gpt2');
  for (const s of TEST_STRINGS) {
    const wellFormed = s.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd');
    assert.equal(t.decode(t.encode(s).ids), wellFormed, JSON.stringify(s));
  }
});

test('gpt2: same ids as gpt-tokenizer r50k_base (GPT-2 encoding) on text without special tokens (committed fixture)', { skip: skipNoVocab }, () => {
  const ref = JSON.parse(readFileSync(join(FIXTURES, 'gpt-tokenizer-r50k.json'), 'utf8')) as { generator: string; strings: string[]; ids: (number[] | null)[] };
  assert.deepEqual(ref.strings, [...TEST_STRINGS], 'the fixture was generated from strings.ts');
  const t = tok('gpt2');
  TEST_STRINGS.forEach((s, i) => {
    const ids = ref.ids[i];
    if (ids) assert.deepEqual(t.encode(s).ids, ids, `${JSON.stringify(s)} (${ref.generator})`);
  });
});

interface TransformersJsFixture {
  generator: string;
  strings: string[];
  char: { ids: number[]; decoded: string | null }[];
  [name: string]: unknown;
}
const tjs = JSON.parse(readFileSync(join(FIXTURES, '..', 'transformersjs', 'tokenizers.json'), 'utf8')) as TransformersJsFixture;

test('transformers.js gives the same ids for a saved char tokenizer (committed fixture)', () => {
  assert.deepEqual(tjs.strings, [...TEST_STRINGS], 'the fixture was generated from strings.ts');
  const char = CharTokenizer.train(TEST_STRINGS, { specialTokens: ['<|endoftext|>'] });
  TEST_STRINGS.forEach((s, i) => {
    if (/[\ud800-\udfff]/.test(s.replace(/[\ud800-\udbff][\udc00-\udfff]/g, ''))) return;
    const row = tjs.char[i];
    assert.deepEqual(char.encode(s).ids, row.ids, `char on ${JSON.stringify(s)} (${tjs.generator})`);
    if (s !== '') assert.equal(row.decoded, s, `transformers.js decode of muse's char ids for ${JSON.stringify(s)}`);
  });
});

test('transformers.js gives the same ids for gpt2 and both BERTs (committed fixture)', { skip: skipNoVocab }, () => {
  for (const name of NAMES) {
    const rows = tjs[name] as number[][];
    const t = tok(name);
    TEST_STRINGS.forEach((s, i) => {
      // transformers.js does not put spaces around CJK ideographs above U+FFFF (the Rust library and muse do).
      if (name !== 'gpt2' && /[\u{20000}-\u{2FA1F}]/u.test(s)) return;
      assert.deepEqual(t.encode(s).ids, rows[i], `${name} on ${JSON.stringify(s)} (${tjs.generator})`);
    });
  }
});

test('GPT-2 tokenizer.json variants (add_prefix_space, trim_offsets, use_regex off, lstrip and single_word added tokens) equal the Rust library', { skip: skipNoVocab || skipNoOracle }, async () => {
  const oracle = hfTokenizers();
  assert.ok(oracle);
  const base = JSON.parse(readFileSync(join(SHARED_VOCAB, 'gpt2', 'tokenizer.json'), 'utf8')) as {
    pre_tokenizer: Record<string, unknown>;
    post_processor: Record<string, unknown>;
    added_tokens: Record<string, unknown>[];
  };
  const token = (id: number, content: string, o: Record<string, boolean>) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true, ...o });
  const variants = [
    (j: typeof base) => {
      j.pre_tokenizer.add_prefix_space = true;
      j.added_tokens.push(token(50257, '<mask>', { lstrip: true }), token(50258, 'qqzx', { single_word: true, rstrip: true, special: false }));
    },
    (j: typeof base) => {
      j.pre_tokenizer.use_regex = false;
      j.post_processor.trim_offsets = true;
    },
  ];
  const extra = ['a <mask> b', 'x<mask>y', '  <mask>', 'qqzx qqzxalog the qqzx. qqzxs', 'aqqzx', 'é qqzx_'];
  for (const change of variants) {
    const json = structuredClone(base);
    change(json);
    const dir = tempDir();
    writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(json));
    const hf = oracle.Tokenizer.fromFile(join(dir, 'tokenizer.json'));
    const t = tokenizerFromJSON(json);
    for (const s of [...TEST_STRINGS, ...extra]) {
      const e = t.encode(s);
      const h: HFEncoding = await hf.encode(s);
      assert.deepEqual(e.ids, h.getIds(), JSON.stringify(s));
      assert.deepEqual(e.offsets, h.getOffsets(), JSON.stringify(s));
      assert.equal(t.decode(e.ids), await hf.decode(h.getIds(), false), JSON.stringify(s));
    }
  }
});
