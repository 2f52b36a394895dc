/**
 * `createServer` for the package's front door, loaded on first call: importing
 * `muse` does not load fastify, SQLite or the routes unless a server is built,
 * and the package's types do not reach fastify's (which need `@types/node`).
 */
import type { ServeOptions } from './options.js';

/** A created (not yet listening) server, as the package's front door types it. */
export interface MuseServerHandle {
  /** The fastify instance (typed `FastifyInstance` in `src/serve/server.ts`). */
  readonly app: unknown;
  /** Start listening; resolves with the base URL (`http://127.0.0.1:8080`). */
  listen(port?: number, host?: string): Promise<string>;
  /** Graceful shutdown: running generations get up to `graceMs` to finish, then the listener and database close. */
  close(graceMs?: number): Promise<void>;
}

/**
 * Build the HTTP server (`src/serve/server.ts`): load the models, open the
 * ratings database, register the routes.
 * @param opts models, ratings database, limits, threads (docs/serve.md); every field has a default
 * @returns the server; `listen(port)` starts it, `close(graceMs)` stops it gracefully
 * @throws FileFormatError / ConfigError when a model directory cannot be served or the database cannot be opened
 */
export async function createServer(opts: ServeOptions = {}): Promise<MuseServerHandle> {
  const { createServer: build } = await import('./server.js');
  return build(opts);
}
