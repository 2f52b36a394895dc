/**
 * StreamDecoder: ids pushed one at a time come out as whole characters only —
 * never a U+FFFD from a UTF-8 sequence split over byte-level tokens — and the
 * pieces add up to `decode(ids)`.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CharTokenizer, StreamDecoder, type Tokenizer } from '../../src/tokenizers/index.js';
import { TEST_STRINGS } from '../fixtures/tokenizers/strings.js';
import { sharedTokenizer, skipNoVocab } from './helpers.js';

function stream(t: Tokenizer, ids: number[], skipSpecialTokens = false): { pieces: string[]; rest: string } {
  const d = new StreamDecoder(t, { skipSpecialTokens });
  const pieces = ids.map((id) => d.push(id));
  return { pieces, rest: d.flush() };
}

test('gpt2: Chinese characters split over byte tokens come out whole, once', { skip: skipNoVocab }, () => {
  const t = sharedTokenizer('gpt2');
  const poem = '床前明月光，疑是地上霜。舉頭望明月，低頭思故鄉。🍕👨‍👩‍👧';
  const ids = t.encode(poem).ids;
  const { pieces, rest } = stream(t, ids);
  assert.ok(ids.length > [...poem].length, 'some characters take several tokens');
  assert.ok(pieces.some((p) => p === ''), 'the decoder waited for incomplete characters');
  for (const p of pieces) assert.ok(!p.includes('\ufffd'), `piece ${JSON.stringify(p)} holds a broken character`);
  assert.equal(pieces.join('') + rest, poem);
  assert.equal(rest, '');
  // Each character appears exactly once: the pieces are consecutive slices.
  let at = 0;
  for (const p of pieces) {
    assert.equal(poem.slice(at, at + p.length), p);
    at += p.length;
  }
});

for (const name of ['gpt2', 'bert-base-uncased', 'bert-base-chinese']) {
  test(`${name}: streamed pieces add up to decode(ids) on every test string`, { skip: skipNoVocab }, () => {
    const t = sharedTokenizer(name);
    for (const s of TEST_STRINGS) {
      for (const skip of [false, true]) {
        const ids = t.encode(s).ids;
        const { pieces, rest } = stream(t, ids, skip);
        assert.equal(pieces.join('') + rest, t.decode(ids, { skipSpecialTokens: skip }), `${JSON.stringify(s)} skip=${skip}`);
        const whole = t.decode(ids, { skipSpecialTokens: skip });
        if (!whole.includes('\ufffd')) for (const p of pieces) assert.ok(!p.includes('\ufffd'), JSON.stringify(s));
      }
    }
  });
}

test('flush() returns an incomplete character as U+FFFD and resets', { skip: skipNoVocab }, () => {
  const t = sharedTokenizer('gpt2');
  const ids = t.encode('你').ids; // two byte-level tokens
  assert.equal(ids.length, 2);
  const d = new StreamDecoder(t);
  assert.equal(d.push(ids[0]), '');
  assert.equal(d.flush(), '\ufffd');
  assert.equal(d.push(t.encode('a').ids[0]), 'a');
});

test('char tokenizer: every push returns its character', () => {
  const t = CharTokenizer.train(['天地玄黃 abc\n'], { specialTokens: ['<|endoftext|>'] });
  const d = new StreamDecoder(t, { skipSpecialTokens: true });
  const ids = t.encode('天地 a<|endoftext|>\n').ids;
  assert.deepEqual(ids.map((id) => d.push(id)), ['天', '地', ' ', 'a', '', '\n']);
});
