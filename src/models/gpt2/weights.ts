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
import { FileFormatError, MuseError } from '../../errors.js';
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
 * Refuse weights that would load into garbage: a tensor stored as integers
 * (GPT-2's are floating point). Warn, as transformers does not, when a stored
 * `lm_head.weight` differs from `wte` while `tie_word_embeddings` is absent:
 * HF's default ties them, so the stored head is discarded.
 */
function checkWeightTensors(tensors: Map<string, StTensor>, path: string, config: Record<string, unknown>, warn: (m: string) => void): void {
  for (const [name, t] of tensors) {
    if (GPT2_BUFFERS.test(name)) continue;
    if (!['F32', 'F16', 'BF16', 'F64'].includes(t.dtype)) {
      throw new FileFormatError(`${path}: tensor ${name} is stored as ${t.dtype}; GPT-2 weights are floating point (F32, F16 or BF16) — the file is not a GPT-2 checkpoint or was converted wrongly`);
    }
  }
  const head = tensors.get('lm_head.weight');
  const wte = tensors.get('transformer.wte.weight') ?? tensors.get('wte.weight');
  if (head && wte && config.tie_word_embeddings === undefined && head.data.length === wte.data.length) {
    let differ = false;
    for (let i = 0; i < head.data.length && !differ; i++) differ = head.data[i] !== wte.data[i];
    if (differ) {
      warn(`${path}: lm_head.weight differs from wte but config.json has no tie_word_embeddings, so the head is tied to wte (Hugging Face's default) and the stored head weights are discarded; set "tie_word_embeddings": false only if the model really has its own head (muse does not support untied GPT-2 heads)`);
    }
  }
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
export function loadGPT(dir: string, opts: { generator?: Generator; onWarning?: (message: string) => void } = {}): { model: GPT; report: LoadReport; generationConfig?: Record<string, unknown> } {
  if (!existsSync(join(dir, 'config.json'))) throw missingConfigError(dir);
  // One copy of the weights: tensors are views into the file's buffer, and the model adopts them.
  const ck = loadCheckpoint(dir, { share: true });
  const config = ck.config as Partial<GPTConfig> & { model_type?: string };
  if (config.model_type !== 'gpt2') {
    throw new FileFormatError(`${join(dir, 'config.json')}: model_type is "${String(config.model_type)}", expected "gpt2"`);
  }
  const configPath = join(dir, 'config.json');
  const weightsPath = join(dir, existsSync(join(dir, 'model.safetensors')) ? 'model.safetensors' : 'model.safetensors.index.json');
  let model: GPT;
  try {
    model = new GPT(config, { generator: opts.generator, init: false });
  } catch (err) {
    // The config's own errors name the file they came from.
    if (err instanceof MuseError) throw new FileFormatError(`${configPath}: ${err.message.replace(/^GPT config: /, '')}`);
    throw err;
  }
  checkWeightTensors(ck.tensors, weightsPath, config, opts.onWarning ?? ((m) => process.stderr.write(`muse: warning: ${m}\n`)));
  const sd = gpt2StateDict(ck.tensors);
  let loaded: { missing: string[]; unexpected: string[] };
  try {
    loaded = model.loadStateDict(sd, false, { adopt: true });
  } catch (err) {
    if (err instanceof MuseError) throw new FileFormatError(`${weightsPath}: ${err.message} (against ${configPath})`);
    throw err;
  }
  const { missing, unexpected } = loaded;
  const required = missing.filter((n) => n !== 'lm_head.weight');
  if (required.length) {
    throw new FileFormatError(`${weightsPath}: missing tensors ${required.join(', ')}; the file does not hold a complete GPT-2 model`);
  }
  if (unexpected.length) {
    const layers = new Set(unexpected.map((n) => /\.h\.(\d+)\./.exec(n)?.[1]).filter((x): x is string => x !== undefined));
    throw new FileFormatError(
      `${weightsPath}: ${unexpected.length} tensor${unexpected.length === 1 ? '' : 's'} the config does not use (${unexpected.slice(0, 3).join(', ')}${unexpected.length > 3 ? ', …' : ''})` +
        (layers.size ? `: the file has layer${layers.size === 1 ? '' : 's'} ${[...layers].join(', ')} beyond ${configPath}'s n_layer ${model.config.n_layer}` : `; ${configPath} does not describe this file`) +
        '; fix config.json to match the weights',
    );
  }
  model.eval();
  return { model, report: { missing, unexpected }, generationConfig: ck.generationConfig };
}

