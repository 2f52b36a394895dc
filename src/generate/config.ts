/**
 * The generation configuration: Hugging Face `GenerationConfig` vocabulary in
 * camelCase, its validation (every bad value is reported with the option's
 * name before any work starts) and the mapping to and from
 * `generation_config.json` (snake_case, as transformers writes it).
 */
import { ConfigError, FileFormatError, closestName } from '../errors.js';
import { writeFileAtomic } from '../io/atomic.js';
import { readJsonFile } from '../io/json.js';

/** HF's `early_stopping`: `true`, `false` (heuristic) or `'never'` (canonical beam search). */
export type EarlyStopping = boolean | 'never';

/** A fixed Chinese poem form: `5x4` is 4 lines of 5 characters (五言绝句), `7x8` 8 lines of 7 (七言律诗). */
export type PoemForm = '5x4' | '7x4' | '5x8' | '7x8';

/** The poem forms {@link GenerationConfig.form} accepts. */
export const POEM_FORMS: readonly PoemForm[] = ['5x4', '7x4', '5x8', '7x8'];

/** How strictly {@link GenerationConfig.tones} keeps lines on a tonal pattern: every position, or 一三五不论. */
export type ToneMode = 'strict' | 'loose';
/** The values {@link GenerationConfig.tones} accepts. */
export const TONE_MODES: readonly ToneMode[] = ['strict', 'loose'];

/**
 * HF's `prefix_allowed_tokens_fn`: called for every row at every step with the
 * row's input index and its tokens so far (prompt + generated); returns the ids
 * allowed next, or null/undefined to allow everything.
 */
export type PrefixAllowedTokensFn = (batchId: number, inputIds: Int32Array) => readonly number[] | null | undefined;

/**
 * Options for {@link generate}; names and meanings follow Hugging Face's
 * `GenerationConfig` (transformers ≥ 4.45), except where noted. Every field is
 * optional; {@link resolveGenerationConfig} fills HF's defaults.
 */
export interface GenerationConfig {
  /** Tokens to generate at most (excluding the prompt). Wins over `maxLength`. */
  maxNewTokens?: number;
  /** HF `max_length`: prompt + generated tokens at most (default 20, as HF); ignored when `maxNewTokens` is set. */
  maxLength?: number;
  /** EOS is suppressed until this many tokens have been generated (default 0). */
  minNewTokens?: number;
  /** Sample (true) or decode greedily / by beam search (false, HF's default). */
  doSample?: boolean;
  /**
   * Softmax temperature for sampling (default 1). 0 means greedy decoding, as
   * the OpenAI API and llama.cpp treat it; HF itself rejects 0.
   */
  temperature?: number;
  /** Keep the k most likely tokens when sampling (default 50, as HF; 0 disables; clamped to the vocabulary). */
  topK?: number;
  /** Nucleus sampling: keep the smallest set whose probability reaches topP (default 1 = off). */
  topP?: number;
  /** Drop tokens whose probability is below `minP` × the top probability (default off). */
  minP?: number;
  /** Locally typical sampling mass (default 1 = off). */
  typicalP?: number;
  /** CTRL repetition penalty over prompt + generated tokens (default 1 = off). */
  repetitionPenalty?: number;
  /** No n-gram of this size may occur twice (default 0 = off). */
  noRepeatNgramSize?: number;
  /** Token sequences that may never be generated. */
  badWordsIds?: number[][];
  /** HF `prefix_allowed_tokens_fn` hook (not serialised). */
  prefixAllowedTokensFn?: PrefixAllowedTokensFn;
  /** Beam width (default 1 = no beam search). */
  numBeams?: number;
  /** Exponent of the length normalisation `score / length^lengthPenalty` of finished beams (default 1). */
  lengthPenalty?: number;
  /** HF's beam stopping rule (default false). */
  earlyStopping?: EarlyStopping;
  /** Sequences returned per prompt (default 1; ≤ numBeams with beam search). */
  numReturnSequences?: number;
  /** End-of-sequence token id(s); defaults to the tokenizer's. */
  eosTokenId?: number | number[];
  /** Padding token id (fed at masked positions); defaults to the tokenizer's, else EOS, else 0. */
  padTokenId?: number;
  /** Beginning-of-sequence token id: an empty prompt starts from it (else from EOS). */
  bosTokenId?: number;
  /** Stop as soon as the text contains one of these strings (kept in the output, as HF). Needs a tokenizer. */
  stopStrings?: string | string[];
  /** Seed of the sampling generator (muse extension; unseeded runs draw a random seed). */
  seed?: number;
  /** Acrostic (藏头诗): line i starts with the i-th character (muse extension). Needs a tokenizer. */
  acrostic?: string;
  /** Fixed poem form (muse extension). Needs a tokenizer. */
  form?: PoemForm;
  /**
   * Rhyme (muse extension): the even lines of the form (and the first where
   * the poem rhymes it) end in one 中华新韵 rhyme group. Needs `form`.
   */
  rhyme?: boolean;
  /**
   * Tonal pattern (muse extension): keep every line on one of the form's four
   * standard 平仄 patterns, `strict` at every position or `loose`
   * (一三五不论). Needs `form`.
   */
  tones?: ToneMode;
}

