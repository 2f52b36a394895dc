/**
 * Concurrency limits, cancellation on disconnect and graceful shutdown, over
 * a real socket on 127.0.0.1.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { post, startServer } from './helpers.js';

async function waitFor(cond: () => Promise<boolean>, ms: number): Promise<number> {
  const t0 = performance.now();
  while (performance.now() - t0 < ms) {
    if (await cond()) return performance.now() - t0;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`condition not met within ${ms} ms`);
}

test('a full queue answers 429 with Retry-After; a client that disconnects frees its slot at once', async () => {
  const { server, url } = await startServer({ maxConcurrent: 1, maxQueued: 0, maxTokens: 5000 });
  try {
    const ac = new AbortController();
    const long = await post(`${url}/v1/completions`, { prompt: 'The', max_tokens: 5000, stream: true }, { signal: ac.signal });
    const reader = long.body!.getReader();
    await reader.read(); // the stream is running
    assert.equal(server.context.queue.running, 1);
    const refused = await post(`${url}/v1/completions`, { prompt: 'x', max_tokens: 2 });
    assert.equal(refused.status, 429);
    assert.ok(Number(refused.headers.get('retry-after')) >= 1);
    assert.equal((await refused.json()).error.type, 'rate_limit_error');
    ac.abort();
    // 5000 tokens would take over 5 s even at 1000 tokens/s; the aborted generation stops at its next token.
    await waitFor(async () => server.context.queue.running === 0, 3000);
    const ok = await post(`${url}/v1/completions`, { prompt: 'x', max_tokens: 2 });
    assert.equal(ok.status, 200);
  } finally {
    await server.close(100);
  }
});

test('requests wait in the queue in turn and all complete', async () => {
  const { server, url } = await startServer({ maxConcurrent: 2, maxQueued: 8 });
  try {
    const rs = await Promise.all(Array.from({ length: 5 }, (_, i) => post(`${url}/v1/completions`, { prompt: 'A', max_tokens: 3, seed: i })));
    assert.deepEqual(rs.map((r) => r.status), [200, 200, 200, 200, 200]);
    const js = await Promise.all(rs.map((r) => r.json()));
    assert.ok(js.every((j) => j.usage.completion_tokens === 3));
  } finally {
    await server.close(100);
  }
});

test('graceful shutdown: health says draining, running streams end properly within the grace time', async () => {
  const { server, url } = await startServer({ maxTokens: 5000 });
  const res = await post(`${url}/v1/completions`, { prompt: 'The', max_tokens: 5000, stream: true });
  const reader = res.body!.getReader();
  await reader.read();
  const t0 = performance.now();
  const closing = server.close(300);
  assert.equal(server.context.draining, true);
  let text = '';
  const dec = new TextDecoder();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    text += dec.decode(value, { stream: true });
  }
  await closing;
  assert.ok(performance.now() - t0 < 5000);
  assert.match(text, /"finish_reason":"stop"/, 'the stream got its final chunk');
  assert.match(text, /data: \[DONE\]\n\n$/);
});
