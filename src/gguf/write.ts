/**
 * A Hugging Face model (config, HF-named float32 tensors, tokenizer.json) as
 * a GGUF file llama.cpp loads: the converter's side of llama.cpp
 * (`convert_hf_to_gguf.py`: metadata keys, tensor names, GPT-2 Conv1D
 * transposes, the `llama` architecture's q/k row permutation, Llama 3.1's
 * `rope_freqs`) and `llama-quantize`'s per-tensor type mix (`mix.ts`).
 * Tensors are encoded lazily, one at a time, as the writer streams them.
 */
import { ConfigError, FileFormatError } from '../errors.js';
import { ggufValue, type GgufValue } from '../io/gguf.js';
import type { GgufTensorToWrite, GgufToWrite } from '../io/gguf-write.js';
import type { StTensor } from '../io/safetensors.js';
import { quantizeRow, type GgmlType } from '../quant/formats.js';
import { namePairs, permuteRopeRows, transpose2d, type GgufArch } from './arch.js';
import { LLAMA_FTYPE, tensorTypeFor, type GgufFileType } from './mix.js';
import { tokenizerMetadata, type GgufSpecialIds } from './tokenizer-meta.js';

/** A model to write. */
export interface HfModelForGguf {
  /** HF `config.json` (its `model_type` picks the architecture: gpt2, llama, mistral, qwen2, qwen3). */
  config: Record<string, unknown>;
  /** HF-named float32 tensors (GPT-2: `transformer.…`, Conv1D `[in, out]`; Llama family: `model.…`, `lm_head.weight` when untied). */
  tensors: Map<string, StTensor>;
  /** The tokenizer.json object (every muse tokenizer's `toJSON()`). */
  tokenizerJson?: Record<string, unknown>;
  /** Special token ids for the metadata. */
  specialIds?: GgufSpecialIds;
  chatTemplate?: string;
  /** `general.name`. */
  name?: string;
}

/** The GGUF architecture of an HF `model_type`. */
export function archOfModelType(modelType: unknown): GgufArch {
  switch (modelType) {
    case 'gpt2':
      return 'gpt2';
    case 'llama':
    case 'mistral':
      return 'llama';
    case 'qwen2':
      return 'qwen2';
    case 'qwen3':
      return 'qwen3';
    default:
      throw new ConfigError(`GGUF export: model_type ${JSON.stringify(modelType)} has no GGUF architecture muse writes (gpt2, llama, mistral, qwen2, qwen3)`);
  }
}

function int(cfg: Record<string, unknown>, key: string, fallback?: number): number {
  const v = cfg[key] ?? fallback;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new ConfigError(`GGUF export: config field ${key} is missing or not a number`);
  return v;
}

/** Llama 3.1 rope scaling as llama.cpp's per-frequency `rope_freqs` factors (convert_hf_to_gguf `LlamaModel.generate_extra_tensors`). */
function llama3RopeFreqs(scaling: Record<string, unknown>, headDim: number, theta: number): Float32Array {
  const factor = Number(scaling['factor'] ?? 8);
  const low = Number(scaling['low_freq_factor'] ?? 1);
  const high = Number(scaling['high_freq_factor'] ?? 4);
  const orig = Number(scaling['original_max_position_embeddings'] ?? 8192);
  const lowWavelen = orig / low;
  const highWavelen = orig / high;
  const out = new Float32Array(headDim / 2);
  for (let i = 0; i < headDim / 2; i++) {
    const freq = 1 / theta ** ((2 * i) / headDim);
    const wavelen = (2 * Math.PI) / freq;
    if (wavelen < highWavelen) out[i] = 1;
    else if (wavelen > lowWavelen) out[i] = factor;
    else {
      const smooth = (orig / wavelen - low) / (high - low);
      out[i] = 1 / ((1 - smooth) / factor + smooth);
    }
  }
  return out;
}

