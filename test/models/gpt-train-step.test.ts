import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GPT } from '../../src/models/gpt2/model.js';
import { fromArray } from '../../src/tensor/index.js';
import { getBackend, setBackend } from '../../src/backend/index.js';
import { skip } from '../backend/native-util.js';

// The native whole-step training kernel (src/models/gpt2/train-step.ts) must
// give the op-by-op autograd path's loss and every parameter's gradient (that
// path, the only one the js backend has, is itself checked against finite
// differences and PyTorch fixtures).
const cfg = { vocab_size: 37, n_positions: 16, n_embd: 32, n_layer: 2, n_head: 4, resid_pdrop: 0, embd_pdrop: 0, attn_pdrop: 0 };

function lossAndGrads(fused: boolean, ignore: boolean): { loss: number; grads: Map<string, Float32Array> } {
  const model = new GPT(cfg, { seed: 11 });
  model.fusedTrain = fused;
  model.train();
  const B = 3;
  const T = 10;
  const ids = fromArray(Int32Array.from({ length: B * T }, (_, i) => (i * 13 + 5) % 37), [B, T], 'int32');
  const tg = Int32Array.from({ length: B * T }, (_, i) => (i * 7 + 2) % 37);
  if (ignore) for (let i = 0; i < B * T; i += 4) tg[i] = -100;
  const out = model.forward(ids, { targets: fromArray(tg, [B, T], 'int32') });
  assert.deepEqual(out.logits.shape, [B, T, 37]);
  out.loss!.backward();
  const grads = new Map<string, Float32Array>();
  for (const [name, p] of model.namedParameters()) grads.set(name, p.grad!.data as Float32Array);
  return { loss: out.loss!.item(), grads };
}

for (const backend of ['native'] as const) {
  for (const ignore of [false, true]) {
    test(`native training step = autograd path (${backend}${ignore ? ', ignored targets' : ''})`, { skip }, () => {
      const prev = getBackend().name;
      setBackend(backend);
      try {
        const ref = lossAndGrads(false, ignore);
        const got = lossAndGrads(true, ignore);
        assert.ok(Math.abs(ref.loss - got.loss) < 1e-5, `loss ${got.loss} vs ${ref.loss}`);
        assert.equal(got.grads.size, ref.grads.size);
        for (const [name, g] of ref.grads) {
          const h = got.grads.get(name)!;
          let scale = 0;
          let diff = 0;
          for (let i = 0; i < g.length; i++) {
            scale = Math.max(scale, Math.abs(g[i]));
            diff = Math.max(diff, Math.abs(g[i] - h[i]));
          }
          assert.ok(diff <= 1e-4 * Math.max(scale, 1e-3), `${name}: max |Δ| ${diff} (max |g| ${scale})`);
        }
      } finally {
        setBackend(prev);
      }
    });
  }
}

test('native training step with dropout draws the same masks as the op-by-op path', { skip }, () => {
  const dcfg = { ...cfg, resid_pdrop: 0.2, embd_pdrop: 0.1 };
  const run = (fused: boolean): { loss: number; grad: Float32Array; again: number } => {
    const model = new GPT(dcfg, { seed: 5 });
    model.fusedTrain = fused;
    model.train();
    const ids = fromArray(Int32Array.from({ length: 16 }, (_, i) => (i * 3) % 37), [2, 8], 'int32');
    const out = model.forward(ids, { targets: ids });
    out.loss!.backward();
    const again = model.forward(ids, { targets: ids }).loss!.item();
    return { loss: out.loss!.item(), grad: model.transformer.h[1].mlp.c_fc.weight.grad!.data as Float32Array, again };
  };
  const ref = run(false);
  const got = run(true);
  assert.ok(Math.abs(ref.loss - got.loss) < 1e-5, `loss ${got.loss} vs ${ref.loss}`);
  assert.ok(Math.abs(ref.again - got.again) < 1e-5, 'second step draws the next masks');
  assert.notEqual(got.loss, got.again); // masks differ between steps
  let diff = 0;
  for (let i = 0; i < ref.grad.length; i++) diff = Math.max(diff, Math.abs(ref.grad[i] - got.grad[i]));
  assert.ok(diff < 1e-5, `grad max |Δ| ${diff}`);
});

test('native training step under noGrad gives the evaluation loss without a graph', { skip }, async () => {
  const { noGrad } = await import('../../src/tensor/index.js');
  const a = new GPT(cfg, { seed: 3 });
  const b = new GPT(cfg, { seed: 3 });
  b.fusedTrain = false;
  a.eval();
  b.eval();
  const ids = fromArray(Int32Array.from({ length: 16 }, (_, i) => (i * 5) % 37), [2, 8], 'int32');
  const la = noGrad(() => a.forward(ids, { targets: ids }).loss!);
  const lb = noGrad(() => b.forward(ids, { targets: ids }).loss!);
  assert.equal(la.requiresGrad, false);
  assert.ok(Math.abs(la.item() - lb.item()) < 1e-5);
});

/** Largest |a − b| relative to max(|b|, 1e-3) over two gradient maps. */
function maxRelDiff(a: Map<string, Float32Array>, b: Map<string, Float32Array>): number {
  let worst = 0;
  for (const [name, g] of b) {
    const h = a.get(name)!;
    let scale = 1e-3;
    let diff = 0;
    for (let i = 0; i < g.length; i++) {
      scale = Math.max(scale, Math.abs(g[i]));
      diff = Math.max(diff, Math.abs(g[i] - h[i]));
    }
    worst = Math.max(worst, diff / scale);
  }
  return worst;
}

