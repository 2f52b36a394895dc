/**
 * Sentence VAE pipelines (what a library user calls): extract lines from a
 * corpus, train a {@link SentenceVAE} with the muse Trainer, load a model
 * directory, sample new lines from the prior, interpolate between two lines,
 * reconstruct a line, and measure ELBO / KL / active units.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Generator, Tensor, fromArray, noGrad, randn } from '../../tensor/index.js';
import { SentenceVAE, makeSentenceBatch, type SentenceBatch, type SentenceVAEConfig } from './sentence-vae.js';
import { activeUnits, klWeight, type KLSchedule } from './vae.js';
import { loadCheckpoint } from '../../io/checkpoint.js';
import { saveModel } from '../pretrained.js';
import { writeFileAtomic } from '../../io/atomic.js';
import { Trainer, type TrainSummary } from '../../train/index.js';
import { readCorpus } from '../../data/corpus.js';
import { toSimplified, toTraditional } from '../../data/index.js';
import { CharTokenizer, loadTokenizer, type Tokenizer } from '../../tokenizers/index.js';
import { ConfigError, FileFormatError } from '../../errors.js';
import { bundledModelsDir } from '../../pipelines/load-model.js';
import { recipeTrainerOptions } from '../../pipelines/recipe.js';

/** Han ideographs (CJK Unified, Extension A, compatibility, supplementary planes). */
const HAN = '[\\u3400-\\u4dbf\\u4e00-\\u9fff\\uf900-\\ufaff\\u{20000}-\\u{2ffff}]';
/** Punctuation that ends a line of classical verse. */
export const LINE_END_PUNCTUATION = '，。？！';

/**
 * The lines of classical verse in `docs`: runs of exactly `charsPerLine` Han
 * characters followed by their closing punctuation (，。？！), starting at the
 * beginning of a document or after punctuation/whitespace. Unique, in order
 * of first appearance.
 */
export function extractPoemLines(docs: Iterable<string>, charsPerLine = 5): string[] {
  const re = new RegExp(`(?<=^|[，。？！；：、\\s])(${HAN}{${charsPerLine}}[${LINE_END_PUNCTUATION}])`, 'gu');
  const seen = new Set<string>();
  for (const d of docs) for (const m of d.matchAll(re)) seen.add(m[1]!);
  return [...seen];
}

/** True when `line` is exactly `charsPerLine` Han characters followed by one line-ending mark (，。？！). */
export function isWellFormedLine(line: string, charsPerLine = 5): boolean {
  return new RegExp(`^${HAN}{${charsPerLine}}[${LINE_END_PUNCTUATION}]$`, 'u').test(line);
}

/** A sentence VAE training recipe (`configs/vae-*.json`). */
export interface SentenceVAERecipe {
  description?: string;
  model: { n_embd: number; hidden_size: number; latent_size: number };
  data: {
    /** JSON Lines field holding the text (default `text`). */
    field?: string;
    script?: 'simplified' | 'traditional' | 'keep';
    /** Han characters per line (default 5). */
    charsPerLine?: number;
    /** Characters seen fewer times (in the unique lines) are left out; lines holding them are dropped. */
    minFrequency?: number;
    /** Lines held out for validation (default 2000). */
    valLines?: number;
  };
  training: {
    batchSize: number;
    maxIters: number;
    learningRate: number;
    minLr?: number;
    warmupIters?: number;
    /** End of the cosine decay (default maxIters). */
    lrDecayIters?: number;
    weightDecay?: number;
    gradClip?: number;
    beta1?: number;
    gradientAccumulationSteps?: number;
    earlyStoppingPatience?: number;
    logInterval?: number;
    evalInterval: number;
    evalIters: number;
    seed?: number;
  };
  vae: {
    klSchedule: KLSchedule;
    /** λ nats per latent dimension (default 0). */
    freeBits?: number;
    /** Decoder input word dropout (default 0). */
    wordDropout?: number;
  };
}

