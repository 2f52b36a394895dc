/**
 * Compatibility with the official OpenAI Node client (the `openai` package):
 * it must parse muse's answers, streamed chunks and errors as it parses
 * OpenAI's own.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { startServer } from './helpers.js';

const { server, url } = await startServer({ maxTokens: 64 });
after(() => server.close(100));
const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'unused', maxRetries: 0 });

test('openai client: models.list, completions.create (plain and streamed)', async () => {
  const models = [];
  for await (const m of client.models.list()) models.push(m.id);
  assert.deepEqual(models, ['muse-story-en']);

  const c = await client.completions.create({ model: 'muse-story-en', prompt: 'The fox', max_tokens: 6, seed: 4, temperature: 0.7 });
  assert.equal(c.object, 'text_completion');
  assert.equal(c.choices[0].finish_reason, 'length');
  assert.equal(c.usage?.completion_tokens, 6);

  const s = await client.completions.create({ model: 'muse-story-en', prompt: 'The fox', max_tokens: 6, seed: 4, temperature: 0.7, stream: true, stream_options: { include_usage: true } });
  let text = '';
  let usage = 0;
  for await (const chunk of s) {
    text += chunk.choices[0]?.text ?? '';
    if (chunk.usage) usage = chunk.usage.completion_tokens;
  }
  assert.equal(text, c.choices[0].text, 'streamed and plain answers agree for the same seed');
  assert.equal(usage, 6);
});

test('openai client: errors surface as APIError with status and message', async () => {
  await assert.rejects(
    client.completions.create({ model: 'gpt-nope', prompt: 'x', max_tokens: 2 }),
    (e: unknown) => e instanceof OpenAI.APIError && e.status === 404 && /model "gpt-nope" is not served/.test(e.message),
  );
  await assert.rejects(
    client.completions.create({ model: 'muse-story-en', prompt: 'x', max_tokens: 1000 }),
    (e: unknown) => e instanceof OpenAI.BadRequestError && /max_tokens must be <= 64/.test(e.message),
  );
});
