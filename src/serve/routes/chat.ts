/**
 * `POST /v1/chat/completions`: OpenAI's chat completions API over models
 * with a chat template. The messages are rendered with the model's template
 * (src/chat), generation stops at every end-of-turn id the model lists and
 * at the request's `stop` sequences (left out of the text, as OpenAI does);
 * answers and streamed `chat.completion.chunk`s have OpenAI's shapes.
 */
import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { type ChatMessage, type ChatModel, chatGenerationConfig, chatModel, chatPrompt } from '../../chat/index.js';
import { ConfigError, MuseError } from '../../errors.js';
import type { GenerationConfig } from '../../generate/index.js';
import type { LoadedCausalLM } from '../../models/loaded.js';
import { Batcher } from '../batcher.js';
import type { ServeContext } from '../context.js';
import { collect, startGeneration, type GenerationSummary, type TextGeneration } from '../generation.js';
import { SSEStream, withCancellation, withGenerationSlot } from '../http.js';
import { openAISamplingProperties, type SchemaLimits } from '../schemas.js';
import { openAIConfig, type OpenAISamplingFields } from './completions.js';

/** One message as OpenAI clients send it: text content, or a list of text parts. */
interface RequestMessage {
  role: 'system' | 'developer' | 'user' | 'assistant' | 'tool';
  content: string | { type: 'text'; text: string }[] | null;
  name?: string;
}

/** The request body (validated by {@link chatCompletionsSchema}). */
export interface ChatCompletionsBody extends OpenAISamplingFields {
  model?: string;
  messages: RequestMessage[];
  max_tokens?: number | null;
  max_completion_tokens?: number | null;
  user?: string;
  /** Extra chat-template variables (vLLM's name), e.g. `{"enable_thinking": false}` for Qwen3. */
  chat_template_kwargs?: Record<string, unknown> | null;
}

/** JSON schema of a chat completions request. */
export function chatCompletionsSchema(l: SchemaLimits): object {
  return {
    type: 'object',
    additionalProperties: false,
    required: ['messages'],
    properties: {
      model: { type: 'string', maxLength: 200 },
      messages: {
        type: 'array',
        minItems: 1,
        maxItems: 256,
        items: {
          type: 'object',
          additionalProperties: false,
          required: ['role', 'content'],
          properties: {
            role: { enum: ['system', 'developer', 'user', 'assistant', 'tool'] },
            content: {
              anyOf: [
                { type: 'string', maxLength: l.maxPromptChars },
                {
                  type: 'array',
                  maxItems: 64,
                  items: {
                    type: 'object',
                    additionalProperties: false,
                    required: ['type', 'text'],
                    properties: { type: { const: 'text' }, text: { type: 'string', maxLength: l.maxPromptChars } },
                  },
                },
                { type: 'null' },
              ],
            },
            name: { type: 'string', maxLength: 64 },
          },
        },
      },
      max_tokens: { type: ['integer', 'null'], minimum: 1, maximum: l.maxTokens },
      max_completion_tokens: { type: ['integer', 'null'], minimum: 1, maximum: l.maxTokens },
      ...openAISamplingProperties(l),
      user: { type: 'string', maxLength: 256 },
      chat_template_kwargs: { anyOf: [{ type: 'null' }, { type: 'object', maxProperties: 16 }] },
      // Accepted at their neutral values only, so clients that always send them work.
      logprobs: { anyOf: [{ type: 'null' }, { const: false }] },
      top_logprobs: { type: 'null' },
      frequency_penalty: { anyOf: [{ type: 'null' }, { const: 0 }] },
      presence_penalty: { anyOf: [{ type: 'null' }, { const: 0 }] },
      logit_bias: { anyOf: [{ type: 'null' }, { type: 'object', maxProperties: 0 }] },
      response_format: { anyOf: [{ type: 'null' }, { type: 'object', additionalProperties: false, required: ['type'], properties: { type: { const: 'text' } } }] },
      parallel_tool_calls: { type: ['boolean', 'null'] },
    },
  };
}

/** The conversation as the chat template takes it: text parts joined, `developer` read as `system`. */
export function toChatMessages(messages: readonly RequestMessage[]): ChatMessage[] {
  return messages.map((m) => ({
    role: m.role === 'developer' ? 'system' : m.role,
    content: m.content === null ? '' : typeof m.content === 'string' ? m.content : m.content.map((p) => p.text).join(''),
  }));
}

const chatModels = new WeakMap<LoadedCausalLM, ChatModel | ConfigError>();

/** The model's chat setup, prepared once per loaded model. */
function chatFor(loaded: LoadedCausalLM): ChatModel {
  let c = chatModels.get(loaded);
  if (c === undefined) {
    try {
      c = chatModel(loaded);
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      c = err;
    }
    chatModels.set(loaded, c);
  }
  if (c instanceof ConfigError) throw new ConfigError(`${c.message.replace(/; use `muse generate`.*$/, '')}; use /v1/completions for plain text continuation`);
  return c;
}

