import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generate } from '../../src/generate/index.js';
import { TokenHistory } from '../../src/generate/history.js';
import { loadCausalLM } from '../../src/models/registry.js';
import { ConfigError } from '../../src/errors.js';
import { ROOT } from './helpers.js';
import { join } from 'node:path';

const story = loadCausalLM(join(ROOT, 'models', 'muse-story-en'));

test('TokenHistory grows as tokens are appended: a huge budget allocates nothing up front', () => {
  const before = process.memoryUsage().arrayBuffers;
  const h = new TokenHistory([[1, 2, 3], [4]], 3 + 1e10, 0);
  assert.ok(process.memoryUsage().arrayBuffers - before < 50e6);
  for (let i = 0; i < 1000; i++) h.append([10 + i, 20 + i]);
  h.reorder(Int32Array.from([1, 0, 1]));
  assert.deepEqual([...h.tokens(0).slice(0, 3)], [4, 20, 21]);
  assert.equal(h.tokens(1).length, 1003);
  assert.equal(h.tokens(2)[1000], 1019);
});

test('generate with maxNewTokens 1e10 starts at once and stops when aborted', () => {
  const controller = new AbortController();
  let n = 0;
  const out = generate(story.model, [[story.tokenizer.eosTokenId!]], { maxNewTokens: 1e10, doSample: true, seed: 1, minNewTokens: 1e9 }, {
    signal: controller.signal,
    onToken: () => {
      if (++n === 5) controller.abort();
    },
  });
  assert.equal(out.sequences[0].length, 5);
  assert.equal(out.finishReasons[0], 'abort');
});

test('numReturnSequences 100000 and numBeams 10000 are refused before any work, naming the option and what fits', () => {
  const t0 = performance.now();
  assert.throws(
    () => generate(story.model, [[1]], { numReturnSequences: 100_000, doSample: true, maxNewTokens: 10 }),
    (e: unknown) => e instanceof ConfigError && /numReturnSequences 100000 .* over the 2\.0 GiB limit; at most \d+ fit/.test(e.message),
  );
  assert.throws(
    () => generate(story.model, [[1]], { numBeams: 10_000, maxNewTokens: 300 }),
    (e: unknown) => e instanceof ConfigError && /numBeams 10000/.test(e.message),
  );
  assert.ok(performance.now() - t0 < 1000);
  // A small request is untouched; the limit is an option.
  assert.equal(generate(story.model, [[1]], { numReturnSequences: 2, doSample: true, maxNewTokens: 2, seed: 3 }).sequences.length, 2);
  assert.throws(() => generate(story.model, [[1]], { numReturnSequences: 2, doSample: true, maxNewTokens: 2 }, { memoryLimitBytes: 1000 }), /even one row does not fit|at most/);
});
