/**
 * HTTP plumbing shared by the routes: the error body (OpenAI's shape, so
 * OpenAI clients show the message), server-sent events, and the life of one
 * generation request (queue slot, cancellation when the client leaves).
 */
import { basename, isAbsolute, relative, sep } from 'node:path';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { QueueFullError, type GenerationQueue } from './queue.js';

/** The error body every route answers with: `{ error: { message, type, param, code } }` (OpenAI's format). */
export interface ErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

/**
 * A server path as clients may see it: relative to the working directory
 * when inside it, else its last component — answers never reveal where the
 * server's files live on disk.
 */
export function shownPath(path: string): string {
  const rel = relative(process.cwd(), path);
  if (rel === '') return '.';
  return !rel.startsWith('..') && !isAbsolute(rel) ? rel : basename(path);
}

/** `message` with the absolute prefixes of `roots` (and of the working directory) cut, so paths in it are relative. */
export function scrubPaths(message: string, roots: readonly string[] = []): string {
  let out = message;
  for (const root of [...roots, process.cwd()].sort((a, b) => b.length - a.length)) {
    if (root.length > 1) out = out.split(root.endsWith(sep) ? root : root + sep).join('');
  }
  return out;
}

/** Build an {@link ErrorBody}. */
export function errorBody(message: string, type = 'invalid_request_error', param: string | null = null, code: string | null = null): ErrorBody {
  return { error: { message, type, param, code } };
}

/**
 * A server-sent-events response (`text/event-stream`): the reply is taken
 * over from fastify and each `send` writes one `data:` event.
 */
export class SSEStream {
  private readonly raw: FastifyReply['raw'];

  constructor(reply: FastifyReply) {
    reply.hijack();
    this.raw = reply.raw;
    // The connection closes when the stream ends (`Connection: close`): a stream is one response,
    // and a socket kept open after it would hold a shutdown until the client lets go.
    this.raw.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'close',
      'x-accel-buffering': 'no',
    });
    // Headers out now, so the client sees the stream open before the first token.
    this.raw.flushHeaders();
  }

  /** True once the client has gone or the stream was ended. */
  get closed(): boolean {
    return this.raw.destroyed || this.raw.writableEnded;
  }

  /** One event; objects are sent as JSON. */
  send(data: unknown): void {
    if (this.closed) return;
    this.raw.write(`data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`);
  }

  /** End the response. */
  end(): void {
    if (!this.closed) this.raw.end();
  }

  /**
   * Run `body`, which sends events; an error it throws after the stream has
   * opened (headers are out, so no status code can change) becomes a last
   * `{"error": …}` event, and the stream is ended in every case.
   */
  async run(body: () => Promise<void>, log: { error: (obj: unknown) => void }): Promise<void> {
    try {
      await body();
    } catch (err) {
      log.error(err);
      this.send(errorBody(`generation failed: ${(err as Error).message}`, 'server_error'));
    } finally {
      this.end();
    }
  }
}

/** What the server keeps about running generations (for shutdown). */
export interface ActiveSet {
  active: Set<AbortController>;
}

/**
 * Run `fn` with an AbortSignal that fires when the client disconnects (and
 * when shutdown's grace time runs out: the controller is in `state.active`).
 */
export async function withCancellation<T>(state: ActiveSet, reply: FastifyReply, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const onClose = (): void => {
    if (!reply.raw.writableFinished) controller.abort(new Error('client disconnected'));
  };
  reply.raw.on('close', onClose);
  state.active.add(controller);
  try {
    return await fn(controller.signal);
  } finally {
    state.active.delete(controller);
    reply.raw.off('close', onClose);
  }
}

/** Answer a refused request: 429 (busy) or 503 (shutting down) with Retry-After. */
export function refuse(reply: FastifyReply, err: QueueFullError): FastifyReply {
  return reply
    .code(err.closed ? 503 : 429)
    .header('retry-after', String(err.retryAfterSeconds))
    .send(errorBody(err.message, err.closed ? 'server_shutting_down' : 'rate_limit_error', null, err.code));
}

/**
 * Run `fn` inside a generation slot: wait in the queue (429 with Retry-After
 * when it is full, 503 when the server is shutting down), abort the
 * generation when the client disconnects, release the slot at the end.
 * @returns undefined when the request was refused or the client left while waiting (the reply is then already sent or moot)
 */
export async function withGenerationSlot<T>(
  queue: GenerationQueue,
  state: ActiveSet,
  request: FastifyRequest,
  reply: FastifyReply,
  fn: (signal: AbortSignal) => Promise<T>,
): Promise<T | undefined> {
  return withCancellation(state, reply, async (signal) => {
    let release: () => void;
    try {
      release = await queue.acquire(signal);
    } catch (err) {
      if (err instanceof QueueFullError) {
        refuse(reply, err);
        return undefined;
      }
      if (signal.aborted) {
        request.log.info('client left while waiting for a generation slot');
        return undefined;
      }
      throw err;
    }
    try {
      return await fn(signal);
    } finally {
      release();
    }
  });
}