/** The training fields a VAE recipe honours (bare overrides may name them even when the file leaves them out). */
const VAE_TRAINING_FIELDS: readonly string[] = [
  'maxIters', 'learningRate', 'minLr', 'warmupIters', 'lrDecayIters', 'evalInterval', 'evalIters', 'batchSize', 'seed',
  'gradClip', 'weightDecay', 'beta1', 'gradientAccumulationSteps', 'earlyStoppingPatience', 'logInterval',
];

/**
 * Read a recipe file (`configs/vae-*.json`) and apply `overrides`
 * (dotted paths → JSON values, e.g. `{"training.maxIters": "200"}`).
 * @throws FileFormatError when the file is missing or not JSON
 * @throws ConfigError when a required section or field is missing
 */
export function loadVAERecipe(path: string, overrides: Record<string, string> = {}): SentenceVAERecipe {
  if (!existsSync(path)) throw new FileFormatError(`recipe ${path} does not exist; see configs/vae-poem-zh.json`);
  let r: Record<string, unknown>;
  try {
    r = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  } catch (e) {
    throw new FileFormatError(`recipe ${path} is not valid JSON: ${(e as Error).message}`);
  }
  for (const [key, raw] of Object.entries(overrides)) {
    // A bare key (--maxIters 100) names the field of whichever section has it.
    let parts = key.split('.');
    if (parts.length === 1) {
      // A schedule field the file leaves at its default (lrDecayIters, minLr…) is a training field too.
      const section =
        (['training', 'model', 'data', 'vae'] as const).find((sec) => typeof r[sec] === 'object' && r[sec] !== null && key in (r[sec] as object)) ??
        (VAE_TRAINING_FIELDS.includes(key) ? 'training' : undefined);
      if (!section) throw new ConfigError(`override --${key}: not a field of ${path}; use a dotted path such as --training.${key}=VALUE`);
      parts = [section, key];
    }
    if (parts.length === 2 && parts[0] === 'training' && !VAE_TRAINING_FIELDS.includes(parts[1]!)) {
      throw new ConfigError(`override --${key}: a VAE recipe's training has no field "${parts[1]}" (fields: ${VAE_TRAINING_FIELDS.join(', ')})`);
    }
    let o = r;
    for (const p of parts.slice(0, -1)) {
      if (typeof o[p] !== 'object' || o[p] === null) o[p] = {};
      o = o[p] as Record<string, unknown>;
    }
    let v: unknown = raw;
    try {
      v = JSON.parse(raw);
    } catch {
      /* a bare string */
    }
    o[parts[parts.length - 1]!] = v;
  }
  for (const sec of ['model', 'data', 'training', 'vae'] as const) {
    if (typeof r[sec] !== 'object' || r[sec] === null) throw new ConfigError(`recipe ${path}: missing section "${sec}" (see configs/vae-poem-zh.json)`);
  }
  const m = r['model'] as Record<string, unknown>;
  for (const k of ['n_embd', 'hidden_size', 'latent_size']) {
    if (!Number.isInteger(m[k]) || (m[k] as number) <= 0) throw new ConfigError(`recipe ${path}: model.${k} must be a positive integer, got ${JSON.stringify(m[k])}`);
  }
  const t = r['training'] as Record<string, unknown>;
  for (const k of ['batchSize', 'maxIters', 'evalInterval', 'evalIters']) {
    if (!Number.isInteger(t[k]) || (t[k] as number) <= 0) throw new ConfigError(`recipe ${path}: training.${k} must be a positive integer, got ${JSON.stringify(t[k])}`);
  }
  if (!(typeof t['learningRate'] === 'number' && t['learningRate'] > 0)) throw new ConfigError(`recipe ${path}: training.learningRate must be a positive number`);
  const v = r['vae'] as Record<string, unknown>;
  if (typeof v['klSchedule'] !== 'object' || v['klSchedule'] === null) throw new ConfigError(`recipe ${path}: vae.klSchedule is required, e.g. {"type": "cyclical", "cycles": 4}`);
  return r as unknown as SentenceVAERecipe;
}

