import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BertForMaskedLM } from '../../src/models/bert/model.js';
import { fromArray, noGrad, type Tensor } from '../../src/tensor/index.js';
import { getBackend, setBackend } from '../../src/backend/index.js';
import { MuseError } from '../../src/errors.js';

// The native whole-step BERT training kernel must give the op-by-op autograd
// path's loss, logits and every parameter's gradient (that path is itself
// checked against finite differences and a float64 PyTorch trajectory).
const cfg = {
  vocab_size: 41, hidden_size: 32, num_hidden_layers: 2, num_attention_heads: 4, intermediate_size: 48,
  max_position_embeddings: 16, type_vocab_size: 2, hidden_dropout_prob: 0, attention_probs_dropout_prob: 0,
};

const native = (() => {
  const prev = getBackend().name;
  try {
    setBackend('native');
    return getBackend().bertTrain !== undefined;
  } catch {
    return false;
  } finally {
    setBackend(prev);
  }
})();
const skip = native ? false : 'the native addon is not built';

interface Batch { ids: Tensor; types: Tensor | null; mask: Tensor | null; labels: Tensor }

/** A batch with padding at the end of some rows, token types, and ~30% labelled positions (none in row `noLabelRow`). */
function batch(B: number, T: number, opts: { pad?: boolean; types?: boolean; noLabelRow?: number } = {}): Batch {
  const ids = new Int32Array(B * T);
  const types = new Int32Array(B * T);
  const mask = new Int32Array(B * T).fill(1);
  const labels = new Int32Array(B * T).fill(-100);
  for (let b = 0; b < B; b++) {
    const len = opts.pad ? T - (b % 3) * 2 : T;
    for (let t = 0; t < T; t++) {
      const i = b * T + t;
      ids[i] = (i * 13 + 5) % 41;
      types[i] = t >= T / 2 ? 1 : 0;
      if (t >= len) {
        mask[i] = 0;
        ids[i] = 0;
        continue;
      }
      if ((i * 7 + b) % 10 < 3 && b !== opts.noLabelRow) labels[i] = (i * 11 + 3) % 41;
    }
  }
  return {
    ids: fromArray(ids, [B, T], 'int32'),
    types: opts.types ? fromArray(types, [B, T], 'int32') : null,
    mask: opts.pad ? fromArray(mask, [B, T], 'int32') : null,
    labels: fromArray(labels, [B, T], 'int32'),
  };
}

function run(model: BertForMaskedLM, b: Batch): { loss: number; logits: Float32Array } {
  const out = model.forward(b.ids, { attentionMask: b.mask, tokenTypeIds: b.types, labels: b.labels, logitsFor: 'labelled' });
  out.loss!.backward();
  return { loss: out.loss!.item(), logits: out.logits.data as Float32Array };
}

function assertClose(name: string, got: Float32Array, ref: Float32Array, rel = 1e-4): void {
  assert.equal(got.length, ref.length, `${name}: length`);
  let scale = 0;
  let diff = 0;
  for (let i = 0; i < ref.length; i++) {
    scale = Math.max(scale, Math.abs(ref[i]));
    diff = Math.max(diff, Math.abs(ref[i] - got[i]));
  }
  assert.ok(diff <= rel * Math.max(scale, 1e-3), `${name}: max |Δ| ${diff} (max |ref| ${scale})`);
}

function compare(config: typeof cfg, b: Batch, seed = 7): void {
  const ref = new BertForMaskedLM(config, { seed });
  ref.fusedTrain = false;
  const got = new BertForMaskedLM(config, { seed });
  ref.train();
  got.train();
  const r = run(ref, b);
  const g = run(got, b);
  assert.ok(Math.abs(r.loss - g.loss) < 1e-5, `loss ${g.loss} vs ${r.loss}`);
  assertClose('logits', g.logits, r.logits);
  const refGrads = new Map(ref.namedParameters().map(([n, p]) => [n, p.grad!.data as Float32Array]));
  const gotParams = got.namedParameters();
  assert.equal(gotParams.length, refGrads.size);
  for (const [name, p] of gotParams) assertClose(name, p.grad!.data as Float32Array, refGrads.get(name)!);
}

function withNative(fn: () => void): void {
  const prev = getBackend().name;
  setBackend('native');
  try {
    fn();
  } finally {
    setBackend(prev);
  }
}

