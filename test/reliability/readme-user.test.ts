// What a fresh user met following the README: defaults of models without generation_config.json,
// sampling flags on the CLI, and CLI messages that name CLI flags.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { muse, ROOT } from './helpers.js';
import { cliFlagNames } from '../../src/cli/flag-names.js';

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
