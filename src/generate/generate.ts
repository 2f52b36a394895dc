/**
 * `generate()` and `stream()`: the entry points of decoding.
 */
import { ConfigError } from '../errors.js';
import type { CausalLM } from '../models/causal-lm.js';
import { beamSearch, beamSearchSteps } from './beam-search.js';
import type { GenerationConfig } from './config.js';
import { planGeneration, type GenerateOptions, type GenerateOutput } from './plan.js';
import { SamplingDecoder } from './sample-decoder.js';
import { StreamDecoder } from '../tokenizers/index.js';
import type { GenerationTokenizer, TextStreamDecoder } from './tokenizer.js';

/**
 * Continue each prompt of `inputIds` with `model`, Hugging Face
 * `model.generate()` style: greedy decoding, multinomial sampling (doSample),
 * beam search (numBeams > 1) or beam sampling (both), with the logits
 * processors, warpers and stopping criteria `config` asks for.
 *
 * Prompts of different lengths are left-padded and decoded as one batch
 * (attention mask and position ids as HF builds them), and each returned
 * sequence is the same as decoding its prompt alone. An empty prompt starts
 * from bosTokenId (else eosTokenId). A prompt longer than the model's context
 * keeps its last `maxPositions` tokens (a warning says how many were
 * dropped); generating past the context slides the window (see `runner.ts`).
 *
 * @param model a decoder LM with a KV cache
 * @param inputIds `[batch][promptLength]` token ids; rows may differ in length
 * @param config HF generation options (camelCase), validated before any work
 * @param opts tokenizer (for stop strings / acrostic / form and default special ids), callbacks, generator
 * @returns `numReturnSequences` sequences per prompt (prompt-major), generated tokens only
 * @throws ConfigError naming the offending option, ShapeError for malformed inputIds — both before any model call
 */
export function generate(
  model: CausalLM,
  inputIds: number[][],
  config: GenerationConfig = {},
  opts: GenerateOptions = {},
): GenerateOutput {
  const plan = planGeneration(model, inputIds, config, opts);
  if (plan.cfg.numBeams > 1) {
    return beamSearch(model, plan, { windowKeep: opts.windowKeep, signal: opts.signal, onToken: opts.onToken });
  }
  const decoder = new SamplingDecoder(model, plan, opts.windowKeep);
  while (!decoder.finished) {
    const events = decoder.step(opts.signal);
    if (opts.onToken) for (const e of events) opts.onToken(e);
  }
  return decoder.output();
}

/**
 * {@link generate} that gives the event loop a turn at least every ~10 ms
 * (between decoding steps, beam search included), so a server stays
 * responsive during a long beam search and an `AbortSignal` fired by a
 * disconnect is seen at the next step (unfinished sequences end with
 * finish reason `abort`). Same arguments, validation and result as
 * {@link generate}.
 * @throws ConfigError / ShapeError as {@link generate}, before any model call
 */
export async function generateAsync(
  model: CausalLM,
  inputIds: number[][],
  config: GenerationConfig = {},
  opts: GenerateOptions = {},
): Promise<GenerateOutput> {
  const plan = planGeneration(model, inputIds, config, opts);
  let lastYield = performance.now();
  const breathe = async (): Promise<void> => {
    if (performance.now() - lastYield > 10) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      lastYield = performance.now();
    }
  };
  if (plan.cfg.numBeams > 1) {
    const it = beamSearchSteps(model, plan, { windowKeep: opts.windowKeep, signal: opts.signal, onToken: opts.onToken });
    for (;;) {
      const r = it.next();
      if (r.done) return r.value;
      await breathe();
    }
  }
  const decoder = new SamplingDecoder(model, plan, opts.windowKeep);
  while (!decoder.finished) {
    const events = decoder.step(opts.signal);
    if (opts.onToken) for (const e of events) opts.onToken(e);
    await breathe();
  }
  return decoder.output();
}

/** A stream of text pieces; once iterated to the end, `output` holds the ids, log-probs and finish reason. */
export interface TextStream extends AsyncIterable<string> {
  /** The generation result (one sequence), available after the stream ended; null before. */
  readonly output: GenerateOutput | null;
}

/** Options of {@link stream}. */
export interface StreamOptions extends Omit<GenerateOptions, 'tokenizer' | 'onToken'> {
  /** Builds the streaming decoder (default: `StreamDecoder` from src/tokenizers). */
  streamDecoder?: (tokenizer: GenerationTokenizer) => TextStreamDecoder;
  /** Keep special tokens (e.g. EOS) in the text (default false). */
  keepSpecialTokens?: boolean;
}

/**
 * Generate a continuation of `prompt` and yield its text as it is produced.
 * Pieces are whole characters: a character split over several byte-level
 * tokens appears once, complete (the streaming decoder holds back partial
 * UTF-8). The prompt is encoded without special tokens; an empty prompt
 * starts from BOS/EOS. The event loop gets a turn at least every ~10 ms, so
 * a server stays responsive while a long generation runs.
 *
 * Validation happens when stream() is called, before any model work.
 *
 * @throws ConfigError for bad options, and for numBeams > 1 or numReturnSequences > 1
 *   (a stream carries one sequence; HF's streamers reject beam search too)
 */
export function stream(
  model: CausalLM,
  tokenizer: GenerationTokenizer,
  prompt: string,
  config: GenerationConfig = {},
  opts: StreamOptions = {},
): TextStream {
  if ((config.numBeams ?? 1) > 1) {
    throw new ConfigError('stream() cannot stream beam search (numBeams > 1): beams change until the end; use generate()');
  }
  if ((config.numReturnSequences ?? 1) > 1) {
    throw new ConfigError('stream() yields one sequence: numReturnSequences must be 1; use generate() for several');
  }
  const ids = prompt.length > 0 ? tokenizer.encode(prompt, { addSpecialTokens: false }).ids : [];
  const plan = planGeneration(model, [ids], config, { ...opts, tokenizer });
  const decoder = new SamplingDecoder(model, plan, opts.windowKeep);
  const skipSpecialTokens = !opts.keepSpecialTokens;
  const text = opts.streamDecoder ? opts.streamDecoder(tokenizer) : new StreamDecoder(tokenizer, { skipSpecialTokens });
  let output: GenerateOutput | null = null;
  let started = false;
  async function* pieces(): AsyncGenerator<string> {
    if (started) throw new ConfigError('a TextStream can be iterated only once');
    started = true;
    let lastYield = performance.now();
    while (!decoder.finished) {
      for (const e of decoder.step(opts.signal)) {
        const piece = text.push(e.tokenId);
        if (piece) yield piece;
      }
      if (performance.now() - lastYield > 10) {
        await new Promise<void>((resolve) => setImmediate(resolve));
        lastYield = performance.now();
      }
    }
    const rest = text.flush();
    if (rest) yield rest;
    output = decoder.output();
  }
  return {
    [Symbol.asyncIterator]: () => pieces(),
    get output() {
      return output;
    },
  };
}
