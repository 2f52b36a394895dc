import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { EarlyStopping } from '../../src/train/early-stopping.js';
import { NonFiniteGuard } from '../../src/train/non-finite-guard.js';
import { MetricsLog, formatMetricsLine, type MetricsRecord } from '../../src/train/metrics.js';
import { downsample, lossCurveFromMetrics, lossCurveSvg, niceTicks } from '../../src/train/loss-chart.js';
import { formatDuration } from '../../src/train/progress.js';
import { parseTrainerState } from '../../src/train/trainer-state.js';
import { ConfigError, FileFormatError } from '../../src/errors.js';
import { checkWellFormedXml } from './xml.js';

test('EarlyStopping: patience counts evaluations without a new best', () => {
  const es = new EarlyStopping(2);
  assert.deepEqual(es.update(3.0, 100), { improved: true, stop: false });
  assert.deepEqual(es.update(2.5, 200), { improved: true, stop: false });
  assert.deepEqual(es.update(2.5, 300), { improved: false, stop: false }); // equal is not better
  assert.deepEqual(es.update(2.4, 400), { improved: true, stop: false }); // resets the count
  assert.deepEqual(es.update(2.6, 500), { improved: false, stop: false });
  assert.deepEqual(es.update(Number.NaN, 600), { improved: false, stop: true });
  assert.equal(es.bestValLoss, 2.4);
  assert.equal(es.bestStep, 400);
  const copy = new EarlyStopping(2);
  copy.loadState(es.state());
  assert.deepEqual(copy.state(), { bestValLoss: 2.4, bestStep: 400, evalsWithoutImprovement: 2 });
  // minDelta: an improvement must beat best − minDelta
  const md = new EarlyStopping(1, 0.1);
  md.update(2.0, 1);
  assert.deepEqual(md.update(1.95, 2), { improved: false, stop: true });
  // Without patience it never stops.
  const never = new EarlyStopping();
  never.update(1, 1);
  for (let i = 0; i < 50; i++) assert.equal(never.update(2, i + 2).stop, false);
  assert.throws(() => new EarlyStopping(0), ConfigError);
  assert.throws(() => new EarlyStopping(1.5), ConfigError);
});

test('NonFiniteGuard: skip, reset on a finite step, stop after K in a row', () => {
  const g = new NonFiniteGuard(3);
  assert.equal(g.record(true), 'ok');
  assert.equal(g.record(false), 'skip');
  assert.equal(g.record(false), 'skip');
  assert.equal(g.record(true), 'ok'); // resets the run
  assert.equal(g.record(false), 'skip');
  assert.equal(g.record(false), 'skip');
  assert.equal(g.record(false), 'stop');
  assert.deepEqual(g.state(), { inARow: 3, total: 5 });
  assert.equal(new NonFiniteGuard().maxInARow, 5);
  assert.throws(() => new NonFiniteGuard(0), ConfigError);
});

