/**
 * `npm run bench -- decode [--models gpt2-124m,qwen2.5-0.5b,llama-3.2-1b]
 *   [--types f32,f16,bf16,q8_0,q4_0,q4_k_m] [--engines muse,llama.cpp] [--threads 1,2]
 *   [--prompt 512] [--decode 64] [--rounds 1] [--kv-cache-dtype float16|float32] [--oracle /work/oracle] [--cache DIR]`
 *
 * Decode and prefill speed and memory of muse beside llama.cpp on the same
 * GGUF files: random-weight, seeded models with the shapes of GPT-2 124M,
 * Qwen2.5-0.5B (24 layers, width 896, 14/2 heads, MLP 4864, vocab 151,936,
 * tied) and Llama-3.2-1B (16 layers, 2048, 32/8 heads, MLP 8192, vocab
 * 128,256, tied), written by muse's GGUF writer in each file type (Q4_K_M with
 * llama-quantize's per-tensor mix). Each measurement runs in a child process
 * (`_decode-child.ts`: load, prefill a `--prompt`-token prompt, decode
 * `--decode` tokens greedily; muse with its weights as stored and, like
 * llama.cpp's default, a float16 KV cache), so its peak RSS (VmHWM) is its own; engines and thread
 * counts are interleaved within each round. llama.cpp runs through
 * node-llama-cpp from `--oracle` (installed outside the repository, as for
 * the GGUF fixtures); without it its rows are skipped with a note.
 *
 * The GGUF files are written once into `--cache` (default: the system's temp
 * folder) and reused: muse's js quantizers take minutes per 100 M parameters
 * on a busy machine (the Llama-3.2-1B shape in Q4_K_M: about an hour on two
 * shared cores), and the float32 tensors of a 1 B model need ~5 GB while the
 * files are written.
 *
 * The machine's read bandwidth is measured in the same run (the native
 * addon's `quantReadBandwidth`: 64-bit loads over 1 GiB, best pass, per thread
 * count; the buffer is advised for huge pages as stored weights are, see
 * `weightBuffer` in src/quant/native.ts), and `floorTokS` = bandwidth ÷ the bytes of weights one token reads
 * (every matrix once, the tied head once, not the embedding rows).
 *
 * Prints one JSON line per measurement:
 * `{"bench":"decode","engine","model","type","threads","prefillTokS","decodeTokS","peakRssMB","floorTokS"}`,
 * plus `{"bench":"decode-bandwidth","threads","readGBs"}` lines and
 * `{"bench":"decode-note",…}` lines for what was skipped.
 */
import { existsSync, mkdirSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnSync } from 'node:child_process';
import { loadNativeAddon } from '../src/backend/native.js';
import { weightBuffer } from '../src/quant/native.js';
import { GgufFile } from '../src/io/gguf.js';
import { writeGguf } from '../src/io/gguf-write.js';
import type { StTensor } from '../src/io/safetensors.js';
import { hfToGguf } from '../src/gguf/write.js';
import type { GgufFileType } from '../src/gguf/mix.js';
import { Generator } from '../src/tensor/index.js';
import { ByteLevelBPETokenizer } from '../src/tokenizers/index.js';

const here = dirname(fileURLToPath(import.meta.url));

/** The benchmarked shapes (HF config fields). */
export const DECODE_MODELS: Record<string, Record<string, unknown>> = {
  'gpt2-124m': { model_type: 'gpt2', vocab_size: 50257, n_positions: 1024, n_embd: 768, n_layer: 12, n_head: 12, tie_word_embeddings: true },
  'qwen2.5-0.5b': {
    model_type: 'qwen2', vocab_size: 151936, hidden_size: 896, intermediate_size: 4864, num_hidden_layers: 24, num_attention_heads: 14,
    num_key_value_heads: 2, max_position_embeddings: 32768, rope_theta: 1000000, rms_norm_eps: 1e-6, tie_word_embeddings: true,
  },
  'llama-3.2-1b': {
    model_type: 'llama', vocab_size: 128256, hidden_size: 2048, intermediate_size: 8192, num_hidden_layers: 16, num_attention_heads: 32,
    num_key_value_heads: 8, head_dim: 64, max_position_embeddings: 131072, rope_theta: 500000, rms_norm_eps: 1e-5, tie_word_embeddings: true,
    rope_scaling: { rope_type: 'llama3', factor: 32, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 8192 },
  },
};

const ALL_TYPES: GgufFileType[] = ['f32', 'f16', 'bf16', 'q8_0', 'q4_0', 'q4_k_m'];

function arg(args: string[], name: string, dflt: string): string {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1] : dflt;
}

