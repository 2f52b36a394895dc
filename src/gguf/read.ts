/**
 * A GGUF model file as a Hugging Face model: `config.json` fields from the
 * `<arch>.*` hyperparameters, HF-named float32 tensors (GPT-2 Conv1D weights
 * transposed back to `[in, out]`, the `llama` architecture's q/k rows
 * un-permuted), and generation defaults from the tokenizer metadata. The
 * model families build their models from this exactly as from a directory.
 *
 * Hyperparameter keys: llama.cpp `LLM_KV_NAMES` (`gpt2.context_length`,
 * `llama.attention.head_count_kv`, `qwen2.rope.freq_base`, …).
 */
import { ConfigError, FileFormatError } from '../errors.js';
import { GgufFile, metaNumber, metaString, requireMetaNumber, type GgufTensorInfo } from '../io/gguf.js';
import type { StTensor } from '../io/safetensors.js';
import { GGUF_ARCHS, namePairs, permuteRopeRows, transpose2d, type GgufArch, type NamePair } from './arch.js';

/** What {@link ggufToHf} returns. */
export interface GgufAsHf {
  path: string;
  arch: GgufArch;
  /** HF `model_type`: `gpt2`, `llama` (also Mistral files), `qwen2` or `qwen3`. */
  modelType: 'gpt2' | 'llama' | 'qwen2' | 'qwen3';
  /** HF `config.json` fields. */
  config: Record<string, unknown>;
  /** HF-named float32 tensors (a tied head is absent, as transformers saves it). */
  tensors: Map<string, StTensor>;
  /** HF `generation_config.json` fields (`bos_token_id`, `eos_token_id`) from the tokenizer metadata. */
  generationConfig: Record<string, unknown>;
  /** GGUF tensors that map to no HF parameter (ignored). */
  unmapped: string[];
  /** The storage type of each GGUF weight, by HF name (for reports: `Q4_K`, `F16`, …). */
  storage: Map<string, string>;
}

/** The `general.architecture` of an open file, checked against what muse reads. */
export function ggufArch(file: GgufFile): GgufArch {
  const arch = metaString(file.metadata, 'general.architecture', file.path);
  if (arch === undefined) throw new FileFormatError(`${file.path}: metadata general.architecture is missing; not a GGUF model file`);
  if (!(GGUF_ARCHS as readonly string[]).includes(arch)) {
    throw new FileFormatError(
      `${file.path}: GGUF architecture "${arch}" is not one muse runs; muse reads ${GGUF_ARCHS.join(', ')} (Mistral files use llama)`,
    );
  }
  return arch as GgufArch;
}

function readF32(file: GgufFile, info: GgufTensorInfo): StTensor {
  return { dtype: 'F32', shape: [...info.shape], data: file.readTensorF32(info) };
}

/**
 * Llama 3.1's `rope_scaling` from llama.cpp's `rope_freqs` tensor (one
 * factor per rotary frequency, written by the converter instead of the
 * config): the standard parameters (low 1, high 4, original context 8192,
 * factor = the largest entry) are checked against every entry.
 * @throws ConfigError when the factors are not that scaling
 */
function llama3ScalingFromFreqs(factors: Float32Array, headDim: number, theta: number, path: string): Record<string, unknown> {
  let factor = 1;
  for (const f of factors) factor = Math.max(factor, f);
  const scaling = { rope_type: 'llama3', factor, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 8192 };
  const lowWavelen = scaling.original_max_position_embeddings / scaling.low_freq_factor;
  const highWavelen = scaling.original_max_position_embeddings / scaling.high_freq_factor;
  for (let i = 0; i < factors.length; i++) {
    const freq = 1 / theta ** ((2 * i) / headDim);
    const wavelen = (2 * Math.PI) / freq;
    let want: number;
    if (wavelen < highWavelen) want = 1;
    else if (wavelen > lowWavelen) want = factor;
    else {
      const smooth = (scaling.original_max_position_embeddings / wavelen - scaling.low_freq_factor) / (scaling.high_freq_factor - scaling.low_freq_factor);
      want = 1 / ((1 - smooth) / factor + smooth);
    }
    if (Math.abs(want - factors[i]) > 1e-3 * want) {
      throw new ConfigError(
        `${path}: rope_freqs holds per-frequency factors that are not Llama 3.1's rope scaling with the standard parameters; muse cannot rebuild this rope scaling`,
      );
    }
  }
  return scaling;
}

/** An open GGUF file's architecture and HF config (no tensor is read but `rope_freqs`). */
export interface GgufConfig {
  arch: GgufArch;
  /** HF `model_type`: `gpt2`, `llama` (also Mistral files), `qwen2` or `qwen3`. */
  modelType: 'gpt2' | 'llama' | 'qwen2' | 'qwen3';
  /** HF `config.json` fields. */
  config: Record<string, unknown>;
  /** HF `generation_config.json` fields (`bos_token_id`, `eos_token_id`) from the tokenizer metadata. */
  generationConfig: Record<string, unknown>;
  nLayers: number;
  nHead: number;
  nKv: number;
}

