/**
 * The server's pure parts: t intervals (against scipy.stats values), the
 * admission queue, OpenAI stop-sequence trimming, the ratings store and its
 * CSV/JSONL export.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { meanInterval, studentTCdf, studentTQuantile } from '../../src/serve/stats.js';
import { GenerationQueue, QueueFullError } from '../../src/serve/queue.js';
import { StopTrimmer } from '../../src/serve/stop-trimmer.js';
import { RatingsStore, canonicalJSON, exportRatings } from '../../src/serve/ratings-store.js';

test('studentTQuantile matches scipy.stats.t.ppf(0.975, df)', () => {
  // scipy 1.10 values
  const ref: [number, number][] = [
    [1, 12.706204736174694],
    [2, 4.302652729749462],
    [4, 2.7764451051977934],
    [9, 2.262157162798205],
    [30, 2.0422724563012378],
    [200, 1.9718962236339088],
  ];
  for (const [df, q] of ref) assert.ok(Math.abs(studentTQuantile(0.975, df) - q) < 1e-8, `df ${df}: ${studentTQuantile(0.975, df)} vs ${q}`);
  assert.ok(Math.abs(studentTCdf(-1.5, 3) - 0.11529193262241147) < 1e-10);
});

test('meanInterval matches scipy.stats.t.interval(0.95, n-1, loc=mean, scale=sem)', () => {
  const xs = [5, 4, 4, 3, 5, 2, 4];
  const r = meanInterval(xs.length, xs.reduce((a, b) => a + b), xs.reduce((a, b) => a + b * b, 0));
  assert.ok(Math.abs(r.mean - 3.857142857142857) < 1e-12);
  assert.ok(Math.abs(r.low! - 2.868441164051233) < 1e-8);
  assert.ok(Math.abs(r.high! - 4.845844550234482) < 1e-8);
  const two = meanInterval(2, 3, 5);
  assert.ok(Math.abs(two.low! - -4.853102368087347) < 1e-8 && Math.abs(two.high! - 7.853102368087347) < 1e-8);
  const one = meanInterval(1, 4, 16);
  assert.equal(one.mean, 4);
  assert.equal(one.low, null);
});

test('GenerationQueue: FIFO slots, bounded line, abort while waiting, close', async () => {
  const q = new GenerationQueue({ maxConcurrent: 2, maxQueued: 2 });
  const r1 = await q.acquire();
  const r2 = await q.acquire();
  assert.equal(q.running, 2);
  const order: number[] = [];
  const w3 = q.acquire().then((rel) => (order.push(3), rel));
  const ac = new AbortController();
  const w4 = q.acquire(ac.signal);
  await assert.rejects(q.acquire(), (e: unknown) => e instanceof QueueFullError && !e.closed && e.retryAfterSeconds >= 1);
  ac.abort(new Error('client left'));
  await assert.rejects(w4, /client left/);
  assert.equal(q.waiting, 1);
  const w5 = q.acquire().then((rel) => (order.push(5), rel));
  r1();
  r1(); // a second release is ignored
  const r3 = await w3;
  assert.equal(q.running, 2);
  r2();
  const r5 = await w5;
  assert.deepEqual(order, [3, 5]);
  const w6 = q.acquire();
  q.close();
  await assert.rejects(w6, (e: unknown) => e instanceof QueueFullError && e.closed);
  await assert.rejects(q.acquire(), (e: unknown) => e instanceof QueueFullError && e.closed);
  r3();
  r5();
  assert.equal(q.running, 0);
});

test('StopTrimmer ends before the stop sequence and never emits part of one', () => {
  const t = new StopTrimmer(['\n\n', 'END']);
  const pieces = ['Hello', ' E', 'N', 'D', 'ing? no', '\n', 'x', '\n', '\n', 'after'];
  let out = '';
  const seen: string[] = [];
  for (const p of pieces) {
    const e = t.push(p);
    seen.push(e);
    out += e;
    if (t.done) break;
  }
  // "Hello E" + "N" + "D" completes END: text before it only.
  assert.equal(out, 'Hello ');
  assert.ok(seen.every((s) => !s.includes('E')), 'the E of END is held back');
  const u = new StopTrimmer(['\n\n']);
  let o2 = '';
  for (const p of ['a\n', 'b\n', '\n', 'c']) o2 += u.push(p);
  assert.equal(o2, 'a\nb');
  assert.ok(u.done);
  const v = new StopTrimmer(['xyz']);
  assert.equal(v.push('abx'), 'ab');
  assert.equal(v.flush(), 'x');
  const none = new StopTrimmer([]);
  assert.equal(none.push('abc'), 'abc');
});

test('RatingsStore stores, summarises per model+settings and exports CSV/JSONL', () => {
  const store = new RatingsStore(':memory:');
  const base = { prompt: 'Once, "upon"\na time', output: 'out, with comma' };
  const a = { temperature: 0.8, top_k: 40 };
  const aReordered = { top_k: 40, temperature: 0.8 };
  store.add({ ...base, model: 'm1', settings: a, rating: 5 }, new Date('2026-01-01T00:00:00Z'));
  store.add({ ...base, model: 'm1', settings: aReordered, rating: 4, comment: 'good' });
  store.add({ ...base, model: 'm1', settings: a, rating: 3 });
  store.add({ ...base, model: 'm2', settings: {}, rating: 2 });
  assert.throws(() => store.add({ ...base, model: 'm1', settings: a, rating: 6 }), /1 to 5/);
  assert.equal(store.count(), 4);
  const s = store.summary();
  assert.equal(s.length, 2);
  assert.equal(s[0].model, 'm1');
  assert.equal(s[0].count, 3);
  assert.equal(s[0].mean, 4);
  // scipy: t.interval(0.95, 2, loc=4, scale=sem([5,4,3])) = (1.51586228..., 6.48413771...)
  assert.ok(Math.abs(s[0].low! - 1.5158622882496697) < 1e-8);
  assert.deepEqual(s[0].settings, { temperature: 0.8, top_k: 40 });
  assert.equal(s[1].count, 1);
  assert.equal(s[1].low, null);

  const csv = [...exportRatings(store.iterate(), 'csv')].join('');
  const lines = csv.split('\r\n');
  assert.equal(lines[0], 'id,createdAt,model,settings,prompt,output,rating,comment');
  assert.equal(lines[1], '1,2026-01-01T00:00:00.000Z,m1,"{""temperature"":0.8,""top_k"":40}","Once, ""upon""\na time","out, with comma",5,');
  const jsonl = [...exportRatings(store.iterate(), 'jsonl')].join('').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.equal(jsonl.length, 4);
  assert.equal(jsonl[1].comment, 'good');
  assert.equal(jsonl[0].prompt, base.prompt);
  assert.equal(canonicalJSON({ b: 1, a: { d: 2, c: 3 } }), '{"a":{"c":3,"d":2},"b":1}');
  store.close();
});

test('defaultModelName: folder name, or run/checkpoint for a run\'s best/ or last/', async () => {
  const { defaultModelName } = await import('../../src/serve/model-registry.js');
  assert.equal(defaultModelName('models/muse-poet-zh'), 'muse-poet-zh');
  assert.equal(defaultModelName('runs/poet/best'), 'poet/best');
  assert.equal(defaultModelName('runs/story/last/'), 'story/last');
});
