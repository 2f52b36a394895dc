/**
 * The probes of issue 17, rerun by hand (not part of `npm test`; minutes):
 *
 *   MUSE_FROM_SOURCE=1 npx tsx scripts/probes/reliability-probes.ts [--kills 20] [--swap-kills 10] [--train-kills 6]
 *
 * 1. kill -9 at random moments of a save loop (most land inside a save, many
 *    between the swap's renames) and of `muse train` runs; after each kill the
 *    run must load by name (`muse generate --model RUN/last`) and resume;
 * 2. corrupt model files (bytes flipped, truncated, config fields changed):
 *    each must load or be refused with a MuseError;
 * 3. bad HTTP inputs: each must get a 4xx in OpenAI's error shape;
 * 4. CLI limit flags: each must end with a clear error or stay under 2 GB;
 *    the peak RSS of every CLI probe is measured with /usr/bin/time.
 * Prints one JSON line per probe group and a Markdown table at the end.
 */
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { request } from 'node:http';
import { MuseError } from '../../src/errors.js';
import { loadCheckpoint } from '../../src/io/checkpoint.js';
import { recoverInterruptedSaves } from '../../src/io/recover.js';
import { loadCausalLM } from '../../src/models/registry.js';
import { createServer } from '../../src/serve/server.js';

const ROOT = join(import.meta.dirname, '../..');
const MODEL = join(ROOT, 'models', 'muse-story-en');
const arg = (name: string, dflt: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const env = { ...process.env, MUSE_FROM_SOURCE: '1', OMP_NUM_THREADS: '1' };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let seed = 12345;
const rand = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
const rows: [string, number, number, string][] = [];
let worstKb = 0;

/** Run the CLI under /usr/bin/time -v: status, stderr, peak RSS in kB. */
function cli(args: string[], timeoutS = 60): { status: number | null; stderr: string; stdout: string; kb: number } {
  const r = spawnSync('/usr/bin/time', ['-v', 'timeout', '-s', 'INT', String(timeoutS), process.execPath, join(ROOT, 'bin', 'muse.js'), ...args], { env, encoding: 'utf8', maxBuffer: 1 << 28 });
  const kb = Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(r.stderr)?.[1] ?? 0);
  worstKb = Math.max(worstKb, kb);
  return { status: r.status, stderr: r.stderr.replace(/\n\tCommand being timed[\s\S]*$/, ''), stdout: r.stdout, kb };
}

