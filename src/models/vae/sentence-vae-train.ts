/**
 * Training a sentence VAE (what `muse vae train` runs): extract lines from a
 * corpus, build the character tokenizer, train a {@link SentenceVAE} with the
 * muse Trainer under a KL schedule, and measure ELBO / KL / active units.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Generator, noGrad } from '../../tensor/index.js';
import { SentenceVAE, makeSentenceBatch, type SentenceBatch, type SentenceVAEConfig } from './sentence-vae.js';
import { activeUnits, klWeight, type KLSchedule } from './vae.js';
import { saveModel } from '../pretrained.js';
import { writeFileAtomic } from '../../io/atomic.js';
import { Trainer, type TrainSummary } from '../../train/index.js';
import { readCorpus } from '../../data/corpus.js';
import { CharTokenizer } from '../../tokenizers/index.js';
import { ConfigError } from '../../errors.js';
import { recipeTrainerOptions } from '../../pipelines/recipe.js';
import type { SentenceVAERecipe } from './sentence-vae-recipe.js';
import { extractPoemLines } from './poem-lines.js';

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
        mus.set(r.mu.data, i * k);
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
    [encoded[i], encoded[j]] = [encoded[j], encoded[i]];
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
    for (let i = 0; i < B; i++) rows.push(train[batchGen.randint(0, train.length)]);
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
