import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { encodeTextStream, readTextChunks, safeCut, TokenBuffer } from '../../src/data/token-stream.js';
import { readCorpus } from '../../src/data/corpus.js';
import { CharTokenizer, ByteLevelBPETokenizer } from '../../src/tokenizers/index.js';
import { tokenizeCorpus } from '../../src/models/gpt2/pretrain.js';
import type { TrainRecipe } from '../../src/pipelines/recipe.js';

const TEXT = [
  'The quick brown fox  jumps over\tthe lazy dog.\n\nIt was the best of times, it was the worst of times;',
  ' 床前明月光，疑是地上霜。\n举头望明月，低头思故乡。\n\n  indented line\n\n\nthree blank lines 😀 emoji, numbers 12345 67 and <|endoftext|> marks.',
  "don't won't it's — «quotes» \r\n last line without newline",
].join('\n');
const LONG = Array.from({ length: 40 }, (_, i) => TEXT.slice(i % 17) + ` ${i} `).join('');

test('encodeTextStream gives the ids of one encode call over the whole text, whatever the chunk size (char and byte-level BPE)', () => {
  const char = CharTokenizer.train([LONG], { specialTokens: ['<|endoftext|>'], unkToken: '<unk>' });
  const bpe = ByteLevelBPETokenizer.train([LONG], { vocabSize: 400, minFrequency: 2, specialTokens: ['<|endoftext|>'] });
  for (const [tok, charLevel] of [[char, true], [bpe, false]] as const) {
    const whole = tok.encodeIds(LONG, { addSpecialTokens: false });
    for (const chunkChars of [1, 7, 64, 1000]) {
      const out = new TokenBuffer(tok.vocabSize, 4);
      // Pieces cut at arbitrary places, as a file read in pieces would be.
      const pieces = [LONG.slice(0, 333), LONG.slice(333, 340), LONG.slice(340)];
      encodeTextStream(tok, pieces, out, { chunkChars, charLevel });
      assert.deepEqual([...out.toArray()], whole, `${charLevel ? 'char' : 'bpe'} chunk ${chunkChars}`);
    }
  }
});

test('encodeTextStream never encodes much more than a chunk at once, and the ids live in a typed array', () => {
  const tok = CharTokenizer.train([LONG], { unkToken: '<unk>' });
  let longest = 0;
  const spy = { encodeIds: (t: string, o: { addSpecialTokens: false }) => ((longest = Math.max(longest, t.length)), tok.encodeIds(t, o)) };
  const out = new TokenBuffer(tok.vocabSize);
  const line = 'x'.repeat(200_000); // one long line, no newline or space
  encodeTextStream(spy, [line], out, { chunkChars: 10_000, charLevel: true });
  assert.ok(longest <= 20_000, `an encode call saw ${longest} characters`);
  assert.equal(out.length, 200_000);
  assert.ok(out.toArray() instanceof Uint16Array);
  assert.ok(new TokenBuffer(70_000).toArray() instanceof Int32Array);
  // BPE-safe places: after a newline before a non-space, before a single space between words.
  assert.equal(safeCut('ab\ncd', 3, false), 3);
  assert.equal(safeCut('ab cd', 2, false), 2);
  assert.equal(safeCut('ab  cd', 3, false), -1);
});

test('readTextChunks returns the file in newline-aligned pieces; readCorpus reads large JSONL and paragraph .txt files in pieces', () => {
  const dir = mkdtempSync(join(tmpdir(), 'muse-chunks-'));
  try {
    const txt = join(dir, 'a.txt');
    writeFileSync(txt, '\uFEFF' + TEXT);
    const pieces = [...readTextChunks(txt, 16)];
    assert.ok(pieces.length > 3);
    assert.equal(pieces.join(''), TEXT.replace(/\r\n/g, '\n'));
    const jsonl = join(dir, 'a.jsonl');
    const docs = Array.from({ length: 50 }, (_, i) => `doc ${i} ${'床前明月光'.repeat(i % 5)}`);
    writeFileSync(jsonl, docs.map((text) => JSON.stringify({ text })).join('\n') + '\n');
    assert.deepEqual(readCorpus(jsonl, { streamAboveBytes: 1, pieceBytes: 64 }), docs);
    assert.deepEqual(readCorpus(jsonl, { streamAboveBytes: 1, pieceBytes: 64, maxDocuments: 7 }), docs.slice(0, 7));
    writeFileSync(jsonl, '{"text": "a"}\n{"text": "b"}\n{"text": \n');
    assert.throws(() => readCorpus(jsonl, { streamAboveBytes: 1, pieceBytes: 8 }), /line 3: invalid JSON/);
    const para = join(dir, 'p.txt');
    writeFileSync(para, docs.join('\n\n'));
    assert.deepEqual(readCorpus(para, { streamAboveBytes: 1, pieceBytes: 32, separator: /\n(?:[ \t]*\n)+/ }), docs);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('tokenizeCorpus encodes a long single-line corpus into a Uint16Array, equal to one encode call', () => {
  const dir = mkdtempSync(join(tmpdir(), 'muse-corpus-'));
  try {
    const f = join(dir, 'one-line.txt');
    const text = 'all work and no play makes jack a dull boy '.repeat(60_000); // 2.6 MB, one line
    writeFileSync(f, text);
    const recipe = {
      model: { model_type: 'gpt2' },
      tokenizer: { type: 'char' },
      data: { valFraction: 0.1 },
      training: { blockSize: 8, batchSize: 1, maxIters: 1, learningRate: 0.1, evalInterval: 1, evalIters: 1 },
    } as unknown as TrainRecipe;
    const r = tokenizeCorpus(recipe, [f]);
    assert.ok(r.train instanceof Uint16Array);
    const whole = r.tokenizer.encodeIds(text, { addSpecialTokens: false });
    assert.equal(r.train.length + r.val.length, whole.length);
    assert.deepEqual([...r.val.slice(0, 50)], whole.slice(r.train.length, r.train.length + 50));
    assert.equal(r.chars, text.length);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
