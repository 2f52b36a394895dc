/**
 * `POST /v1/chat/completions` with the official OpenAI client and raw HTTP:
 * answers and streamed chunks in OpenAI's shapes, stop sequences, max_tokens,
 * seeds, n, end-of-turn ids, and OpenAI error shapes.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { loadGPT2Dir } from '../../src/models/gpt2/family.js';
import { ModelRegistry } from '../../src/serve/model-registry.js';
import { tinyChatModel } from '../chat/helpers.js';
import { post, sseEvents, startServer } from './helpers.js';

const models = new ModelRegistry();
models.addCausalLM(loadGPT2Dir(tinyChatModel()));
models.addCausalLM(loadGPT2Dir('models/muse-story-en'));
const chatName = models.causalNames[0];
const { server, url } = await startServer({ models, maxTokens: 32 });
after(() => server.close(100));
const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'unused', maxRetries: 0 });
const messages: OpenAI.Chat.ChatCompletionMessageParam[] = [
  { role: 'system', content: 'You tell stories.' },
  { role: 'user', content: 'Once upon a time' },
];

test('openai client: chat.completions.create, plain and streamed, agree for a seed', async () => {
  const c = await client.chat.completions.create({ model: chatName, messages, max_tokens: 6, seed: 3, temperature: 0.8 });
  assert.equal(c.object, 'chat.completion');
  assert.match(c.id, /^chatcmpl-/);
  assert.equal(c.choices[0].message.role, 'assistant');
  assert.equal(c.choices[0].finish_reason, 'length');
  assert.equal(c.usage?.completion_tokens, 6);
  assert.ok((c.usage?.prompt_tokens ?? 0) > 20);

  const s = await client.chat.completions.create({ model: chatName, messages, max_tokens: 6, seed: 3, temperature: 0.8, stream: true, stream_options: { include_usage: true } });
  let text = '';
  let role = '';
  let finish: string | null = null;
  let usage = 0;
  for await (const chunk of s) {
    assert.equal(chunk.object, 'chat.completion.chunk');
    const ch = chunk.choices[0];
    if (ch?.delta.role) role = ch.delta.role;
    text += ch?.delta.content ?? '';
    if (ch?.finish_reason) finish = ch.finish_reason;
    if (chunk.usage) usage = chunk.usage.completion_tokens;
  }
  assert.equal(role, 'assistant');
  assert.equal(text, c.choices[0].message.content, 'streamed and plain replies agree for the same seed');
  assert.equal(finish, 'length');
  assert.equal(usage, 6);
});

test('chat completions: n, stop sequences, max_completion_tokens, content parts, temperature 0', async () => {
  const greedy = await client.chat.completions.create({ model: chatName, messages, max_completion_tokens: 12, temperature: 0 });
  const again = await client.chat.completions.create({ model: chatName, messages: [{ role: 'developer', content: [{ type: 'text', text: 'You tell ' }, { type: 'text', text: 'stories.' }] }, messages[1]], max_completion_tokens: 12, temperature: 0 });
  assert.equal(again.choices[0].message.content, greedy.choices[0].message.content, 'developer = system, text parts joined');
  const full = greedy.choices[0].message.content ?? '';
  const cut = full.trim().slice(2, 4);
  assert.ok(cut.length === 2, `a stop sequence from ${JSON.stringify(full)}`);
  const stopped = await client.chat.completions.create({ model: chatName, messages, max_tokens: 12, temperature: 0, stop: [cut] });
  assert.equal(stopped.choices[0].finish_reason, 'stop');
  assert.equal(stopped.choices[0].message.content, full.slice(0, full.indexOf(cut)));
  const several = await client.chat.completions.create({ model: chatName, messages, max_tokens: 4, n: 3, seed: 7, temperature: 1 });
  assert.deepEqual(several.choices.map((c) => c.index), [0, 1, 2]);
  assert.equal(several.usage?.completion_tokens, 12);
});

test('chat completions: OpenAI error shapes', async () => {
  await assert.rejects(
    client.chat.completions.create({ model: 'muse-story-en', messages, max_tokens: 2 }),
    (e: unknown) => e instanceof OpenAI.BadRequestError && /has no chat template/.test(e.message) && /\/v1\/completions/.test(e.message),
  );
  await assert.rejects(
    client.chat.completions.create({ model: 'gpt-nope', messages }),
    (e: unknown) => e instanceof OpenAI.NotFoundError && /model "gpt-nope" is not served/.test(e.message),
  );
  await assert.rejects(
    client.chat.completions.create({ model: chatName, messages, max_tokens: 1000 }),
    (e: unknown) => e instanceof OpenAI.BadRequestError && /max_tokens must be <= 32/.test(e.message),
  );
  const r = await post(`${url}/v1/chat/completions`, { model: chatName, messages: [{ role: 'user', content: 'x' }], tools: [] });
  assert.equal(r.status, 400);
  const body = (await r.json()) as { error: { message: string; type: string; param: string } };
  assert.equal(body.error.type, 'invalid_request_error');
  assert.equal(body.error.param, 'tools');
  const none = await post(`${url}/v1/chat/completions`, { model: chatName, messages: [] });
  assert.equal(none.status, 400);
});

test('chat completions stream over raw HTTP: role chunk, content chunks, finish chunk, [DONE]', async () => {
  const r = await post(`${url}/v1/chat/completions`, { model: chatName, messages, max_tokens: 3, seed: 1, stream: true });
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type') ?? '', /text\/event-stream/);
  const events = sseEvents(await r.text());
  assert.equal(events.at(-1), '[DONE]');
  const chunks = events.slice(0, -1).map((e) => JSON.parse(e) as { choices: { delta: { role?: string; content?: string }; finish_reason: string | null }[] });
  assert.deepEqual(chunks[0].choices[0].delta, { role: 'assistant', content: '' });
  assert.equal(chunks.at(-1)!.choices[0].finish_reason, 'length');
  assert.deepEqual(chunks.at(-1)!.choices[0].delta, {});
});

test('GET /api/models marks the models with a chat template (the playground lists those in chat mode)', async () => {
  const r = await fetch(`${url}/api/models`);
  const { models: listed } = (await r.json()) as { models: { name: string; chat?: boolean }[] };
  assert.deepEqual(
    listed.map((m) => [m.name, m.chat]),
    [
      [chatName, true],
      ['muse-story-en', false],
    ],
  );
});
