import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request, Agent } from 'node:http';
import { rmSync } from 'node:fs';
import { post, startServer } from '../serve/helpers.js';

/** POST with a keep-alive agent; resolves with the body and whether the socket was closed by the server. */
function keepAlivePost(url: string, body: unknown): Promise<{ text: string; connection: string | undefined; socketClosed: Promise<void> }> {
  const agent = new Agent({ keepAlive: true });
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', agent, headers: { 'content-type': 'application/json' } }, (res) => {
      let text = '';
      const socketClosed = new Promise<void>((done) => res.socket.once('close', () => done()));
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ text, connection: res.headers.connection, socketClosed }));
    });
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

test('an SSE stream closes its socket at the end, so shutdown does not wait for keep-alive clients', async () => {
  const { server, url, dir } = await startServer();
  try {
    const r = await keepAlivePost(`${url}/v1/completions`, { prompt: 'The', max_tokens: 3, stream: true });
    assert.match(r.text, /\[DONE\]/);
    assert.equal(r.connection, 'close');
    await r.socketClosed;
    const t0 = performance.now();
    await server.close(10_000);
    assert.ok(performance.now() - t0 < 2000, `shutdown took ${performance.now() - t0} ms`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('beam search yields the event loop: /healthz answers while a long beam search runs, and a disconnect stops it', async () => {
  const { server, url, dir } = await startServer({ maxTokens: 512 });
  try {
    const controller = new AbortController();
    const t0 = performance.now();
    const long = post(
      `${url}/api/generate`,
      { prompt: 'Once upon a time', numBeams: 8, numReturnSequences: 8, maxNewTokens: 512, earlyStopping: 'never' },
      { signal: controller.signal },
    ).catch(() => null);
    await new Promise((r) => setTimeout(r, 300));
    const h0 = performance.now();
    const health = await fetch(`${url}/healthz`);
    assert.equal(health.status, 200);
    const healthMs = performance.now() - h0;
    assert.ok(healthMs < 1500, `/healthz took ${healthMs} ms behind a beam search`);
    controller.abort();
    await long;
    // The aborted search frees its slot quickly: the queue is empty again well before the search's full length.
    for (let i = 0; i < 50 && server.context.queue.running > 0; i++) await new Promise((r) => setTimeout(r, 50));
    assert.equal(server.context.queue.running, 0, 'the beam search stopped after the disconnect');
    assert.ok(performance.now() - t0 < 8000);
  } finally {
    await server.close(1000);
    rmSync(dir, { recursive: true, force: true });
  }
});