/**
 * The HF config of an open GGUF model file, from its metadata (what
 * {@link ggufToHf} and the stored-weight loader of src/models/stored/gguf-stored.ts share).
 * @throws FileFormatError / ConfigError as {@link ggufToHf}
 */
export function ggufConfig(file: GgufFile): GgufConfig {
  const arch = ggufArch(file);
  const m = file.metadata;
  const p = file.path;
  const num = (k: string): number => requireMetaNumber(m, `${arch}.${k}`, p);
  const opt = (k: string): number | undefined => metaNumber(m, `${arch}.${k}`, p);
  const nLayers = num('block_count');
  const nEmbd = num('embedding_length');
  const nHead = num('attention.head_count');
  const embd = file.requireTensor('token_embd.weight');
  const vocabSize = embd.shape[0];
  const bos = metaNumber(m, 'tokenizer.ggml.bos_token_id', p);
  const eos = metaNumber(m, 'tokenizer.ggml.eos_token_id', p);

  let config: Record<string, unknown>;
  let modelType: GgufAsHf['modelType'];
  let nKv = nHead;
  let headDim = nEmbd / nHead;
  if (arch === 'gpt2') {
    modelType = 'gpt2';
    config = {
      model_type: 'gpt2',
      architectures: ['GPT2LMHeadModel'],
      vocab_size: vocabSize,
      n_positions: num('context_length'),
      n_ctx: num('context_length'),
      n_embd: nEmbd,
      n_layer: nLayers,
      n_head: nHead,
      n_inner: opt('feed_forward_length') ?? 4 * nEmbd,
      layer_norm_epsilon: opt('attention.layer_norm_epsilon') ?? 1e-5,
      activation_function: 'gelu_new',
      bos_token_id: bos ?? null,
      eos_token_id: eos ?? null,
      tie_word_embeddings: true,
    };
  } else {
    modelType = arch;
    nKv = opt('attention.head_count_kv') ?? nHead;
    headDim = opt('attention.key_length') ?? nEmbd / nHead;
    const valueLength = opt('attention.value_length');
    if (valueLength !== undefined && valueLength !== headDim) {
      throw new ConfigError(`${p}: ${arch}.attention.value_length ${valueLength} differs from key_length ${headDim}; muse's attention needs equal key and value head widths`);
    }
    const ropeDims = opt('rope.dimension_count');
    if (ropeDims !== undefined && ropeDims !== headDim) {
      throw new ConfigError(`${p}: ${arch}.rope.dimension_count ${ropeDims} rotates part of each ${headDim}-wide head (partial rotary), which muse's llama family does not implement`);
    }
    const theta = opt('rope.freq_base') ?? 10000;
    let ropeScaling: Record<string, unknown> | null = null;
    const scalingType = metaString(m, `${arch}.rope.scaling.type`, p);
    const linearScale = opt('rope.scale_linear');
    if (scalingType === 'linear' || (scalingType === undefined && linearScale !== undefined && linearScale !== 1)) {
      ropeScaling = { rope_type: 'linear', factor: opt('rope.scaling.factor') ?? linearScale ?? 1 };
    } else if (scalingType !== undefined && scalingType !== 'none') {
      throw new ConfigError(`${p}: ${arch}.rope.scaling.type "${scalingType}" is not supported; muse's llama family implements linear, dynamic and llama3 rope scaling`);
    }
    const freqs = file.tensor('rope_freqs.weight');
    if (freqs) ropeScaling = llama3ScalingFromFreqs(file.readTensorF32(freqs), headDim, theta, p);
    const hasQBias = file.tensor('blk.0.attn_q.bias') !== undefined;
    const hasOBias = file.tensor('blk.0.attn_output.bias') !== undefined;
    const hasMlpBias = file.tensor('blk.0.ffn_gate.bias') !== undefined;
    const tied = file.tensor('output.weight') === undefined;
    const archNames: Record<string, string> = { llama: 'LlamaForCausalLM', qwen2: 'Qwen2ForCausalLM', qwen3: 'Qwen3ForCausalLM' };
    config = {
      model_type: modelType,
      architectures: [archNames[arch]],
      vocab_size: vocabSize,
      hidden_size: nEmbd,
      intermediate_size: num('feed_forward_length'),
      num_hidden_layers: nLayers,
      num_attention_heads: nHead,
      num_key_value_heads: nKv,
      head_dim: headDim,
      hidden_act: 'silu',
      max_position_embeddings: num('context_length'),
      rms_norm_eps: opt('attention.layer_norm_rms_epsilon') ?? 1e-6,
      rope_theta: theta,
      rope_scaling: ropeScaling,
      tie_word_embeddings: tied,
      bos_token_id: bos ?? null,
      eos_token_id: eos ?? null,
    };
    if (arch !== 'qwen2') {
      if (hasQBias && !hasOBias && arch === 'llama') {
        throw new ConfigError(`${p}: q/k/v projections have biases but the output projection has none; transformers' llama has all four or none (attention_bias)`);
      }
      config['attention_bias'] = hasQBias;
    }
    if (arch === 'llama') config['mlp_bias'] = hasMlpBias;
  }

  const generationConfig: Record<string, unknown> = {};
  if (bos !== undefined) generationConfig['bos_token_id'] = bos;
  if (eos !== undefined) generationConfig['eos_token_id'] = eos;
  return { arch, modelType, config, generationConfig, nLayers, nHead, nKv };
}