async function killProbes(): Promise<void> {
  const tries = arg('kills', 20);
  let survived = 0;
  let inSwap = 0;
  for (let k = 0; k < tries; k++) {
    const out = mkdtempSync(join(tmpdir(), 'muse-kill-'));
    const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'scripts', 'probes', 'saver.ts'), out], { env, stdio: ['ignore', 'pipe', 'inherit'] });
    // Wait for the first save, then kill at a random moment of the following ones.
    await new Promise<void>((res) => child.stdout.once('data', () => res()));
    await sleep(rand() * 400);
    child.kill('SIGKILL');
    await new Promise((res) => child.on('exit', res));
    const left = readdirSync(out).filter((n) => n.startsWith('.'));
    if (left.some((n) => /muse-(ready|previous)$/.test(n)) && !existsSync(join(out, 'last'))) inSwap++;
    try {
      recoverInterruptedSaves(out);
      const a = loadCheckpoint(join(out, 'last'));
      if (a.tensors.size > 0 && readdirSync(out).every((n) => !n.startsWith('.'))) survived++;
    } catch (err) {
      console.error(`kill ${k}: ${(err as Error).message}`);
    }
    rmSync(out, { recursive: true, force: true });
  }
  // Kills exactly between the swap's renames (MUSE_CRASH_POINT=swap:N, src/io/checkpoint.ts), then the real command.
  const swapTries = arg('swap-kills', 10);
  let swapSurvived = 0;
  for (let k = 0; k < swapTries; k++) {
    const out = mkdtempSync(join(tmpdir(), 'muse-swapkill-'));
    spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'scripts', 'probes', 'saver.ts'), out], { env: { ...env, MUSE_CRASH_POINT: `swap:${1 + k}` }, stdio: 'ignore' });
    const between = readdirSync(out).some((n) => n.endsWith('.muse-ready'));
    const g = cli(['generate', '--model', join(out, 'last'), '--max-new-tokens', '2', 'Once']);
    if (between && g.status === 0) swapSurvived++;
    else console.error(`swap kill ${k}: between ${between}, generate ${g.status} ${g.stderr.slice(0, 200)}`);
    rmSync(out, { recursive: true, force: true });
  }
  rows.push(["kills between the swap's two renames survived (then `muse generate --model OUT/last`)", swapSurvived, swapTries, 'MUSE_CRASH_POINT=swap:N, N = 1…']);
  // muse train itself: kill -9 mid-run, then generate from RUN/last and --resume.
  const trainTries = arg('train-kills', 6);
  let trainSurvived = 0;
  const dir = mkdtempSync(join(tmpdir(), 'muse-trainkill-'));
  const recipe = {
    model: { model_type: 'gpt2', n_layer: 1, n_head: 2, n_embd: 16, n_positions: 16 },
    tokenizer: { type: 'char' },
    data: { separator: 'eos', valFraction: 0.2 },
    training: { batchSize: 2, blockSize: 8, maxIters: 1_000_000, learningRate: 0.01, evalInterval: 2, evalIters: 1, warmupIters: 1, logInterval: 1, seed: 1 },
  };
  writeFileSync(join(dir, 'r.json'), JSON.stringify(recipe));
  writeFileSync(join(dir, 'c.txt'), 'the quick brown fox jumps over the lazy dog\n'.repeat(40));
  for (let k = 0; k < trainTries; k++) {
    const run = join(dir, `run${k}`);
    const child = spawn(process.execPath, [join(ROOT, 'bin', 'muse.js'), 'train', '--config', join(dir, 'r.json'), '--corpus', join(dir, 'c.txt'), '--out', run, '--json'], { env, stdio: ['ignore', 'pipe', 'ignore'] });
    let evals = 0;
    await new Promise<void>((res) => child.stdout.on('data', (d: Buffer) => {
      evals += (d.toString().match(/"event":"eval"/g) ?? []).length;
      if (evals >= 2) res();
    }));
    await sleep(rand() * 300);
    child.kill('SIGKILL');
    await new Promise((res) => child.on('exit', res));
    const g = cli(['generate', '--model', join(run, 'last'), '--max-new-tokens', '3', 'the']);
    const resume = spawn(process.execPath, [join(ROOT, 'bin', 'muse.js'), 'train', '--config', join(dir, 'r.json'), '--corpus', join(dir, 'c.txt'), '--out', run, '--resume', '--json', '--maxIters=100000'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let resumed = false;
    await new Promise<void>((res) => {
      resume.stdout.on('data', (d: Buffer) => {
        if (/"event":"train"/.test(d.toString())) {
          resumed = true;
          res();
        }
      });
      resume.on('exit', () => res());
    });
    resume.kill('SIGTERM');
    await new Promise((res) => resume.on('exit', res));
    if (g.status === 0 && resumed) trainSurvived++;
    else console.error(`train kill ${k}: generate ${g.status} ${g.stderr.slice(0, 300)}; resumed ${resumed}`);
  }
  rmSync(dir, { recursive: true, force: true });
  rows.push([`kills survived (save loop; ${inSwap} landed between the swap's renames)`, survived, tries, 'recover + load RUN/last']);
  rows.push(['kills survived (`muse train`, then generate RUN/last and --resume)', trainSurvived, trainTries, '']);
}

function corruptProbes(): void {
  const tries: [string, (dir: string) => void][] = [];
  const edit = (f: (c: Record<string, unknown>) => void) => (dir: string) => {
    const p = join(dir, 'config.json');
    const c = JSON.parse(readFileSync(p, 'utf8')) as Record<string, unknown>;
    f(c);
    writeFileSync(p, JSON.stringify(c));
  };
  const bytes = (f: (b: Buffer) => Buffer, file = 'model.safetensors') => (dir: string) => {
    const p = join(dir, file);
    writeFileSync(p, f(readFileSync(p)));
  };
  tries.push(['n_positions 1e9', edit((c) => (c.n_positions = 1e9))], ['n_embd "256"', edit((c) => (c.n_embd = '256'))], ['layer_norm_epsilon -1', edit((c) => (c.layer_norm_epsilon = -1))]);
  tries.push(['n_layer 2 of 4', edit((c) => (c.n_layer = 2))], ['no model_type', edit((c) => delete c.model_type)], ['vocab_size 10', edit((c) => (c.vocab_size = 10))], ['n_head 3', edit((c) => (c.n_head = 3))]);
  tries.push(['config not JSON', (d) => writeFileSync(join(d, 'config.json'), '{"n_embd": 2')], ['tokenizer not JSON', (d) => writeFileSync(join(d, 'tokenizer.json'), '{')]);
  tries.push(['tokenizer duplicate id', (d) => {
    const t = JSON.parse(readFileSync(join(d, 'tokenizer.json'), 'utf8')) as { model: { vocab: Record<string, number> } };
    const [a, b] = Object.keys(t.model.vocab);
    t.model.vocab[b!] = t.model.vocab[a!]!;
    writeFileSync(join(d, 'tokenizer.json'), JSON.stringify(t));
  }]);
  for (let i = 0; i < 30; i++) {
    tries.push([`safetensors mutation ${i}`, bytes((b) => {
      const c = Buffer.from(b);
      const kind = i % 3;
      if (kind === 0) return c.subarray(0, Math.floor(rand() * c.length));
      if (kind === 1) for (let j = 0; j < 4; j++) c[Math.floor(rand() * Math.min(c.length, 2000))] = Math.floor(rand() * 256);
      else c[Math.floor(rand() * 8)] = Math.floor(rand() * 256);
      return c;
    })]);
  }
  let refused = 0;
  let loaded = 0;
  for (const [name, corrupt] of tries) {
    const dir = mkdtempSync(join(tmpdir(), 'muse-corrupt-'));
    cpSync(MODEL, dir, { recursive: true });
    corrupt(dir);
    try {
      loadCausalLM(dir);
      refused++; // loaded: a mutation the format tolerates (e.g. a changed byte inside float data)
      loaded++;
    } catch (err) {
      if (err instanceof MuseError) refused++;
      else console.error(`corrupt ${name}: ${(err as Error).constructor.name}: ${(err as Error).message}`);
    }
    rmSync(dir, { recursive: true, force: true });
  }
  rows.push(['corrupt files loaded or refused with a MuseError', refused, tries.length, `${tries.length - loaded} refused, ${loaded} loaded (bytes changed inside float data: still a valid file)`]);
}

function raw(url: string, method: string, headers: Record<string, string>, body?: string | Buffer): Promise<number> {
  return new Promise((resolve) => {
    const req = request(url, { method, headers }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', () => resolve(0));
    req.end(body);
  });
}

async function httpProbes(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'muse-http-'));
  const server = await createServer({ models: [MODEL], db: join(dir, 'r.db'), runsDir: join(dir, 'runs'), threads: 1 });
  const url = await server.listen(0, '127.0.0.1');
  const port = new URL(url).port;
  const json = { 'content-type': 'application/json', host: `127.0.0.1:${port}` };
  const cases: [string, string, Record<string, string>, string | Buffer | undefined][] = [
    ['/v1/completions', 'POST', json, JSON.stringify({ prompt: Array.from({ length: 17 }, () => 'a'), max_tokens: 1 })],
    ['/v1/completions', 'POST', json, JSON.stringify({ prompt: 'a', stop: ['a', 'b', 'c', 'd', 'e'] })],
    ['/v1/completions', 'POST', json, JSON.stringify({ prompt: 'a', max_tokens: 1e9 })],
    ['/v1/completions', 'POST', json, JSON.stringify({ prompt: 'a', n: 1000 })],
    ['/v1/completions', 'POST', json, JSON.stringify({ prompt: 'a', temperature: 'hot' })],
    ['/v1/completions', 'POST', json, JSON.stringify({ prompt: 'a', max_token: 3 })],
    ['/v1/completions', 'POST', json, JSON.stringify({ prompt: 'a'.repeat(5000) })],
    ['/v1/completions', 'POST', json, JSON.stringify({ prompt: 'a', model: 'nope' })],
    ['/v1/completions', 'POST', json, '{"prompt": '],
    ['/v1/completions', 'POST', json, Buffer.from([0x7b, 0x22, 0x70, 0x72, 0x6f, 0x6d, 0x70, 0x74, 0x22, 0x3a, 0x22, 0xff, 0x22, 0x7d])],
    ['/v1/completions', 'POST', json, JSON.stringify({ prompt: 'x'.repeat(70_000) })],
    ['/v1/completions', 'POST', { ...json, host: 'evil.example' }, JSON.stringify({ prompt: 'a', max_tokens: 1 })],
    ['/api/ratings/export?format=csv', 'GET', { host: 'evil.example' }, undefined],
    ['/api/ratings', 'POST', { ...json, origin: 'https://evil.example' }, JSON.stringify({ model: 'm', prompt: 'a', output: 'b', rating: 1 })],
    ['/api/ratings', 'POST', json, JSON.stringify({ model: 'm', prompt: 'a', output: 'b', rating: 9 })],
    ['/api/generate', 'POST', json, JSON.stringify({ prompt: 'a', numBeams: 1000 })],
    ['/api/generate', 'POST', json, JSON.stringify({ prompt: 'a', minNewTokens: 50, maxNewTokens: 5 })],
    ['/api/generate', 'POST', json, JSON.stringify({ prompt: 'a', numBeams: 2, stream: true })],
    ['/api/generate', 'POST', json, JSON.stringify({ prompt: 'a', topP: 7 })],
    ['/api/generate', 'POST', json, JSON.stringify({ prompt: 'a', form: '9x9' })],
    ['/api/generate', 'POST', json, JSON.stringify({ prompt: 'a', stopStrings: Array.from({ length: 9 }, () => 'x') })],
    ['/api/fill-mask', 'POST', json, JSON.stringify({ text: 'no mask here' })],
    ['/api/attention', 'POST', json, JSON.stringify({ text: '' })],
    ['/api/runs/..%2F..%2Fetc/metrics', 'GET', json, undefined],
    ['/assets/..%2Fpackage.json', 'GET', json, undefined],
    ['/v1/completions', 'POST', { ...json, 'x-big': 'y'.repeat(20_000) }, JSON.stringify({ prompt: 'a' })],
    ['/v1/completions', 'POST', { host: `127.0.0.1:${port}`, 'content-type': 'text/plain' }, 'prompt=a'],
  ];
  let fourxx = 0;
  for (const [path, method, headers, body] of cases) {
    const status = await raw(`${url}${path}`, method, headers, body);
    if (status >= 400 && status < 500) fourxx++;
    else console.error(`http ${method} ${path}: ${status}`);
  }
  await server.close(1000);
  rmSync(dir, { recursive: true, force: true });
  rows.push(['bad HTTP inputs answered 4xx', fourxx, cases.length, 'schemas, limits, encoding, Host/Origin, traversal, headers']);
}