/** Random seeded HF tensors of a shape (std 0.02, norms 1, biases 0). */
function randomTensors(cfg: Record<string, unknown>, seed: number): Map<string, StTensor> {
  const gen = new Generator(seed);
  const t = new Map<string, StTensor>();
  const rnd = (name: string, shape: number[]): void => {
    const n = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    for (let i = 0; i < n; i++) data[i] = 0.02 * gen.normal();
    t.set(name, { dtype: 'F32', shape, data });
  };
  const fill = (name: string, shape: number[], v: number): void => {
    t.set(name, { dtype: 'F32', shape, data: new Float32Array(shape.reduce((a, b) => a * b, 1)).fill(v) });
  };
  if (cfg['model_type'] === 'gpt2') {
    const C = cfg['n_embd'] as number;
    rnd('transformer.wte.weight', [cfg['vocab_size'] as number, C]);
    rnd('transformer.wpe.weight', [cfg['n_positions'] as number, C]);
    for (let i = 0; i < (cfg['n_layer'] as number); i++) {
      const p = `transformer.h.${i}.`;
      fill(`${p}ln_1.weight`, [C], 1); fill(`${p}ln_1.bias`, [C], 0);
      rnd(`${p}attn.c_attn.weight`, [C, 3 * C]); fill(`${p}attn.c_attn.bias`, [3 * C], 0);
      rnd(`${p}attn.c_proj.weight`, [C, C]); fill(`${p}attn.c_proj.bias`, [C], 0);
      fill(`${p}ln_2.weight`, [C], 1); fill(`${p}ln_2.bias`, [C], 0);
      rnd(`${p}mlp.c_fc.weight`, [C, 4 * C]); fill(`${p}mlp.c_fc.bias`, [4 * C], 0);
      rnd(`${p}mlp.c_proj.weight`, [4 * C, C]); fill(`${p}mlp.c_proj.bias`, [C], 0);
    }
    fill('transformer.ln_f.weight', [C], 1); fill('transformer.ln_f.bias', [C], 0);
    return t;
  }
  const C = cfg['hidden_size'] as number;
  const H = cfg['num_attention_heads'] as number;
  const Hk = cfg['num_key_value_heads'] as number;
  const D = (cfg['head_dim'] as number | undefined) ?? C / H;
  const F = cfg['intermediate_size'] as number;
  rnd('model.embed_tokens.weight', [cfg['vocab_size'] as number, C]);
  for (let i = 0; i < (cfg['num_hidden_layers'] as number); i++) {
    const p = `model.layers.${i}.`;
    fill(`${p}input_layernorm.weight`, [C], 1);
    rnd(`${p}self_attn.q_proj.weight`, [H * D, C]);
    rnd(`${p}self_attn.k_proj.weight`, [Hk * D, C]);
    rnd(`${p}self_attn.v_proj.weight`, [Hk * D, C]);
    if (cfg['model_type'] === 'qwen2') {
      fill(`${p}self_attn.q_proj.bias`, [H * D], 0);
      fill(`${p}self_attn.k_proj.bias`, [Hk * D], 0);
      fill(`${p}self_attn.v_proj.bias`, [Hk * D], 0);
    }
    rnd(`${p}self_attn.o_proj.weight`, [C, H * D]);
    fill(`${p}post_attention_layernorm.weight`, [C], 1);
    rnd(`${p}mlp.gate_proj.weight`, [F, C]);
    rnd(`${p}mlp.up_proj.weight`, [F, C]);
    rnd(`${p}mlp.down_proj.weight`, [C, F]);
  }
  fill('model.norm.weight', [C], 1);
  return t;
}

/** The GGUF file of a model and type, written once into the cache directory. */
function ggufFile(cacheDir: string, model: string, type: GgufFileType, seed: number, tensors: () => Map<string, StTensor>): string {
  const path = join(cacheDir, `${model}-${type}-seed${seed}.gguf`);
  if (existsSync(path)) return path;
  const tok = ByteLevelBPETokenizer.train(['muse decode bench: random weights, ids fed directly.'], { vocabSize: 300, specialTokens: ['<|endoftext|>'] });
  const file = hfToGguf({ config: DECODE_MODELS[model], tensors: tensors(), tokenizerJson: tok.toJSON() as unknown as Record<string, unknown>, name: `${model} (random, seed ${seed})` }, type);
  writeGguf(`${path}.part`, file);
  renameSync(`${path}.part`, path);
  return path;
}

/** Bytes of weights one generated token reads: every tensor once, but not the embedding table when a separate head exists (only one row is read), nor position embeddings. */
function weightBytesPerToken(path: string): number {
  const f = GgufFile.open(path);
  try {
    const hasHead = f.tensor('output.weight') !== undefined;
    let n = 0;
    for (const t of f.tensors) {
      if (t.name === 'position_embd.weight' || (hasHead && t.name === 'token_embd.weight')) continue;
      n += t.byteLength;
    }
    return n;
  } finally {
    f.close();
  }
}

