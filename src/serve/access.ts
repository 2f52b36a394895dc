/**
 * Who may talk to `muse serve`: the Host and Origin checks that stop a
 * DNS-rebinding web page from reading ratings or running generations on a
 * local server, and the optional API key (a bearer token, as OpenAI clients
 * send it). Registered as the first `onRequest` hook of the server.
 */
import { timingSafeEqual, createHash } from 'node:crypto';
import { isIP } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { errorBody } from './http.js';

/** Options of {@link registerAccessChecks}. */
export interface AccessOptions {
  /**
   * Host names (besides the address the server is bound to, `localhost`,
   * `127.0.0.1` and `::1`) that requests may name in their `Host` header, e.g.
   * the machine's DNS name when other machines use it; `*` turns the Host and
   * Origin checks off (behind a reverse proxy that checks them).
   */
  allowedHosts?: readonly string[];
  /** When set, `/v1/*` and `/api/*` need `Authorization: Bearer <apiKey>`. */
  apiKey?: string;
}

/** The address the server listens on, known once `listen` ran. */
export interface BoundAddress {
  host: string | null;
}

const LOOPBACK = new Set(['localhost', '127.0.0.1', '::1']);

/** Whether `host` is a loopback address or name. */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return LOOPBACK.has(h) || h.startsWith('127.') || h === '::ffff:127.0.0.1';
}

/** The host name of a `Host` header value (`example.org:8080` → `example.org`, `[::1]:80` → `::1`), lower case. */
export function hostName(header: string): string {
  const h = header.trim().toLowerCase();
  if (h.startsWith('[')) return h.slice(1, h.indexOf(']') > 0 ? h.indexOf(']') : undefined);
  const colon = h.indexOf(':');
  return colon >= 0 && h.indexOf(':', colon + 1) < 0 ? h.slice(0, colon) : h;
}

/**
 * Whether a request naming `name` in its Host header (or Origin) is for this
 * server: a loopback name, the bound address, a configured name, or — when
 * bound to every interface — any IP literal (a rebinding page always names a
 * domain, never an address).
 */
export function hostAllowed(name: string, bound: BoundAddress, allowed: readonly string[]): boolean {
  if (allowed.includes('*')) return true;
  if (isLoopback(name) || allowed.some((a) => a.toLowerCase() === name)) return true;
  const b = bound.host?.replace(/^\[|\]$/g, '').toLowerCase() ?? null;
  if (b !== null && b === name) return true;
  const wildcard = b === '0.0.0.0' || b === '::' || b === '';
  return wildcard && isIP(name) !== 0;
}

function sameSecret(given: string, expected: string): boolean {
  // Hash both so the comparison takes the same time whatever the lengths.
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

const STATE_CHANGING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * Add the access checks to `app`:
 *
 * - `Host` must name this server (see {@link hostAllowed}), else 403 — a
 *   DNS-rebinding page's requests carry its own domain;
 * - on POST/PUT/PATCH/DELETE, an `Origin` header, when present, must name an
 *   allowed host too (browsers send it on cross-site requests), else 403;
 * - with an API key, `/v1/*` and `/api/*` answer 401 without
 *   `Authorization: Bearer <key>` (`/healthz` and the playground's files stay open).
 */
export function registerAccessChecks(app: FastifyInstance, bound: BoundAddress, opts: AccessOptions): void {
  const allowed = [...(opts.allowedHosts ?? [])];
  const key = opts.apiKey;
  app.addHook('onRequest', async (request, reply) => {
    const host = request.headers.host;
    if (host !== undefined) {
      const name = hostName(host);
      if (!hostAllowed(name, bound, allowed)) {
        return reply
          .code(403)
          .send(errorBody(`Host "${name}" is not a name of this server; if it is yours, start muse serve with --allowed-host ${name} (a web page on another domain may not use a local server)`, 'permission_error', null, 'host_not_allowed'));
      }
    }
    const origin = request.headers.origin;
    if (origin !== undefined && STATE_CHANGING.has(request.method)) {
      let name: string | null = null;
      try {
        name = origin === 'null' ? null : new URL(origin).hostname.replace(/^\[|\]$/g, '').toLowerCase();
      } catch {
        name = null;
      }
      if (name === null || !hostAllowed(name, bound, allowed)) {
        return reply
          .code(403)
          .send(errorBody(`requests from the web page at ${origin} are refused: only this server's own pages may change its state (add its host with --allowed-host if it is yours)`, 'permission_error', null, 'origin_not_allowed'));
      }
    }
    if (key !== undefined && /^\/(v1|api)(\/|$|\?)/.test(request.url)) {
      const auth = request.headers.authorization ?? '';
      const m = /^Bearer\s+(.+)$/i.exec(auth);
      if (!m || !sameSecret(m[1].trim(), key)) {
        return reply
          .code(401)
          .header('www-authenticate', 'Bearer')
          .send(errorBody(m ? 'Incorrect API key provided.' : 'You didn\'t provide an API key: send it as "Authorization: Bearer KEY" (the key muse serve was started with, --api-key or MUSE_API_KEY).', 'invalid_request_error', null, 'invalid_api_key'));
      }
    }
    return undefined;
  });
}
