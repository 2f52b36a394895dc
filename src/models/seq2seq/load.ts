import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Seq2SeqTransformer, type Seq2SeqDecoderLM } from './model.js';
import type { Seq2SeqConfig } from './config.js';
import type { LoadedSeq2Seq } from '../loaded.js';
import { loadCheckpoint, missingConfigError } from '../../io/checkpoint.js';
import { fromArray, type Tensor } from '../../tensor/index.js';
import { loadTokenizer, type Tokenizer } from '../../tokenizers/index.js';
import { generate, generationConfigFromHF, type GenerationConfig, type GenerateOptions } from '../../generate/index.js';
import { FileFormatError } from '../../errors.js';
import { hasCjk } from '../../eval/index.js';
import type { CausalLM } from '../causal-lm.js';
import { recipeScript } from '../../pipelines/runs.js';

/** The `model_type` of a muse encoder–decoder checkpoint. */
export const SEQ2SEQ_MODEL_TYPE = 'muse-seq2seq';

/**
 * Load a `muse-seq2seq` model directory (`config.json`, `model.safetensors`,
 * `tokenizer.json`, `generation_config.json`), from disk only.
 * @throws FileFormatError for a missing directory/file, another model_type, or missing tensors (named)
 * @throws ShapeError when a tensor's shape does not match the config (named)
 */
export function loadSeq2SeqDir(dir: string, tokenizerDir: string = dir): LoadedSeq2Seq {
  if (!existsSync(join(dir, 'config.json'))) {
    throw missingConfigError(dir, "a seq2seq model directory comes from `muse finetune --arch seq2seq` (its best/ or last/)");
  }
  const ck = loadCheckpoint(dir);
  const config = ck.config as Partial<Seq2SeqConfig> & { model_type?: string };
  if (config.model_type !== SEQ2SEQ_MODEL_TYPE) {
    throw new FileFormatError(`${join(dir, 'config.json')}: model_type is "${String(config.model_type)}", expected "${SEQ2SEQ_MODEL_TYPE}"`);
  }
  const model = new Seq2SeqTransformer(config, { init: false });
  const sd = new Map<string, Tensor>();
  for (const [name, t] of ck.tensors) sd.set(name, fromArray(t.data, t.shape, t.dtype === 'I32' ? 'int32' : 'float32'));
  const { missing, unexpected } = model.loadStateDict(sd, false);
  if (missing.length) {
    throw new FileFormatError(`${join(dir, 'model.safetensors')}: missing tensors ${missing.join(', ')}; the file does not hold a complete muse-seq2seq model for this config`);
  }
  model.eval();
  const tokenizer = loadTokenizer(tokenizerDir);
  const generationConfig: GenerationConfig = ck.generationConfig ? generationConfigFromHF(ck.generationConfig) : {};
  generationConfig.bosTokenId = model.config.decoder_start_token_id;
  const script = recipeScript(dir);
  return { kind: 'seq2seq', family: 'seq2seq', modelType: SEQ2SEQ_MODEL_TYPE, dir, model, tokenizer, generationConfig, script, report: { missing, unexpected } };
}

/**
 * Source token ids of a beginning: its tokens (the last ones when it is too
 * long) followed by the end-of-text token, at most `maxLength` in all — the
 * same encoding `finetuneSeq2Seq` trains with.
 */
export function encodeSource(tokenizer: Tokenizer, text: string, eosId: number, maxLength: number): number[] {
  const ids = tokenizer.encode(text, { addSpecialTokens: false }).ids;
  const keep = ids.slice(Math.max(0, ids.length - (maxLength - 1)));
  return [...keep, eosId];
}

/**
 * A decoder {@link Seq2SeqDecoderLM} bound to the encoded `beginnings`, ready
 * for `generate()`/`stream()` with an empty prompt per row (decoding starts
 * from `bosTokenId` = the decoder start token, which `loadSeq2SeqDir` puts
 * in the generation defaults).
 */
export function bindBeginnings(loaded: { model: Seq2SeqTransformer; tokenizer: Tokenizer }, beginnings: readonly string[]): Seq2SeqDecoderLM {
  const cfg = loaded.model.config;
  return loaded.model.bindSource(beginnings.map((b) => encodeSource(loaded.tokenizer, b, cfg.eos_token_id, cfg.max_position_embeddings)));
}

/**
 * Generate an ending for every beginning in one batched decoding (greedy,
 * sampling or beam search as `config` says).
 * @returns the decoded endings (special tokens skipped, trimmed), in order
 */
export function generateEndings(
  loaded: { model: Seq2SeqTransformer; tokenizer: Tokenizer },
  beginnings: readonly string[],
  config: GenerationConfig,
  opts: Omit<GenerateOptions, 'tokenizer'> = {},
): string[] {
  if (beginnings.length === 0) return [];
  const lm = bindBeginnings(loaded, beginnings);
  const cfg = { ...config, bosTokenId: loaded.model.config.decoder_start_token_id, numReturnSequences: 1 };
  const out = generate(lm, beginnings.map(() => []), cfg, { onWarning: () => {}, ...opts, tokenizer: loaded.tokenizer });
  return out.sequences.map((s) => loaded.tokenizer.decode(s, { skipSpecialTokens: true }).trim());
}

/** What a generation command decodes for one prompt. */
export interface DecodingTarget {
  /** The model `generate()`/`stream()` drive. */
  model: CausalLM;
  /** The prompt given to `generate()`/`stream()` (empty for a seq2seq decoder: it starts from the decoder start token). */
  prompt: string;
  /** Text to print before the generated text (the beginning, and a space between English sentences). */
  prefix: string;
}

/**
 * The decoding target of a seq2seq model for `beginning`: its decoder bound
 * to the encoded beginning, an empty decoder prompt, and the beginning (plus
 * a space unless it is Chinese) to print before the ending.
 */
export function seq2seqTarget(loaded: LoadedSeq2Seq, beginning: string): DecodingTarget {
  const joiner = beginning.length === 0 || hasCjk(beginning) ? '' : ' ';
  return { model: bindBeginnings(loaded, [beginning]), prompt: '', prefix: beginning + joiner };
}
