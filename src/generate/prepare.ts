/**
 * Checks and prepares the inputs of a generate() call before any model work:
 * token ids against the vocabulary, empty prompts (started from BOS, else
 * EOS, as HF starts from `bos_token_id`), and prompts longer than the model's
 * context (kept from the right, with a warning naming how many tokens were
 * dropped).
 */
import { ConfigError, ShapeError } from '../errors.js';
import type { ResolvedGenerationConfig } from './config.js';

/** Prompts ready for decoding. */
export interface PreparedPrompts {
  /** One non-empty token list per input row, each at most maxPositions long. */
  prompts: number[][];
  /** Tokens dropped from the left of each prompt (0 when it fit). */
  dropped: number[];
}

function checkId(option: string, id: number, vocabSize: number): void {
  if (id >= vocabSize) {
    throw new ConfigError(`generation option ${option} is ${id} but the model has only ${vocabSize} tokens (ids 0…${vocabSize - 1})`);
  }
}

/**
 * Check every token id of the configuration against the model's vocabulary.
 * @throws ConfigError naming the option
 */
export function checkConfigIds(cfg: ResolvedGenerationConfig, vocabSize: number): void {
  for (const e of cfg.eosTokenId) checkId('eosTokenId', e, vocabSize);
  if (cfg.padTokenId !== undefined) checkId('padTokenId', cfg.padTokenId, vocabSize);
  if (cfg.bosTokenId !== undefined) checkId('bosTokenId', cfg.bosTokenId, vocabSize);
  for (const seq of cfg.badWordsIds) for (const id of seq) checkId('badWordsIds', id, vocabSize);
}

/**
 * Validate `inputIds` and apply the empty-prompt and overflow rules.
 *
 * @param inputIds `[batch][promptLength]` token ids (rows may differ in length)
 * @param warn receives one message per truncated prompt
 * @throws ShapeError when inputIds is not a non-empty list of lists;
 *   ConfigError when an id is out of range, or a prompt is empty and neither
 *   bosTokenId nor eosTokenId is known
 */
export function preparePrompts(
  inputIds: readonly (readonly number[])[],
  cfg: ResolvedGenerationConfig,
  vocabSize: number,
  maxPositions: number,
  warn: (message: string) => void,
): PreparedPrompts {
  if (!Array.isArray(inputIds) || inputIds.length === 0 || !inputIds.every((r) => Array.isArray(r))) {
    throw new ShapeError('generate: inputIds must be a non-empty list of token-id lists ([batch][promptLength])');
  }
  const prompts: number[][] = [];
  const dropped: number[] = [];
  inputIds.forEach((row, b) => {
    for (let i = 0; i < row.length; i++) {
      const id = row[i];
      if (!Number.isInteger(id) || id < 0 || id >= vocabSize) {
        throw new ConfigError(
          `generate: inputIds[${b}][${i}] is ${id}, not a token id of this model (0…${vocabSize - 1}); ` +
            'was the prompt encoded with the model’s own tokenizer?',
        );
      }
    }
    let p = [...row];
    if (p.length === 0) {
      const start = cfg.bosTokenId ?? cfg.eosTokenId[0];
      if (start === undefined) {
        throw new ConfigError(
          `generate: prompt ${b} is empty and neither bosTokenId nor eosTokenId is set; ` +
            'give a prompt or set bosTokenId in the generation config',
        );
      }
      p = [start];
    }
    let d = 0;
    if (p.length > maxPositions) {
      d = p.length - maxPositions;
      p = p.slice(d);
      warn(
        `prompt ${b} has ${row.length} tokens but the model's context is ${maxPositions}; ` +
          `dropped the first ${d} tokens and kept the last ${maxPositions}`,
      );
    }
    prompts.push(p);
    dropped.push(d);
  });
  return { prompts, dropped };
}