test('metrics lines are valid JSON with non-finite numbers as null; MetricsLog appends and resets', () => {
  const r: MetricsRecord = { event: 'train', step: 10, trainLoss: Number.NaN, lr: 1e-3, gradNorm: Number.POSITIVE_INFINITY, tokensPerSec: 1234.5, elapsedMs: 10.6 };
  assert.deepEqual(JSON.parse(formatMetricsLine(r)), { event: 'train', step: 10, trainLoss: null, lr: 1e-3, gradNorm: null, tokensPerSec: 1234.5, elapsedMs: 11 });
  const e: MetricsRecord = { event: 'eval', step: 20, trainLoss: 2.5, valLoss: 2.6, lr: 1e-3, gradNorm: null, tokensPerSec: null, elapsedMs: 5 };
  assert.equal(JSON.parse(formatMetricsLine(e)).valLoss, 2.6);
  const dir = mkdtempSync(join(tmpdir(), 'muse-metrics-'));
  try {
    const log = new MetricsLog(join(dir, 'sub', 'metrics.jsonl'));
    log.reset([r]);
    log.append(e);
    const lines = readFileSync(log.path, 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l) as { step: number });
    assert.deepEqual(lines.map((l) => l.step), [10, 20]);
    log.reset([e]);
    assert.equal(readFileSync(log.path, 'utf8').trimEnd().split('\n').length, 1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('niceTicks picks 1-2-5 steps inside the range', () => {
  assert.deepEqual(niceTicks(0, 2000, 8), [0, 500, 1000, 1500, 2000]);
  assert.deepEqual(niceTicks(0, 10, 5), [0, 2, 4, 6, 8, 10]);
  assert.deepEqual(niceTicks(1.83, 4.21, 6), [2, 2.5, 3, 3.5, 4]);
  assert.deepEqual(niceTicks(0.1, 0.35, 5), [0.1, 0.15, 0.2, 0.25, 0.3, 0.35]);
  assert.deepEqual(niceTicks(3, 3), [3]);
});

test('the loss chart is well-formed SVG with one coordinate pair per finite point', async () => {
  const records: MetricsRecord[] = [];
  for (let s = 1; s <= 200; s += s === 1 ? 9 : 10) {
    records.push({ event: 'train', step: s, trainLoss: 4 * Math.exp(-s / 80) + 1.5, lr: 1e-3, gradNorm: 0.5, tokensPerSec: 1e4, elapsedMs: s });
  }
  records.push({ event: 'skip', step: 55, trainLoss: null, lr: 1e-3, gradNorm: null, tokensPerSec: null, elapsedMs: 55 });
  for (let s = 50; s <= 200; s += 50) records.push({ event: 'eval', step: s, trainLoss: 2, valLoss: 4 * Math.exp(-s / 90) + 1.6, lr: 1e-3, gradNorm: null, tokensPerSec: null, elapsedMs: s });
  const svg = lossCurveFromMetrics(records, { title: 'baby <GPT> & "friends"' });
  const names = checkWellFormedXml(svg);
  assert.equal(names[0], 'svg');
  const polylines = [...svg.matchAll(/<polyline [^>]*data-label="([^"]+)"[^>]*points="([^"]*)"/g)];
  assert.deepEqual(polylines.map((m) => m[1]), ['train loss', 'val loss']);
  const count = (pts: string) => pts.trim().split(/\s+/).filter((p) => /^-?[\d.]+,-?[\d.]+$/.test(p)).length;
  assert.equal(count(polylines[0][2]), 21); // step 1, 10, 20, …, 200
  assert.equal(count(polylines[1][2]), 4);
  assert.equal(names.filter((n) => n === 'circle').length, 4); // markers on val points only
  assert.ok(svg.includes('baby &lt;GPT&gt; &amp; &quot;friends&quot;'));
  // Every plotted point lies inside the plot area.
  for (const m of polylines) {
    for (const pair of m[2].trim().split(/\s+/)) {
      const [x, y] = pair.split(',').map(Number);
      assert.ok(x >= 64 && x <= 700 && y >= 40 && y <= 372, `point ${pair} outside the plot`);
    }
  }
  // A real XML parser (libxml2 through librsvg, via sharp) when it is installed.
  const require = createRequire(import.meta.url);
  type Sharp = (input: Buffer) => { png(): { toBuffer(): Promise<Buffer> } };
  let sharp: Sharp | null = null;
  try {
    sharp = require('sharp') as Sharp;
  } catch {
    sharp = null;
  }
  if (sharp) {
    const png = await sharp(Buffer.from(svg)).png().toBuffer();
    assert.ok(png.length > 1000);
    await assert.rejects(sharp(Buffer.from(svg.replace('</svg>', ''))).png().toBuffer());
  }
});

test('long curves are bucket-averaged to maxPoints', () => {
  const pts: [number, number][] = Array.from({ length: 10 }, (_, i) => [i, i % 2]);
  assert.deepEqual(downsample(pts, 5), [[0.5, 0.5], [2.5, 0.5], [4.5, 0.5], [6.5, 0.5], [8.5, 0.5]]);
  assert.equal(downsample(pts, 20), pts);
  const recs: MetricsRecord[] = Array.from({ length: 5000 }, (_, i) => ({ event: 'train', step: i + 1, trainLoss: 3 - i / 5000, lr: 1e-3, gradNorm: 1, tokensPerSec: 1, elapsedMs: i }));
  const svg = lossCurveFromMetrics(recs, { maxPoints: 500 });
  checkWellFormedXml(svg);
  assert.equal(/points="([^"]*)"/.exec(svg)![1].trim().split(/\s+/).length, 500);
});

test('the chart copes with no data and a flat series', () => {
  checkWellFormedXml(lossCurveSvg([]));
  const flat = lossCurveSvg([{ label: 'x', color: 'red', points: [[0, 2], [10, 2], [20, Number.NaN]] }]);
  checkWellFormedXml(flat);
  assert.match(flat, /points="[\d.]+,[\d.]+ [\d.]+,[\d.]+"/);
});

test('xml checker rejects malformed documents (the test can fail)', () => {
  assert.throws(() => checkWellFormedXml('<svg><g></svg>'));
  assert.throws(() => checkWellFormedXml('<svg a="1" a="2"/>'));
  assert.throws(() => checkWellFormedXml('<svg>a & b</svg>'));
  assert.throws(() => checkWellFormedXml('<svg/><svg/>'));
});

test('formatDuration', () => {
  assert.equal(formatDuration(44_600), '45s');
  assert.equal(formatDuration(200_000), '3m20s');
  assert.equal(formatDuration(3_720_000), '1h02m');
  assert.equal(formatDuration(Number.NaN), '?');
});

test('parseTrainerState names the bad field', () => {
  assert.throws(() => parseTrainerState({ format: 'x' }), (e: unknown) => e instanceof FileFormatError && /format/.test(e.message));
  assert.throws(() => parseTrainerState([]), FileFormatError);
  assert.throws(
    () => parseTrainerState({ format: 'muse-trainer-state', version: 1, train_loss_window: { sum: 0, count: 0 }, rng_state: {}, log_history: [], global_step: -1 }),
    /global_step/,
  );
});
