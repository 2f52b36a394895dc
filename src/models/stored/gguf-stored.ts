/**
 * GGUF files loaded with their weights as stored: every matrix stays in its
 * GGUF type (F32, F16, BF16, Q8_0, Q4_0, Q5_0, Q4_K, Q5_K, Q6_K) in one buffer
 * of its own, read once from the file; norms and biases are read as float32.
 * The model is an inference-only {@link CausalLM} on the native stored-weight
 * decoder ({@link StoredLlamaLM} or {@link StoredGpt2LM}), so a Q4_K_M file
 * of 0.8 GB takes about 0.8 GB of memory, not the 3 GB of its float32 form
 * (src/gguf/load.ts loads GGUF files into the float32, trainable models).
 */
import { FileFormatError } from '../../errors.js';
import { GgufFile, type GgufTensorInfo } from '../../io/gguf.js';
import { namePairs, permuteRopeRows, type NamePair } from '../../gguf/arch.js';
import { ggufConfig, type GgufConfig } from '../../gguf/read.js';
import { ggufTokenizer } from '../../gguf/load.js';
import { generationConfigFromHF } from '../../generate/index.js';
import type { LoadedCausalLM } from '../loaded.js';
import type { Tokenizer } from '../../tokenizers/types.js';
import { llamaConfig } from '../llama/config.js';
import { gptConfig } from '../gpt2/config.js';
import type { CausalLM, LMCache, CausalLMForwardOptions } from '../causal-lm.js';
import { rowBytes } from '../../quant/formats.js';
import { NativeDecoder, StoredDecoderLM, checkDecodeCache, nativeDecoderAvailable, type DecoderSpec, type KvCacheDtype } from './decoder.js';
import { getBackend } from '../../backend/index.js';
import { StoredLlamaLM, type LlamaTensorSource } from './llama.js';
import { quantizedWeight, type QuantizedWeight } from '../../quant/weight.js';
import { weightBuffer } from '../../quant/native.js';

/** What {@link loadStoredGguf} returns. */
export interface LoadedStoredGguf {
  model: StoredLlamaLM | StoredGpt2LM;
  tokenizer: Tokenizer;
  /** The GGUF architecture and the HF config derived from its metadata. */
  gguf: GgufConfig;
  /** Storage type of each weight, by HF name (`Q4_K`, `F16`, …). */
  storage: Map<string, string>;
}

/** Reads tensors by HF name from an open GGUF file, undoing llama.cpp's q/k row permutation. */
function tensorSource(file: GgufFile, g: GgufConfig, storage: Map<string, string>): LlamaTensorSource {
  const byHf = new Map<string, NamePair>(namePairs(g.arch, g.nLayers).map((p) => [p.hf, p]));
  const info = (name: string): [GgufTensorInfo, NamePair] | undefined => {
    const pair = byHf.get(name);
    const t = pair ? file.tensor(pair.gguf) : undefined;
    return t && pair ? [t, pair] : undefined;
  };
  return {
    matrix(name) {
      const found = info(name);
      if (!found) return undefined;
      const [t, pair] = found;
      if (t.type === undefined) {
        throw new FileFormatError(`${file.path}: tensor ${t.name} is stored as ${t.typeName}, which muse does not decode (it reads F32, F16, BF16, Q8_0, Q4_0, Q5_0, Q4_K, Q5_K, Q6_K); re-quantize with one of those`);
      }
      if (t.dims.length !== 2) throw new FileFormatError(`${file.path}: tensor ${t.name} has ${t.dims.length} dimensions, expected a matrix`);
      const [cols, rows] = t.dims as [number, number];
      let bytes = file.readTensorBytes(t, weightBuffer(t.byteLength));
      if (pair.ropePermute) {
        const heads = pair.ropePermute === 'q' ? g.nHead : g.nKv;
        bytes = permuteRopeRows(bytes, heads, rows / heads, rowBytes(t.type, cols), true);
      }
      storage.set(name, t.typeName);
      return quantizedWeight(t.type, rows, cols, bytes);
    },
    vector(name) {
      const found = info(name);
      if (!found) return undefined;
      const [t, pair] = found;
      let v = file.readTensorF32(t);
      if (pair.ropePermute) {
        const heads = pair.ropePermute === 'q' ? g.nHead : g.nKv;
        const b = permuteRopeRows(new Uint8Array(v.buffer, v.byteOffset, v.byteLength), heads, v.length / heads, 4, true);
        v = new Float32Array(b.buffer, b.byteOffset, v.length);
      }
      return v;
    },
  };
}

/**
 * Loads a GGUF model (`gpt2`, `llama`, `qwen2`, `qwen3`) for inference with its weights as stored.
 * @param opts.kvCacheDtype element type of the KV caches the model makes (`float16` halves them)
 * @throws FileFormatError for an unreadable file, an architecture muse does not run, a missing tensor or an undecodable type (named)
 * @throws ConfigError when the native addon is not built (the stored-weight decoder is native only)
 */