/** A configuration with every HF default filled in (see {@link resolveGenerationConfig}). */
export interface ResolvedGenerationConfig {
  maxNewTokens: number | undefined;
  maxLength: number;
  minNewTokens: number;
  doSample: boolean;
  temperature: number;
  topK: number;
  topP: number;
  minP: number | undefined;
  typicalP: number;
  repetitionPenalty: number;
  noRepeatNgramSize: number;
  badWordsIds: number[][];
  prefixAllowedTokensFn: PrefixAllowedTokensFn | undefined;
  numBeams: number;
  lengthPenalty: number;
  earlyStopping: EarlyStopping;
  numReturnSequences: number;
  eosTokenId: number[];
  padTokenId: number | undefined;
  bosTokenId: number | undefined;
  stopStrings: string[];
  seed: number | undefined;
  acrostic: string | undefined;
  form: PoemForm | undefined;
  rhyme: boolean;
  tones: ToneMode | undefined;
}

/** camelCase option → HF snake_case key, for every serialisable option. */
const HF_NAMES: Record<Exclude<keyof GenerationConfig, 'prefixAllowedTokensFn'>, string> = {
  maxNewTokens: 'max_new_tokens',
  maxLength: 'max_length',
  minNewTokens: 'min_new_tokens',
  doSample: 'do_sample',
  temperature: 'temperature',
  topK: 'top_k',
  topP: 'top_p',
  minP: 'min_p',
  typicalP: 'typical_p',
  repetitionPenalty: 'repetition_penalty',
  noRepeatNgramSize: 'no_repeat_ngram_size',
  badWordsIds: 'bad_words_ids',
  numBeams: 'num_beams',
  lengthPenalty: 'length_penalty',
  earlyStopping: 'early_stopping',
  numReturnSequences: 'num_return_sequences',
  eosTokenId: 'eos_token_id',
  padTokenId: 'pad_token_id',
  bosTokenId: 'bos_token_id',
  stopStrings: 'stop_strings',
  seed: 'seed',
  acrostic: 'acrostic',
  form: 'form',
  rhyme: 'rhyme',
  tones: 'tones',
};

const KNOWN_OPTIONS = new Set<string>([...Object.keys(HF_NAMES), 'prefixAllowedTokensFn']);

function isInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v);
}

function isTokenId(v: unknown): v is number {
  return isInt(v) && v >= 0;
}

function describe(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'function') return 'a function';
  if (typeof v === 'number' && !Number.isFinite(v)) return String(v); // NaN, Infinity (JSON would say null)
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

/**
 * Refuse a request that asks for `minNewTokens` above `maxNewTokens` (both
 * given by the same caller: the CLI's flags, one HTTP request). Not part of
 * {@link validateGenerationConfig}, which, as HF's, accepts the pair: a
 * model's default `min_new_tokens` may exceed a shorter budget the user
 * chooses, and then end-of-text is simply forbidden throughout.
 * @throws ConfigError naming both options
 */
export function checkMinMaxNewTokens(min: number | undefined, max: number | undefined): void {
  if (min !== undefined && max !== undefined && min > max) {
    throw new ConfigError(`generation option minNewTokens (${min}) must be ≤ maxNewTokens (${max}): end-of-text would be forbidden for longer than the generation lasts`);
  }
}