/** ELBO statistics of a model on a set of lines. */
export interface SentenceVAEStats {
  /** −ELBO in nats per line (recon + kl), one sample of z per line. */
  negElbo: number;
  recon: number;
  kl: number;
  /** Active units (Burda et al. 2016: Cov_x(E_q[z_j]) > 0.01). */
  activeUnits: number;
  latentSize: number;
  lines: number;
}

/** A loaded sentence VAE directory. */
export interface LoadedSentenceVAE {
  dir: string;
  model: SentenceVAE;
  tokenizer: Tokenizer;
  /** Script of the training data; inputs are converted to it. */
  script: 'simplified' | 'traditional' | 'keep';
  /** Han characters per line of the training data (for well-formedness checks). */
  charsPerLine: number;
}

/** `models/muse-vae-zh`, the bundled sentence VAE (resolved from the package root). */
export function defaultVAEModelDir(): string {
  return join(bundledModelsDir(), 'muse-vae-zh');
}

/**
 * Load a sentence VAE directory (`config.json` with `model_type`
 * `muse-sentence-vae`, `model.safetensors`, `tokenizer.json`).
 * @param dir default: the bundled `models/muse-vae-zh`
 * @throws FileFormatError when the directory is missing or is not a sentence VAE
 */
export function loadSentenceVAE(dir: string = defaultVAEModelDir()): LoadedSentenceVAE {
  if (!existsSync(dir)) throw new FileFormatError(`sentence VAE directory ${dir} does not exist; pass --model DIR with the best/ or last/ directory of \`muse vae train\``);
  const ck = loadCheckpoint(dir);
  if (ck.config['model_type'] !== 'muse-sentence-vae') {
    throw new FileFormatError(`${dir}/config.json: model_type is ${JSON.stringify(ck.config['model_type'])}, expected "muse-sentence-vae"; this is not a sentence VAE directory`);
  }
  const config = ck.config as unknown as SentenceVAEConfig;
  const model = new SentenceVAE(config, { gen: new Generator(0), init: false });
  const sd = new Map<string, Tensor>();
  for (const [name, t] of ck.tensors) sd.set(name, fromArray(t.data, t.shape));
  model.loadStateDict(sd);
  model.eval();
  const tokenizer = loadTokenizer(dir);
  const extra = ck.config as Record<string, unknown>;
  const script = (extra['muse_script'] as LoadedSentenceVAE['script'] | undefined) ?? 'keep';
  const charsPerLine = typeof extra['muse_chars_per_line'] === 'number' ? extra['muse_chars_per_line'] : 5;
  return { dir, model, tokenizer, script, charsPerLine };
}

function toScript(text: string, script: LoadedSentenceVAE['script']): string {
  return script === 'simplified' ? toSimplified(text) : script === 'traditional' ? toTraditional(text) : text;
}

/** Encode lines to token ids (no special tokens); characters outside the vocabulary become `<unk>`. */
function encodeLines(vae: LoadedSentenceVAE, lines: readonly string[]): number[][] {
  return lines.map((l) => vae.tokenizer.encodeIds(toScript(l, vae.script), { addSpecialTokens: false }));
}

function decodeIds(vae: LoadedSentenceVAE, rows: number[][]): string[] {
  return rows.map((ids) => vae.tokenizer.decode(ids, { skipSpecialTokens: true }));
}

/** Decoding options shared by sampling, interpolation and reconstruction. */
export interface VAEDecodeOptions {
  /** 0 = greedy (default); otherwise sampling temperature. */
  temperature?: number;
  topK?: number;
  /** Seed of z draws and sampling (default 0). */
  seed?: number;
}

/**
 * New lines from the prior: z ~ N(0, I), decoded.
 * @returns `n` lines
 */
