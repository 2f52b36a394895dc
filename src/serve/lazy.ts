/**
 * `createServer` for the package's front door, loaded on first call: importing
 * `muse` does not load fastify, SQLite or the routes unless a server is built.
 */
import type { MuseServer, ServeOptions } from './server.js';

/**
 * Build the HTTP server (see {@link import('./server.js').createServer}): load the models,
 * open the ratings database, register the routes.
 * @param opts models, ratings database, concurrency, threads (docs/serve.md)
 * @returns the server; `listen(port)` starts it, `close(ms)` stops it gracefully
 * @throws FileFormatError / ConfigError when a model directory cannot be served or the database cannot be opened
 */
export async function createServer(opts: ServeOptions = {}): Promise<MuseServer> {
  const { createServer: build } = await import('./server.js');
  return build(opts);
}
