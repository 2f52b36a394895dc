/**
 * Everything a decoding run needs, built and checked once before any model
 * work: the resolved configuration, prepared prompts, the token budget, the
 * processors and warpers, stopping criteria and the random generator.
 */
import { randomInt } from 'node:crypto';
import { checkGenerationMemory } from './memory-limit.js';
import { ConfigError } from '../errors.js';
import type { CausalLM } from '../models/causal-lm.js';
import { Generator } from '../tensor/random.js';
import { resolveGenerationConfig, type GenerationConfig, type ResolvedGenerationConfig } from './config.js';
import { PoemConstraint } from './constraints.js';
import { ProsodyConstraint } from './prosody-constraint.js';
import { buildLogitsProcessors, SuppressTokensLogitsProcessor, type LogitsProcessor, type RowContext } from './logits-process.js';
import { buildLogitsWarpers } from './logits-warp.js';
import { checkConfigIds, preparePrompts } from './prepare.js';
import type { RandomSource } from './sampling.js';
import { StopStringMatcher, type FinishReason } from './stopping.js';
import type { GenerationTokenizer } from './tokenizer.js';

/** One generated token, as reported to {@link GenerateOptions.onToken}. */
export interface TokenEvent {
  /** Index of the returned sequence (`prompt index × numReturnSequences + k`). */
  sequence: number;
  tokenId: number;
  /** Natural-log probability of the token under the processed distribution. */
  logprob: number;
}

/** Options of {@link generate} besides the generation config. */
export interface GenerateOptions {
  /** Needed for stopStrings, acrostic and form; supplies EOS/BOS/PAD ids the config leaves unset. */
  tokenizer?: GenerationTokenizer;
  /**
   * Called for every generated token as it is chosen (sampling and greedy);
   * with beam search, for the tokens of the returned sequences once the search ends.
   */
  onToken?: (event: TokenEvent) => void;
  /** Receives warnings (prompt truncated, window slid, ignored options); default: stderr. */
  onWarning?: (message: string) => void;
  /** Extra processors (HF `logits_processor`), applied after the built-in ones and before the warpers. */
  logitsProcessors?: LogitsProcessor[];
  /** Random source for sampling; overrides `seed`. */
  generator?: RandomSource;
  /** Tokens re-fed when the context window slides (default ⌊3·maxPositions/4⌋; see `runner.ts`). */
  windowKeep?: number;
  /** Stops generation: unfinished sequences end with finish reason `abort`. */
  signal?: AbortSignal;
  /**
   * Largest estimated memory of the decoding rows (KV caches, logits, token
   * history; see `memory-limit.ts`), in bytes; a larger request is refused
   * with a `ConfigError` before any work. Default 2 GiB.
   */
  memoryLimitBytes?: number;
}

/** The result of {@link generate}; arrays are indexed by returned sequence. */
export interface GenerateOutput {
  /** Generated token ids only (no prompt); an EOS that ended a sequence is included, as HF. */
  sequences: number[][];
  /** Natural-log probability of each generated token under the processed distribution. */
  logprobs: number[][];
  finishReasons: FinishReason[];
  /** Beam search only: HF's `sequences_scores` (sum of log-probs / length^lengthPenalty). */
  sequenceScores?: number[];
  /** Tokens dropped from the left of each prompt because it exceeded the context. */
  promptTokensDropped: number[];
}

/** A checked, ready-to-run decoding setup. */
export interface GenerationPlan {
  cfg: ResolvedGenerationConfig;
  prompts: number[][];
  dropped: number[];
  maxNewTokens: number;
  padId: number;
  /** Processors in HF order (+ user, + creative constraint). */
  processors: LogitsProcessor[];
  /** Warpers when sampling (null: greedy / plain beam search). */
  warpers: LogitsProcessor[] | null;
  constraint: PoemConstraint | null;
  stop: StopStringMatcher | null;
  rng: RandomSource;
  warn: (message: string) => void;
}

const defaultWarn = (message: string): void => {
  process.stderr.write(`muse: warning: ${message}\n`);
};

/**
 * Validate everything and build the plan.
 * @throws ConfigError / ShapeError before any model work (see {@link generate})
 */
