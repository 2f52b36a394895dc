import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CharTokenizer } from '../../src/tokenizers/index.js';
import { unknownCharacters, unknownPromptWarning } from '../../src/pipelines/prompt-check.js';

const tok = CharTokenizer.train(['床前明月光，疑是地上霜。'], { specialTokens: ['<|endoftext|>'], unkToken: '<unk>' });

test('unknownCharacters: characters outside a char vocabulary, whitespace ignored', () => {
  const r = unknownCharacters(tok, 'Moon 明月 moon');
  assert.deepEqual(r.chars, ['M', 'o', 'n', 'm']);
  assert.equal(r.total, 10);
  assert.equal(r.count, 8);
  assert.equal(unknownCharacters(tok, '床前明月').count, 0);
});

test('unknownPromptWarning names the characters and the fix, or is null', () => {
  assert.equal(unknownPromptWarning(tok, '明月光', 'models/x'), null);
  const w = unknownPromptWarning(tok, 'Once upon a time', 'models/x')!;
  assert.match(w, /13 of 13 characters of the prompt are unknown to the model in models\/x/);
  assert.match(w, /--model/);
});