export default async function main(args: string[]): Promise<void> {
  const models = arg(args, 'models', Object.keys(DECODE_MODELS).join(',')).split(',');
  const typesArg = arg(args, 'types', '');
  const engines = arg(args, 'engines', 'muse,llama.cpp').split(',') as Array<'muse' | 'llama.cpp'>;
  const threadsList = arg(args, 'threads', '1,2').split(',').map(Number);
  const prompt = Number(arg(args, 'prompt', '512'));
  const decode = Number(arg(args, 'decode', '64'));
  const rounds = Number(arg(args, 'rounds', '1'));
  const oracle = arg(args, 'oracle', '/work/oracle');
  const cacheDir = arg(args, 'cache', join(tmpdir(), 'muse-bench-decode'));
  const seed = Number(arg(args, 'seed', '1'));
  // llama.cpp keeps its KV cache in F16 by default; muse does the same here unless told otherwise.
  const kvCacheDtype = arg(args, 'kv-cache-dtype', 'float16') as 'float32' | 'float16';
  for (const m of models) if (!DECODE_MODELS[m]) throw new Error(`unknown model ${m}; use ${Object.keys(DECODE_MODELS).join(', ')}`);
  mkdirSync(cacheDir, { recursive: true });

  const addon = loadNativeAddon() as unknown as { setThreads(n: number): number; quantReadBandwidth?(b: Uint8Array, s: number): number } | null;
  if (!addon?.quantReadBandwidth) throw new Error('the decode bench needs the native addon (node scripts/build-native.mjs)');
  const haveLlamaCpp = existsSync(join(oracle, 'node_modules/node-llama-cpp/dist/index.js'));
  const activeEngines = engines.filter((e) => e !== 'llama.cpp' || haveLlamaCpp);
  if (engines.includes('llama.cpp') && !haveLlamaCpp) {
    console.log(JSON.stringify({ bench: 'decode-note', note: `llama.cpp rows skipped: node-llama-cpp is not installed under ${oracle} (mkdir -p ${oracle} && cd ${oracle} && npm init -y && npm install node-llama-cpp@3.21.1)` }));
  }

  // Read bandwidth, per thread count, in this run.
  const bandwidth = new Map<number, number>();
  {
    const buf = weightBuffer(1 << 30).fill(1);
    for (const t of threadsList) {
      addon.setThreads(t);
      const gbs = addon.quantReadBandwidth(buf, 2);
      bandwidth.set(t, gbs);
      console.log(JSON.stringify({ bench: 'decode-bandwidth', threads: t, readGBs: Number(gbs.toFixed(2)) }));
    }
  }

  for (const model of models) {
    const cfg = DECODE_MODELS[model];
    const defaultTypes = ALL_TYPES.filter((t) => (cfg['model_type'] === 'gpt2' ? t !== 'bf16' : t !== 'f16'));
    const types = (typesArg ? typesArg.split(',') : defaultTypes) as GgufFileType[];
    let tensors: Map<string, StTensor> | null = null;
    const paths = new Map<GgufFileType, string>();
    for (const type of types) {
      if (!ALL_TYPES.includes(type)) throw new Error(`unknown type ${type}; use ${ALL_TYPES.join(', ')}`);
      paths.set(type, ggufFile(cacheDir, model, type, seed, () => (tensors ??= randomTensors(cfg, seed))));
    }
    tensors = null;
    for (const type of types) {
      const path = paths.get(type)!;
      const bytes = weightBytesPerToken(path);
      const vocab = (cfg['vocab_size'] as number);
      for (let round = 0; round < rounds; round++) {
        const order = round % 2 === 0 ? activeEngines : [...activeEngines].reverse();
        for (const threads of threadsList) {
          for (const engine of order) {
            const job = { engine, path, threads, prompt, decode, oracle, vocab, seed, kvCacheDtype };
            const r = spawnSync(process.execPath, ['--import', 'tsx', join(here, '_decode-child.ts'), JSON.stringify(job)], {
              encoding: 'utf8',
              env: { ...process.env, OMP_NUM_THREADS: String(threads), MUSE_NATIVE_BACKOFF: '0' },
              maxBuffer: 1 << 24,
            });
            const line = r.stdout.trim().split('\n').pop() ?? '';
            let res: { prefillTokS: number; decodeTokS: number; peakRssMB: number } | null = null;
            try {
              res = JSON.parse(line) as typeof res;
            } catch {
              console.log(JSON.stringify({ bench: 'decode-note', engine, model, type, threads, note: `run failed: ${(r.stderr || line).trim().split('\n').slice(-3).join(' | ')}` }));
              continue;
            }
            console.log(JSON.stringify({
              bench: 'decode', engine, model, type, threads,
              prefillTokS: Number(res!.prefillTokS.toFixed(1)), decodeTokS: Number(res!.decodeTokS.toFixed(2)), peakRssMB: res!.peakRssMB,
              floorTokS: Number(((bandwidth.get(threads)! * 1e9) / bytes).toFixed(2)),
            }));
          }
        }
      }
    }
  }
}