export function sampleLines(vae: LoadedSentenceVAE, n: number, opts: VAEDecodeOptions = {}): string[] {
  if (!Number.isInteger(n) || n < 1) throw new ConfigError(`--n must be a positive integer, got ${n}`);
  const gen = new Generator(opts.seed ?? 0);
  const z = randn([n, vae.model.config.latent_size], gen);
  return decodeIds(vae, vae.model.decode(z, { temperature: opts.temperature, topK: opts.topK, gen }));
}

/** Posterior means μ of lines, `[n, latent]`. */
export function encodeLinesToMu(vae: LoadedSentenceVAE, lines: readonly string[]): Tensor {
  const b = makeSentenceBatch(encodeLines(vae, lines), vae.model.config);
  return noGrad(() => vae.model.encode(b.inputIds, b.attentionMask).mu);
}

/**
 * Linear interpolation between the posterior means of two lines (Bowman et
 * al. 2016, §5.2 "homotopies"): `steps` points z = (1 − t)·μ_A + t·μ_B, t
 * from 0 to 1 inclusive, each decoded.
 * @throws ConfigError when steps < 2
 */
export function interpolateLines(vae: LoadedSentenceVAE, a: string, b: string, steps = 6, opts: VAEDecodeOptions = {}): { t: number; line: string }[] {
  if (!Number.isInteger(steps) || steps < 2) throw new ConfigError(`--steps must be an integer ≥ 2 (both ends included), got ${steps}`);
  const mu = encodeLinesToMu(vae, [a, b]).data as Float32Array;
  const k = vae.model.config.latent_size;
  const z = new Float32Array(steps * k);
  const ts: number[] = [];
  for (let s = 0; s < steps; s++) {
    const t = s / (steps - 1);
    ts.push(t);
    for (let j = 0; j < k; j++) z[s * k + j] = (1 - t) * mu[j]! + t * mu[k + j]!;
  }
  const gen = new Generator(opts.seed ?? 0);
  const out = decodeIds(vae, vae.model.decode(fromArray(z, [steps, k]), { temperature: opts.temperature, topK: opts.topK, gen }));
  return out.map((line, i) => ({ t: ts[i]!, line }));
}

/** Encode a line to its posterior mean and decode it back. */
export function reconstructLine(vae: LoadedSentenceVAE, line: string, opts: VAEDecodeOptions = {}): string {
  const mu = encodeLinesToMu(vae, [line]);
  const gen = new Generator(opts.seed ?? 0);
  return decodeIds(vae, vae.model.decode(mu, { temperature: opts.temperature, topK: opts.topK, gen }))[0]!;
}

/**
 * −ELBO, reconstruction, KL (nats per line) and active units of a model on
 * token-id lines, under `noGrad` in eval mode, batches of 256.
 */
export function evaluateSentenceVAE(model: SentenceVAE, lines: readonly (readonly number[])[], seed = 0): SentenceVAEStats {
  const gen = new Generator(seed);
  const wasTraining = model.training;
  model.eval();
  try {
    return noGrad(() => {
      let recon = 0;
      let kl = 0;
      const k = model.config.latent_size;
      const mus = new Float32Array(lines.length * k);
      for (let i = 0; i < lines.length; i += 256) {
        const chunk = lines.slice(i, i + 256);
        const r = model.loss(makeSentenceBatch(chunk, model.config), { gen });
        recon += r.recon.item() * chunk.length;
        kl += r.kl.item() * chunk.length;
        mus.set(r.mu.data as Float32Array, i * k);
      }
      const n = lines.length;
      return { negElbo: (recon + kl) / n, recon: recon / n, kl: kl / n, activeUnits: activeUnits(mus, n, k).count, latentSize: k, lines: n };
    });
  } finally {
    model.train(wasTraining);
  }
}

/** The lines of a corpus as a recipe prepares them. */
export interface SentenceData {
  tokenizer: CharTokenizer;
  /** Token ids of the training lines (shuffled). */
  train: number[][];
  /** Token ids of the held-out lines. */
  val: number[][];
  charsPerLine: number;
  script: 'simplified' | 'traditional' | 'keep';
}