function hparams(arch: GgufArch, cfg: Record<string, unknown>, vocabSize: number): { meta: Array<[string, GgufValue]>; extra: GgufTensorToWrite[]; nLayers: number; nHead: number; nKv: number } {
  const a = (k: string): string => `${arch}.${k}`;
  const meta: Array<[string, GgufValue]> = [];
  const extra: GgufTensorToWrite[] = [];
  if (arch === 'gpt2') {
    const nEmbd = int(cfg, 'n_embd');
    const nLayers = int(cfg, 'n_layer');
    const nHead = int(cfg, 'n_head');
    const inner = cfg['n_inner'] === null || cfg['n_inner'] === undefined ? 4 * nEmbd : int(cfg, 'n_inner');
    if (cfg['activation_function'] !== undefined && cfg['activation_function'] !== 'gelu_new' && cfg['activation_function'] !== 'gelu_pytorch_tanh') {
      throw new ConfigError(`GGUF export: GPT-2 activation_function "${String(cfg['activation_function'])}"; llama.cpp's gpt2 uses the tanh GELU (gelu_new)`);
    }
    meta.push([a('context_length'), ggufValue.uint32(int(cfg, 'n_positions'))]);
    meta.push([a('embedding_length'), ggufValue.uint32(nEmbd)]);
    meta.push([a('feed_forward_length'), ggufValue.uint32(inner)]);
    meta.push([a('block_count'), ggufValue.uint32(nLayers)]);
    meta.push([a('attention.head_count'), ggufValue.uint32(nHead)]);
    meta.push([a('attention.layer_norm_epsilon'), ggufValue.float32(Number(cfg['layer_norm_epsilon'] ?? 1e-5))]);
    return { meta, extra, nLayers, nHead, nKv: nHead };
  }
  const hidden = int(cfg, 'hidden_size');
  const nLayers = int(cfg, 'num_hidden_layers');
  const nHead = int(cfg, 'num_attention_heads');
  const nKv = int(cfg, 'num_key_value_heads', nHead);
  const headDim = int(cfg, 'head_dim', hidden / nHead);
  const theta = Number(cfg['rope_theta'] ?? 10000);
  meta.push([a('vocab_size'), ggufValue.uint32(vocabSize)]);
  meta.push([a('context_length'), ggufValue.uint32(int(cfg, 'max_position_embeddings'))]);
  meta.push([a('embedding_length'), ggufValue.uint32(hidden)]);
  meta.push([a('block_count'), ggufValue.uint32(nLayers)]);
  meta.push([a('feed_forward_length'), ggufValue.uint32(int(cfg, 'intermediate_size'))]);
  meta.push([a('rope.dimension_count'), ggufValue.uint32(headDim)]);
  meta.push([a('attention.head_count'), ggufValue.uint32(nHead)]);
  meta.push([a('attention.head_count_kv'), ggufValue.uint32(nKv)]);
  meta.push([a('attention.key_length'), ggufValue.uint32(headDim)]);
  meta.push([a('attention.value_length'), ggufValue.uint32(headDim)]);
  meta.push([a('attention.layer_norm_rms_epsilon'), ggufValue.float32(Number(cfg['rms_norm_eps'] ?? 1e-6))]);
  meta.push([a('rope.freq_base'), ggufValue.float32(theta)]);
  const scaling = cfg['rope_scaling'] as Record<string, unknown> | null | undefined;
  const kind = scaling ? String(scaling['rope_type'] ?? scaling['type'] ?? 'default') : 'default';
  if (kind === 'linear') {
    meta.push([a('rope.scaling.type'), ggufValue.string('linear')]);
    meta.push([a('rope.scaling.factor'), ggufValue.float32(Number(scaling!['factor']))]);
  } else if (kind === 'llama3') {
    const freqs = llama3RopeFreqs(scaling!, headDim, theta);
    extra.push({ name: 'rope_freqs.weight', type: 'F32', shape: [freqs.length], data: quantizeRow('F32', freqs) });
  } else if (kind !== 'default') {
    throw new ConfigError(`GGUF export: rope_scaling type "${kind}" has no llama.cpp equivalent muse writes (linear and llama3 do)`);
  }
  return { meta, extra, nLayers, nHead, nKv };
}