export function loadStoredGguf(path: string, opts: { kvCacheDtype?: KvCacheDtype } = {}): LoadedStoredGguf {
  const file = GgufFile.open(path);
  try {
    const g = ggufConfig(file);
    const storage = new Map<string, string>();
    const src = tensorSource(file, g, storage);
    const model = g.arch === 'gpt2'
      ? new StoredGpt2LM(g.config, src, { ...opts, source: path })
      : new StoredLlamaLM(llamaConfig(g.config), src, { ...opts, source: path });
    return { model, tokenizer: ggufTokenizer(file), gguf: g, storage };
  } finally {
    file.close();
  }
}

/**
 * A GGUF file as the registry's loaded causal LM, weights as stored (what
 * `muse generate --model FILE.gguf` uses unless `--dtype float32`).
 * @throws as {@link loadStoredGguf}
 */
export function loadStoredGgufLM(path: string, opts: { kvCacheDtype?: KvCacheDtype } = {}): LoadedCausalLM<StoredLlamaLM | StoredGpt2LM> {
  const { model, tokenizer, gguf } = loadStoredGguf(path, opts);
  const gpt = gguf.arch === 'gpt2';
  return {
    kind: 'causal-lm', family: gpt ? 'gpt2' : 'llama', modelType: gguf.modelType, dir: path, model, tokenizer,
    generationConfig: generationConfigFromHF(gguf.generationConfig), script: 'keep', report: { missing: [], unexpected: [] },
    info: {
      contextLength: model.maxPositions,
      nLayer: gguf.nLayers,
      nHead: gguf.nHead,
      vocabSize: model.vocabSize,
    },
  };
}

/** Whether loading options ask for stored weights and the native decoder can run them. */
export function wantsStoredWeights(opts: { dtype?: 'float32' | 'auto' }): boolean {
  return opts.dtype === 'auto' && getBackend().name === 'native' && nativeDecoderAvailable();
}

/**
 * GPT-2 as an inference-only {@link CausalLM} over stored weights (GGUF's
 * `[out, in]` matrices; the head is `output.weight` when the file has one,
 * else the tied embeddings).
 */
export class StoredGpt2LM extends StoredDecoderLM implements CausalLM {
  protected readonly decoder: NativeDecoder;
  readonly vocabSize: number;
  readonly maxPositions: number;

  /** @throws FileFormatError naming a missing tensor */
  constructor(config: Record<string, unknown>, src: LlamaTensorSource, opts: { kvCacheDtype?: KvCacheDtype; source?: string } = {}) {
    super();
    const c = gptConfig(config);
    const C = c.n_embd;
    const where = opts.source ?? 'the model';
    const mat = (n: string): QuantizedWeight => {
      const w = src.matrix(n);
      if (!w) throw new FileFormatError(`${where}: missing tensor ${n}`);
      return w;
    };
    const vec = (n: string): Float32Array => {
      const v = src.vector(n);
      if (!v) throw new FileFormatError(`${where}: missing tensor ${n}`);
      return v;
    };
    const embed = mat('transformer.wte.weight');
    const spec: DecoderSpec = {
      norm: 'layernorm', mlp: 'gelu_tanh', hidden: C, nHead: c.n_head, nKvHead: c.n_head, headDim: C / c.n_head,
      vocab: c.vocab_size, eps: c.layer_norm_epsilon, embed, posEmbed: mat('transformer.wpe.weight'),
      normW: vec('transformer.ln_f.weight'), normB: vec('transformer.ln_f.bias'), head: src.matrix('lm_head.weight') ?? embed,
      layers: Array.from({ length: c.n_layer }, (_, i) => {
        const p = `transformer.h.${i}.`;
        return {
          norm1W: vec(`${p}ln_1.weight`), norm1B: vec(`${p}ln_1.bias`),
          qkv: mat(`${p}attn.c_attn.weight`), qkvB: vec(`${p}attn.c_attn.bias`),
          o: mat(`${p}attn.c_proj.weight`), oB: vec(`${p}attn.c_proj.bias`),
          norm2W: vec(`${p}ln_2.weight`), norm2B: vec(`${p}ln_2.bias`),
          up: mat(`${p}mlp.c_fc.weight`), upB: vec(`${p}mlp.c_fc.bias`),
          down: mat(`${p}mlp.c_proj.weight`), downB: vec(`${p}mlp.c_proj.bias`),
        };
      }),
    };
    this.decoder = new NativeDecoder(spec);
    this.vocabSize = c.vocab_size;
    this.maxPositions = c.n_positions;
    this.kvCacheDtype = opts.kvCacheDtype ?? 'float32';
  }

  forward(
    inputIds: Int32Array, batch: number, t: number, cache: LMCache,
    opts: CausalLMForwardOptions = {},
  ): Float32Array {
    checkDecodeCache('StoredGpt2LM.forward', cache, t, this.maxPositions, `n_positions ${this.maxPositions}; truncate the prompt or slide the window`);
    return this.decoder.forward(inputIds, batch, t, cache, opts);
  }
}
