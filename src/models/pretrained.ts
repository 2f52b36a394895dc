import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Tensor, Generator, fromArray } from '../tensor/index.js';
import type { Module } from '../nn/module.js';
import { loadCheckpoint, missingConfigError, saveCheckpoint, type CheckpointToSave } from '../io/checkpoint.js';
import type { StTensor } from '../io/safetensors.js';
import { FileFormatError } from '../errors.js';
import { GPT } from './gpt2/model.js';
import type { GPTConfig } from './gpt2/config.js';

/**
 * A model's parameters as safetensors entries (HF names; a tied tensor once,
 * under its first name, as `transformers` saves GPT-2 without `lm_head.weight`).
 * The arrays are shared, not copied.
 */
export function modelTensors(model: Module): Map<string, StTensor> {
  const out = new Map<string, StTensor>();
  for (const [name, t] of model.namedParameters()) {
    out.set(name, { dtype: 'F32', shape: [...t.shape], data: t.data as Float32Array });
  }
  return out;
}

/** What {@link saveModel} writes besides the weights. */
export interface SaveModelOptions {
  /** HF config fields (`config.json`). */
  config: object;
  /** HF tokenizers `tokenizer.json` content. */
  tokenizerJson?: object;
  /** `generation_config.json` content (HF snake_case fields). */
  generationConfig?: object;
  trainerState?: object;
  optimizerTensors?: Map<string, StTensor>;
  extraFiles?: Record<string, string | Uint8Array>;
}

/**
 * Save a model directory in Hugging Face layout (`config.json`,
 * `model.safetensors`, `tokenizer.json`, `generation_config.json`, …). The
 * directory is replaced crash-safely (see `src/io/checkpoint.ts`).
 */
export function saveModel(dir: string, model: Module, opts: SaveModelOptions): void {
  const ck: CheckpointToSave = {
    config: opts.config,
    tensors: modelTensors(model),
    tokenizerJson: opts.tokenizerJson,
    generationConfig: opts.generationConfig,
    trainerState: opts.trainerState,
    optimizerTensors: opts.optimizerTensors,
    extraFiles: opts.extraFiles,
  };
  saveCheckpoint(dir, ck);
}

/** Result of loading weights into a model. */
export interface LoadReport {
  /** Parameters the checkpoint did not provide (left at their initial values). */
  missing: string[];
  /** Checkpoint tensors the model has no parameter for (ignored). */
  unexpected: string[];
}

// Buffers that transformers' GPT-2 may save but which are not parameters (the causal mask).
const GPT2_BUFFERS = /\.attn\.(bias|masked_bias)$/;

/**
 * Map HF GPT-2 checkpoint names onto {@link GPT}'s: a bare `GPT2Model`
 * (`h.0.…`, `wte.weight`) gets the `transformer.` prefix; causal-mask buffers
 * are dropped; a tied `lm_head.weight` is dropped (it is `transformer.wte.weight`).
 */
export function gpt2StateDict(tensors: Map<string, StTensor>): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  for (const [name, t] of tensors) {
    if (GPT2_BUFFERS.test(name) || name === 'lm_head.weight') continue;
    const full = name.startsWith('transformer.') ? name : `transformer.${name}`;
    out.set(full, fromArray(t.data, t.shape, t.dtype === 'I32' ? 'int32' : 'float32'));
  }
  return out;
}

/**
 * Load a GPT-2 model from a Hugging Face directory on disk (never a network call).
 * @param dir directory with `config.json` (`model_type` `gpt2`) and `model.safetensors`
 * @param opts.generator the generator dropout will draw from (so that a resumed run continues exactly)
 * @returns the model (eval mode), which tensors were missing/unexpected, and `generation_config.json` when present
 * @throws FileFormatError for a missing/corrupt directory, a non-GPT-2 config,
 *   or when required tensors are missing (named)
 * @throws ShapeError when a tensor's shape does not match the config (named)
 */
export function loadGPT(dir: string, opts: { generator?: Generator } = {}): { model: GPT; report: LoadReport; generationConfig?: Record<string, unknown> } {
  if (!existsSync(join(dir, 'config.json'))) throw missingConfigError(dir);
  const ck = loadCheckpoint(dir);
  const config = ck.config as Partial<GPTConfig> & { model_type?: string };
  if (config.model_type !== 'gpt2') {
    throw new FileFormatError(`${join(dir, 'config.json')}: model_type is "${String(config.model_type)}", expected "gpt2"`);
  }
  const model = new GPT(config, { generator: opts.generator, init: false });
  const sd = gpt2StateDict(ck.tensors);
  const { missing, unexpected } = model.loadStateDict(sd, false);
  const required = missing.filter((n) => n !== 'lm_head.weight');
  if (required.length) {
    throw new FileFormatError(`${join(dir, 'model.safetensors')}: missing tensors ${required.join(', ')}; the file does not hold a complete GPT-2 model`);
  }
  model.eval();
  return { model, report: { missing, unexpected }, generationConfig: ck.generationConfig };
}

