/**
 * `encodeBatch`: padding (longest / maxLength, left / right), truncation with
 * the special tokens kept, and attention masks — against the Rust library
 * with the same padding and truncation settings.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { ConfigError } from '../../src/errors.js';
import { CharTokenizer } from '../../src/tokenizers/index.js';
import { SHARED_VOCAB, hfTokenizers, sharedTokenizer, skipNoOracle, skipNoVocab } from './helpers.js';

const TEXTS = ['Hello world!', 'A much longer sentence, with commas, that will be cut short by truncation.', '', '你好，世界。'];

for (const name of ['gpt2', 'bert-base-uncased']) {
  for (const side of ['left', 'right'] as const) {
    test(`${name}: padding and truncation (${side}) equal the Rust library's`, { skip: skipNoVocab || skipNoOracle }, async () => {
      const t = sharedTokenizer(name);
      const hf = hfTokenizers()?.Tokenizer.fromFile(join(SHARED_VOCAB, name, 'tokenizer.json'));
      assert.ok(hf);
      // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion -- needed: the rule misreads an assertion right of `??`
      const padId = t.padTokenId ?? (t.eosTokenId as number);
      const padToken = t.idToToken(padId) as string;
      const cases = [
        { padding: 'longest' as const, truncation: false, maxLength: undefined },
        { padding: 'maxLength' as const, truncation: true, maxLength: 9 },
        { padding: 'longest' as const, truncation: true, maxLength: 7 },
      ];
      for (const c of cases) {
        hf.disableTruncation();
        hf.setPadding({ direction: side, padId, padToken, maxLength: c.padding === 'maxLength' ? c.maxLength : undefined });
        if (c.truncation && c.maxLength) hf.setTruncation(c.maxLength);
        const expected = await hf.encodeBatch(TEXTS);
        const ours = t.encodeBatch(TEXTS, { padding: c.padding, paddingSide: side, truncation: c.truncation, maxLength: c.maxLength });
        assert.deepEqual(ours.inputIds, expected.map((e) => e.getIds()), JSON.stringify(c));
        assert.deepEqual(ours.attentionMask, expected.map((e) => e.getAttentionMask()), JSON.stringify(c));
      }
    });
  }
}

test('no padding: rows keep their lengths and masks are all ones', () => {
  const t = CharTokenizer.train(['abc '], { specialTokens: ['[PAD]'] });
  const b = t.encodeBatch(['ab', 'c', '']);
  assert.deepEqual(b.inputIds, [[2, 3], [4], []]); // [PAD]=0, ' '=1, a=2, b=3, c=4
  assert.deepEqual(b.attentionMask, [[1, 1], [1], []]);
});

test('bad batch options are ConfigErrors naming the option', () => {
  const t = CharTokenizer.train(['abc']);
  assert.throws(() => t.encodeBatch(['ab', 'c'], { padding: 'longest' }), /pad token/);
  assert.throws(() => t.encodeBatch(['ab'], { truncation: true }), (e: unknown) => e instanceof ConfigError && /maxLength/.test(e.message));
  const u = CharTokenizer.train(['abc'], { specialTokens: ['[PAD]'] });
  assert.deepEqual(u.encodeBatch(['abc'], { truncation: true, maxLength: 2 }).inputIds, [[1, 2]]);
});
