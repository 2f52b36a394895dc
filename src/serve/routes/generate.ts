/**
 * `POST /api/generate`: muse's own generation endpoint with every decoding
 * option (HF GenerationConfig names in camelCase), streamed as server-sent
 * events or answered at once. The playground uses it.
 */
import type { FastifyInstance } from 'fastify';
import { checkMinMaxNewTokens, toHF, validateGenerationConfig, type GenerationConfig, type PoemForm } from '../../generate/index.js';
import { toScript } from '../../data/script.js';
import type { LoadedCausalLM } from '../../models/loaded.js';
import { inferPoemForm } from '../../pipelines/poem-form.js';
import type { ServeContext } from '../context.js';
import { ConfigError } from '../../errors.js';
import { Batcher } from '../batcher.js';
import { collect, generateAll, startGeneration, type GenerationSummary, type TextGeneration } from '../generation.js';
import { SSEStream, withCancellation, withGenerationSlot } from '../http.js';
import { generateSchema } from '../schemas.js';

/** The request body (validated by {@link generateSchema}): a prompt plus GenerationConfig options. */
export interface GenerateBody extends Omit<GenerationConfig, 'form' | 'prefixAllowedTokensFn' | 'eosTokenId' | 'padTokenId' | 'bosTokenId' | 'badWordsIds' | 'maxLength'> {
  model?: string;
  prompt: string;
  stream?: boolean;
  /** A poem form, or `free` to turn off the form a Chinese prompt implies. */
  form?: PoemForm | 'free';
}

/**
 * The effective generation config of a request: the model's defaults, then
 * the request's options. As `muse generate` does, a Chinese prompt that opens
 * a 5- or 7-character quatrain is finished in that form unless `form` is
 * `free`, and plain beam search (no sampling option given) decodes without sampling.
 */
export function requestConfig(loaded: LoadedCausalLM, body: GenerateBody): GenerationConfig {
  const { model: _m, prompt, stream: _s, form, ...options } = body;
  const config: GenerationConfig = { ...loaded.generationConfig, ...options };
  if (options.acrostic !== undefined) config.acrostic = toScript(options.acrostic, loaded.script);
  if (form === 'free') delete config.form;
  else {
    const f = form ?? inferPoemForm(toScript(prompt, loaded.script));
    if (f) config.form = f;
  }
  const sampling = ['doSample', 'temperature', 'topK', 'topP', 'minP', 'typicalP'] as const;
  if ((options.numBeams ?? 1) > 1 && sampling.every((k) => options[k] === undefined)) {
    config.doSample = false;
    for (const k of sampling.slice(1)) delete config[k];
  }
  return config;
}

/** Registers `POST /api/generate`. */
export function registerGenerate(app: FastifyInstance, ctx: ServeContext): void {
  app.post('/api/generate', { schema: { body: generateSchema(ctx.limits) } }, async (request, reply) => {
    const body = request.body as GenerateBody;
    const { name, loaded } = ctx.registry.causalLM(body.model, body.prompt);
    checkMinMaxNewTokens(body.minNewTokens, body.maxNewTokens);
    const config = requestConfig(loaded, body);
    // The whole config is checked here: sequences are drawn one by one below, each with numReturnSequences 1.
    validateGenerationConfig(config);
    // The settings as stored with a rating: HF names, only what is set; special-token ids belong to the model, not the setting.
    const { eos_token_id: _e, bos_token_id: _b, pad_token_id: _p, ...settings } = toHF(config);
    const beams = (config.numBeams ?? 1) > 1;
    const nSeq = config.numReturnSequences ?? 1;
    const one = (k: number): GenerationConfig => ({ ...config, numReturnSequences: 1, ...(config.seed !== undefined ? { seed: config.seed + k } : {}) });
    // Unseeded sampling/greedy requests are decoded in batches with others (one slot per wave).
    const batcher = ctx.batcher;
    const batched = batcher !== null && !beams && Batcher.batchable(one(0));
    const start = (k: number, signal: AbortSignal): TextGeneration =>
      batched ? batcher.submit(loaded, body.prompt, one(k), { signal }) : startGeneration(loaded, body.prompt, one(k), { signal });
    const run = async (signal: AbortSignal) => {
      const started = performance.now();
      if (!body.stream) {
        let outs: GenerationSummary[];
        if (beams) {
          outs = await generateAll(loaded, body.prompt, config, signal);
        } else if (batched) {
          outs = await Promise.all(Array.from({ length: nSeq }, (_, k) => collect(start(k, signal))));
        } else {
          outs = [];
          for (let k = 0; k < nSeq && !signal.aborted; k++) outs.push(await collect(start(k, signal)));
        }
        return reply.send({
          model: name,
          prompt: body.prompt,
          settings,
          outputs: outs.map((o) => ({ text: o.text, finishReason: o.finishReason, completionTokens: o.completionTokens })),
          usage: { promptTokens: outs[0]?.promptTokens ?? 0, completionTokens: outs.reduce((s, o) => s + o.completionTokens, 0) },
          elapsedMs: Math.round(performance.now() - started),
        });
      }
      if (nSeq > 1) throw new ConfigError('a stream carries one sequence: numReturnSequences must be 1 with stream: true');
      const gen = start(0, signal);
      // The first piece (or a refusal) comes before the stream opens, so errors keep their status.
      const head = await gen.next();
      const sse = new SSEStream(reply);
      sse.send({ type: 'start', model: name, settings });
      await sse.run(async () => {
        for (let r = head; ; r = await gen.next()) {
          if (r.done) {
            sse.send({
              type: 'done',
              finishReason: r.value.finishReason,
              usage: { promptTokens: r.value.promptTokens, completionTokens: r.value.completionTokens },
              elapsedMs: Math.round(performance.now() - started),
            });
            break;
          }
          sse.send({ type: 'token', text: r.value });
        }
      }, request.log);
      return undefined;
    };
    if (body.stream && beams) throw new ConfigError('stream() cannot stream beam search (numBeams > 1): beams change until the end; send stream: false');
    return batched ? withCancellation(ctx, reply, run) : withGenerationSlot(ctx.queue, ctx, request, reply, run);
  });
}
