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
    assert.equal(h._node, null);
    assert.equal(logits._node, null);
    assert.equal(loss._node, null);
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
