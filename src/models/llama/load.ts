/**
 * Reading and writing Llama-family models as Hugging Face directories:
 * `config.json` plus `model.safetensors` or sharded weights
 * (`model.safetensors.index.json`), tensors F32/F16/BF16/F64 (widened to
 * float32 by `src/io/safetensors.ts`; BF16 exactly). Never a network call.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Generator, fromArray, type Tensor } from '../../tensor/index.js';
import { loadCheckpoint, missingConfigError } from '../../io/checkpoint.js';
import type { StTensor } from '../../io/safetensors.js';
import { FileFormatError, ShapeError } from '../../errors.js';
import { readJsonFile } from '../../io/json.js';
import { saveModel, type LoadReport, type SaveModelOptions } from '../pretrained.js';
import { LLAMA_MODEL_TYPES, llamaConfig, type LlamaConfig } from './config.js';
import { LlamaForCausalLM } from './model.js';

// Buffers older checkpoints saved beside the parameters (recomputed here from the config).
const ROPE_BUFFERS = /\.rotary_emb\.inv_freq$/;

/**
 * Map checkpoint names onto {@link LlamaForCausalLM}'s: a bare `LlamaModel`
 * (`layers.0.…`, `embed_tokens.weight`, `norm.weight`) gets the `model.`
 * prefix; rotary `inv_freq` buffers are dropped, and so is `lm_head.weight`
 * when the head is tied to the embeddings.
 */
export function llamaStateDict(tensors: Map<string, StTensor>, tied: boolean): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  for (const [name, t] of tensors) {
    if (ROPE_BUFFERS.test(name)) continue;
    if (name === 'lm_head.weight' && tied) continue;
    const full = name.startsWith('model.') || name === 'lm_head.weight' ? name : `model.${name}`;
    out.set(full, fromArray(t.data, t.shape, t.dtype === 'I32' ? 'int32' : 'float32'));
  }
  return out;
}

/** What {@link loadLlama} returns. */
export interface LoadedLlama {
  model: LlamaForCausalLM;
  report: LoadReport;
  /** `generation_config.json`, when the directory has one. */
  generationConfig?: Record<string, unknown>;
}

/**
 * Load a Llama, Mistral, Qwen2 or Qwen3 causal LM from a Hugging Face directory.
 * @param dir directory with `config.json` (`model_type` llama, mistral, qwen2 or qwen3) and
 *   `model.safetensors` or `model.safetensors.index.json` with its shards
 * @param opts.generator generator of the model (training resumes draw from it)
 * @returns the model (eval mode), missing/unexpected tensor names, `generation_config.json`
 * @throws FileFormatError for a missing or corrupt directory, another model_type, or missing tensors (named)
 * @throws ConfigError naming the config.json field that is invalid or unsupported
 * @throws ShapeError when a tensor's shape does not match the config
 */
export function loadLlama(dir: string, opts: { generator?: Generator } = {}): LoadedLlama {
  const configPath = join(dir, 'config.json');
  if (!existsSync(configPath)) throw missingConfigError(dir);
  // The config is checked before gigabytes of weights are read.
  checkConfig(readJsonFile(configPath), configPath);
  // F32 tensors stay views into the file's buffer: they are copied once, into the parameters.
  const ck = loadCheckpoint(dir, { share: true });
  const config = checkConfig(ck.config, configPath);
  const model = new LlamaForCausalLM(config, { generator: opts.generator, init: false });
  const { missing, unexpected } = copyWeights(model, ck.tensors);
  if (missing.length) {
    const hint = missing.includes('lm_head.weight') && missing.length === 1
      ? 'the head is untied (tie_word_embeddings false) but lm_head.weight is absent; set "tie_word_embeddings": true in config.json if the head shares the embeddings'
      : `the weights do not hold a complete ${String(config.model_type)} model with this config`;
    throw new FileFormatError(`${dir}: missing tensors ${missing.slice(0, 8).join(', ')}${missing.length > 8 ? ` and ${missing.length - 8} more` : ''}; ${hint}`);
  }
  model.eval();
  return { model, report: { missing, unexpected }, generationConfig: ck.generationConfig };
}

/** A validated config.json object (errors name the file). */
function checkConfig(raw: unknown, configPath: string): LlamaConfig {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new FileFormatError(`${configPath}: expected a JSON object`);
  const config = raw as Partial<LlamaConfig> & Record<string, unknown>;
  if (!LLAMA_MODEL_TYPES.includes(config.model_type as LlamaConfig['model_type'])) {
    throw new FileFormatError(`${configPath}: model_type is "${String(config.model_type)}"; the llama family loads ${LLAMA_MODEL_TYPES.join(', ')}`);
  }
  return llamaConfig(config, configPath);
}

/**
 * Copy checkpoint tensors into the model's parameters by name (the mapping of
 * {@link llamaStateDict}), dropping each from `tensors` once copied so its
 * memory can go before the next one is read: peak memory stays near the
 * parameters plus the file, not twice the model.
 * @returns parameter names the checkpoint lacks and checkpoint names the model has no parameter for
 * @throws ShapeError naming the tensor and both shapes when they differ
 */
function copyWeights(model: LlamaForCausalLM, tensors: Map<string, StTensor>): LoadReport {
  const params = new Map(model.namedParameters());
  const tied = model.config.tie_word_embeddings;
  const filled = new Set<string>();
  const unexpected: string[] = [];
  for (const [raw, t] of tensors) {
    if (ROPE_BUFFERS.test(raw) || (raw === 'lm_head.weight' && tied)) continue;
    const name = raw.startsWith('model.') || raw === 'lm_head.weight' ? raw : `model.${raw}`;
    const p = params.get(name);
    if (!p) {
      unexpected.push(name);
      continue;
    }
    if (t.shape.length !== p.shape.length || t.shape.some((d, i) => d !== p.shape[i])) {
      throw new ShapeError(`loadLlama: tensor "${name}" has shape [${t.shape.join(', ')}] but the model expects [${p.shape.join(', ')}]; the checkpoint does not match this config`);
    }
    (p.data as Float32Array).set(t.data);
    filled.add(name);
    tensors.delete(raw);
  }
  return { missing: [...params.keys()].filter((n) => !filled.has(n)), unexpected };
}

/**
 * Save a Llama-family model as a Hugging Face directory (`config.json`,
 * `model.safetensors` with HF names; a tied head is saved once, as
 * `model.embed_tokens.weight`), crash-safely.
 */
export function saveLlama(dir: string, model: LlamaForCausalLM, opts: Omit<SaveModelOptions, 'config'> & { config?: object } = {}): void {
  saveModel(dir, model, { ...opts, config: opts.config ?? { architectures: [architectureOf(model.config)], ...model.config } });
}

/** transformers' class name for a config (`LlamaForCausalLM`, `MistralForCausalLM`, …). */
export function architectureOf(cfg: LlamaConfig): string {
  const names: Record<LlamaConfig['model_type'], string> = { llama: 'LlamaForCausalLM', mistral: 'MistralForCausalLM', qwen2: 'Qwen2ForCausalLM', qwen3: 'Qwen3ForCausalLM' };
  return names[cfg.model_type];
}
