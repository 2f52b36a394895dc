import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { constantLr, cosineWithWarmup } from '../../src/train/schedule.js';
import { ConfigError } from '../../src/errors.js';

interface Fixture {
  schedule: { config: { learning_rate: number; min_lr: number; warmup_iters: number; lr_decay_iters: number }; points: [number, number][] };
}
const fx = JSON.parse(readFileSync(new URL('../fixtures/train/train_fixtures.json', import.meta.url), 'utf8')) as Fixture;

test('cosineWithWarmup matches nanoGPT get_lr (Python float64 fixture)', () => {
  const c = fx.schedule.config;
  const lr = cosineWithWarmup({ learningRate: c.learning_rate, minLr: c.min_lr, warmupIters: c.warmup_iters, lrDecayIters: c.lr_decay_iters });
  for (const [it, want] of fx.schedule.points) {
    assert.ok(Math.abs(lr(it) - want) <= 1e-15, `it ${it}: ${lr(it)} vs ${want}`);
  }
});

test('cosineWithWarmup known values: warmup line, peak, midpoint, floor', () => {
  const lr = cosineWithWarmup({ learningRate: 1e-3, minLr: 1e-4, warmupIters: 100, lrDecayIters: 2000 });
  assert.equal(lr(0), 1e-3 / 101); // (it+1)/(warmup+1)
  assert.equal(lr(49), (1e-3 * 50) / 101);
  assert.ok(Math.abs(lr(100) - 1e-3) < 1e-18); // cos(0) = 1: the peak
  assert.ok(Math.abs(lr(1050) - 5.5e-4) < 1e-15); // halfway: (lr + minLr) / 2
  assert.ok(Math.abs(lr(2000) - 1e-4) < 1e-15);
  assert.equal(lr(2001), 1e-4);
  assert.equal(lr(1e6), 1e-4);
  // Monotone: rising in the warmup, falling in the decay.
  for (let i = 1; i < 100; i++) assert.ok(lr(i) > lr(i - 1));
  for (let i = 101; i <= 2000; i++) assert.ok(lr(i) <= lr(i - 1));
});

test('cosineWithWarmup without warmup starts at the peak; warmup = decay end does not divide by zero', () => {
  const a = cosineWithWarmup({ learningRate: 0.01, minLr: 0.001, warmupIters: 0, lrDecayIters: 10 });
  assert.ok(Math.abs(a(0) - 0.01) < 1e-15);
  assert.ok(Math.abs(a(10) - 0.001) < 1e-15);
  const b = cosineWithWarmup({ learningRate: 0.01, minLr: 0.001, warmupIters: 5, lrDecayIters: 5 });
  assert.ok(Math.abs(b(5) - 0.01) < 1e-15);
  assert.equal(b(6), 0.001);
  assert.ok(Number.isFinite(b(5)));
});

test('constantLr and schedule validation', () => {
  assert.equal(constantLr(3e-4)(12345), 3e-4);
  assert.throws(() => cosineWithWarmup({ learningRate: 1e-3, minLr: 1e-2, warmupIters: 0, lrDecayIters: 10 }), ConfigError);
  assert.throws(() => cosineWithWarmup({ learningRate: 1e-3, minLr: 1e-4, warmupIters: 20, lrDecayIters: 10 }), /lrDecayIters/);
  assert.throws(() => cosineWithWarmup({ learningRate: Number.NaN, minLr: 0, warmupIters: 0, lrDecayIters: 10 }), /learningRate/);
  assert.throws(() => cosineWithWarmup({ learningRate: 1e-3, minLr: 0, warmupIters: 1.5, lrDecayIters: 10 }), /warmupIters/);
  assert.throws(() => constantLr(-1), ConfigError);
});