function cliProbes(): void {
  const dir = mkdtempSync(join(tmpdir(), 'muse-cli-'));
  const bigPos = join(dir, 'bigpos');
  cpSync(MODEL, bigPos, { recursive: true });
  const c = JSON.parse(readFileSync(join(bigPos, 'config.json'), 'utf8')) as Record<string, unknown>;
  c.n_positions = 1e9;
  writeFileSync(join(bigPos, 'config.json'), JSON.stringify(c));
  const probes: [string, string[], number][] = [
    ['--num-return-sequences 100000', ['generate', '--num-return-sequences', '100000', 'Once'], 60],
    ['--num-beams 10000', ['generate', '--num-beams', '10000', 'Once'], 60],
    ['--max-new-tokens 1e9 (streams; stopped after 20 s)', ['generate', '--max-new-tokens', '1e9', '--min-new-tokens', '100000', 'Once'], 20],
    ['--max-new-tokens 1e10 --num-beams 2 (stopped after 20 s)', ['generate', '--max-new-tokens', '1e10', '--num-beams', '2', '--json', 'Once'], 20],
    ['n_positions 1e9 in config.json', ['generate', '--model', bigPos, 'Once'], 60],
    ['--num-beams 8 --num-return-sequences 8 --max-new-tokens 512', ['generate', '--num-beams', '8', '--num-return-sequences', '8', '--max-new-tokens', '512', 'Once'], 120],
    ['--min-new-tokens 10 --max-new-tokens 5', ['generate', '--min-new-tokens', '10', '--max-new-tokens', '5', 'Once'], 60],
    ['--top-k -1', ['generate', '--top-k', '-1', 'Once'], 60],
    ['--temperature NaN', ['generate', '--temperature', 'NaN', 'Once'], 60],
  ];
  let bounded = 0;
  for (const [name, args, t] of probes) {
    const r = cli(args, t);
    const clean = !/\n\s+at |RangeError|FATAL|invalid size/.test(r.stderr);
    const ok = clean && r.kb < 2 * 1024 * 1024 && (r.status === 0 || r.status === 1 || r.status === 124 || r.status === 130);
    if (ok) bounded++;
    console.error(`cli ${name}: status ${r.status}, peak ${(r.kb / 1024).toFixed(0)} MiB, ${r.stderr.trim().split('\n').at(-1)?.slice(0, 160)}`);
  }
  rmSync(dir, { recursive: true, force: true });
  rows.push(['CLI limit flags bounded (clear error, or under 2 GB)', bounded, probes.length, '']);
}

await killProbes();
corruptProbes();
await httpProbes();
cliProbes();
console.log('| probe | result | tried | note |\n| --- | --- | --- | --- |');
for (const [name, ok, tried, note] of rows) console.log(`| ${name} | ${ok}/${tried} (${Math.round((100 * ok) / tried)}%) | ${tried} | ${note} |`);
console.log(`| worst memory (peak RSS of the CLI probes) | ${(worstKb / 1024).toFixed(0)} MiB | | |`);
