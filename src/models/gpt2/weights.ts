/**
 * GPT-2's Hugging Face weight names: loading `GPT2LMHeadModel` / bare
 * `GPT2Model` directories as `transformers` saves them (saving uses the
 * model's own names, which are HF's: see `src/models/pretrained.ts`).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Tensor, type Generator } from '../../tensor/index.js';
import { loadCheckpoint, missingConfigError } from '../../io/checkpoint.js';
import type { StTensor } from '../../io/safetensors.js';
import { FileFormatError } from '../../errors.js';
import type { LoadReport } from '../pretrained.js';
import { GPT } from './model.js';
import type { GPTConfig } from './config.js';

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
    out.set(full, new Tensor(t.data, t.shape, t.dtype === 'I32' ? 'int32' : 'float32'));
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
  // One copy of the weights: tensors are views into the file's buffer, and the model adopts them.
  const ck = loadCheckpoint(dir, { share: true });
  const config = ck.config as Partial<GPTConfig> & { model_type?: string };
  if (config.model_type !== 'gpt2') {
    throw new FileFormatError(`${join(dir, 'config.json')}: model_type is "${String(config.model_type)}", expected "gpt2"`);
  }
  const model = new GPT(config, { generator: opts.generator, init: false });
  const sd = gpt2StateDict(ck.tensors);
  const { missing, unexpected } = model.loadStateDict(sd, false, { adopt: true });
  const required = missing.filter((n) => n !== 'lm_head.weight');
  if (required.length) {
    throw new FileFormatError(`${join(dir, 'model.safetensors')}: missing tensors ${required.join(', ')}; the file does not hold a complete GPT-2 model`);
  }
  model.eval();
  return { model, report: { missing, unexpected }, generationConfig: ck.generationConfig };
}

