/**
 * The smaller routes: models, health, fill-mask, attention maps, ratings and
 * training-run metrics.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { attentionProbe } from '../../models/gpt2/attention-probe.js';
import { toScript } from '../../data/script.js';
import { requireGPT } from '../../models/gpt2/family.js';
import type { ServeContext } from '../context.js';
import { hasChatTemplate } from './chat.js';
import { errorBody, shownPath, withGenerationSlot } from '../http.js';
import { exportRatings, type NewRating } from '../ratings-store.js';
import { attentionSchema, fillMaskSchema, ratingSchema } from '../schemas.js';

const RUN_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/**
 * Parse a metrics.jsonl written by the Trainer while it may still be
 * appending: a torn last line is skipped, not an error.
 */
export function readMetricsLog(path: string): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    try {
      out.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      /* a line being written */
    }
  }
  return out;
}

/** Registers the /api routes other than generation, and /healthz. */
export function registerApi(app: FastifyInstance, ctx: ServeContext): void {
  app.get('/healthz', async (_request, reply) => {
    const body = {
      status: ctx.draining ? 'draining' : 'ok',
      models: ctx.registry.causalNames.concat(ctx.registry.maskedNames),
      running: ctx.queue.running,
      waiting: ctx.queue.waiting + (ctx.batcher?.waiting ?? 0),
      batching: ctx.batcher ? { maxBatch: ctx.batcher.maxBatch, ...ctx.batcher.stats } : null,
    };
    return reply.code(ctx.draining ? 503 : 200).send(body);
  });

  app.get('/api/models', async () => ({
    // `chat`: whether a causal LM has a chat template (the playground's chat mode lists those).
    models: ctx.registry.info().map((m) => (m.kind === 'causal-lm' ? { ...m, chat: hasChatTemplate(ctx.registry.causalLM(m.name).loaded) } : m)),
    limits: ctx.limits,
  }));

  app.post('/api/fill-mask', { schema: { body: fillMaskSchema } }, async (request) => {
    const body = request.body as { model?: string; text: string; topK?: number };
    const m = ctx.registry.maskedLM(body.model);
    return { model: m.name, predictions: await m.fill(body.text, body.topK ?? 5) };
  });

  app.post('/api/attention', { schema: { body: attentionSchema(ctx.limits) } }, async (request, reply) => {
    const body = request.body as { model?: string; text: string };
    const { name, loaded } = ctx.registry.causalLM(body.model, body.text);
    return withGenerationSlot(ctx.queue, ctx, request, reply, async () => {
      const text = toScript(body.text, loaded.script);
      let ids = loaded.tokenizer.encode(text, { addSpecialTokens: false }).ids;
      const gpt = requireGPT(loaded, 'POST /api/attention');
      const max = gpt.config.n_positions;
      const dropped = Math.max(0, ids.length - max);
      ids = ids.slice(dropped);
      const maps = attentionProbe(gpt, ids);
      const T = maps.seqLen;
      // Four decimals are plenty for a heatmap and keep the answer small.
      const weights = maps.weights.map((layer) =>
        Array.from({ length: maps.nHead }, (_, h) => Array.from(layer.subarray(h * T * T, (h + 1) * T * T), (v) => Math.round(v * 1e4) / 1e4)),
      );
      return reply.send({
        model: name,
        tokens: ids.map((id) => loaded.tokenizer.decode([id])),
        tokensDropped: dropped,
        nLayer: maps.nLayer,
        nHead: maps.nHead,
        seqLen: T,
        weights,
      });
    });
  });

  app.post('/api/ratings', { schema: { body: ratingSchema } }, async (request, reply) => {
    const row = ctx.ratings.add(request.body as NewRating);
    return reply.code(201).send({ id: row.id, createdAt: row.createdAt });
  });

  app.get('/api/ratings/summary', async () => ({ total: ctx.ratings.count(), level: 0.95, groups: ctx.ratings.summary() }));

  app.get('/api/ratings/export', async (request, reply) => {
    const format = (request.query as { format?: string }).format ?? 'jsonl';
    if (format !== 'csv' && format !== 'jsonl') {
      return reply.code(400).send(errorBody(`format must be csv or jsonl, got "${format}"`, 'invalid_request_error', 'format'));
    }
    const text = [...exportRatings(ctx.ratings.iterate(), format)].join('');
    return reply
      .header('content-type', format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8')
      .header('content-disposition', `attachment; filename="ratings.${format}"`)
      .send(text);
  });

  app.get('/api/runs', async () => {
    const runs: { name: string; updatedAt: string }[] = [];
    if (existsSync(ctx.runsDir)) {
      for (const name of readdirSync(ctx.runsDir).sort()) {
        const p = join(ctx.runsDir, name, 'metrics.jsonl');
        if (RUN_NAME.test(name) && existsSync(p)) runs.push({ name, updatedAt: statSync(p).mtime.toISOString() });
      }
    }
    runs.sort((a, b) => b.updatedAt.localeCompare(a.updatedAt));
    return { runsDir: shownPath(ctx.runsDir), runs };
  });

  app.get('/api/runs/:name/metrics', async (request, reply) => {
    const { name } = request.params as { name: string };
    const p = join(ctx.runsDir, name, 'metrics.jsonl');
    if (!RUN_NAME.test(name) || !existsSync(p)) {
      return reply.code(404).send(errorBody(`no training run "${name}" with a metrics.jsonl under ${shownPath(ctx.runsDir)}; list runs with GET /api/runs`, 'not_found', 'name'));
    }
    return { name, updatedAt: statSync(p).mtime.toISOString(), records: readMetricsLog(p) };
  });
}