export function planGeneration(
  model: CausalLM,
  inputIds: readonly (readonly number[])[],
  config: GenerationConfig,
  opts: GenerateOptions,
): GenerationPlan {
  const tok = opts.tokenizer;
  const cfg = resolveGenerationConfig(config, {
    eosTokenId: tok?.eosTokenId,
    bosTokenId: tok?.bosTokenId,
    padTokenId: tok?.padTokenId,
  });
  const warn = opts.onWarning ?? defaultWarn;
  const V = model.vocabSize;
  checkConfigIds(cfg, V);
  for (const [option, set] of [
    ['stopStrings', cfg.stopStrings.length > 0],
    ['acrostic', cfg.acrostic !== undefined],
    ['form', cfg.form !== undefined],
  ] as const) {
    if (set && !tok) throw new ConfigError(`generation option ${option} needs a tokenizer: pass { tokenizer } to generate()`);
  }
  if (opts.windowKeep !== undefined && !(Number.isInteger(opts.windowKeep) && opts.windowKeep >= 1 && opts.windowKeep <= model.maxPositions)) {
    throw new ConfigError(`windowKeep must be an integer in [1, ${model.maxPositions}], got ${opts.windowKeep}`);
  }
  if (!cfg.doSample) {
    const ignored: string[] = [];
    if (config.temperature !== undefined && config.temperature !== 1 && config.temperature !== 0) ignored.push('temperature');
    if (config.topK !== undefined && config.topK !== 50) ignored.push('topK');
    if (config.topP !== undefined && config.topP !== 1) ignored.push('topP');
    if (config.minP !== undefined) ignored.push('minP');
    if (config.typicalP !== undefined && config.typicalP !== 1) ignored.push('typicalP');
    if (ignored.length > 0) {
      warn(`doSample is false, so ${ignored.join(', ')} ${ignored.length > 1 ? 'are' : 'is'} ignored (as in HF); set doSample: true to sample`);
    }
  }

  const { prompts, dropped } = preparePrompts(inputIds, cfg, V, model.maxPositions, warn);
  const promptColumns = Math.max(...prompts.map((p) => p.length));
  const maxNewTokens = cfg.maxNewTokens ?? Math.max(0, cfg.maxLength - promptColumns);
  if (cfg.maxNewTokens === undefined && maxNewTokens === 0) {
    warn(`maxLength (${cfg.maxLength}) leaves no room after the ${promptColumns}-token prompt; set maxNewTokens`);
  }
  checkGenerationMemory(
    model,
    prompts.length,
    cfg.numBeams > 1 ? cfg.numBeams : cfg.numReturnSequences,
    cfg.numBeams > 1 ? 'numBeams' : 'numReturnSequences',
    promptColumns,
    maxNewTokens,
    opts.memoryLimitBytes,
  );

  const constraint =
    cfg.acrostic !== undefined || cfg.form !== undefined
      ? new PoemConstraint(tok as GenerationTokenizer, V, {
          acrostic: cfg.acrostic,
          form: cfg.form,
          eosTokenIds: cfg.eosTokenId,
          bosTokenId: cfg.bosTokenId,
        })
      : null;
  const extra: LogitsProcessor[] = [...(opts.logitsProcessors ?? [])];
  // before the form constraint, so a forced acrostic character still wins over a tonal slot
  if (cfg.form !== undefined && (cfg.rhyme || cfg.tones !== undefined)) {
    extra.push(
      new ProsodyConstraint(tok as GenerationTokenizer, V, {
        form: cfg.form,
        rhyme: cfg.rhyme,
        tones: cfg.tones,
        eosTokenIds: cfg.eosTokenId,
        bosTokenId: cfg.bosTokenId,
      }),
    );
  }
  if (constraint) extra.push(constraint);
  const processors = buildLogitsProcessors(cfg, V, extra);
  if (tok && tok.vocabSize < V) {
    // Padded model vocabularies (e.g. nanoGPT's 50304): ids the tokenizer cannot decode are never chosen.
    processors.unshift(new SuppressTokensLogitsProcessor(tok.vocabSize, V));
  }
  const sampling = cfg.doSample && cfg.temperature > 0;
  const minKeep = cfg.numBeams > 1 ? Math.max(2, cfg.eosTokenId.length + 1) : 1;
  const warpers = sampling ? buildLogitsWarpers(cfg, V, minKeep) : null;
  const rng = opts.generator ?? new Generator(cfg.seed ?? randomInt(0, 2 ** 48 - 1));
  const padId = cfg.padTokenId ?? cfg.eosTokenId[0] ?? 0;
  return {
    cfg,
    prompts,
    dropped,
    maxNewTokens,
    padId,
    processors,
    warpers,
    constraint,
    stop: cfg.stopStrings.length > 0 ? new StopStringMatcher(tok as GenerationTokenizer, cfg.stopStrings) : null,
    rng,
    warn,
  };
}

/** Finish reason for a row whose newest token is in `ctx`, or null to continue (not counting the budget). */
export function finishReason(plan: GenerationPlan, ctx: RowContext, token: number): FinishReason | null {
  if (plan.cfg.eosTokenId.includes(token)) return 'eos';
  if (plan.stop && plan.stop.matches(ctx.inputIds)) return 'stop';
  if (plan.constraint && plan.constraint.isComplete(ctx)) return 'stop';
  return null;
}