/**
 * Describe an HF model as a GGUF file of the given file type (see `mix.ts`
 * for which tensor gets which storage type).
 *
 * @throws ConfigError for a model_type, activation, rope scaling or
 *   tokenizer llama.cpp cannot represent (named)
 * @throws FileFormatError when a required tensor is missing (named)
 */
export function hfToGguf(model: HfModelForGguf, fileType: GgufFileType): GgufToWrite {
  const cfg = model.config;
  const arch = archOfModelType(cfg['model_type']);
  const embName = arch === 'gpt2' ? 'transformer.wte.weight' : 'model.embed_tokens.weight';
  const emb = model.tensors.get(embName);
  if (!emb) throw new FileFormatError(`GGUF export: tensor ${embName} is missing`);
  const modelVocab = emb.shape[0];
  const tokMeta = model.tokenizerJson ? tokenizerMetadata(model.tokenizerJson, modelVocab, model.specialIds, model.chatTemplate) : undefined;
  const vocabSize = tokMeta?.nTokens ?? modelVocab;
  const hp = hparams(arch, cfg, vocabSize);
  const metadata: Array<[string, GgufValue]> = [
    ['general.architecture', ggufValue.string(arch)],
    ['general.name', ggufValue.string(model.name ?? String(cfg['_name_or_path'] ?? cfg['model_type']))],
    ['general.file_type', ggufValue.uint32(LLAMA_FTYPE[fileType])],
  ];
  if (!['f32', 'f16', 'bf16'].includes(fileType)) metadata.push(['general.quantization_version', ggufValue.uint32(2)]);
  metadata.push(...hp.meta);
  if (tokMeta) metadata.push(...tokMeta.entries);

  const pairs = namePairs(arch, hp.nLayers).filter((p) => model.tensors.has(p.hf));
  const tied = arch === 'gpt2' || !model.tensors.has('lm_head.weight');
  const nAttentionWv = pairs.filter((p) => /attn_(v|qkv)\.weight$/.test(p.gguf)).length;
  const ctx = { fileType, nLayers: hp.nLayers, nAttentionWv, tiedEmbeddings: tied };
  const tensors: GgufTensorToWrite[] = [...hp.extra];
  for (const pair of pairs) {
    let t = model.tensors.get(pair.hf)!;
    if (vocabSize > modelVocab && (pair.gguf === 'token_embd.weight' || pair.gguf === 'output.weight')) {
      // byte-fallback tokens appended to a character vocabulary: zero rows
      const padded = new Float32Array(vocabSize * t.shape[1]);
      padded.set(t.data);
      t = { dtype: 'F32', shape: [vocabSize, t.shape[1]], data: padded };
    }
    const shape = pair.conv1d ? [t.shape[1], t.shape[0]] : [...t.shape];
    const dims = [...shape].reverse();
    const type: GgmlType = tensorTypeFor(pair.gguf, dims, ctx);
    tensors.push({
      name: pair.gguf,
      type,
      shape,
      data: () => {
        let x = t.data as Float32Array;
        if (pair.conv1d) x = transpose2d(x, t.shape[0], t.shape[1]);
        if (pair.ropePermute) {
          const heads = pair.ropePermute === 'q' ? hp.nHead : hp.nKv;
          const rows = shape[0];
          const rb = (x.length / rows) * 4;
          const bytes = permuteRopeRows(new Uint8Array(x.buffer, x.byteOffset, x.byteLength), heads, rows / heads, rb, false);
          x = new Float32Array(bytes.buffer);
        }
        return quantizeRow(type, x);
      },
    });
  }
  const need = [arch === 'gpt2' ? 'transformer.ln_f.weight' : 'model.norm.weight'];
  for (const n of need) if (!model.tensors.has(n)) throw new FileFormatError(`GGUF export: tensor ${n} is missing`);
  return { metadata, tensors };
}

/** Count of each storage type in a planned file (for reports: `{ Q4_K: 98, Q6_K: 25, F32: 49 }`). */
export function typeCounts(file: GgufToWrite): Record<string, number> {
  const out: Record<string, number> = {};
  for (const t of file.tensors) out[t.type] = (out[t.type] ?? 0) + 1;
  return out;
}
