/**
 * The VAE building blocks against independent references: finite
 * differences for the reparameterised path and the KL term, the Gaussian KL
 * against a Monte-Carlo estimate of E_q[log q − log p], the KL schedules
 * against values worked out by hand from Bowman et al. / Fu et al., free
 * bits' gradient, and active units.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as T from '../../src/tensor/index.js';
import { activeUnits, gaussianKL, klObjective, klWeight, reparameterize } from '../../src/models/vae/vae.js';
import { gradcheck, rnd } from '../tensor/gradcheck.js';

test('reparameterised sample z = mu + exp(logVar/2)·eps: gradients w.r.t. mu and logVar match finite differences', () => {
  const mu = rnd([3, 4], 1);
  const logVar = rnd([3, 4], 2, 0.5);
  const eps = rnd([3, 4], 3);
  gradcheck('reparameterize', (m, lv) => reparameterize(m, lv, new T.Generator(0), eps), [mu, logVar], { eps: 1e-3 });
  // Through a downstream loss (what training differentiates): sum(z²) + KL.
  gradcheck('reparameterize + KL', (m, lv) => reparameterize(m, lv, new T.Generator(0), eps).pow(2).sum(-1).add(gaussianKL(m, lv).sum(-1)), [mu, logVar], { eps: 1e-3 });
});

test('the sampling path draws eps from the generator: same seed, same z; z has mean mu and std exp(logVar/2)', () => {
  const mu = T.full([20000, 1], 1.5);
  const logVar = T.full([20000, 1], Math.log(0.25));
  const z1 = reparameterize(mu, logVar, new T.Generator(9)).data;
  const z2 = reparameterize(mu, logVar, new T.Generator(9)).data;
  assert.deepEqual(z1, z2);
  let s = 0;
  let s2 = 0;
  for (const v of z1) {
    s += v;
    s2 += v * v;
  }
  const m = s / z1.length;
  const sd = Math.sqrt(s2 / z1.length - m * m);
  assert.ok(Math.abs(m - 1.5) < 0.02, `mean ${m}`);
  assert.ok(Math.abs(sd - 0.5) < 0.02, `std ${sd}`);
});

test('Gaussian KL: closed form agrees with the general two-Gaussian formula and a Monte-Carlo estimate; gradients match finite differences', () => {
  const mus = [0, 1.2, -0.7, 2.5];
  const logVars = [0, -1.3, 0.8, 0.1];
  const kl = gaussianKL(T.tensor([mus]), T.tensor([logVars])).data;
  const gen = new T.Generator(5);
  mus.forEach((mu, j) => {
    const s1 = Math.exp(logVars[j] / 2);
    // KL(N(μ1, σ1²) ‖ N(μ2, σ2²)) = log(σ2/σ1) + (σ1² + (μ1 − μ2)²)/(2σ2²) − ½ with μ2 = 0, σ2 = 1
    const general = Math.log(1 / s1) + (s1 * s1 + mu * mu) / 2 - 0.5;
    assert.ok(Math.abs(kl[j] - general) < 1e-5, `dim ${j}: ${kl[j]} vs ${general}`);
    // E_q[log q(z) − log p(z)] by sampling
    let acc = 0;
    const n = 200000;
    for (let i = 0; i < n; i++) {
      const e = gen.normal();
      const z = mu + s1 * e;
      acc += -0.5 * e * e - Math.log(s1) + 0.5 * z * z;
    }
    assert.ok(Math.abs(acc / n - general) < 0.02 * Math.max(1, general), `dim ${j}: MC ${acc / n} vs ${general}`);
  });
  assert.equal(gaussianKL(T.zeros([1, 3]), T.zeros([1, 3])).sum().item(), 0);
  gradcheck('gaussianKL', (m, lv) => gaussianKL(m, lv), [rnd([2, 3], 11), rnd([2, 3], 12, 0.5)], { eps: 1e-3 });
});

test('free bits: dimensions whose batch-mean KL is below lambda add lambda and get no gradient', () => {
  const mu = T.tensor([[0.1, 2], [-0.1, 2]]);
  const logVar = T.zeros([2, 2]);
  mu.requiresGrad = true;
  const klDims = gaussianKL(mu, logVar); // dim 0: 0.005, dim 1: 2
  const obj = klObjective(klDims, 0.5);
  assert.ok(Math.abs(obj.item() - 2.5) < 1e-6);
  obj.backward();
  const g = mu.grad!.data;
  assert.equal(Math.abs(g[0]), 0);
  assert.equal(Math.abs(g[2]), 0);
  assert.ok(Math.abs(g[1] - 1) < 1e-6 && Math.abs(g[3] - 1) < 1e-6, `d/dmu of mean KL = mu/batch: ${Array.from(g)}`);
  assert.ok(Math.abs(klObjective(klDims, 0).item() - 2.005) < 1e-6);
});

test('KL weight schedules: linear ramp (Bowman et al. 2016) and cyclical (Fu et al. 2019, M cycles, ratio R)', () => {
  assert.equal(klWeight(0, { type: 'linear', warmupSteps: 100 }), 0);
  assert.equal(klWeight(25, { type: 'linear', warmupSteps: 100 }), 0.25);
  assert.equal(klWeight(500, { type: 'linear', warmupSteps: 100 }), 1);
  assert.equal(klWeight(7, { type: 'constant', max: 0.5 }), 0.5);
  const cyc = { type: 'cyclical' as const, totalSteps: 400, cycles: 4, ratio: 0.5 };
  // cycle length 100: ramps 0 → 1 over 50 steps, holds 1 for 50, restarts
  const got = [0, 25, 50, 99, 100, 125, 399].map((s) => klWeight(s, cyc));
  assert.deepEqual(got, [0, 0.5, 1, 1, 0, 0.5, 1]);
  assert.throws(() => klWeight(0, { type: 'cyclical' }), /totalSteps/);
});

test('active units (Burda et al. 2016): a dimension counts when the variance of its posterior mean over the data exceeds 0.01', () => {
  // 4 rows × 3 dims: dim 0 varies (var 1.25), dim 1 nearly constant (var 0.0025), dim 2 constant
  const mu = Float32Array.from([0, 0.1, 1, 1, 0.05, 1, 2, 0.1, 1, 3, 0, 1]);
  const r = activeUnits(mu, 4, 3);
  assert.equal(r.count, 1);
  assert.ok(Math.abs(r.variances[0] - 1.25) < 1e-6);
});
