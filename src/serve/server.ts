/**
 * `muse serve`: a fastify server with the OpenAI-compatible completions and chat completions APIs,
 * muse's own API, the playground page and the ratings database.
 */
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import Fastify, { type FastifyError, type FastifyInstance } from 'fastify';
import { loadNativeAddon } from '../backend/native.js';
import { ConfigError, MuseError, ShapeError } from '../errors.js';
import type { ServeContext } from './context.js';
import { errorBody, scrubPaths } from './http.js';
import { registerAccessChecks, type BoundAddress } from './access.js';
import { Batcher } from './batcher.js';
import { loadRegistry, ModelNotFoundError, type ModelRegistry } from './model-registry.js';
import { bundledModelDirs } from '../models/bundled.js';
import { GenerationQueue, QueueFullError } from './queue.js';
import { RatingsStore } from './ratings-store.js';
import { registerApi } from './routes/api.js';
import { registerCompletions } from './routes/completions.js';
import { registerChatCompletions } from './routes/chat.js';
import { registerGenerate } from './routes/generate.js';
import { registerStatic } from './routes/static.js';

import type { ServeOptions } from './options.js';
export type { ServeOptions };

/** A created (not yet listening) server. */
export interface MuseServer {
  app: FastifyInstance;
  context: ServeContext;
  /** Start listening; resolves with the base URL (`http://127.0.0.1:8080`). */
  listen(port?: number, host?: string): Promise<string>;
  /**
   * Graceful shutdown: refuse new generations (503), let running ones finish
   * for up to `graceMs` (then abort them: their streams end with finish reason
   * `stop`/`abort`), close the listener and the database. Connections still
   * open a second after `graceMs` are closed, so the whole shutdown takes at
   * most `graceMs` + 1 s whatever clients do.
   */
  close(graceMs?: number): Promise<void>;
}

/** `<package>/web/dist`, from both `src/serve/` and `dist/serve/`. */
export function defaultWebDir(): string {
  return resolve(dirname(fileURLToPath(import.meta.url)), '../../web/dist');
}

function statusOf(err: unknown): { status: number; body: ReturnType<typeof errorBody> } {
  const e = err as FastifyError & { validation?: { instancePath: string; keyword: string; params: Record<string, unknown>; message?: string }[] };
  if (e.validation && e.validation.length > 0) {
    // With a field that takes several shapes (anyOf: a string or an array…), the first error is the
    // first shape's ("must be string"); the informative one is a limit of the shape the value has.
    const v = e.validation.find((x) => x.keyword !== 'type' && x.keyword !== 'anyOf') ?? e.validation[0];
    const where = e.validationContext ?? 'body';
    const path = v.instancePath.replace(/^\//, '').replace(/\//g, '.');
    let message: string;
    let param: string | null = path || null;
    if (v.keyword === 'additionalProperties') {
      param = [path, String(v.params.additionalProperty)].filter(Boolean).join('.');
      message = `${where} has an unknown field "${param}"; check its spelling against the API (docs/serve.md)`;
    } else if (v.keyword === 'required') {
      param = [path, String(v.params.missingProperty)].filter(Boolean).join('.');
      message = `${where} is missing the required field "${param}"`;
    } else if (v.keyword === 'const') {
      message = `${where}.${path} must be ${JSON.stringify(v.params.allowedValue)} (other values are not supported)`;
    } else if (v.keyword === 'anyOf') {
      message = `${where}.${path} has the wrong type or value; see docs/serve.md`;
    } else {
      message = `${where}${path ? `.${path}` : ''} ${v.message ?? 'is invalid'}`;
    }
    return { status: 400, body: errorBody(message, 'invalid_request_error', param, 'invalid_field') };
  }
  if (err instanceof ModelNotFoundError) return { status: 404, body: errorBody(err.message, 'invalid_request_error', 'model', 'model_not_found') };
  if (err instanceof QueueFullError) return { status: err.closed ? 503 : 429, body: errorBody(err.message, 'rate_limit_error', null, err.code) };
  if (err instanceof ConfigError || err instanceof ShapeError) {
    const m = /generation option (\w+)/.exec(err.message);
    return { status: 400, body: errorBody(err.message, 'invalid_request_error', m?.[1] ?? null, err.code) };
  }
  if (err instanceof MuseError) return { status: 400, body: errorBody(err.message, 'invalid_request_error', null, err.code) };
  if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    return { status: e.statusCode, body: errorBody(e.message, 'invalid_request_error', null, e.code ?? null) };
  }
  return { status: 500, body: errorBody('internal server error; see the server log', 'server_error') };
}

/**
 * Build the server: load the models, open the ratings database, register the routes.
 * @throws FileFormatError / ConfigError when a model directory cannot be served or the database cannot be opened
 */
