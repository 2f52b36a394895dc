/** Shared helpers of the serve tests: a server on 127.0.0.1 with a random port, SSE parsing. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type MuseServer, type ServeOptions } from '../../src/serve/server.js';
import { ModelRegistry } from '../../src/serve/model-registry.js';
import { loadGPT2Dir } from '../../src/models/gpt2/family.js';

let shared: ModelRegistry | null = null;
let withPoet = false;

/** The bundled models, loaded once per test file (muse-poet-zh only when a test asks for it: loading costs time). */
export function registry(poet = false): ModelRegistry {
  if (!shared) {
    shared = new ModelRegistry();
    shared.addCausalLM(loadGPT2Dir('models/muse-story-en'));
  }
  if (poet && !withPoet) {
    shared.addCausalLM(loadGPT2Dir('models/muse-poet-zh'));
    withPoet = true;
  }
  return shared;
}

/** Start a server on a random loopback port with a fresh database. */
export async function startServer(opts: ServeOptions & { poet?: boolean } = {}): Promise<{ server: MuseServer; url: string; dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'muse-serve-'));
  const { poet, ...rest } = opts;
  const server = await createServer({ models: registry(poet), db: join(dir, 'ratings.db'), runsDir: join(dir, 'runs'), threads: 1, ...rest });
  const url = await server.listen(0, '127.0.0.1');
  return { server, url, dir };
}

/** POST JSON. */
export function post(url: string, body: unknown, init: RequestInit = {}): Promise<Response> {
  return fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), ...init });
}

/** The `data:` payloads of a server-sent-events body. */
export function sseEvents(text: string): string[] {
  return text
    .split('\n\n')
    .filter((e) => e.trim())
    .map((e) => {
      const line = e.split('\n').find((l) => l.startsWith('data: '));
      if (!line) throw new Error(`SSE event without data: ${JSON.stringify(e)}`);
      return line.slice(6);
    });
}