/**
 * Read the corpus (script-normalised), extract the unique lines, build the
 * character tokenizer (`<pad>`, `<s>`, `</s>`, `<unk>` + characters seen ≥
 * `minFrequency` times in the lines), drop lines with rarer characters,
 * shuffle with the recipe's seed and hold out `valLines` — deterministic, so
 * an evaluation can rebuild a run's validation split.
 * @throws ConfigError when the corpus holds too few lines
 */
export function prepareSentenceData(recipe: SentenceVAERecipe, corpus: readonly string[]): SentenceData {
  const d = recipe.data;
  const tr = recipe.training;
  const script = d.script ?? 'keep';
  const charsPerLine = d.charsPerLine ?? 5;
  const docs: string[] = [];
  for (const f of corpus) docs.push(...readCorpus(f, { field: d.field, script }));
  const all = extractPoemLines(docs, charsPerLine);
  const tokenizer = CharTokenizer.train(all, { specialTokens: ['<pad>', '<s>', '</s>'], unkToken: '<unk>', minFrequency: d.minFrequency ?? 1 });
  const unk = tokenizer.tokenToId('<unk>')!;
  const encoded = all.map((l) => tokenizer.encodeIds(l, { addSpecialTokens: false })).filter((ids) => !ids.includes(unk));
  const shuffleGen = new Generator((tr.seed ?? 1337) + 3);
  for (let i = encoded.length - 1; i > 0; i--) {
    const j = shuffleGen.randint(0, i + 1);
    [encoded[i], encoded[j]] = [encoded[j]!, encoded[i]!];
  }
  const nVal = d.valLines ?? 2000;
  if (encoded.length < nVal + tr.batchSize) {
    throw new ConfigError(`the corpus gives ${encoded.length} lines of ${charsPerLine} characters, too few for ${nVal} validation lines and a batch of ${tr.batchSize}; use a larger corpus or lower data.valLines`);
  }
  return { tokenizer, train: encoded.slice(nVal), val: encoded.slice(0, nVal), charsPerLine, script };
}

/** Options of {@link trainSentenceVAE}. */
export interface TrainSentenceVAEOptions {
  recipe: SentenceVAERecipe;
  corpus: string[];
  /** `best/`, `last/`, `metrics.jsonl`, `loss.svg`, `vae_metrics.jsonl`. */
  outDir: string;
  json?: boolean;
  progress?: boolean;
  log?: (line: string) => void;
  signal?: AbortSignal;
  /** Extra files written into every checkpoint (e.g. the recipe and the command). */
  extraFiles?: Record<string, string>;
}

/** One line of `vae_metrics.jsonl`: the ELBO terms at an evaluation. */
export interface VAEMetricsRecord extends SentenceVAEStats {
  step: number;
  beta: number;
}

/**
 * Train a sentence VAE: read the corpus (script-normalised), extract unique
 * lines of `charsPerLine` characters, build a character tokenizer (`<pad>`,
 * `<s>`, `</s>`, `<unk>` + characters seen ≥ `minFrequency` times), hold out
 * `valLines`, and run the Trainer on random batches with the recipe's KL
 * schedule, free bits and word dropout. Validation loss is −ELBO (β = 1, no
 * free bits, no word dropout). At every evaluation the ELBO terms and active
 * units on the validation lines go to `vae_metrics.jsonl` and the log.
 * @throws ConfigError when the corpus holds too few lines
 */
