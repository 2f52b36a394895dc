/**
 * Generation defaults for a model that ships no `generation_config.json`
 * (every GGUF file, and Hugging Face directories without one). Hugging Face
 * would then decode greedily for `max_length` 20 tokens, which reads as a
 * broken model; muse follows llama.cpp's sampler defaults instead (the same
 * values muse writes into its own bundles).
 */
import type { GenerationConfig } from './config.js';

/** New tokens at most when a model gives no budget of its own (llama.cpp's `n_predict` for its server examples is similar). */
export const FALLBACK_MAX_NEW_TOKENS = 256;

/**
 * Defaults for a model without `generation_config.json`: sampling on with
 * temperature 0.8, top-k 40, top-p 0.95 (llama.cpp's `common_params_sampling`),
 * and `maxNewTokens` 256 bounded by the context length.
 * @param contextLength the model's positions (tokens); the budget never exceeds it
 * @returns a fresh configuration to spread under the file's own fields (ids)
 */
export function fallbackGenerationDefaults(contextLength: number): GenerationConfig {
  const budget = Number.isFinite(contextLength) && contextLength > 0 ? Math.min(FALLBACK_MAX_NEW_TOKENS, Math.floor(contextLength)) : FALLBACK_MAX_NEW_TOKENS;
  return { doSample: true, temperature: 0.8, topK: 40, topP: 0.95, maxNewTokens: budget };
}
