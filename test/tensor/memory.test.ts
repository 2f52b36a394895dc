import { test } from 'node:test';
import assert from 'node:assert/strict';
import v8 from 'node:v8';
import vm from 'node:vm';
import * as T from '../../src/tensor/index.js';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

function heap(): number {
  gc();
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

test('1,000 forward/backward steps of a small MLP do not grow memory; every node is released', () => {
  const g = new T.Generator(0);
  const w1 = T.randn([32, 16], g).mul(0.2).detach();
  const b1 = T.zeros([32]);
  const w2 = T.randn([4, 32], g).mul(0.2).detach();
  const params = [w1, b1, w2];
  for (const p of params) p.requiresGrad = true;
  const x = T.randn([64, 16], g);
  const y = T.randint(0, 4, [64], g);
  let baseline = 0;
  let lastLoss = Infinity;
  for (let step = 0; step < 1000; step++) {
    const h = T.linear(x, w1, b1).gelu('tanh');
    const logits = T.linear(h, w2);
    const loss = T.crossEntropy(logits, y);
    loss.backward();
    // structural check: backward dropped every node of this step's graph
    assert.equal(h._node?.released, true);
    assert.equal(logits._node?.released, true);
    assert.equal(loss._node?.released, true);
    T.noGrad(() => {
      for (const p of params) {
        const d = p.data as Float32Array;
        const gd = p.grad!.data;
        for (let i = 0; i < d.length; i++) d[i] -= 0.5 * gd[i];
        p.grad = null;
      }
    });
    lastLoss = loss.item();
    if (step === 100) baseline = heap();
  }
  const growth = heap() - baseline;
  assert.ok(lastLoss < 0.5, `the MLP should fit its batch (loss ${lastLoss})`);
  assert.ok(growth < 2 * 1024 * 1024, `memory grew by ${(growth / 1024).toFixed(0)} KiB over 900 steps`);
});

test('recycled backward buffers give bit-identical gradients to fresh ones (pool on vs off)', async () => {
  const { setPoolingEnabled } = await import('../../src/tensor/pool.js');
  const g = new T.Generator(3);
  const C = 64;
  const params = [T.randn([C, 3 * C], g).mul(0.1), T.randn([3 * C], g).mul(0.1), T.randn([C, C], g).mul(0.1), T.ones([C]), T.zeros([C])].map((p) => {
    const d = p.detach();
    d.requiresGrad = true;
    return d;
  });
  const x = T.randn([2, 24, C], g);
  const run = (): Float32Array[] => {
    for (const p of params) p.grad = null;
    const [wA, bA, wP, lw, lb] = params;
    let h = x;
    for (let layer = 0; layer < 3; layer++) {
      const qkv = T.linear(T.layerNorm(h, lw, lb), wA, bA, { weightLayout: 'inOut' });
      const [q, k, v] =
        layer === 1
          ? qkv.split(C, 2).map((t) => t.reshape([2, 24, 4, C / 4]).transpose(1, 2))
          : (() => {
              const q5 = qkv.reshape([2, 24, 3, 4, C / 4]).permute([2, 0, 3, 1, 4]);
              return [0, 1, 2].map((i) => q5.narrow(0, i, 1).reshape([2, 4, 24, C / 4]));
            })();
      const a = T.scaledDotProductAttention(q, k, v, { causal: true }).transpose(1, 2).reshape([2, 24, C]);
      h = h.add(T.linear(a, wP, null, { weightLayout: 'inOut' }).gelu('tanh')).mul(q.mean().add(1));
      h = T.concat([h.slice(1, 0, 24, 2), h.slice(1, 1, 24, 2)], 1).add(T.softmax(h, -1).maximum(0.01).logSumExp(-1, true));
    }
    h.pow(2).mean().backward();
    return params.map((p) => (p.grad!.data as Float32Array).slice());
  };
  setPoolingEnabled(false);
  const fresh = run();
  setPoolingEnabled(true, true); // recycled buffers arrive full of NaN
  const pooled1 = run();
  const pooled2 = run();
  setPoolingEnabled(true);
  for (let i = 0; i < fresh.length; i++) {
    assert.deepEqual(pooled1[i], fresh[i], `param ${i}, first pooled run`);
    assert.deepEqual(pooled2[i], fresh[i], `param ${i}, warm pool`);
  }
});
