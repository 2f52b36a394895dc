// What a fresh user met following the README: defaults of models without generation_config.json,
// sampling flags on the CLI, and CLI messages that name CLI flags.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { muse, ROOT } from './helpers.js';
import { cliFlagNames } from '../../src/cli/flag-names.js';
import { poemPromptConflict } from '../../src/pipelines/poem-prompt-check.js';

test('generate: a model without generation_config.json samples; --temperature and --num-return-sequences imply sampling; a cut is noted', () => {
  const dir = mkdtempSync(join(tmpdir(), 'muse-nogen-'));
  try {
    for (const f of ['config.json', 'model.safetensors', 'tokenizer.json']) cpSync(join(ROOT, 'models', 'muse-story-en', f), join(dir, f));
    const r = muse(['generate', '--model', dir, '--temperature', '0.8', '--top-k', '40', '--num-return-sequences', '2', '--max-new-tokens', '3', '--seed', '1', 'The']);
    assert.equal(r.status, 0, r.stderr);
    assert.doesNotMatch(r.stderr, /doSample/);
    assert.match(r.stdout, /^\[1\] The/m);
    assert.match(r.stdout, /^\[2\] The/m);
    assert.match(r.stderr, /output cut at the length limit \(3 new tokens\); pass --max-new-tokens N for more/);
    const one = muse(['generate', '--model', dir, '--do-sample', '--max-new-tokens', '2', '--seed', '1', 'The']);
    assert.equal(one.status, 0, one.stderr);
    assert.match(one.stderr, /output cut at the length limit/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('CLI messages name CLI flags, not library option names', () => {
  assert.equal(
    cliFlagNames('generation option numReturnSequences (3) must be ≤ numBeams (2) with beam search'),
    '--num-return-sequences (3) must be ≤ --num-beams (2) with beam search',
  );
  assert.match(cliFlagNames('doSample is false, so temperature is ignored (as in HF); set doSample: true to sample'), /set --do-sample to sample/);
  assert.equal(cliFlagNames('recipe field generation.maxNewTokens must be a number'), 'recipe field generation.maxNewTokens must be a number');
  const r = muse(['generate', '--model', 'models/muse-story-en', '--num-beams', '2', '--num-return-sequences', '3', '--max-new-tokens', '2', 'The']);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /--num-return-sequences \(3\) must be ≤ --num-beams \(2\)/);
});

test('eval --tokenize zh: Chinese lines are long enough for 4-grams in zh tokens; one segment is singular', () => {
  const dir = mkdtempSync(join(tmpdir(), 'muse-evalzh-'));
  try {
    const hyp = '床前明月光疑是地上霜举头望明月\n白日依山尽黄河入海流欲穷千里目更上一层楼\n';
    const ref = '床前明月光疑是地上霜举头望山月\n白日依山尽黄河入海流欲穷千里目更上一层楼\n';
    writeFileSync(join(dir, 'h.txt'), hyp);
    writeFileSync(join(dir, 'r.txt'), ref);
    const r = muse(['eval', '--hyp', join(dir, 'h.txt'), '--ref', join(dir, 'r.txt'), '--metrics', 'bleu', '--tokenize', 'zh']);
    assert.equal(r.status, 0, r.stderr);
    assert.doesNotMatch(r.stderr, /shorter than BLEU/);
    writeFileSync(join(dir, 'h1.txt'), 'the cat sat on the mat\n');
    writeFileSync(join(dir, 'r1.txt'), 'the cat is on the mat\n');
    const one = muse(['eval', '--hyp', join(dir, 'h1.txt'), '--ref', join(dir, 'r1.txt'), '--metrics', 'rouge']);
    assert.equal(one.status, 0, one.stderr);
    assert.match(one.stdout, /mean over 1 segment;/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('generate: a prompt that breaks --acrostic or --form is refused with the conflict and the fix', () => {
  assert.equal(poemPromptConflict('春眠不觉晓，', { acrostic: '春夏秋冬', form: '5x4' }), null);
  assert.equal(poemPromptConflict('', { acrostic: '春夏秋冬', form: '5x4' }), null);
  assert.equal(poemPromptConflict('Once upon', { form: '5x4' }), null);
  const a = muse(['generate', '--acrostic', '春夏秋冬', '--max-new-tokens', '2', '明月']);
  assert.equal(a.status, 1, a.stdout);
  assert.match(a.stderr, /line 1 starts with "明" but --acrostic 春夏秋冬 needs "春"/);
  const f = muse(['generate', '--form', '7x4', '--max-new-tokens', '2', '床前明月光，']);
  assert.equal(f.status, 1, f.stdout);
  assert.match(f.stderr, /line 1 "床前明月光" has 5 characters but --form 7x4 needs 7 per line; pass --form 5x4/);
});

test('tokenizer train: a WordPiece alphabet larger than --vocab-size is kept (as HF) and the excess is warned about', () => {
  const dir = mkdtempSync(join(tmpdir(), 'muse-wp-'));
  try {
    writeFileSync(join(dir, 'c.txt'), 'The quick brown fox jumps over the lazy dog. PACK MY BOX WITH FIVE DOZEN LIQUOR JUGS! 0123456789\n');
    const r = muse(['tokenizer', 'train', '--corpus', join(dir, 'c.txt'), '--type', 'wordpiece', '--no-lowercase', '--vocab-size', '20', '--out', join(dir, 'wp')]);
    assert.equal(r.status, 0, r.stderr);
    const n = Number(/with (\d+) ids/.exec(r.stdout)?.[1]);
    assert.ok(n > 20, r.stdout);
    assert.match(r.stderr, new RegExp(`the vocabulary has ${n} ids, more than --vocab-size 20: .*as in Hugging Face tokenizers' trainers`));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