/** Whether a served model has a chat template (answers `/v1/chat/completions`). */
export function hasChatTemplate(loaded: LoadedCausalLM): boolean {
  try {
    chatFor(loaded);
    return true;
  } catch (err) {
    // No template (ConfigError) or a malformed one (FileFormatError): not a chat model; /v1/chat/completions says why.
    if (err instanceof MuseError) return false;
    throw err;
  }
}

/** Registers `POST /v1/chat/completions`. */
export function registerChatCompletions(app: FastifyInstance, ctx: ServeContext): void {
  app.post('/v1/chat/completions', { schema: { body: chatCompletionsSchema(ctx.limits) } }, async (request, reply) => {
    const body = request.body as ChatCompletionsBody;
    const messages = toChatMessages(body.messages);
    const { name, loaded } = ctx.registry.causalLM(body.model, messages.map((m) => m.content).join('\n'));
    const chat = chatFor(loaded);
    const prompt = chatPrompt(chat, messages, body.chat_template_kwargs ?? undefined);
    const n = body.n ?? 1;
    const stop = body.stop === undefined || body.stop === null ? [] : typeof body.stop === 'string' ? [body.stop] : body.stop;
    const id = `chatcmpl-${randomUUID().replace(/-/g, '')}`;
    const created = Math.floor(Date.now() / 1000);
    const maxTokens = body.max_completion_tokens ?? body.max_tokens ?? ctx.limits.maxTokens;
    const configFor = (index: number): GenerationConfig =>
      chatGenerationConfig(chat, openAIConfig(loaded, { prompt, max_tokens: maxTokens, temperature: body.temperature, top_p: body.top_p, top_k: body.top_k, min_p: body.min_p, repetition_penalty: body.repetition_penalty }, body.seed === undefined || body.seed === null ? undefined : body.seed + index));
    const batcher = ctx.batcher;
    const batched = batcher !== null && Batcher.batchable(configFor(0));
    const start = (index: number, signal: AbortSignal): TextGeneration =>
      batched ? batcher.submit(loaded, prompt, configFor(index), { stop, signal }) : startGeneration(loaded, prompt, configFor(index), { stop, signal });
    const finish = (s: GenerationSummary): string => (s.finishReason === 'abort' ? 'stop' : s.finishReason);
    const indices = Array.from({ length: n }, (_, k) => k);
    const run = async (signal: AbortSignal) => {
      const usage = { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 };
      const count = (s: GenerationSummary, index: number): void => {
        if (index === 0) usage.prompt_tokens = s.promptTokens;
        usage.completion_tokens += s.completionTokens;
        usage.total_tokens = usage.prompt_tokens + usage.completion_tokens;
      };
      if (!body.stream) {
        const summaries = batched
          ? await Promise.all(indices.map((k) => collect(start(k, signal))))
          : await indices.reduce<Promise<GenerationSummary[]>>(async (acc, k) => [...(await acc), await collect(start(k, signal))], Promise.resolve([]));
        summaries.forEach((s, k) => count(s, k));
        const choices = summaries.map((s, k) => ({ index: k, message: { role: 'assistant', content: s.text, refusal: null }, logprobs: null, finish_reason: finish(s) }));
        return reply.send({ id, object: 'chat.completion', created, model: name, choices, usage, system_fingerprint: null });
      }
      // The first piece (or a refusal, or a bad option) comes before the stream opens, so errors keep their status.
      const first = start(0, signal);
      const head = await first.next();
      const sse = new SSEStream(reply);
      const chunk = (index: number, delta: Record<string, unknown>, finishReason: string | null) => ({
        id,
        object: 'chat.completion.chunk',
        created,
        model: name,
        system_fingerprint: null,
        choices: [{ index, delta, logprobs: null, finish_reason: finishReason }],
      });
      await sse.run(async () => {
        for (const k of indices) {
          const gen = k === 0 ? first : start(k, signal);
          sse.send(chunk(k, { role: 'assistant', content: '' }, null));
          for (let r = k === 0 ? head : await gen.next(); ; r = await gen.next()) {
            if (r.done) {
              count(r.value, k);
              sse.send(chunk(k, {}, finish(r.value)));
              break;
            }
            sse.send(chunk(k, { content: r.value }, null));
          }
          if (sse.closed) break;
        }
        if (body.stream_options?.include_usage) sse.send({ id, object: 'chat.completion.chunk', created, model: name, system_fingerprint: null, choices: [], usage });
        sse.send('[DONE]');
      }, request.log);
      return undefined;
    };
    return batched ? withCancellation(ctx, reply, run) : withGenerationSlot(ctx.queue, ctx, request, reply, run);
  });
}
