/**
 * Byte-level BPE training: merges checked by hand on Sennrich et al.'s toy
 * corpus (with Hugging Face's tie-break: equal counts go to the smaller pair
 * of ids); trained tokenizers loaded by Hugging Face tokenizers (Rust) must
 * give the same ids; round trips are lossless.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ConfigError } from '../../src/errors.js';
import { ByteLevelBPETokenizer, loadTokenizer } from '../../src/tokenizers/index.js';
import { TEST_STRINGS } from '../fixtures/tokenizers/strings.js';
import { SHARED_DATA, hfTokenizers, skipNoData, skipNoOracle, tempDir } from './helpers.js';

const wellFormed = (s: string): string => s.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd');

function toyCorpus(): string[] {
  // Sennrich et al. (2016), Fig. 1: low ×5, lower ×2, newest ×6, widest ×3 — one word per text, so no Ġ prefixes.
  return [...Array(5).fill('low'), ...Array(2).fill('lower'), ...Array(6).fill('newest'), ...Array(3).fill('widest')];
}

test('toy corpus: merges in the order worked out by hand', () => {
  const t = ByteLevelBPETokenizer.train(toyCorpus(), { vocabSize: 1 + 256 + 12, minFrequency: 1 });
  // es/st tie at 9 → (e,s) has the smaller ids; then est 9; lo/ow tie at 7 → lo, low; then the 6s: (e,w) < (n,e) < (w,est);
  // new, newest; the 3s: (d,est) < (i,d) < (w,i); then the 2s: (e,r) < (low,e).
  const expected = [['e', 's'], ['es', 't'], ['l', 'o'], ['lo', 'w'], ['e', 'w'], ['n', 'ew'], ['new', 'est'], ['d', 'est'], ['i', 'dest'], ['w', 'idest'], ['e', 'r'], ['low', 'er']];
  assert.deepEqual(t.model.merges, expected);
  assert.equal(t.vocabSize, 269);
  assert.equal(t.idToToken(0), '<|endoftext|>');
  assert.equal(t.idToToken(1), '!'); // the byte alphabet follows, sorted by code point
  for (const w of ['low', 'lower', 'newest', 'widest']) assert.deepEqual(t.encode(w).tokens, [w]);
  assert.deepEqual(t.encode('lowest').tokens, ['low', 'est']);
});

test('minFrequency stops merging; vocabSize bounds the vocabulary', () => {
  const few = ByteLevelBPETokenizer.train(toyCorpus(), { vocabSize: 1000, minFrequency: 7 });
  assert.deepEqual(few.model.merges, [['e', 's'], ['es', 't'], ['l', 'o'], ['lo', 'w']]);
  const capped = ByteLevelBPETokenizer.train(toyCorpus(), { vocabSize: 257 + 3, minFrequency: 1 });
  assert.equal(capped.vocabSize, 260);
  assert.throws(() => ByteLevelBPETokenizer.train(['x'], { vocabSize: 100 }), ConfigError);
});

test('special tokens get the first ids, are never split, and are not counted as words', () => {
  const t = ByteLevelBPETokenizer.train(['<|endoftext|>'.repeat(50) + ' a b'], { vocabSize: 400, specialTokens: ['<|endoftext|>', '<pad>'] });
  assert.equal(t.tokenToId('<|endoftext|>'), 0);
  assert.equal(t.tokenToId('<pad>'), 1);
  assert.equal(t.padTokenId, 1);
  assert.equal(t.eosTokenId, 0);
  assert.equal(t.model.merges.length, 0, 'nothing repeats except the special token');
  assert.deepEqual(t.encode('a<|endoftext|>b').tokens, ['a', '<|endoftext|>', 'b']);
});

function loadLines(file: string, n: number): string[] {
  return readFileSync(join(SHARED_DATA, file), 'utf8').split('\n').slice(0, n);
}

test('tinyshakespeare and Tang poems: saved tokenizer.json gives the same ids in Hugging Face tokenizers', { skip: skipNoData || skipNoOracle }, async () => {
  const oracle = hfTokenizers();
  assert.ok(oracle);
  const shakes = loadLines('tinyshakespeare.txt', 3000).map((l) => l + '\n');
  const tang = loadLines('tang-poems.jsonl', 800)
    .filter(Boolean)
    .map((l) => (JSON.parse(l) as { text: string }).text + '\n');
  for (const [name, corpus, size] of [['shakespeare', shakes, 1000], ['tang', tang, 2000]] as const) {
    const t = ByteLevelBPETokenizer.train(corpus, { vocabSize: size, minFrequency: 2 });
    assert.equal(t.vocabSize, size, `${name} vocab size`);
    const dir = tempDir();
    t.save(dir);
    const hf = oracle.Tokenizer.fromFile(join(dir, 'tokenizer.json'));
    const back = loadTokenizer(dir);
    const samples = [...corpus.slice(0, 100), ...TEST_STRINGS];
    for (const s of samples) {
      const e = t.encode(s);
      const h = await hf.encode(s);
      assert.deepEqual(e.ids, h.getIds(), `${name}: ${JSON.stringify(s)}`);
      assert.deepEqual(e.offsets, h.getOffsets(), `${name} offsets: ${JSON.stringify(s)}`);
      assert.deepEqual(back.encode(s).ids, e.ids);
      assert.equal(t.decode(e.ids), wellFormed(s));
    }
    // Frequent Chinese characters became single tokens (3 UTF-8 bytes merged).
    if (name === 'tang') assert.deepEqual(t.encode('山').tokens.length, 1);
  }
});

test('the legacy vocab.json + merges.txt written by save() load back to the same tokenizer', () => {
  const t = ByteLevelBPETokenizer.train(toyCorpus(), { vocabSize: 269, minFrequency: 1 });
  const dir = tempDir();
  t.save(dir);
  const back = ByteLevelBPETokenizer.fromFiles(join(dir, 'vocab.json'), join(dir, 'merges.txt'));
  assert.deepEqual(back.model.merges, t.model.merges);
  assert.deepEqual(back.encode('lowest newer').ids, t.encode('lowest newer').ids);
});