export async function trainSentenceVAE(opts: TrainSentenceVAEOptions): Promise<TrainSummary & { parameters: number; final: VAEMetricsRecord | null }> {
  const { recipe, outDir } = opts;
  const tr = recipe.training;
  const { tokenizer, train, val, charsPerLine, script } = prepareSentenceData(recipe, opts.corpus);
  const id = (t: string): number => tokenizer.tokenToId(t)!;
  const unk = id('<unk>');
  const seed = tr.seed ?? 1337;
  const config: SentenceVAEConfig & Record<string, unknown> = {
    model_type: 'muse-sentence-vae',
    vocab_size: tokenizer.vocabSize,
    ...recipe.model,
    max_length: charsPerLine + 1,
    pad_token_id: id('<pad>'),
    bos_token_id: id('<s>'),
    eos_token_id: id('</s>'),
    unk_token_id: unk,
    muse_script: script,
    muse_chars_per_line: charsPerLine,
  };
  const modelGen = new Generator(seed);
  const model = new SentenceVAE(config, { gen: modelGen });
  const batchGen = new Generator(seed + 1);
  const noiseGen = new Generator(seed + 2);
  const B = tr.batchSize;
  const nextTrainBatch = (): SentenceBatch => {
    const rows: number[][] = [];
    for (let i = 0; i < B; i++) rows.push(train[batchGen.randint(0, train.length)]!);
    return makeSentenceBatch(rows, config);
  };
  const valBatches: SentenceBatch[] = [];
  for (let i = 0; i + B <= val.length; i += B) valBatches.push(makeSentenceBatch(val.slice(i, i + B), config));
  const schedule: KLSchedule = { totalSteps: tr.maxIters, ...recipe.vae.klSchedule };
  const vaeLog = join(outDir, 'vae_metrics.jsonl');
  const history: VAEMetricsRecord[] = [];
  let lastStats: VAEMetricsRecord | null = null;
  const log = opts.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  // The Trainer is created below; the loss reads its step for the KL weight.
  let trainer: Trainer<SentenceBatch> | null = null;
  const beta = (): number => klWeight(trainer?.globalStep ?? 0, schedule);
  trainer = new Trainer<SentenceBatch>({
    model,
    lossFn: (batch) => {
      if (!model.training) return model.loss(batch, { gen: noiseGen.clone() }).loss;
      return model.loss(batch, { gen: noiseGen, beta: beta(), freeBits: recipe.vae.freeBits, wordDropout: recipe.vae.wordDropout }).loss;
    },
    nextTrainBatch,
    evalBatches: () => valBatches,
    tokensPerBatch: B * (charsPerLine + 2),
    ...recipeTrainerOptions(tr),
    // The sentence VAE's own defaults: no weight decay, β2 0.999, clip 5.
    weightDecay: tr.weightDecay ?? 0,
    beta2: 0.999,
    gradClip: tr.gradClip ?? 5,
    outDir,
    rng: { batches: batchGen, noise: noiseGen },
    save: (dir, extra) => {
      const step = trainer?.globalStep ?? 0;
      if (lastStats?.step !== step) {
        // β of the last update (the schedule restarts a cycle at the step just reached).
        lastStats = { step, beta: klWeight(Math.max(0, step - 1), schedule), ...evaluateSentenceVAE(model, val, seed) };
        history.push(lastStats);
        writeFileAtomic(vaeLog, history.map((r) => JSON.stringify(r)).join('\n') + '\n');
        const s = lastStats;
        log(
          opts.json
            ? JSON.stringify({ event: 'vae', ...s })
            : `step ${step}: -ELBO ${s.negElbo.toFixed(3)} = recon ${s.recon.toFixed(3)} + KL ${s.kl.toFixed(3)} nats/line | active units ${s.activeUnits}/${s.latentSize} | beta ${s.beta.toFixed(3)}`,
        );
      }
      saveModel(dir, model, {
        config,
        tokenizerJson: tokenizer.toJSON(),
        trainerState: extra.trainerState,
        optimizerTensors: extra.optimizerTensors,
        extraFiles: { ...extra.extraFiles, 'vae_metrics.jsonl': readFileSync(vaeLog, 'utf8'), ...(opts.extraFiles ?? {}) },
      });
    },
    json: opts.json,
    progress: opts.progress,
    log: opts.log,
    signal: opts.signal,
  });
  const summary = await trainer.train();
  return { ...summary, parameters: model.numParameters(), final: lastStats };
}
