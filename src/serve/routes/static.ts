/**
 * The playground's built files (`web/dist`, produced by `npm run build`),
 * served from disk without any network: `/` (playground), `/train` (live
 * training view), `/assets/NAME`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { shownPath } from '../http.js';
import type { ServeContext } from '../context.js';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
};

const ASSET = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** Registers the static routes. */
export function registerStatic(app: FastifyInstance, ctx: ServeContext): void {
  const send = (reply: FastifyReply, file: string) => {
    const path = join(ctx.webDir, file);
    if (!existsSync(path)) {
      return reply
        .code(404)
        .type('text/plain; charset=utf-8')
        .send(`${file} is not built: run \`npm run build\` (it bundles web/ into ${shownPath(ctx.webDir)})\n`);
    }
    return reply.type(TYPES[extname(file)] ?? 'application/octet-stream').header('cache-control', 'no-cache').send(readFileSync(path));
  };
  app.get('/', async (_req, reply) => send(reply, 'index.html'));
  app.get('/train', async (_req, reply) => send(reply, 'train.html'));
  app.get('/assets/:file', async (request, reply) => {
    const { file } = request.params as { file: string };
    if (!ASSET.test(file)) return reply.code(404).send();
    return send(reply, file);
  });
}
