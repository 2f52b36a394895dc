/**
 * `npm run bench -- serve [--clients 32] [--seconds 30] [--max-tokens 64]
 *   [--max-concurrent 4] [--max-batch 8] [--model DIR] [--threads 1]`
 *
 * `muse serve` under load: the server runs in its own process (as a user
 * starts it: `node bin/muse.js serve`), and `--clients` streaming clients on
 * loopback each send `POST /v1/completions` with `stream: true` back to back
 * for `--seconds` (requests in flight at the deadline are finished and
 * counted). A stream counts as complete when it carries a finish_reason
 * chunk, the usage chunk with `max_tokens` or fewer tokens, and `[DONE]`;
 * anything else is truncated; a non-200 answer is failed.
 *
 * Reference in the same run: the library's own `stream()` on one model
 * (single client, no HTTP), tokens/s. Both the server and the reference run
 * with `OMP_NUM_THREADS=--threads` (default 1: a shared machine).
 *
 * Prints JSON lines `{"bench":"serve", …}`: requests completed, failed,
 * truncated, p50/p95 time to first token (ms), total tokens/s.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stream } from '../src/generate/index.js';
import { loadGPT2Dir } from '../src/models/gpt2/family.js';
import { openAIConfig } from '../src/serve/routes/completions.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');

function arg(args: string[], name: string, dflt: string): string {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1] : dflt;
}

function quantile(xs: number[], q: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return s[lo] + (s[hi] - s[lo]) * (pos - lo);
}

const PROMPTS = ['Once upon a time', 'The fox', 'A lion and a mouse', 'There was once a crow', 'The tortoise said', 'An old man'];

interface Result {
  ok: boolean;
  truncated: boolean;
  status: number;
  ttftMs: number | null;
  tokens: number;
}

async function oneStream(url: string, prompt: string, maxTokens: number, model: string): Promise<Result> {
  const t0 = performance.now();
  let res: Response;
  try {
    res = await fetch(`${url}/v1/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model, prompt, max_tokens: maxTokens, stream: true, stream_options: { include_usage: true } }),
    });
  } catch {
    return { ok: false, truncated: false, status: 0, ttftMs: null, tokens: 0 };
  }
  if (res.status !== 200 || !res.body) {
    await res.text().catch(() => '');
    return { ok: false, truncated: false, status: res.status, ttftMs: null, tokens: 0 };
  }
  let ttft: number | null = null;
  let finish = false;
  let done = false;
  let tokens = -1;
  let buf = '';
  const dec = new TextDecoder();
  try {
    for await (const chunk of res.body) {
      buf += dec.decode(chunk, { stream: true });
      let cut: number;
      while ((cut = buf.indexOf('\n\n')) >= 0) {
        const ev = buf.slice(0, cut);
        buf = buf.slice(cut + 2);
        const data = ev.startsWith('data: ') ? ev.slice(6) : '';
        if (data === '[DONE]') {
          done = true;
          continue;
        }
        const j = JSON.parse(data) as { choices: { text: string; finish_reason: string | null }[]; usage?: { completion_tokens: number } };
        if (j.usage) tokens = j.usage.completion_tokens;
        for (const c of j.choices) {
          if (c.text && ttft === null) ttft = performance.now() - t0;
          if (c.finish_reason) finish = true;
        }
      }
    }
  } catch {
    return { ok: false, truncated: true, status: 200, ttftMs: ttft, tokens: Math.max(0, tokens) };
  }
  const complete = finish && done && tokens >= 0 && tokens <= maxTokens;
  return { ok: complete, truncated: !complete, status: 200, ttftMs: ttft, tokens: Math.max(0, tokens) };
}

export default async function main(args: string[]): Promise<void> {
  const clients = Number(arg(args, 'clients', '32'));
  const seconds = Number(arg(args, 'seconds', '30'));
  const maxTokens = Number(arg(args, 'max-tokens', '64'));
  const maxConcurrent = arg(args, 'max-concurrent', '4');
  const maxBatch = arg(args, 'max-batch', '8');
  const threads = arg(args, 'threads', '1');
  const modelDir = arg(args, 'model', join(root, 'models', 'muse-story-en'));
  if (process.env.OMP_NUM_THREADS !== threads) {
    // OpenMP reads its thread count when the native addon loads: rerun this bench with it set.
    const r = spawnSync(process.execPath, ['--import', 'tsx', join(here, 'run.ts'), 'serve', ...args], {
      env: { ...process.env, OMP_NUM_THREADS: threads },
      stdio: 'inherit',
    });
    process.exitCode = r.status ?? 1;
    return;
  }

  // Reference: the library alone, one stream at a time.
  const loaded = loadGPT2Dir(modelDir);
  let refTokens = 0;
  const r0 = performance.now();
  for (let i = 0; i < 3; i++) {
    const s = stream(loaded.model, loaded.tokenizer, PROMPTS[i], openAIConfig(loaded, { prompt: '', max_tokens: maxTokens }, i));
    for await (const _ of s) void _;
    refTokens += s.output?.sequences[0]?.length ?? 0;
  }
  const refTps = refTokens / ((performance.now() - r0) / 1000);

  const db = join(mkdtempSync(join(tmpdir(), 'muse-bench-serve-')), 'ratings.db');
  const child = spawn(
    process.execPath,
    [join(root, 'bin', 'muse.js'), 'serve', '--port', '0', '--db', db, '--model', modelDir, '--max-concurrent', maxConcurrent, '--max-batch', maxBatch, '--max-queue', String(clients * 2), '--max-tokens', String(maxTokens), '--threads', threads],
    { env: { ...process.env, MUSE_FROM_SOURCE: '1', OMP_NUM_THREADS: threads }, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  const url = await new Promise<string>((resolve, reject) => {
    let err = '';
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
      const m = /muse serve: (http:\/\/\S+)/.exec(err);
      if (m) resolve(m[1]);
    });
    child.on('exit', (code) => reject(new Error(`muse serve exited (${code}): ${err}`)));
  });
  const model = (await (await fetch(`${url}/v1/models`)).json() as { data: { id: string }[] }).data[0].id;

  const results: Result[] = [];
  const t0 = performance.now();
  const deadline = t0 + seconds * 1000;
  await Promise.all(
    Array.from({ length: clients }, async (_, c) => {
      for (let k = 0; performance.now() < deadline; k++) results.push(await oneStream(url, PROMPTS[(c + k) % PROMPTS.length], maxTokens, model));
    }),
  );
  const elapsed = (performance.now() - t0) / 1000;
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));

  const ok = results.filter((r) => r.ok);
  const ttft = ok.map((r) => r.ttftMs).filter((x): x is number => x !== null);
  const tokens = results.reduce((s, r) => s + r.tokens, 0);
  console.log(
    JSON.stringify({
      bench: 'serve',
      model,
      clients,
      seconds,
      maxTokens,
      maxConcurrent: Number(maxConcurrent),
      maxBatch: Number(maxBatch),
      elapsedS: Math.round(elapsed * 10) / 10,
      requests: results.length,
      completed: ok.length,
      failed: results.filter((r) => !r.ok && !r.truncated).length,
      truncated: results.filter((r) => r.truncated).length,
      ttftP50Ms: Math.round(quantile(ttft, 0.5)),
      ttftP95Ms: Math.round(quantile(ttft, 0.95)),
      tokensPerSec: Math.round(tokens / elapsed),
      libraryTokensPerSec: Math.round(refTps),
    }),
  );
}
