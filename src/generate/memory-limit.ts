/**
 * The memory check of `generate()`: the decoding rows (prompts × beams, or
 * prompts × numReturnSequences when sampling) each hold a KV cache, a row of
 * logits and their token history, all decoded as one batch. A request that
 * cannot fit is refused before any work, naming the option to lower, instead
 * of growing until the process is killed.
 */
import { ConfigError } from '../errors.js';
import type { CausalLM } from '../models/causal-lm.js';

/** Default limit of {@link checkGenerationMemory}: 2 GiB. */
export const DEFAULT_GENERATION_MEMORY_BYTES = 2 * 1024 ** 3;

function human(bytes: number): string {
  return bytes >= 1024 ** 3 ? `${(bytes / 1024 ** 3).toFixed(1)} GiB` : `${Math.max(1, Math.round(bytes / 1024 ** 2))} MiB`;
}

/**
 * Estimated bytes of one decoding row: its KV cache at the longest context it
 * can reach (`min(maxPositions, columns + maxNewTokens)`), about four copies
 * of its logits (model output, processed scores, beam candidates/keys), and
 * its token ids and log-probs, and with beam search its candidates (each
 * beam proposes up to `2 · numBeams` of them per step, about 64 bytes each).
 * @param beams numBeams with beam search, else 1
 */
export function bytesPerDecodingRow(model: CausalLM, columns: number, maxNewTokens: number, beams = 1): number {
  const positions = Math.min(model.maxPositions, columns + maxNewTokens);
  const kv = (model.cacheBytesPerPosition ?? 0) * positions;
  const logits = 4 * 4 * model.vocabSize;
  const history = (4 + 8) * Math.min(columns + maxNewTokens, 1e6);
  const candidates = beams > 1 ? 64 * Math.min(model.vocabSize, 2 * beams) : 0;
  return kv + logits + history + candidates;
}

/**
 * Refuse a generation whose rows cannot fit in `limitBytes`.
 * @param prompts number of prompts
 * @param perPrompt rows per prompt: numBeams with beam search, numReturnSequences when sampling
 * @param what the option that sets `perPrompt` (for the message)
 * @throws ConfigError naming the rows, the estimate, the limit and how many rows would fit
 */
export function checkGenerationMemory(
  model: CausalLM,
  prompts: number,
  perPrompt: number,
  what: 'numBeams' | 'numReturnSequences',
  columns: number,
  maxNewTokens: number,
  limitBytes = DEFAULT_GENERATION_MEMORY_BYTES,
): void {
  const rows = prompts * perPrompt;
  const perRow = bytesPerDecodingRow(model, columns, maxNewTokens, what === 'numBeams' ? perPrompt : 1);
  const total = rows * perRow;
  if (total <= limitBytes) return;
  const fit = Math.max(0, Math.floor(limitBytes / perRow / prompts));
  throw new ConfigError(
    `generation option ${what} ${perPrompt} × ${prompts} prompt${prompts === 1 ? '' : 's'} = ${rows} rows decoded at once would need about ${human(total)} ` +
      `(${human(perRow)} per row: KV cache, logits over ${model.vocabSize} tokens, token history), over the ${human(limitBytes)} limit; ` +
      (fit >= 1 ? `at most ${fit} fit — lower ${what}, or generate in several calls` : `even one row does not fit — lower maxNewTokens or raise the limit`) +
      ' (the library option memoryLimitBytes raises the limit)',
  );
}