export async function createServer(opts: ServeOptions = {}): Promise<MuseServer> {
  const registry = opts.models && !Array.isArray(opts.models) ? (opts.models as ModelRegistry) : await loadRegistry((opts.models as string[] | undefined) ?? bundledModelDirs(), opts.load, opts.adapters);
  if (opts.threads !== undefined) {
    if (!(Number.isInteger(opts.threads) && opts.threads >= 1)) throw new ConfigError(`serve option threads must be an integer ≥ 1, got ${opts.threads}`);
    loadNativeAddon()?.setThreads(opts.threads);
  }
  const limits = { maxTokens: opts.maxTokens ?? 512, maxPromptChars: opts.maxPromptChars ?? 4000, maxN: 8 };
  for (const [k, v] of Object.entries(limits)) {
    if (!(Number.isInteger(v) && v >= 1)) throw new ConfigError(`serve option ${k} must be a positive integer, got ${v}`);
  }
  const queue = new GenerationQueue({ maxConcurrent: opts.maxConcurrent, maxQueued: opts.maxQueued });
  const maxBatch = opts.maxBatch ?? 8;
  if (!(Number.isInteger(maxBatch) && maxBatch >= 1)) throw new ConfigError(`serve option maxBatch must be a positive integer, got ${maxBatch}`);
  const context: ServeContext = {
    registry,
    queue,
    batcher: maxBatch > 1 ? new Batcher(queue, { maxBatch, maxPending: queue.maxQueued + maxBatch }) : null,
    ratings: new RatingsStore(opts.db ?? 'muse-ratings.db'),
    limits,
    runsDir: resolve(opts.runsDir ?? 'runs'),
    webDir: opts.webDir ?? defaultWebDir(),
    active: new Set(),
    draining: false,
  };
  const app = Fastify({
    logger: opts.logger ?? false,
    bodyLimit: opts.bodyLimit ?? 64 * 1024,
    // Unknown fields are errors (not silently dropped) and types are not coerced.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, allErrors: false } },
    forceCloseConnections: 'idle',
    return503OnClosing: true,
    // Requests Node rejects before routing (headers too large, malformed HTTP) get OpenAI's error shape too.
    clientErrorHandler: (err, socket) => {
      const code = (err as NodeJS.ErrnoException).code;
      const [status, text, message] =
        code === 'HPE_HEADER_OVERFLOW'
          ? [431, 'Request Header Fields Too Large', 'the request headers are too large (16 KiB at most)']
          : [400, 'Bad Request', `malformed HTTP request (${code ?? 'parse error'})`];
      const body = JSON.stringify(errorBody(message, 'invalid_request_error', null, code === 'HPE_HEADER_OVERFLOW' ? 'headers_too_large' : 'bad_request'));
      if (socket.writable) {
        socket.end(`HTTP/1.1 ${status} ${text}\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
      } else socket.destroy();
    },
  });
  // JSON bodies must be UTF-8 (RFC 8259): invalid bytes are an error, not silently replaced by U+FFFD.
  const jsonParser = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
    let text: string;
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(body as Buffer);
    } catch {
      const err = Object.assign(new Error('the request body is not valid UTF-8; send JSON encoded as UTF-8'), { statusCode: 400, code: 'invalid_utf8' });
      done(err, undefined);
      return;
    }
    void jsonParser(request, text, done); // reports through done (its type also allows a promise)
  });
  // First of all hooks: requests for another host (DNS rebinding), from foreign pages, or without the key stop here.
  const bound: BoundAddress = { host: null };
  if (opts.apiKey !== undefined && opts.apiKey.trim() === '') throw new ConfigError('serve option apiKey is empty; give a secret, or leave it out');
  registerAccessChecks(app, bound, { apiKey: opts.apiKey, allowedHosts: opts.allowedHosts });
  app.setErrorHandler((err, request, reply) => {
    const { status, body } = statusOf(err);
    // Messages about model files name them relative to the served roots, never by absolute path.
    body.error.message = scrubPaths(body.error.message, [resolve(defaultWebDir(), '../..')]);
    if (status >= 500) request.log.error(err);
    if (err instanceof QueueFullError) reply.header('retry-after', String(err.retryAfterSeconds));
    return reply.code(status).send(body);
  });
  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send(errorBody(`no route ${request.method} ${request.url}; see docs/serve.md for the API`, 'not_found')),
  );
  // Generations are refused while draining; other routes keep answering until the listener closes.
  app.addHook('onRequest', async (request, reply) => {
    if (context.draining && request.method === 'POST' && /^\/(v1\/completions|api\/(generate|attention))/.test(request.url)) {
      return reply.code(503).header('retry-after', '5').send(errorBody('the server is shutting down; retry later', 'server_shutting_down'));
    }
    return undefined;
  });
  registerCompletions(app, context);
  registerChatCompletions(app, context);
  registerGenerate(app, context);
  registerApi(app, context);
  registerStatic(app, context);

  let closing: Promise<void> | null = null;
  return {
    app,
    context,
    async listen(port = 8080, host = '127.0.0.1') {
      bound.host = host;
      await app.listen({ port, host });
      const addr = app.server.address();
      const p = typeof addr === 'object' && addr ? addr.port : port;
      return `http://${host.includes(':') ? `[${host}]` : host}:${p}`;
    },
    close(graceMs = 10_000) {
      closing ??= (async () => {
        context.draining = true;
        context.queue.close();
        const timer = setTimeout(() => {
          for (const c of context.active) c.abort(new Error('server shutting down'));
        }, graceMs);
        // The deadline holds whatever clients do: a second later, every connection still open is cut.
        const hard = setTimeout(() => app.server.closeAllConnections(), graceMs + 1000);
        try {
          await app.close();
        } finally {
          clearTimeout(timer);
          clearTimeout(hard);
          context.ratings.close();
        }
      })();
      return closing;
    },
  };
}