for (const backend of ['native'] as const) {
  test(`native training step accumulates into kept gradient buffers like autograd does (${backend})`, { skip }, () => {
    const prev = getBackend().name;
    setBackend(backend);
    try {
      // Two batches, gradients summed: backward twice without clearing, then
      // a zeroGrad({ setToNone: false }) step, which must equal a fresh one.
      const ids1 = fromArray(Int32Array.from({ length: 30 }, (_, i) => (i * 13 + 5) % 37), [3, 10], 'int32');
      const ids2 = fromArray(Int32Array.from({ length: 30 }, (_, i) => (i * 11 + 3) % 37), [3, 10], 'int32');
      const run = (fused: boolean): { sum: Map<string, Float32Array>; again: Map<string, Float32Array>; same: boolean } => {
        const model = new GPT(cfg, { seed: 11 });
        model.fusedTrain = fused;
        model.train();
        model.forward(ids1, { targets: ids2 }).loss!.backward();
        const buffers = model.parameters().map((p) => p.grad!.data);
        model.forward(ids2, { targets: ids1 }).loss!.backward();
        const sum = new Map<string, Float32Array>();
        for (const [name, p] of model.namedParameters()) sum.set(name, (p.grad!.data as Float32Array).slice());
        model.zeroGrad({ setToNone: false });
        assert.ok(model.parameters().every((p) => (p.grad!.data as Float32Array).every((x) => x === 0)));
        model.forward(ids2, { targets: ids1 }).loss!.backward();
        const again = new Map<string, Float32Array>();
        for (const [name, p] of model.namedParameters()) again.set(name, (p.grad!.data as Float32Array).slice());
        const same = model.parameters().every((p, i) => p.grad!.data === buffers[i]);
        return { sum, again, same };
      };
      const ref = run(false);
      const got = run(true);
      assert.ok(maxRelDiff(got.sum, ref.sum) < 1e-4, `summed gradients differ: ${maxRelDiff(got.sum, ref.sum)}`);
      assert.ok(maxRelDiff(got.again, ref.again) < 1e-4, `gradients after zeroGrad differ: ${maxRelDiff(got.again, ref.again)}`);
      assert.ok(got.same, 'the fused path kept the gradient buffers');
      // and the second batch alone, from a fresh model, is what `again` holds
      const fresh = new GPT(cfg, { seed: 11 });
      fresh.train();
      fresh.forward(ids1, { targets: ids2 }).loss!.backward();
      fresh.zeroGrad();
      fresh.forward(ids2, { targets: ids1 }).loss!.backward();
      const f = new Map<string, Float32Array>();
      for (const [name, p] of fresh.namedParameters()) f.set(name, p.grad!.data as Float32Array);
      assert.ok(maxRelDiff(got.again, f) < 1e-6);
    } finally {
      setBackend(prev);
    }
  });
}

test('one sequence (a single part) and an odd batch split give the autograd gradients (native)', { skip }, () => {
  const prev = getBackend().name;
  setBackend('native');
  try {
    for (const B of [1, 5]) {
      const ids = fromArray(Int32Array.from({ length: B * 9 }, (_, i) => (i * 7 + 1) % 37), [B, 9], 'int32');
      const grads = (fused: boolean): Map<string, Float32Array> => {
        const model = new GPT(cfg, { seed: 2 });
        model.fusedTrain = fused;
        model.train();
        model.forward(ids, { targets: ids }).loss!.backward();
        return new Map(model.namedParameters().map(([n, p]) => [n, p.grad!.data as Float32Array]));
      };
      const d = maxRelDiff(grads(true), grads(false));
      assert.ok(d < 1e-4, `batch ${B}: ${d}`);
    }
  } finally {
    setBackend(prev);
  }
});

test('backward after a second forward of the same model is refused (its activations are gone)', { skip }, () => {
  const prev = getBackend().name;
  setBackend('native');
  try {
    const model = new GPT(cfg, { seed: 2 });
    model.train();
    const ids = fromArray(Int32Array.from({ length: 16 }, (_, i) => i % 37), [2, 8], 'int32');
    const first = model.forward(ids, { targets: ids }).loss!;
    model.forward(ids, { targets: ids });
    assert.throws(() => first.backward(), /activations were overwritten/);
  } finally {
    setBackend(prev);
  }
});

test('batches of different lengths share one workspace and still give the autograd gradients (native)', { skip }, () => {
  const prev = getBackend().name;
  setBackend('native');
  try {
    const shapes: [number, number][] = [[3, 12], [2, 5], [4, 9], [1, 16]];
    const runAll = (fused: boolean): Map<string, Float32Array>[] => {
      const model = new GPT(cfg, { seed: 4 });
      model.fusedTrain = fused;
      model.train();
      return shapes.map(([B, T], k) => {
        const ids = fromArray(Int32Array.from({ length: B * T }, (_, i) => (i * 5 + k) % 37), [B, T], 'int32');
        const tg = Int32Array.from({ length: B * T }, (_, i) => (i % 3 === 0 ? -100 : (i * 3 + k) % 37));
        model.forward(ids, { targets: fromArray(tg, [B, T], 'int32') }).loss!.backward();
        const g = new Map(model.namedParameters().map(([n, p]) => [n, (p.grad!.data as Float32Array).slice()]));
        model.zeroGrad();
        return g;
      });
    };
    const ref = runAll(false);
    const got = runAll(true);
    for (let i = 0; i < shapes.length; i++) assert.ok(maxRelDiff(got[i], ref[i]) < 1e-4, `shape ${shapes[i]}`);
  } finally {
    setBackend(prev);
  }
});
