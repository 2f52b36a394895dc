import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GPT } from '../../src/models/gpt.js';
import { fromArray } from '../../src/tensor/index.js';
import { getBackend, setBackend } from '../../src/backend/index.js';

// The fused training path must give the op-by-op autograd path's loss and
// every parameter's gradient (that path is itself checked against finite
// differences and PyTorch fixtures), on each backend.
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

for (const backend of ['js', 'native'] as const) {
  for (const ignore of [false, true]) {
    test(`fused training path = autograd path (${backend}${ignore ? ', ignored targets' : ''})`, () => {
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
            scale = Math.max(scale, Math.abs(g[i]!));
            diff = Math.max(diff, Math.abs(g[i]! - h[i]!));
          }
          assert.ok(diff <= 1e-4 * Math.max(scale, 1e-3), `${name}: max |Δ| ${diff} (max |g| ${scale})`);
        }
      } finally {
        setBackend(prev);
      }
    });
  }
}

test('fused path with dropout draws the same masks as the op-by-op path', () => {
  const dcfg = { ...cfg, resid_pdrop: 0.2, embd_pdrop: 0.1 };
  const run = (fused: boolean): { loss: number; grad: Float32Array; again: number } => {
    const model = new GPT(dcfg, { seed: 5 });
    model.fusedTrain = fused;
    model.train();
    const ids = fromArray(Int32Array.from({ length: 16 }, (_, i) => (i * 3) % 37), [2, 8], 'int32');
    const out = model.forward(ids, { targets: ids });
    out.loss!.backward();
    const again = model.forward(ids, { targets: ids }).loss!.item();
    return { loss: out.loss!.item(), grad: model.transformer.h[1]!.mlp.c_fc.weight.grad!.data as Float32Array, again };
  };
  const ref = run(false);
  const got = run(true);
  assert.ok(Math.abs(ref.loss - got.loss) < 1e-5, `loss ${got.loss} vs ${ref.loss}`);
  assert.ok(Math.abs(ref.again - got.again) < 1e-5, 'second step draws the next masks');
  assert.notEqual(got.loss, got.again); // masks differ between steps
  let diff = 0;
  for (let i = 0; i < ref.grad.length; i++) diff = Math.max(diff, Math.abs(ref.grad[i]! - got.grad[i]!));
  assert.ok(diff < 1e-5, `grad max |Δ| ${diff}`);
});

test('fused path under noGrad gives the evaluation loss without a graph', async () => {
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
