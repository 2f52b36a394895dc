/**
 * `POST /v1/completions` and `GET /v1/models`: the subset of OpenAI's
 * (legacy) completions API that existing OpenAI clients use, so
 * `openai.completions.create({ model, prompt, max_tokens, stream: true })`
 * works against muse. Responses and stream chunks have OpenAI's shapes;
 * stop sequences are left out of the text, as OpenAI does.
 */
import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { GenerationConfig } from '../../generate/index.js';
import type { LoadedCausalLM } from '../../models/loaded.js';
import type { ServeContext } from '../context.js';
import { Batcher } from '../batcher.js';
import { collect, startGeneration, type GenerationSummary, type TextGeneration } from '../generation.js';
import { SSEStream, withCancellation, withGenerationSlot } from '../http.js';
import { completionsSchema } from '../schemas.js';

/** The sampling and streaming fields both OpenAI-style routes accept (schema: `openAISamplingProperties`); `null` = unset. */
export interface OpenAISamplingFields {
  temperature?: number | null;
  top_p?: number | null;
  top_k?: number | null;
  min_p?: number | null;
  repetition_penalty?: number | null;
  n?: number | null;
  stop?: string | string[] | null;
  seed?: number | null;
  stream?: boolean | null;
  stream_options?: { include_usage?: boolean } | null;
}

/** The request body (validated by {@link completionsSchema}). */
export interface CompletionsBody extends OpenAISamplingFields {
  model?: string;
  prompt: string | string[];
  max_tokens?: number | null;
  echo?: boolean | null;
  user?: string;
}

/** OpenAI's default `max_tokens` for completions. */
const DEFAULT_MAX_TOKENS = 16;

/**
 * The muse generation config for an OpenAI request: the model's
 * `generation_config.json` defaults, always sampling (OpenAI samples; a
 * temperature of 0 means greedy), then the request's values.
 */
export function openAIConfig(loaded: LoadedCausalLM, body: CompletionsBody, seed: number | undefined): GenerationConfig {
  const c: GenerationConfig = { ...loaded.generationConfig, doSample: true, maxNewTokens: body.max_tokens ?? DEFAULT_MAX_TOKENS };
  delete c.maxLength;
  delete c.numReturnSequences;
  delete c.numBeams;
  delete c.stopStrings;
  if (body.temperature !== undefined && body.temperature !== null) c.temperature = body.temperature;
  if (body.top_p !== undefined && body.top_p !== null) c.topP = body.top_p;
  if (body.top_k !== undefined && body.top_k !== null) c.topK = body.top_k;
  if (body.min_p !== undefined && body.min_p !== null) c.minP = body.min_p;
  if (body.repetition_penalty !== undefined && body.repetition_penalty !== null) c.repetitionPenalty = body.repetition_penalty;
  if (seed !== undefined) c.seed = seed;
  else delete c.seed;
  return c;
}

function stopList(stop: CompletionsBody['stop']): string[] {
  return stop === undefined || stop === null ? [] : typeof stop === 'string' ? [stop] : stop;
}

/** Registers `POST /v1/completions` and `GET /v1/models`. */
export function registerCompletions(app: FastifyInstance, ctx: ServeContext): void {
  app.get('/v1/models', async () => ({
    object: 'list',
    data: ctx.registry.causalNames.map((id) => ({ id, object: 'model', created: 0, owned_by: 'muse' })),
  }));

  app.post('/v1/completions', { schema: { body: completionsSchema(ctx.limits) } }, async (request, reply) => {
    const body = request.body as CompletionsBody;
    const prompts = typeof body.prompt === 'string' ? [body.prompt] : body.prompt;
    const { name, loaded } = ctx.registry.causalLM(body.model, prompts[0]);
    const n = body.n ?? 1;
    const stop = stopList(body.stop);
    const id = `cmpl-${randomUUID().replace(/-/g, '')}`;
    const created = Math.floor(Date.now() / 1000);
    const choices = prompts.flatMap((prompt, p) => Array.from({ length: n }, (_, k) => ({ prompt, index: p * n + k })));
    const configFor = (index: number): GenerationConfig =>
      openAIConfig(loaded, body, body.seed === undefined || body.seed === null ? undefined : body.seed + index);

    // Unseeded requests are decoded in batches with others (one slot per wave); seeded ones alone, to reproduce.
    const batcher = ctx.batcher;
    const batched = batcher !== null && Batcher.batchable(configFor(0));
    const start = (c: { prompt: string; index: number }, signal: AbortSignal): TextGeneration =>
      batched
        ? batcher.submit(loaded, c.prompt, configFor(c.index), { stop, signal })
        : startGeneration(loaded, c.prompt, configFor(c.index), { stop, signal });
    const body2 = async (signal: AbortSignal) => {
      const usage = { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 };
      // A prompt's tokens count once however many choices (n) continue it, as OpenAI counts them.
      const count = (s: GenerationSummary, index: number): void => {
        if (index % n === 0) usage.prompt_tokens += s.promptTokens;
        usage.completion_tokens += s.completionTokens;
        usage.total_tokens = usage.prompt_tokens + usage.completion_tokens;
      };
      const finish = (s: GenerationSummary) => (s.finishReason === 'abort' ? 'stop' : s.finishReason);
      if (!body.stream) {
        // All choices at once: batched ones share waves; the others run one after another.
        const summaries = batched
          ? await Promise.all(choices.map((c) => collect(start(c, signal))))
          : await choices.reduce<Promise<GenerationSummary[]>>(async (acc, c) => [...(await acc), await collect(start(c, signal))], Promise.resolve([]));
        summaries.forEach((s, k) => count(s, choices[k].index));
        const out = choices.map((c, k) => ({ text: (body.echo ? c.prompt : '') + summaries[k].text, index: c.index, logprobs: null, finish_reason: finish(summaries[k]) }));
        return reply.send({ id, object: 'text_completion', created, model: name, choices: out, usage });
      }
      // The first piece (or a refusal, or a bad option) comes before the stream opens, so errors keep their status.
      const first = start(choices[0], signal);
      const head = await first.next();
      const sse = new SSEStream(reply);
      const chunk = (index: number, text: string, finishReason: string | null) => ({
        id,
        object: 'text_completion',
        created,
        model: name,
        choices: [{ text, index, logprobs: null, finish_reason: finishReason }],
      });
      await sse.run(async () => {
        for (const c of choices) {
          const gen = c.index === 0 ? first : start(c, signal);
          if (body.echo) sse.send(chunk(c.index, c.prompt, null));
          for (let r = c.index === 0 ? head : await gen.next(); ; r = await gen.next()) {
            if (r.done) {
              count(r.value, c.index);
              sse.send(chunk(c.index, '', finish(r.value)));
              break;
            }
            sse.send(chunk(c.index, r.value, null));
          }
          if (sse.closed) break;
        }
        if (body.stream_options?.include_usage) sse.send({ id, object: 'text_completion', created, model: name, choices: [], usage });
        sse.send('[DONE]');
      }, request.log);
      return undefined;
    };
    return batched ? withCancellation(ctx, reply, body2) : withGenerationSlot(ctx.queue, ctx, request, reply, body2);
  });
}