function bad(option: string, value: unknown, want: string): ConfigError {
  return new ConfigError(`generation option ${option} must be ${want}, got ${describe(value)}`);
}

/** The closest known option name (edit distance ≤ 3, case-insensitive, `_` ignored), to suggest on a typo. */
function suggest(name: string): string | undefined {
  return closestName(name.replace(/_/g, ''), KNOWN_OPTIONS, 3);
}

/**
 * Check every option of `cfg` and throw on the first bad one, naming it. Runs
 * before any model work. Ranges follow HF's processors and `GenerationConfig.validate`
 * (e.g. topP in [0, 1], typicalP in (0, 1], repetitionPenalty > 0, numBeams ≥ 1,
 * numReturnSequences ≤ numBeams with beam search and 1 with greedy decoding),
 * except temperature, where 0 is accepted and means greedy.
 *
 * Checks that need the model (token ids below the vocabulary size) run in
 * {@link generate}.
 *
 * @throws ConfigError naming the option, the value and what is expected
 */
export function validateGenerationConfig(cfg: GenerationConfig): void {
  if (cfg === null || typeof cfg !== 'object' || Array.isArray(cfg)) {
    throw new ConfigError(`generation config must be an object, got ${describe(cfg)}`);
  }
  for (const key of Object.keys(cfg)) {
    if (!KNOWN_OPTIONS.has(key)) {
      const s = suggest(key);
      throw new ConfigError(`unknown generation option ${key}${s ? ` (did you mean ${s}?)` : ''}`);
    }
  }
  const c = cfg as Record<string, unknown>;
  const has = (k: keyof GenerationConfig): boolean => c[k] !== undefined;

  const intAtLeast = (k: keyof GenerationConfig, min: number): void => {
    if (has(k) && !(isInt(c[k]) && (c[k]) >= min)) {
      throw bad(k, c[k], min === 0 ? 'a non-negative integer' : `an integer ≥ ${min}`);
    }
  };
  const numberIn = (k: keyof GenerationConfig, lo: number, hi: number, loOpen: boolean, hiOpen: boolean): void => {
    if (!has(k)) return;
    const v = c[k];
    const ok =
      typeof v === 'number' && Number.isFinite(v) && (loOpen ? v > lo : v >= lo) && (hiOpen ? v < hi : v <= hi);
    if (!ok) {
      const range = `${loOpen ? '(' : '['}${lo}, ${hi === Infinity ? '∞' : hi}${hiOpen ? ')' : ']'}`;
      throw bad(k, v, `a number in ${range}`);
    }
  };

  intAtLeast('maxNewTokens', 1);
  intAtLeast('maxLength', 1);
  intAtLeast('minNewTokens', 0);
  if (has('doSample') && typeof c.doSample !== 'boolean') throw bad('doSample', c.doSample, 'true or false');
  numberIn('temperature', 0, Infinity, false, true);
  intAtLeast('topK', 0);
  numberIn('topP', 0, 1, false, false);
  numberIn('minP', 0, 1, false, false);
  numberIn('typicalP', 0, 1, true, false);
  numberIn('repetitionPenalty', 0, Infinity, true, true);
  intAtLeast('noRepeatNgramSize', 0);
  intAtLeast('numBeams', 1);
  numberIn('lengthPenalty', -Infinity, Infinity, true, true);
  intAtLeast('numReturnSequences', 1);
  if (has('earlyStopping') && !(typeof c.earlyStopping === 'boolean' || c.earlyStopping === 'never')) {
    throw bad('earlyStopping', c.earlyStopping, "true, false or 'never'");
  }
  if (has('badWordsIds')) {
    const b = c.badWordsIds;
    if (!Array.isArray(b) || !b.every((seq) => Array.isArray(seq) && seq.length > 0 && seq.every(isTokenId))) {
      throw bad('badWordsIds', b, 'a list of non-empty lists of token ids, e.g. [[12], [40, 41]]');
    }
  }
  if (has('prefixAllowedTokensFn') && typeof c.prefixAllowedTokensFn !== 'function') {
    throw bad('prefixAllowedTokensFn', c.prefixAllowedTokensFn, 'a function (batchId, inputIds) => allowed ids');
  }
  if (has('eosTokenId')) {
    const e = c.eosTokenId;
    if (!(isTokenId(e) || (Array.isArray(e) && e.length > 0 && e.every(isTokenId)))) {
      throw bad('eosTokenId', e, 'a token id or a non-empty list of token ids');
    }
  }
  for (const k of ['padTokenId', 'bosTokenId'] as const) {
    if (has(k) && !isTokenId(c[k])) throw bad(k, c[k], 'a token id (a non-negative integer)');
  }
  if (has('stopStrings')) {
    const s = c.stopStrings;
    const list = typeof s === 'string' ? [s] : s;
    if (!Array.isArray(list) || !list.every((x) => typeof x === 'string' && x.length > 0)) {
      throw bad('stopStrings', s, 'a non-empty string or a list of non-empty strings');
    }
  }
  if (has('seed') && !(isInt(c.seed) && (c.seed) >= 0)) {
    throw bad('seed', c.seed, 'a non-negative integer below 2^53');
  }
  if (has('acrostic') && !(typeof c.acrostic === 'string' && [...c.acrostic].length > 0)) {
    throw bad('acrostic', c.acrostic, 'a non-empty string, one character per line (e.g. "春夏秋冬")');
  }
  if (has('form') && !POEM_FORMS.includes(c.form as PoemForm)) {
    throw bad('form', c.form, `one of ${POEM_FORMS.join(', ')}`);
  }
  if (has('rhyme') && typeof c.rhyme !== 'boolean') throw bad('rhyme', c.rhyme, 'true or false');
  if (has('tones') && !TONE_MODES.includes(c.tones as ToneMode)) throw bad('tones', c.tones, `one of ${TONE_MODES.join(', ')}`);
  for (const k of ['rhyme', 'tones'] as const) {
    if (has(k) && c[k] !== false && !has('form')) {
      throw new ConfigError(
        `generation option ${k} needs a poem form (form: ${POEM_FORMS.join(', ')}): rhyme and tonal patterns are defined for 5- and 7-character quatrains and regulated verse; ` +
          'muse generate infers the form from a first line such as 床前明月光，',
      );
    }
  }
  if (has('form') && has('acrostic')) {
    const lines = Number((c.form as string).split('x')[1]);
    const chars = [...(c.acrostic as string)].length;
    if (chars > lines) {
      throw new ConfigError(
        `generation option acrostic has ${chars} characters but form ${c.form as string} has only ${lines} lines; ` +
          `use at most ${lines} characters or a longer form`,
      );
    }
  }

  // Cross-option rules of HF's GenerationConfig.validate().
  const numBeams = (c.numBeams as number | undefined) ?? 1;
  const nRet = (c.numReturnSequences as number | undefined) ?? 1;
  const doSample = (c.doSample as boolean | undefined) ?? false;
  if (numBeams > 1 && nRet > numBeams) {
    throw new ConfigError(
      `generation option numReturnSequences (${nRet}) must be ≤ numBeams (${numBeams}) with beam search`,
    );
  }
  if (numBeams === 1 && !doSample && nRet > 1) {
    throw new ConfigError(
      `generation option numReturnSequences is ${nRet} but greedy decoding returns one sequence per prompt; ` +
        'set doSample: true or numBeams ≥ numReturnSequences',
    );
  }
}