/**
 * Convert an open GGUF model file to HF config and tensors (every weight
 * decoded to float32).
 *
 * @throws FileFormatError for an architecture muse does not run, missing
 *   hyperparameters or tensors (named), or tensor types muse cannot decode
 * @throws ConfigError for hyperparameters muse's models do not support
 *   (YaRN rope scaling, partial rotary dimensions)
 */
export function ggufToHf(file: GgufFile): GgufAsHf {
  const { arch, modelType, config, generationConfig, nLayers, nHead, nKv } = ggufConfig(file);
  const p = file.path;
  const tensors = new Map<string, StTensor>();
  const storage = new Map<string, string>();
  const pairs = namePairs(arch, nLayers);
  const byGguf = new Map<string, NamePair>(pairs.map((pr) => [pr.gguf, pr]));
  const unmapped: string[] = [];
  for (const info of file.tensors) {
    const pair = byGguf.get(info.name);
    if (!pair) {
      if (info.name !== 'rope_freqs.weight') unmapped.push(info.name);
      continue;
    }
    let t = readF32(file, info);
    if (pair.conv1d) {
      const [out, inn] = t.shape as [number, number];
      t = { dtype: 'F32', shape: [inn, out], data: transpose2d(t.data as Float32Array, out, inn) };
    }
    if (pair.ropePermute) {
      const heads = pair.ropePermute === 'q' ? nHead : nKv;
      const rows = t.shape[0];
      const rowBytes = (t.data.length / rows) * 4;
      const d = t.data as Float32Array;
      const permuted = permuteRopeRows(new Uint8Array(d.buffer, d.byteOffset, d.byteLength), heads, rows / heads, rowBytes, true);
      t = { dtype: 'F32', shape: t.shape, data: new Float32Array(permuted.buffer) };
    }
    tensors.set(pair.hf, t);
    storage.set(pair.hf, info.typeName);
  }
  if (arch === 'gpt2' && tensors.has('lm_head.weight')) {
    // llama.cpp's converter duplicates GPT-2's tied embeddings as output.weight (llama-quantize may then
    // store the two copies at different precisions); muse's GPT ties them, so the copies must agree.
    const head = tensors.get('lm_head.weight')!.data;
    const wte = tensors.get('transformer.wte.weight')!.data;
    let se = 0;
    let sx = 0;
    for (let i = 0; i < head.length && head.length === wte.length; i++) {
      se += (head[i] - wte[i]) ** 2;
      sx += wte[i] ** 2;
    }
    if (head.length !== wte.length || se > 0.01 * sx) {
      throw new FileFormatError(`${p}: output.weight differs from token_embd.weight; muse's GPT-2 ties the head to the embeddings and cannot load an untied head`);
    }
    tensors.delete('lm_head.weight');
  }
  return { path: p, arch, modelType, config, tensors, generationConfig, unmapped, storage };
}

/**
 * Open, convert and close a GGUF model file (see {@link ggufToHf}).
 * @throws as {@link GgufFile.open} and {@link ggufToHf}
 */
export function readGgufModel(path: string): GgufAsHf {
  const f = GgufFile.open(path);
  try {
    return ggufToHf(f);
  } finally {
    f.close();
  }
}

/**
 * Why no model family loads `path` when it is a GGUF file: its header is
 * unreadable (the reader's message) or its architecture is not one muse
 * runs (named). Undefined when the file is not GGUF (no "GGUF" magic).
 */
export function ggufLoadProblem(path: string): string | undefined {
  let f: GgufFile;
  try {
    f = GgufFile.open(path);
  } catch (err) {
    const msg = (err as Error).message;
    return /not a GGUF file \(it starts with/.test(msg) ? undefined : msg;
  }
  try {
    ggufArch(f);
    return undefined;
  } catch (err) {
    return (err as Error).message;
  } finally {
    f.close();
  }
}
