import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { fromArray } from '../../src/tensor/index.js';
import { GPT } from '../../src/models/gpt2/model.js';
import { saveModel } from '../../src/models/pretrained.js';
import { loadGPT } from '../../src/models/gpt2/weights.js';
import { getBackend, setBackend } from '../../src/backend/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const fixtureDir = join(here, '../fixtures/models/tiny-gpt2');
const expected = JSON.parse(readFileSync(join(fixtureDir, 'expected.json'), 'utf8')) as {
  input_ids: number[][];
  labels: number[][];
  logits: number[];
  loss: number;
  grads: Record<string, number[]>;
};

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

const backends = ['js', 'native'] as const;
for (const name of backends) {
  test(`GPT-2 logits, loss and gradients equal the PyTorch reference (${name} backend)`, (t) => {
    const previous = getBackend().name;
    try {
      setBackend(name);
    } catch {
      t.skip(`${name} backend unavailable`);
      return;
    }
    try {
      const { model } = loadGPT(fixtureDir);
      const B = expected.input_ids.length;
      const T = expected.input_ids[0].length;
      const ids = fromArray(Int32Array.from(expected.input_ids.flat()), [B, T], 'int32');
      const labels = fromArray(Int32Array.from(expected.labels.flat()), [B, T], 'int32');
      const out = model.forward(ids, { labels });
      assert.deepEqual(out.logits.shape, [B, T, 11]);
      assert.ok(maxAbsDiff(out.logits.data, expected.logits) < 1e-4, 'logits');
      assert.ok(Math.abs(out.loss!.item() - expected.loss) < 1e-5, `loss ${out.loss!.item()} vs ${expected.loss}`);
      out.loss!.backward();
      const params = new Map(model.namedParameters());
      for (const [pname, g] of Object.entries(expected.grads)) {
        const grad = params.get(pname)!.grad!;
        assert.ok(maxAbsDiff(grad.data, g) < 1e-4, `grad of ${pname}: ${maxAbsDiff(grad.data, g)}`);
      }
    } finally {
      setBackend(previous);
    }
  });
}

test('KV-cached decoding gives the logits of a full recompute at every step (within 1e-5)', () => {
  const model = new GPT({ vocab_size: 23, n_positions: 32, n_embd: 16, n_layer: 2, n_head: 4, resid_pdrop: 0.1, embd_pdrop: 0.1, attn_pdrop: 0 }, { seed: 7 });
  const seq = [3, 17, 4, 4, 9, 21, 0, 12, 5, 8, 19, 2];
  const cache = model.newCache(1);
  // Prefill 5 tokens, then one at a time.
  let logits = model.forward(Int32Array.from(seq.slice(0, 5)), 1, 5, cache, { lastOnly: true });
  for (let n = 5; ; n++) {
    const full = model.eval().forward(fromArray(Int32Array.from(seq.slice(0, n)), [1, n], 'int32')).logits;
    const last = full.data.subarray((n - 1) * 23, n * 23);
    assert.ok(maxAbsDiff(logits, last) < 1e-5, `step ${n}: ${maxAbsDiff(logits, last)}`);
    if (n === seq.length) break;
    logits = model.forward(Int32Array.from([seq[n]]), 1, 1, cache, { lastOnly: true });
  }
  assert.equal(cache.length, seq.length);
});