/**
 * Fill HF's defaults into a validated configuration (`max_length` 20,
 * `top_k` 50, `temperature` 1, `top_p` 1, `typical_p` 1, `num_beams` 1, …).
 * Token ids left undefined fall back to `fallback` (usually the tokenizer's).
 *
 * @throws ConfigError as {@link validateGenerationConfig}
 */
export function resolveGenerationConfig(
  cfg: GenerationConfig,
  fallback: { eosTokenId?: number | null; bosTokenId?: number | null; padTokenId?: number | null } = {},
): ResolvedGenerationConfig {
  validateGenerationConfig(cfg);
  const eos = cfg.eosTokenId ?? fallback.eosTokenId ?? undefined;
  const stop = cfg.stopStrings;
  return {
    maxNewTokens: cfg.maxNewTokens,
    maxLength: cfg.maxLength ?? 20,
    minNewTokens: cfg.minNewTokens ?? 0,
    doSample: cfg.doSample ?? false,
    temperature: cfg.temperature ?? 1,
    topK: cfg.topK ?? 50,
    topP: cfg.topP ?? 1,
    minP: cfg.minP,
    typicalP: cfg.typicalP ?? 1,
    repetitionPenalty: cfg.repetitionPenalty ?? 1,
    noRepeatNgramSize: cfg.noRepeatNgramSize ?? 0,
    badWordsIds: cfg.badWordsIds ?? [],
    prefixAllowedTokensFn: cfg.prefixAllowedTokensFn,
    numBeams: cfg.numBeams ?? 1,
    lengthPenalty: cfg.lengthPenalty ?? 1,
    earlyStopping: cfg.earlyStopping ?? false,
    numReturnSequences: cfg.numReturnSequences ?? 1,
    eosTokenId: eos === undefined || eos === null ? [] : Array.isArray(eos) ? [...eos] : [eos],
    padTokenId: cfg.padTokenId ?? fallback.padTokenId ?? undefined,
    bosTokenId: cfg.bosTokenId ?? fallback.bosTokenId ?? undefined,
    stopStrings: stop === undefined ? [] : typeof stop === 'string' ? [stop] : [...stop],
    seed: cfg.seed,
    acrostic: cfg.acrostic,
    form: cfg.form,
    rhyme: cfg.rhyme ?? false,
    tones: cfg.tones,
  };
}

