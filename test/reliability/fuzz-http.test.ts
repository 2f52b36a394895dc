/**
 * Kept fuzz test of the HTTP schemas: mutated valid request bodies (seeded,
 * bounded: a server limited to 4 new tokens, 80 cases) must each be answered
 * 2xx or 4xx in OpenAI's error shape — never a 5xx, a hang or a crash.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { startServer } from '../serve/helpers.js';
import { mulberry32 as rng } from '../../src/data/split.js';


const WEIRD: unknown[] = [null, -1, 0, 1.5, 1e308, -1e9, 'x', '', [], {}, true, ['a', 'b'], Array.from({ length: 20 }, () => 'z'), { nested: [1] }, 'never', '\u0000', 'é'.repeat(50)];

function mutate(body: Record<string, unknown>, keys: string[], r: () => number): Record<string, unknown> {
  const out = { ...body };
  const n = 1 + Math.floor(r() * 3);
  for (let i = 0; i < n; i++) {
    const k = keys[Math.floor(r() * keys.length)];
    if (r() < 0.15) delete out[k];
    else out[k] = WEIRD[Math.floor(r() * WEIRD.length)];
  }
  return out;
}

test('fuzz: mutated /v1/completions and /api/generate bodies get 2xx or 4xx, never 5xx', { timeout: 120_000 }, async () => {
  const { server, url, dir } = await startServer({ maxTokens: 4 });
  try {
    const r = rng(23);
    const completions = { model: 'muse-story-en', prompt: 'The', max_tokens: 3, temperature: 0.8, top_p: 0.9, n: 1, stop: ['.'], seed: 1, stream: false, echo: false };
    const generate = { model: 'muse-story-en', prompt: 'The', maxNewTokens: 3, doSample: true, topK: 5, numBeams: 1, numReturnSequences: 1, earlyStopping: true, stopStrings: ['.'], seed: 2, form: 'free' };
    const statuses = new Map<number, number>();
    for (let i = 0; i < 80; i++) {
      const [path, base] = i % 2 ? ['/api/generate', generate] : ['/v1/completions', completions];
      const body = mutate(base, Object.keys(base).concat(['unknown_field']), r);
      const raw = r() < 0.1 ? JSON.stringify(body).slice(0, -2) : JSON.stringify(body);
      const res = await server.app.inject({ method: 'POST', url: path, headers: { 'content-type': 'application/json' }, payload: raw });
      statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
      assert.ok(res.statusCode < 500, `case ${i} ${path} ${raw}: ${res.statusCode} ${res.body.slice(0, 300)}`);
      if (res.statusCode >= 400) {
        const j = JSON.parse(res.body) as { error?: { message?: string } };
        assert.ok(j.error?.message && j.error.message.length > 5, `case ${i}: error without a message: ${res.body}`);
      }
    }
    assert.ok((statuses.get(400) ?? 0) > 10, JSON.stringify([...statuses]));
    void url;
  } finally {
    await server.close(1000);
    rmSync(dir, { recursive: true, force: true });
  }
});
