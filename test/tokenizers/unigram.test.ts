/**
 * Unigram `tokenizer.json` files (SentencePiece unigram LM, Viterbi) against
 * Hugging Face tokenizers (Rust, `Tokenizer.fromString`): a hand-built
 * vocabulary of a few hundred pieces with log-probabilities, Metaspace
 * pre-tokenizer and decoder, with and without byte fallback; ids and offsets
 * equal the Rust library's on fixture and seeded random strings, and decoding
 * round-trips.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { UnigramTokenizer, tokenizerFromJSON } from '../../src/tokenizers/index.js';
import { type HFEncoding, fuzzString, hfTokenizers, rng, skipNoOracle } from './helpers.js';

const CORPUS = 'the cat sat on the mat. a dog ate the hat! cats and dogs sing songs; the singer sang, then ran home at night. über naïve café 東京 ok. unigram models segment words into likely pieces, maximising probability';

/** Pieces: specials, every character, and frequent substrings of `▁`-prefixed corpus words, scored by log relative frequency. */
function unigramJSON(byteFallback: boolean): object {
  const words = CORPUS.split(' ').map((w) => '▁' + w);
  const counts = new Map<string, number>();
  for (const w of words) {
    const cs = [...w];
    for (let i = 0; i < cs.length; i++) for (let j = i + 1; j <= Math.min(cs.length, i + 6); j++) {
      const p = cs.slice(i, j).join('');
      counts.set(p, (counts.get(p) ?? 0) + 1);
    }
  }
  const next = rng(11);
  const pieces = [...counts].filter(([p, c]) => [...p].length === 1 || c >= 2 || next() < 0.9);
  const total = pieces.reduce((a, [, c]) => a + c, 0);
  const vocab: [string, number][] = [['<unk>', 0], ['<s>', 0], ['</s>', 0]];
  if (byteFallback) for (let b = 0; b < 256; b++) vocab.push([`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`, 0]);
  // Drop a few single characters so unknowns (and byte fallback) happen; jitter scores so ties are rare but possible.
  for (const [p, c] of pieces) if (!['k', 'ï', '京'].includes(p)) vocab.push([p, Math.log(c / total) - (p.length > 3 ? 0.5 : 0) + (next() < 0.1 ? 0 : next() * 1e-3)]);
  vocab.push(['▁▁', -9], ['ab', -3]);
  return {
    version: '1.0',
    added_tokens: [
      { id: 0, content: '<unk>', single_word: false, lstrip: false, rstrip: false, normalized: false, special: true },
      { id: 1, content: '<s>', single_word: false, lstrip: false, rstrip: false, normalized: false, special: true },
      { id: 2, content: '</s>', single_word: false, lstrip: false, rstrip: false, normalized: false, special: true },
    ],
    normalizer: null,
    pre_tokenizer: { type: 'Metaspace', replacement: '▁', prepend_scheme: 'always', split: true },
    post_processor: null,
    decoder: byteFallback
      ? { type: 'Sequence', decoders: [{ type: 'Replace', pattern: { String: '▁' }, content: ' ' }, { type: 'ByteFallback' }, { type: 'Fuse' }, { type: 'Strip', content: ' ', start: 1, stop: 0 }] }
      : { type: 'Metaspace', replacement: '▁', prepend_scheme: 'always', split: true },
    model: { type: 'Unigram', unk_id: 0, vocab, byte_fallback: byteFallback },
  };
}

const STRINGS = ['', 'the cat sat on the mat.', 'cats and dogs', 'the  singer sang', 'kkk naïve 東京京', 'ok abab xyz', 'über café!', '  leading', 'x\u{1F600}y', 'night<s>home</s>'];

for (const byteFallback of [false, true]) {
  const json = unigramJSON(byteFallback);
  const name = byteFallback ? 'byte_fallback' : 'unk';
  test(`unigram (${name}): loads as UnigramTokenizer with a few hundred pieces`, () => {
    const t = tokenizerFromJSON(json);
    assert.ok(t instanceof UnigramTokenizer);
    assert.ok(t.vocabSize > 150, `vocab size ${t.vocabSize}`);
  });

  test(`unigram (${name}): ids and offsets equal the Rust library on fixture and 300 seeded random strings`, { skip: skipNoOracle }, async () => {
    const hf = hfTokenizers()?.Tokenizer.fromString(JSON.stringify(json));
    assert.ok(hf);
    const t = tokenizerFromJSON(json);
    const next = rng(byteFallback ? 5 : 6);
    const chars = [...CORPUS, 'z', 'q', 'é', '\u{1F600}', '▁'];
    const strings = [...STRINGS];
    for (let k = 0; k < 300; k++) {
      if (k % 3 === 0) strings.push(fuzzString(next, 8));
      else {
        let s = '';
        const n = Math.floor(next() * 24);
        for (let i = 0; i < n; i++) s += chars[Math.floor(next() * chars.length)];
        strings.push(s);
      }
    }
    for (const s of strings) {
      const h: HFEncoding = await hf.encode(s);
      const e = t.encode(s);
      assert.deepEqual(e.ids, h.getIds(), `ids of ${JSON.stringify(s)}`);
      assert.deepEqual(e.offsets, h.getOffsets(), `offsets of ${JSON.stringify(s)}`);
      assert.equal(t.decode(e.ids), await hf.decode(h.getIds(), false), `decode of ${JSON.stringify(s)}`);
    }
  });

  test(`unigram (${name}): decoding round-trips text the vocabulary covers`, () => {
    const t = tokenizerFromJSON(json);
    for (const s of ['the cat sat on the mat.', 'cats and dogs sing songs', 'über naïve café 東京']) {
      if (!byteFallback && /[kï京]/.test(s)) continue;
      assert.equal(t.decode(t.encode(s).ids), s);
    }
    if (byteFallback) assert.equal(t.decode(t.encode('kk naïve 京 ok').ids), 'kk naïve 京 ok');
  });
}

test('unigram: without unk_id, uncovered text is refused with a clear error; bad files are refused', () => {
  const json = unigramJSON(false) as { model: { unk_id: number | null } };
  const t = tokenizerFromJSON({ ...json, model: { ...json.model, unk_id: null } });
  assert.deepEqual(t.decode(t.encode('the cat').ids), 'the cat');
  assert.throws(() => t.encode('k'), /no Unigram piece covers it and the model has no unk_id/);
  assert.throws(() => tokenizerFromJSON({ model: { type: 'Unigram', unk_id: 5, vocab: [['a', -1]] } }), /unk_id 5 is not an id of model\.vocab/);
  assert.throws(() => tokenizerFromJSON({ model: { type: 'Unigram', unk_id: null, vocab: [['a', -1], ['a', -2]] } }), /piece "a" at both 0 and 1/);
});