/**
 * Read a `generation_config.json` object (snake_case, as transformers writes
 * it) into a {@link GenerationConfig}. Keys muse does not use (e.g.
 * `transformers_version`, `_from_model_config`, `output_scores`) are ignored;
 * `null` values mean "unset". The result is validated.
 *
 * @throws ConfigError when a known key holds a bad value (the message names the HF key)
 */
export function generationConfigFromHF(json: Record<string, unknown>): GenerationConfig {
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw new ConfigError(`generation_config.json must hold a JSON object, got ${describe(json)}`);
  }
  const out: Record<string, unknown> = {};
  for (const [camel, snake] of Object.entries(HF_NAMES)) {
    const v = json[snake];
    if (v !== undefined && v !== null) out[camel] = v;
  }
  // HF writes integral floats as `1.0`, which JSON.parse reads as 1 already; ints stay ints.
  try {
    validateGenerationConfig(out);
  } catch (err) {
    if (err instanceof ConfigError) {
      const m = /generation option (\w+)/.exec(err.message);
      const key = m ? HF_NAMES[m[1] as keyof typeof HF_NAMES] : undefined;
      throw new ConfigError(`generation_config.json: ${key ? `${key}: ` : ''}${err.message}`);
    }
    throw err;
  }
  return out;
}

/**
 * The `generation_config.json` object (snake_case) for `cfg`: only the options
 * that are set, HF names, in HF's spelling. `prefixAllowedTokensFn` (a
 * function) is not serialisable and is left out; muse's own options (`seed`,
 * `acrostic`, `form`) are kept: transformers loads unknown keys as attributes.
 *
 * @throws ConfigError as {@link validateGenerationConfig}
 */
export function toHF(cfg: GenerationConfig): Record<string, unknown> {
  validateGenerationConfig(cfg);
  const out: Record<string, unknown> = {};
  for (const [camel, snake] of Object.entries(HF_NAMES)) {
    const v = (cfg as Record<string, unknown>)[camel];
    if (v !== undefined) out[snake] = Array.isArray(v) ? structuredClone(v) : v;
  }
  return out;
}

/**
 * Load `generation_config.json` from `path`.
 * @throws FileFormatError when the file is missing or not JSON; ConfigError on bad values
 */
export function readGenerationConfig(path: string): GenerationConfig {
  const json = readJsonFile(path);
  if (json === null || typeof json !== 'object' || Array.isArray(json)) throw new FileFormatError(`${path}: expected a JSON object; fix or delete it`);
  return generationConfigFromHF(json as Record<string, unknown>);
}

/** Write `cfg` as `generation_config.json` at `path` (atomically, 2-space indented). */
export function writeGenerationConfig(path: string, cfg: GenerationConfig): void {
  writeFileAtomic(path, `${JSON.stringify(toHF(cfg), null, 2)}\n`);
}
