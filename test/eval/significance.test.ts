import { test } from 'node:test';
import assert from 'node:assert/strict';
import { confidenceInterval, estimateCi, pairedBootstrap, pValue, Xoshiro128 } from '../../src/eval/index.js';
import { close, fixtures } from './fixtures.js';

test("estimate_ci and the p-value follow sacreBLEU's formulas", () => {
  const scores = Array.from({ length: 80 }, (_, i) => 79 - i); // 0…79 reversed
  const { mean, ci } = estimateCi(scores);
  close(mean, 39.5, 'mean');
  // n=80: lower index 2, upper index 77 → (77 − 2) / 2
  close(ci, 37.5, 'ci');
  close(pValue([0.1, 0.5, -0.2, 0.9], 0.4), (2 + 1) / (4 + 1), 'p');
});

test('the generator is seeded, uniform enough and in range', () => {
  const a = new Xoshiro128(12345);
  const b = new Xoshiro128(12345);
  const counts = new Array(10).fill(0);
  for (let i = 0; i < 20000; i++) {
    const x = a.nextInt(10);
    assert.equal(x, b.nextInt(10));
    counts[x]++;
  }
  for (const c of counts) assert.ok(c > 1800 && c < 2200, `bucket ${c}`);
});

test('paired bootstrap agrees with sacreBLEU/NumPy statistically (same scores; CI and p of the same size)', () => {
  const { baseline, system, refs, expected } = fixtures.pairedBootstrap;
  const res = pairedBootstrap(baseline, system, refs, { metric: 'bleu' }, { nSamples: 1000, seed: 12345 });
  close(res.baseline.score, expected.baselineScore, 'baseline score');
  close(res.system.score, expected.systemScore, 'system score');
  // different generators: means within a CI, CI half-widths within 25%
  assert.ok(Math.abs(res.baseline.mean - expected.baselineMeanCi[0]) < expected.baselineMeanCi[1]);
  assert.ok(Math.abs(res.system.mean - expected.systemMeanCi[0]) < expected.systemMeanCi[1]);
  assert.ok(Math.abs(res.baseline.ci / expected.baselineMeanCi[1] - 1) < 0.25, `${res.baseline.ci} vs ${expected.baselineMeanCi[1]}`);
  assert.ok(Math.abs(res.system.ci / expected.systemMeanCi[1] - 1) < 0.25, `${res.system.ci} vs ${expected.systemMeanCi[1]}`);
  // a 10-point gap on 150 segments: significant in both
  assert.ok(expected.pValue < 0.01 && res.system.pValue < 0.01, `p ${res.system.pValue}`);
  assert.match(res.signature, /^nrefs:1\|bs:1000\|seed:12345\|case:mixed/);
});

test('p-values: near-identical systems are not significantly different; chrF works too', () => {
  const { baseline, refs } = fixtures.pairedBootstrap;
  // identical systems: every centred difference is 0, never > 0, so sacreBLEU's
  // formula gives its floor 1/(n+1)
  const same = pairedBootstrap(baseline, baseline, refs, { metric: 'chrf' }, { nSamples: 199 });
  assert.equal(same.system.score, same.baseline.score);
  close(same.system.pValue, 1 / 200, 'identical');
  // three lines of 150 changed slightly: far from significant
  const near = baseline.map((l, i) => (i % 50 === 0 ? l.split(' ').reverse().join(' ') : l));
  const res = pairedBootstrap(baseline, near, refs, { metric: 'bleu' }, { nSamples: 300 });
  assert.ok(res.system.pValue > 0.05, `p ${res.system.pValue}`);
  const ci = confidenceInterval(baseline, refs, { metric: 'chrf' }, { nSamples: 200 });
  assert.ok(ci.ci > 0 && Math.abs(ci.mean - ci.score) < ci.ci);
  assert.throws(() => pairedBootstrap(['a'], ['a', 'b'], [['a']]), /same segments/);
});