test('left padding with an attention mask and position ids matches the unpadded row', () => {
  const model = new GPT({ vocab_size: 13, n_positions: 16, n_embd: 8, n_layer: 1, n_head: 2 }, { seed: 3 });
  // Row 0: [5, 6, 7]; row 1 is [1, 2] left-padded with a pad id 0.
  const ids = Int32Array.from([5, 6, 7, 0, 1, 2]);
  const mask = Int32Array.from([1, 1, 1, 0, 1, 1]);
  const pos = Int32Array.from([0, 1, 2, 0, 0, 1]);
  const cache = model.newCache(2);
  const batched = model.forward(ids, 2, 3, cache, { attentionMask: mask, positionIds: pos, lastOnly: true });
  const alone = model.forward(Int32Array.from([1, 2]), 1, 2, model.newCache(1), { lastOnly: true });
  assert.ok(maxAbsDiff(batched.subarray(13, 26), alone) < 1e-5);
  // One more step for both rows with the mask extended.
  const mask2 = Int32Array.from([1, 1, 1, 1, 0, 1, 1, 1]);
  const next = model.forward(Int32Array.from([4, 4]), 2, 1, cache, { attentionMask: mask2, positionIds: Int32Array.from([3, 2]), lastOnly: true });
  const alone2 = model.forward(Int32Array.from([1, 2, 4]), 1, 3, model.newCache(1), { lastOnly: true });
  assert.ok(maxAbsDiff(next.subarray(13, 26), alone2) < 1e-5);
});

test('cache reorder selects beams', () => {
  const model = new GPT({ vocab_size: 13, n_positions: 16, n_embd: 8, n_layer: 1, n_head: 2 }, { seed: 4 });
  const cache = model.newCache(2);
  model.forward(Int32Array.from([1, 2, 3, 4]), 2, 2, cache);
  cache.reorder(Int32Array.from([1, 1, 0]));
  const out = model.forward(Int32Array.from([5, 6, 7]), 3, 1, cache, { lastOnly: true });
  const ref1 = model.forward(Int32Array.from([3, 4, 6]), 1, 3, model.newCache(1), { lastOnly: true });
  const ref2 = model.forward(Int32Array.from([1, 2, 7]), 1, 3, model.newCache(1), { lastOnly: true });
  assert.ok(maxAbsDiff(out.subarray(13, 26), ref1) < 1e-5);
  assert.ok(maxAbsDiff(out.subarray(26, 39), ref2) < 1e-5);
});

test('a prompt longer than n_positions is rejected with a clear error', () => {
  const model = new GPT({ vocab_size: 5, n_positions: 4, n_embd: 8, n_layer: 1, n_head: 2 });
  assert.throws(() => model.forward(new Int32Array(5), 1, 5, model.newCache(1)), /exceed n_positions 4/);
  assert.throws(() => model.forward(fromArray(new Int32Array(5), [1, 5], 'int32')), /exceeds n_positions 4/);
});

test('save → load round-trips weights and logits; the saved file has no lm_head (tied, as HF saves it)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'muse-gpt-'));
  try {
    const model = new GPT({ vocab_size: 9, n_positions: 8, n_embd: 8, n_layer: 1, n_head: 2 }, { seed: 11 });
    saveModel(dir, model, { config: model.config });
    const { model: loaded, report } = loadGPT(dir);
    assert.deepEqual(report.unexpected, []);
    const ids = fromArray(Int32Array.from([1, 2, 3]), [1, 3], 'int32');
    assert.ok(maxAbsDiff(model.eval().forward(ids).logits.data, loaded.forward(ids).logits.data) === 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

const hfFake = join(here, '../../../shared/hf-checkpoints/lmbuddy-fake-gpt2');
test('loads a GPT2LMHeadModel saved by transformers (lmbuddy fake-gpt2)', (t) => {
  if (!existsSync(hfFake)) {
    t.skip('shared/hf-checkpoints not present');
    return;
  }
  const { model } = loadGPT(hfFake);
  assert.equal(model.config.vocab_size, 50257);
  const logits = model.forward(fromArray(Int32Array.from([15496, 995]), [1, 2], 'int32')).logits;
  assert.deepEqual(logits.shape, [1, 2, 50257]);
  assert.ok(logits.data.every((v) => Number.isFinite(v) && Math.abs(v) < 1));
});

const hfTiny = join(here, '../../../shared/hf-checkpoints/lmbuddy-tiny-gpt2');
test('loads a bare GPT2Model (no transformer. prefix)', (t) => {
  if (!existsSync(hfTiny)) {
    t.skip('shared/hf-checkpoints not present');
    return;
  }
  const { model } = loadGPT(hfTiny);
  assert.equal(model.config.vocab_size, 21);
});
