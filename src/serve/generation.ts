/**
 * One text generation as the server runs it: the prompt converted to the
 * model's script, `stream()` from src/generate (which yields the event loop
 * every ~10 ms, so other requests are served between tokens), OpenAI-style
 * stop sequences, cancellation by an AbortSignal, token counts for `usage`.
 */
import { generateAsync, stream, type GenerationConfig } from '../generate/index.js';
import { toScript } from '../data/script.js';
import type { LoadedCausalLM } from '../models/loaded.js';
import { StopTrimmer } from './stop-trimmer.js';

/** Why a served generation ended, in OpenAI's words plus `abort` (the client left or the server stopped). */
export type ServedFinishReason = 'stop' | 'length' | 'abort';

/** The end of a generation (the return value of {@link TextGeneration}'s iterator). */
export interface GenerationSummary {
  text: string;
  finishReason: ServedFinishReason;
  /** Prompt tokens the model saw (after truncation to the context). */
  promptTokens: number;
  /** Tokens generated (an ending EOS counts, as HF and OpenAI count it). */
  completionTokens: number;
}

/** Text pieces as they are generated; the iterator's return value is the {@link GenerationSummary}. */
export type TextGeneration = AsyncGenerator<string, GenerationSummary, void>;

/** Options of {@link startGeneration}. */
export interface StartOptions {
  /** OpenAI stop sequences: generation ends before the first one, which is left out. */
  stop?: readonly string[];
  /** Aborting ends the generation at the next token with finish reason `abort`. */
  signal?: AbortSignal;
  /** Warnings from decoding (prompt truncated, …); default: ignored. */
  onWarning?: (message: string) => void;
}

function mapReason(r: string | undefined): ServedFinishReason {
  return r === 'length' ? 'length' : r === 'abort' ? 'abort' : 'stop';
}

/**
 * Validate and start one streamed generation.
 *
 * Validation (bad options, numBeams > 1, token ids outside the vocabulary)
 * happens here, synchronously, before any model work, so the caller can
 * answer 400 before it opens a stream.
 *
 * @param loaded the model, tokenizer and script
 * @param prompt text to continue (converted to the model's script first)
 * @param config HF generation options (camelCase), already merged with the model's defaults
 * @throws ConfigError naming the bad option
 */
export function startGeneration(loaded: LoadedCausalLM, prompt: string, config: GenerationConfig, opts: StartOptions = {}): TextGeneration {
  const inner = new AbortController();
  const forward = (): void => inner.abort();
  if (opts.signal?.aborted) inner.abort();
  const text = toScript(prompt, loaded.script);
  const s = stream(loaded.model, loaded.tokenizer, text, config, { signal: inner.signal, onWarning: opts.onWarning ?? (() => {}) });
  const promptIds = text.length > 0 ? loaded.tokenizer.encode(text, { addSpecialTokens: false }).ids.length : 1;
  const stops = new StopTrimmer(opts.stop ?? []);
  async function* run(): TextGeneration {
    opts.signal?.addEventListener('abort', forward, { once: true });
    let out = '';
    try {
      for await (const piece of s) {
        const emit = stops.push(piece);
        if (emit) {
          out += emit;
          yield emit;
        }
        // A stop sequence ends decoding at the next token (the stream then finishes with reason 'abort').
        if (stops.done && !inner.signal.aborted) inner.abort();
      }
      const rest = stops.flush();
      if (rest) {
        out += rest;
        yield rest;
      }
    } finally {
      opts.signal?.removeEventListener('abort', forward);
    }
    const o = s.output;
    const dropped = o?.promptTokensDropped[0] ?? 0;
    return {
      text: out,
      finishReason: stops.done ? 'stop' : mapReason(o?.finishReasons[0]),
      promptTokens: promptIds - dropped,
      completionTokens: o?.sequences[0]?.length ?? 0,
    };
  }
  return run();
}

/** Drain a generation: the whole text and its summary. */
export async function collect(gen: TextGeneration): Promise<GenerationSummary> {
  for (;;) {
    const r = await gen.next();
    if (r.done) return r.value;
  }
}

/**
 * Beam search or several sequences at once (what `stream()` cannot do):
 * `generateAsync`, which yields the event loop between decoding steps (other
 * requests and `/healthz` are served meanwhile) and stops at the next step
 * once `signal` aborts (a client disconnect).
 * @throws ConfigError naming the bad option
 */
export async function generateAll(loaded: LoadedCausalLM, prompt: string, config: GenerationConfig, signal?: AbortSignal): Promise<GenerationSummary[]> {
  const text = toScript(prompt, loaded.script);
  const ids = text.length ? loaded.tokenizer.encode(text, { addSpecialTokens: false }).ids : [];
  const out = await generateAsync(loaded.model, [ids], config, { tokenizer: loaded.tokenizer, signal, onWarning: () => {} });
  return out.sequences.map((seq, i) => ({
    text: loaded.tokenizer.decode(seq, { skipSpecialTokens: true }),
    finishReason: mapReason(out.finishReasons[i]),
    promptTokens: Math.max(1, ids.length) - (out.promptTokensDropped[0] ?? 0),
    completionTokens: seq.length,
  }));
}
