import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { post, startServer } from '../serve/helpers.js';
import { csvField } from '../../src/serve/ratings-store.js';
import { hostAllowed, hostName } from '../../src/serve/access.js';

/** A raw request with any Host/Origin (fetch does not let a page set Host). */
function raw(url: string, opts: { method?: string; headers?: Record<string, string>; body?: string }): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: opts.method ?? 'GET', headers: opts.headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

test('DNS rebinding: a request for another host name is refused; a foreign Origin cannot change state', async () => {
  const { server, url, dir } = await startServer({ allowedHosts: ['muse.lan'] });
  try {
    const port = new URL(url).port;
    const evil = await raw(`${url}/api/ratings/export?format=csv`, { headers: { host: `evil.example:${port}` } });
    assert.equal(evil.status, 403);
    assert.match(JSON.parse(evil.body).error.message, /Host "evil\.example" is not a name of this server; .*--allowed-host evil\.example/);
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `muse.lan:${port}`]) {
      assert.equal((await raw(`${url}/healthz`, { headers: { host } })).status, 200, host);
    }
    const body = JSON.stringify({ model: 'muse-story-en', prompt: 'a', output: 'b', rating: 1 });
    const foreign = await raw(`${url}/api/ratings`, { method: 'POST', headers: { host: `127.0.0.1:${port}`, origin: 'https://evil.example', 'content-type': 'application/json' }, body });
    assert.equal(foreign.status, 403);
    assert.match(foreign.body, /origin_not_allowed/);
    const own = await raw(`${url}/api/ratings`, { method: 'POST', headers: { host: `127.0.0.1:${port}`, origin: url, 'content-type': 'application/json' }, body });
    assert.equal(own.status, 201, own.body);
  } finally {
    await server.close(1000);
    rmSync(dir, { recursive: true, force: true });
  }
  assert.equal(hostName('[::1]:8080'), '::1');
  assert.ok(hostAllowed('192.168.1.5', { host: '0.0.0.0' }, []), 'an IP literal when bound to every interface');
  assert.ok(!hostAllowed('attacker.example', { host: '0.0.0.0' }, []));
});

test('--api-key: /v1 and /api need the bearer token (401 in OpenAI shape without it); /healthz stays open', async () => {
  const { server, url, dir } = await startServer({ apiKey: 'sekrit' });
  try {
    const none = await post(`${url}/v1/completions`, { prompt: 'The', max_tokens: 1 });
    assert.equal(none.status, 401);
    const j = (await none.json()) as { error: { code: string; message: string } };
    assert.equal(j.error.code, 'invalid_api_key');
    const wrong = await fetch(`${url}/api/models`, { headers: { authorization: 'Bearer nope' } });
    assert.equal(wrong.status, 401);
    const right = await post(`${url}/v1/completions`, { prompt: 'The', max_tokens: 1 }, { headers: { 'content-type': 'application/json', authorization: 'Bearer sekrit' } });
    assert.equal(right.status, 200);
    assert.equal((await fetch(`${url}/healthz`)).status, 200);
  } finally {
    await server.close(1000);
    rmSync(dir, { recursive: true, force: true });
  }
});

test('CSV export neutralises spreadsheet formulas (OWASP); numbers stay numbers', async () => {
  for (const [v, want] of [
    ['=HYPERLINK("http://x","y")', `"'=HYPERLINK(""http://x"",""y"")"`],
    ['+cmd|\' /C calc\'!A0', `'+cmd|' /C calc'!A0`],
    ['-2+3', `'-2+3`],
    ['@SUM(A1)', `'@SUM(A1)`],
    ['\tx', `'\tx`],
    ['\rx', `"'\rx"`],
    ['plain', 'plain'],
  ] as const) {
    assert.equal(csvField(v), want, v);
  }
  assert.equal(csvField(-1), '-1');
  const { server, url, dir } = await startServer();
  try {
    await post(`${url}/api/ratings`, { model: 'muse-story-en', prompt: '=1+1', output: '@x', rating: 1, comment: '+cmd' });
    const csv = await (await fetch(`${url}/api/ratings/export?format=csv`)).text();
    assert.match(csv, /,'=1\+1,'@x,/);
    assert.doesNotMatch(csv, /,=1\+1,/);
  } finally {
    await server.close(1000);
    rmSync(dir, { recursive: true, force: true });
  }
});

test('/api/runs and 404 answers show paths relative to the served roots, never absolute ones', async () => {
  const { server, url, dir } = await startServer();
  try {
    const runsDir = server.context.runsDir;
    mkdirSync(join(runsDir, 'r1'), { recursive: true });
    writeFileSync(join(runsDir, 'r1', 'metrics.jsonl'), '');
    const runs = await (await fetch(`${url}/api/runs`)).text();
    assert.ok(!runs.includes(dir), runs);
    const missing = await (await fetch(`${url}/api/runs/nope/metrics`)).text();
    assert.ok(!missing.includes(dir), missing);
    assert.match((JSON.parse(missing) as { error: { message: string } }).error.message, /no training run "nope" with a metrics\.jsonl under runs;/);
    const model = await (await post(`${url}/v1/completions`, { model: 'no-such-model', prompt: 'x', max_tokens: 1 })).text();
    assert.ok(!model.includes(process.cwd() + '/'), model);
  } finally {
    await server.close(1000);
    rmSync(dir, { recursive: true, force: true });
  }
});

test('HTTP messages: anyOf fields name the real limit; invalid UTF-8 is a 400; oversized headers get 431 in OpenAI shape', async () => {
  const { server, url, dir } = await startServer();
  try {
    const port = new URL(url).port;
    const many = await post(`${url}/v1/completions`, { prompt: Array.from({ length: 17 }, () => 'a'), max_tokens: 1 });
    assert.equal(many.status, 400);
    assert.match(((await many.json()) as { error: { message: string } }).error.message, /prompt must NOT have more than 16 items/);
    const stops = await post(`${url}/v1/completions`, { prompt: 'a', max_tokens: 1, stop: ['a', 'b', 'c', 'd', 'e'] });
    assert.match(((await stops.json()) as { error: { message: string } }).error.message, /stop must NOT have more than 4 items/);
    const bad = await raw(`${url}/v1/completions`, { method: 'POST', headers: { host: `127.0.0.1:${port}`, 'content-type': 'application/json' }, body: Buffer.from('{"prompt":"\xff"}', 'latin1') as unknown as string });
    assert.equal(bad.status, 400);
    assert.match(bad.body, /not valid UTF-8/);
    const big = await raw(`${url}/healthz`, { headers: { host: `127.0.0.1:${port}`, 'x-big': 'y'.repeat(20_000) } });
    assert.equal(big.status, 431);
    assert.equal((JSON.parse(big.body) as { error: { code: string } }).error.code, 'headers_too_large');
  } finally {
    await server.close(1000);
    rmSync(dir, { recursive: true, force: true });
  }
});
