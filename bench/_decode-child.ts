/**
 * One measurement of `npm run bench -- decode`, run in its own process so
 * that its peak RSS is its own: load a GGUF file in one engine, prefill a
 * prompt, decode greedily, print one JSON line
 * `{"prefillTokS","decodeTokS","peakRssMB","loadS","tokens"}`.
 *
 *     node --import tsx bench/_decode-child.ts '{"engine":"muse"|"llama.cpp","path":…,"threads":…,"prompt":512,"decode":64,"oracle":"/work/oracle"}'
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

interface Job {
  engine: 'muse' | 'llama.cpp';
  path: string;
  threads: number;
  prompt: number;
  decode: number;
  oracle: string;
  vocab: number;
  seed: number;
  kvCacheDtype: 'float32' | 'float16';
}

const job = JSON.parse(process.argv[2] ?? '{}') as Job;

/** The prompt: seeded ids in [256, vocab) (the bench's tokenizer has no text; ids go in directly). */
function promptIds(): number[] {
  let s = job.seed >>> 0;
  const out: number[] = [];
  for (let i = 0; i < job.prompt; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out.push(256 + (s % (job.vocab - 256)));
  }
  return out;
}

function argmax(x: Float32Array): number {
  let best = 0;
  for (let i = 1; i < x.length; i++) if (x[i] > x[best]) best = i;
  return best;
}

async function runMuse(): Promise<Record<string, number>> {
  const { loadNativeAddon } = await import('../src/backend/native.js');
  const { loadStoredGguf } = await import('../src/models/stored/gguf-stored.js');
  loadNativeAddon()?.setThreads(job.threads);
  const t0 = performance.now();
  const { model } = loadStoredGguf(job.path, { kvCacheDtype: job.kvCacheDtype });
  const loadS = (performance.now() - t0) / 1000;
  const ids = promptIds();
  const cache = model.newCache(1);
  const t1 = performance.now();
  let next = argmax(model.forward(Int32Array.from(ids), 1, ids.length, cache, { lastOnly: true }));
  const t2 = performance.now();
  const tokens = [next];
  for (let i = 0; i < job.decode; i++) {
    next = argmax(model.forward(Int32Array.of(next), 1, 1, cache, { lastOnly: true }));
    tokens.push(next);
  }
  const t3 = performance.now();
  return { loadS, prefillTokS: ids.length / ((t2 - t1) / 1000), decodeTokS: job.decode / ((t3 - t2) / 1000), tokens: tokens.slice(0, 8) as unknown as number };
}

interface LlamaCpp {
  getLlama(o: Record<string, unknown>): Promise<{
    loadModel(o: { modelPath: string }): Promise<{
      createContext(o: Record<string, unknown>): Promise<{ getSequence(): { evaluate(t: number[], o: Record<string, unknown>): AsyncGenerator<number> } }>;
    }>;
  }>;
}

async function runLlamaCpp(): Promise<Record<string, number>> {
  const lib = (await import(pathToFileURL(join(job.oracle, 'node_modules/node-llama-cpp/dist/index.js')).href)) as LlamaCpp;
  const t0 = performance.now();
  const llama = await lib.getLlama({ gpu: false, logLevel: 'error', build: 'never' });
  const model = await llama.loadModel({ modelPath: job.path });
  const ctx = await model.createContext({ contextSize: job.prompt + job.decode + 16, batchSize: job.prompt, threads: job.threads });
  const seq = ctx.getSequence();
  const loadS = (performance.now() - t0) / 1000;
  const ids = promptIds();
  const t1 = performance.now();
  let t2 = 0;
  const tokens: number[] = [];
  for await (const tok of seq.evaluate(ids, { temperature: 0 })) {
    if (tokens.length === 0) t2 = performance.now();
    tokens.push(tok);
    if (tokens.length > job.decode) break;
  }
  const t3 = performance.now();
  return { loadS, prefillTokS: ids.length / ((t2 - t1) / 1000), decodeTokS: job.decode / ((t3 - t2) / 1000), tokens: tokens.slice(0, 8) as unknown as number };
}

/** Peak resident memory of this process in MB: VmHWM (getrusage's maxRSS would carry the parent's peak across fork/exec). */
function peakRssMB(): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
    if (m) return Math.round(Number(m[1]) / 1024);
  } catch {
    // not Linux
  }
  return Math.round(process.resourceUsage().maxRSS / 1024);
}

const res = job.engine === 'muse' ? await runMuse() : await runLlamaCpp();
console.log(JSON.stringify({ ...res, peakRssMB: peakRssMB() }));
process.exit(0);
