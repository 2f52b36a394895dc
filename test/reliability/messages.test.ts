import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { muse } from './helpers.js';
import { checkMinMaxNewTokens, validateGenerationConfig } from '../../src/generate/config.js';
import { loadVAERecipe } from '../../src/models/vae/sentence-vae-recipe.js';

test('generation options: minNewTokens > maxNewTokens from one caller is refused; NaN is reported as NaN, not null', () => {
  assert.throws(() => checkMinMaxNewTokens(10, 5), /minNewTokens \(10\) must be ≤ maxNewTokens \(5\)/);
  // A model default above a shorter budget is HF's behaviour: accepted (end-of-text forbidden throughout).
  validateGenerationConfig({ minNewTokens: 16, maxNewTokens: 3 });
  assert.throws(() => validateGenerationConfig({ temperature: Number.NaN }), /got NaN/);
});

test('a VAE recipe with a bad wordDropout (abc, 5, −1) is refused', () => {
  for (const v of ['"abc"', '5', '-1']) {
    assert.throws(() => loadVAERecipe('configs/vae-poem-zh.json', { 'vae.wordDropout': v }), /vae\.wordDropout must be a probability in \[0, 1\)/, v);
  }
  assert.equal(loadVAERecipe('configs/vae-poem-zh.json', { 'vae.wordDropout': '0.3' }).vae.wordDropout, 0.3);
});

test('tokenize warns about invalid UTF-8; fill-mask warns about text outside the vocabulary', () => {
  const t = muse(['tokenize', '--tokenizer', 'models/muse-story-en'], { input: Buffer.from([0x61, 0xff, 0x62, 0x0a]) });
  assert.equal(t.status, 0, t.stderr);
  assert.match(t.stderr, /1 U\+FFFD replacement character \(invalid UTF-8 .* line 1\)/);
  const f = muse(['fill-mask', 'hello world this is [MASK] english']);
  assert.equal(f.status, 0, f.stderr);
  assert.match(f.stderr, /characters of the text are unknown to the model/);
  // fill-mask refuses GPT models: it suggests a masked LM, never muse-poet-zh / muse-story-en.
  assert.match(f.stderr, /BERT masked-LM directory/);
  assert.doesNotMatch(f.stderr, /muse-poet-zh|muse-story-en/);
});

test('muse ae train warns when the word analyzer finds no features in most documents (unsegmented Chinese)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'muse-ae-'));
  try {
    const corpus = join(dir, 'zh.txt');
    writeFileSync(corpus, Array.from({ length: 12 }, (_, i) => (i % 2 ? '我 爱 你' : '床 前 明 月 光')).join('\n\n'));
    const r = muse(['ae', 'train', '--corpus', corpus, '--out', join(dir, 'run'), '--max-iters', '2', '--batch-size', '4', '--no-progress'], {});
    assert.match(r.stderr, /12 of 12 documents give no features with the word analyzer .*--analyzer char/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('eval: an all-empty reference line is scored 0 with a warning naming it; --effective-order; no 4-grams warns', () => {
  const dir = mkdtempSync(join(tmpdir(), 'muse-bleu-'));
  try {
    writeFileSync(join(dir, 'h.txt'), 'the cat\nsat down\n');
    writeFileSync(join(dir, 'r.txt'), 'the cat\n\n');
    const r = muse(['eval', '--hyp', join(dir, 'h.txt'), '--ref', join(dir, 'r.txt'), '--metrics', 'bleu', '--json']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /line 2 of .*r\.txt is empty: that segment is scored against an empty reference/);
    assert.match(r.stderr, /no hypothesis has 3 tokens or more, so there are no 3-grams .* --effective-order/);
    const e = muse(['eval', '--hyp', join(dir, 'h.txt'), '--ref', join(dir, 'r.txt'), '--metrics', 'bleu', '--json', '--effective-order']);
    assert.equal(e.status, 0, e.stderr);
    assert.ok((JSON.parse(e.stdout) as { bleu: { score: number } }).bleu.score > 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('SentenceVAE.loss applies word dropout in training mode only', async () => {
  const { loadSentenceVAE } = await import('../../src/models/vae/index.js');
  const vae = loadSentenceVAE();
  const calls: number[] = [];
  const original = vae.model.wordDropout.bind(vae.model);
  vae.model.wordDropout = (ids, p, gen) => (calls.push(p), original(ids, p, gen));
  const { Generator } = await import('../../src/tensor/index.js');
  const { fromArray } = await import('../../src/tensor/index.js');
  const ids = fromArray(Int32Array.from([1, 5, 6, 7, 2]), [1, 5], 'int32');
  const batch = { inputIds: ids, attentionMask: fromArray(Int32Array.from([1, 1, 1, 1, 1]), [1, 5], 'int32'), decoderInputIds: ids, labels: ids };
  vae.model.eval();
  vae.model.loss(batch, { gen: new Generator(1), wordDropout: 0.5 });
  assert.equal(calls.length, 0);
  vae.model.train();
  vae.model.loss(batch, { gen: new Generator(1), wordDropout: 0.5 });
  assert.equal(calls.length, 1);
});

test("muse generate keeps the sliding-window note for budgets the user chose, not for the bundled model's own default", () => {
  const quiet = muse(['generate', '--seed', '1', '--min-new-tokens', '300', 'Once']);
  assert.equal(quiet.status, 0, quiet.stderr);
  assert.doesNotMatch(quiet.stderr, /sliding the window/);
  const noted = muse(['generate', '--seed', '1', '--max-new-tokens', '200', '--min-new-tokens', '200', 'Once']);
  assert.match(noted.stderr, /sliding the window/);
});
