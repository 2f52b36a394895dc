/**
 * The commands as a user runs them: `muse serve` answers on loopback and
 * exits cleanly on SIGTERM; `muse ratings export|summary` print what the
 * database holds (CSV per RFC 4180, JSON lines, t intervals as scipy).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RatingsStore } from '../../src/serve/ratings-store.js';

const env = { ...process.env, MUSE_FROM_SOURCE: '1', OMP_NUM_THREADS: '1' };

test('muse serve: listens, answers /healthz, exits 0 on SIGTERM', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'muse-cli-serve-'));
  const child = spawn(process.execPath, ['bin/muse.js', 'serve', '--port', '0', '--model', 'models/muse-story-en', '--db', join(dir, 'r.db')], {
    env,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  const url = await new Promise<string>((resolve, reject) => {
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
      const m = /muse serve: (http:\/\/\S+)/.exec(err);
      if (m) resolve(m[1]);
    });
    child.on('exit', (code) => reject(new Error(`exited ${code}: ${err}`)));
  });
  const h = await (await fetch(`${url}/healthz`)).json();
  assert.deepEqual(h.models, ['muse-story-en']);
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  child.kill('SIGTERM');
  assert.equal(await exited, 0, err);
  assert.match(err, /SIGTERM: finishing running generations/);
});

test('muse ratings export --format csv and summary', () => {
  const dir = mkdtempSync(join(tmpdir(), 'muse-cli-ratings-'));
  const db = join(dir, 'r.db');
  const store = new RatingsStore(db);
  for (const r of [5, 4, 3]) store.add({ model: 'm', settings: { temperature: 0.8 }, prompt: 'p, "q"', output: 'o\nx', rating: r }, new Date('2026-02-03T04:05:06Z'));
  store.close();
  const run = (...args: string[]) => spawnSync(process.execPath, ['bin/muse.js', 'ratings', ...args, '--db', db], { env, encoding: 'utf8' });
  const csv = run('export', '--format', 'csv');
  assert.equal(csv.status, 0, csv.stderr);
  assert.equal(csv.stdout.split('\r\n')[1], '1,2026-02-03T04:05:06.000Z,m,"{""temperature"":0.8}","p, ""q""","o\nx",5,');
  const s = run('summary');
  assert.equal(s.status, 0, s.stderr);
  // scipy.stats.t.interval(0.95, 2, loc=4, scale=sem([5, 4, 3])) = (1.5159, 6.4841)
  assert.match(s.stdout, /4\.00 {3}\[1\.52, 6\.48\] +3 {2}m {2}\{"temperature":0\.8\}/);
});
