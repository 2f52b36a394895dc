/**
 * Bad input: missing or malformed vocabulary, merges and tokenizer.json files
 * give a FileFormatError naming the file and the problem; invalid text never
 * crashes (lone surrogates read as U+FFFD, as in the Rust library).
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { FileFormatError } from '../../src/errors.js';
import { ByteLevelBPETokenizer, CharTokenizer, loadTokenizer, tokenizerFromJSON } from '../../src/tokenizers/index.js';
import { SHARED_VOCAB, sharedTokenizer, skipNoVocab, tempDir } from './helpers.js';

function fails(fn: () => unknown, ...patterns: RegExp[]): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof FileFormatError, `expected FileFormatError, got ${String(err)}`);
    for (const p of patterns) assert.match(err.message, p);
    return true;
  });
}

test('missing directory, empty directory, half a GPT-2 tokenizer', () => {
  const dir = tempDir();
  fails(() => loadTokenizer(join(dir, 'nope')), /nope does not exist/);
  fails(() => loadTokenizer(dir), /holds no tokenizer/, /tokenizer\.json/, /vocab\.txt/);
  writeFileSync(join(dir, 'vocab.json'), '{"a": 0}');
  fails(() => loadTokenizer(dir), /vocab\.json but no merges\.txt/);
});

test('malformed tokenizer.json: bad JSON, no model, unsupported model, bad merges', () => {
  const dir = tempDir();
  const path = join(dir, 'tokenizer.json');
  writeFileSync(path, '{"model": ');
  fails(() => loadTokenizer(dir), /tokenizer\.json: invalid JSON at line 1/);
  writeFileSync(path, '{"version": "1.0"}');
  fails(() => loadTokenizer(dir), /tokenizer\.json: missing "model"/);
  writeFileSync(path, JSON.stringify({ model: { type: 'WordPiecePlus', vocab: [] } }));
  fails(() => loadTokenizer(dir), /tokenizer\.json: model type "WordPiecePlus" is not supported/);
  writeFileSync(path, JSON.stringify({ model: { type: 'Unigram', vocab: [] } }));
  fails(() => loadTokenizer(dir), /tokenizer\.json: Unigram model\.vocab must be a non-empty array/);
  fails(() => tokenizerFromJSON({ model: { type: 'BPE', vocab: { a: 0 }, merges: ['a b'] }, pre_tokenizer: { type: 'ByteLevel' } }), /token "b" is not in the vocabulary/);
  fails(() => tokenizerFromJSON({ model: { type: 'BPE', vocab: { a: 0 }, merges: [] }, pre_tokenizer: { type: 'CharDelimiterSplit' } }), /pre_tokenizer "CharDelimiterSplit" is not supported/);
  fails(() => tokenizerFromJSON({ model: { type: 'BPE', vocab: { a: 0 }, merges: [] }, normalizer: { type: 'Precompiled' } }), /normalizer "Precompiled" is not supported/);
  fails(() => tokenizerFromJSON({ model: { type: 'BPE', vocab: { a: 0 }, merges: [] }, decoder: { type: 'CTC' } }), /decoder "CTC" is not supported/);
  fails(() => tokenizerFromJSON({ model: { type: 'WordPiece', vocab: { a: 'x' } }, pre_tokenizer: { type: 'BertPreTokenizer' } }), /token "a" the id "x"/);
});

test('malformed vocab.json and merges.txt name the file and the line', () => {
  const dir = tempDir();
  const vocab = join(dir, 'vocab.json');
  const merges = join(dir, 'merges.txt');
  writeFileSync(vocab, '[1, 2]');
  writeFileSync(merges, '#version: 0.2\n');
  fails(() => ByteLevelBPETokenizer.fromFiles(vocab, merges), /vocab\.json: expected an object mapping token → id, found an array/);
  writeFileSync(vocab, '{"a": 0, "b": 1, "ab": 2}');
  writeFileSync(merges, '#version: 0.2\na b\nab\n');
  fails(() => ByteLevelBPETokenizer.fromFiles(vocab, merges), /merges\.txt line 3: expected two tokens/);
  writeFileSync(merges, '#version: 0.2\na b\nab c\n');
  fails(() => ByteLevelBPETokenizer.fromFiles(vocab, merges), /merges\.txt line 3 \("ab c"\): token "c" is not in the vocabulary/);
  fails(() => ByteLevelBPETokenizer.fromFiles(join(dir, 'missing.json'), merges), /cannot read .*missing\.json: no such file/);
});

test('empty vocab.txt and malformed tokenizer_config.json', () => {
  const dir = tempDir();
  writeFileSync(join(dir, 'vocab.txt'), '');
  fails(() => loadTokenizer(dir), /vocab\.txt: the vocabulary is empty/);
  writeFileSync(join(dir, 'tokenizer_config.json'), '{oops');
  fails(() => loadTokenizer(dir), /tokenizer_config\.json: invalid JSON at line 1/);
});

test('GPT-2 vocab.json + merges.txt without tokenizer.json load and give the same ids', { skip: skipNoVocab }, () => {
  const dir = tempDir();
  for (const f of ['vocab.json', 'merges.txt', 'tokenizer_config.json']) copyFileSync(join(SHARED_VOCAB, 'gpt2', f), join(dir, f));
  const t = loadTokenizer(dir);
  const ref = sharedTokenizer('gpt2');
  for (const s of ['Hello world<|endoftext|>', '你好 😀', "it's  \n"]) assert.deepEqual(t.encode(s), ref.encode(s));
  assert.equal(t.eosTokenId, 50256);
});

test('lone surrogates and control characters never crash: read as U+FFFD like the Rust library', { skip: skipNoVocab }, () => {
  for (const name of ['gpt2', 'bert-base-uncased', 'bert-base-chinese']) {
    const t = sharedTokenizer(name);
    assert.deepEqual(t.encode('a\ud800b').ids, t.encode('a\ufffdb').ids, name);
    assert.deepEqual(t.encode('\udc00').ids, t.encode('\ufffd').ids, name);
  }
  const c = CharTokenizer.train(['ab\ufffd']);
  assert.deepEqual(c.encode('a\udfffb').tokens, ['a', '\ufffd', 'b']);
});

test('save() writes tokenizer.json atomically plus the Hugging Face config files', () => {
  const t = CharTokenizer.train(['abc'], { specialTokens: ['<|endoftext|>'] });
  const dir = join(tempDir(), 'nested', 'out');
  mkdirSync(dir, { recursive: true });
  t.save(dir);
  const back = loadTokenizer(dir);
  assert.deepEqual(back.toJSON(), t.toJSON());
  assert.equal(back.eosTokenId, 0);
});
