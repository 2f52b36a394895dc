/**
 * BERT's Hugging Face weight names: loading `BertForMaskedLM`,
 * `BertLMHeadModel`, `BertForPreTraining` and bare `BertModel` (for its
 * encoder) directories from disk as `transformers`' `save_pretrained` writes
 * them (never a network call). Tied weights are resolved, tensors the model
 * lacks or has in excess are reported by name, and wrong shapes are rejected.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fromArray, type Generator, type Tensor } from '../../tensor/index.js';
import { loadCheckpoint, missingConfigError } from '../../io/checkpoint.js';
import type { StTensor } from '../../io/safetensors.js';
import { FileFormatError } from '../../errors.js';
import { BertForMaskedLM } from './model.js';
import type { BertConfig } from './config.js';
import type { LoadReport } from '../pretrained.js';

// TF-converted BERT checkpoints name LayerNorm parameters gamma/beta (transformers renames them on load too).
const TF_LAYERNORM = /\.(gamma|beta)$/;
// Buffers, not parameters.
const BERT_BUFFERS = /(^|\.)embeddings\.position_ids$/;

/**
 * Map HF BERT checkpoint names onto {@link BertForMaskedLM}'s: a bare
 * `BertModel` (`embeddings.…`, `encoder.…`, `pooler.…`) gets the `bert.`
 * prefix; `LayerNorm.gamma`/`beta` become `weight`/`bias`; the
 * `position_ids` buffer is dropped; `cls.predictions.decoder.weight` is
 * dropped when the decoder is tied to the word embeddings (as transformers'
 * `tie_weights()` makes it), and `cls.predictions.decoder.bias` stands in for
 * `cls.predictions.bias` (they are one tensor in transformers) when the latter
 * is absent. Everything else keeps its name (and is reported if unknown).
 */
export function bertStateDict(tensors: Map<string, StTensor>, tied = true): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  for (const [raw, t] of tensors) {
    if (BERT_BUFFERS.test(raw)) continue;
    let name = raw.replace(TF_LAYERNORM, (_, g: string) => (g === 'gamma' ? '.weight' : '.bias'));
    if (/^(embeddings|encoder|pooler)\./.test(name)) name = `bert.${name}`;
    if (name === 'cls.predictions.decoder.weight' && tied) continue;
    if (name === 'cls.predictions.decoder.bias') {
      if (tensors.has('cls.predictions.bias')) continue;
      name = 'cls.predictions.bias';
    }
    out.set(name, fromArray(t.data, t.shape, t.dtype === 'I32' ? 'int32' : 'float32'));
  }
  return out;
}

/** What {@link loadBert} returns. */
export interface LoadedBert {
  model: BertForMaskedLM;
  /** Missing and unexpected tensor names (e.g. `bert.pooler.dense.weight` of a `BertForPreTraining` checkpoint is unexpected). */
  report: LoadReport;
  config: Record<string, unknown>;
}

/**
 * Load a BERT masked-LM from a Hugging Face directory on disk.
 * @param dir directory with `config.json` (`model_type` `bert`) and `model.safetensors`
 * @param opts.generator the generator dropout draws from (resumed training continues exactly)
 * @param opts.requireHead when true (default) the MLM head `cls.predictions.*` must be present;
 *   false accepts a bare `BertModel` (the head stays at zeros, reported as missing)
 * @returns the model (eval mode) and which tensors were missing/unexpected
 * @throws FileFormatError for a missing/corrupt directory, a non-BERT config, or missing required tensors (named)
 * @throws ShapeError when a tensor's shape does not match the config (named, with both shapes)
 */
export function loadBert(dir: string, opts: { generator?: Generator; requireHead?: boolean } = {}): LoadedBert {
  if (!existsSync(join(dir, 'config.json'))) throw missingConfigError(dir);
  const ck = loadCheckpoint(dir);
  const config = ck.config as Partial<BertConfig> & Record<string, unknown>;
  if (config.model_type !== 'bert') {
    throw new FileFormatError(`${join(dir, 'config.json')}: model_type is "${String(config.model_type)}", expected "bert"`);
  }
  if (config.is_decoder === true) {
    throw new FileFormatError(`${join(dir, 'config.json')}: is_decoder is true (a causal BertLMHeadModel); muse's BERT is bidirectional (masked LM) only`);
  }
  const model = new BertForMaskedLM(config, { generator: opts.generator, init: false });
  const sd = bertStateDict(ck.tensors, model.config.tie_word_embeddings);
  const { missing, unexpected } = model.loadStateDict(sd, false);
  const requireHead = opts.requireHead ?? true;
  const required = missing.filter((n) => requireHead || !n.startsWith('cls.'));
  if (required.length) {
    const headOnly = required.every((n) => n.startsWith('cls.'));
    throw new FileFormatError(
      `${join(dir, 'model.safetensors')}: missing tensors ${required.join(', ')}; ` +
        (headOnly ? 'the checkpoint has no masked-LM head (a bare BertModel?); fill-mask needs a BertForMaskedLM checkpoint' : 'the file does not hold a complete BERT model'),
    );
  }
  model.eval();
  return { model, report: { missing, unexpected }, config: ck.config };
}