test('BERT kernel = autograd path: padding, token types, 30% labelled', { skip }, () => {
  withNative(() => compare(cfg, batch(3, 10, { pad: true, types: true })));
});

test('BERT kernel = autograd path: batch of 5 (uneven parts), a row without labels, relu and tanh GELU', { skip }, () => {
  withNative(() => {
    compare(cfg, batch(5, 7, { noLabelRow: 0 }));
    compare(cfg, batch(2, 8, { noLabelRow: 0 })); // with 2 threads, a part without labelled rows
    compare({ ...cfg, hidden_act: 'relu' } as typeof cfg, batch(2, 9, { pad: true }));
    compare({ ...cfg, hidden_act: 'gelu_new' } as typeof cfg, batch(1, 12));
  });
});

test('BERT kernel draws the hidden-dropout masks of the op-by-op path', { skip }, () => {
  withNative(() => {
    const dcfg = { ...cfg, hidden_dropout_prob: 0.2 };
    const b = batch(3, 8, { pad: true });
    const two = (fused: boolean): number[] => {
      const m = new BertForMaskedLM(dcfg, { seed: 5 });
      m.fusedTrain = fused;
      m.train();
      const first = run(m, b).loss;
      return [first, run(m, b).loss];
    };
    const r = two(false);
    const g = two(true);
    assert.ok(Math.abs(r[0] - g[0]) < 1e-5 && Math.abs(r[1] - g[1]) < 1e-5, `losses ${g} vs ${r}`);
    assert.notEqual(g[0], g[1]); // the second step draws new masks
    compare(dcfg, b, 5);
  });
});

test('BERT kernel adds into kept gradient buffers, serves smaller batches from one workspace, refuses a stale backward', { skip }, () => {
  withNative(() => {
    const big = batch(4, 12, { pad: true });
    const small = batch(2, 6);
    const ref = new BertForMaskedLM(cfg, { seed: 3 });
    ref.fusedTrain = false;
    const got = new BertForMaskedLM(cfg, { seed: 3 });
    for (const m of [ref, got]) {
      m.train();
      run(m, big);
      m.zeroGrad({ setToNone: false });
      run(m, small);
      run(m, big); // accumulated: small + big
    }
    for (const [name, p] of got.namedParameters()) {
      const q = ref.namedParameters().find(([n]) => n === name)![1];
      assertClose(name, p.grad!.data as Float32Array, q.grad!.data as Float32Array);
    }
    const a = got.forward(big.ids, { attentionMask: big.mask, labels: big.labels, logitsFor: 'labelled' });
    got.forward(small.ids, { labels: small.labels, logitsFor: 'labelled' });
    assert.throws(() => a.loss!.backward(), (e: unknown) => e instanceof MuseError && e.code === 'STALE_ACTIVATIONS');
  });
});

test('BERT kernel under noGrad gives the evaluation loss; bad ids are refused', { skip }, () => {
  withNative(() => {
    const b = batch(3, 10, { pad: true });
    const m = new BertForMaskedLM(cfg, { seed: 9 });
    m.eval();
    const fast = noGrad(() => m.forward(b.ids, { attentionMask: b.mask, labels: b.labels, logitsFor: 'labelled' }).loss!.item());
    m.fusedTrain = false;
    const slow = noGrad(() => m.forward(b.ids, { attentionMask: b.mask, labels: b.labels, logitsFor: 'labelled' }).loss!.item());
    assert.ok(Math.abs(fast - slow) < 1e-5, `${fast} vs ${slow}`);
    for (const fused of [true, false]) {
      m.fusedTrain = fused;
      const none = noGrad(() => m.forward(b.ids, { attentionMask: b.mask, labels: b.labels, logitsFor: 'none' }));
      assert.ok(Math.abs(none.loss!.item() - slow) < 1e-5, `logitsFor none (fused ${fused})`);
      assert.deepEqual(none.logits.shape, [0, cfg.vocab_size]);
    }
    m.fusedTrain = true;
    const bad = fromArray(Int32Array.from([1, 2, 41, 3]), [1, 4], 'int32');
    assert.throws(() => m.forward(bad, { labels: fromArray(Int32Array.from([-100, 2, -100, -100]), [1, 4], 'int32'), logitsFor: 'labelled' }), /outside the vocabulary/);
  });
});
