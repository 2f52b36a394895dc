/**
 * `npm run bench -- poet-latency [--model DIR] [--runs 3]`
 *
 * The main job's latency as a user sees it: a fresh `node bin/muse.js
 * generate` process (the compiled dist/, so run `npm run build` first) with
 * the bundled poet, timed from spawn to the first generated character on
 * stdout (after the echoed prompt) and to exit, for
 * - `generate "床前明月光，"` (the quatrain: 15 new tokens),
 * - the same with `--rhyme --tones loose` (pinyin-pro's dictionary is loaded then), and
 * - `generate "床前明月光，" --form free --min-new-tokens 100 --max-new-tokens 100`
 *   (100 new tokens).
 *
 * Prints JSON lines `{"bench":"poet-latency","case","firstOutputMs","totalMs","run"}`.
 */
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const PROMPT = '床前明月光，';

function arg(args: string[], name: string, dflt: string): string {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1] : dflt;
}

function timeOne(cliArgs: string[]): Promise<{ firstOutputMs: number; totalMs: number; text: string }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const env = { ...process.env };
    delete env.MUSE_FROM_SOURCE;
    const child = spawn(process.execPath, [join(root, 'bin', 'muse.js'), 'generate', ...cliArgs], { cwd: root, env });
    let out = '';
    let first = NaN;
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      out += chunk;
      if (Number.isNaN(first) && out.length > PROMPT.length) first = performance.now() - t0;
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) reject(new Error(`muse generate exited with ${code}`));
      else resolve({ firstOutputMs: first, totalMs: performance.now() - t0, text: out.trim() });
    });
  });
}

export default async function main(args: string[]): Promise<void> {
  const model = arg(args, 'model', 'models/muse-poet-zh');
  const runs = Number(arg(args, 'runs', '3'));
  const cases: Record<string, string[]> = {
    quatrain: ['--model', model, PROMPT, '--seed', '1'],
    'quatrain --rhyme --tones loose': ['--model', model, PROMPT, '--seed', '1', '--rhyme', '--tones', 'loose'],
    '100-tokens': ['--model', model, PROMPT, '--seed', '1', '--form', 'free', '--min-new-tokens', '100', '--max-new-tokens', '100'],
  };
  for (let run = 1; run <= runs; run++) {
    for (const [name, cliArgs] of Object.entries(cases)) {
      const r = await timeOne(cliArgs);
      console.log(JSON.stringify({ bench: 'poet-latency', case: name, model, threads: process.env.OMP_NUM_THREADS ?? 'default', firstOutputMs: Math.round(r.firstOutputMs), totalMs: Math.round(r.totalMs), run }));
    }
  }
}
