/**
 * The vectorize → normalize → autoencode pipeline (what a library user
 * calls): documents become CountVectorizer / TfidfVectorizer rows, rows are
 * normalised (scikit-learn's Normalizer), and an MLP autoencoder (or an MLP
 * VAE) learns a small code for them with the muse Trainer. A trained
 * directory encodes new texts and lists nearest neighbours in latent space.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Generator, Tensor, fromArray, noGrad } from '../../tensor/index.js';
import { Autoencoder, type AutoencoderConfig } from './autoencoder.js';
import { VAE, type VAEConfig } from './vae.js';
import { checkpointSaver } from '../pretrained.js';
import { loadCheckpoint } from '../../io/checkpoint.js';
import { Trainer, type TrainSummary } from '../../train/index.js';
import { readCorpus } from '../../data/corpus.js';
import { toScript } from '../../data/script.js';
import { CountVectorizer, TfidfVectorizer, normalize, vectorizerFromJSON, type CountVectorizerJSON, type CsrMatrix, type Norm, type AnalyzerKind, type DocumentFrequency } from '../../features/index.js';
import { ConfigError, FileFormatError } from '../../errors.js';
import type { LoadedVectorAutoencoder } from '../loaded.js';

/** How documents become vectors. */
export interface VectorizerSpec {
  /** `tfidf` (default) or `count`. */
  type?: 'count' | 'tfidf';
  analyzer?: AnalyzerKind;
  ngramRange?: [number, number];
  minDf?: DocumentFrequency;
  maxDf?: DocumentFrequency;
  maxFeatures?: number | null;
  lowercase?: boolean;
  binary?: boolean;
  /** Row norm after vectorizing (default `l2`; null = none). */
  norm?: Norm | null;
}

/** Options of {@link trainVectorAutoencoder}. */
export interface TrainVectorAutoencoderOptions {
  /** The documents (see {@link readDocuments}). */
  documents: string[];
  vectorizer?: VectorizerSpec;
  /** Hidden widths (default [256]) and code size (default 16). */
  model?: { hiddenSizes?: number[]; latentSize?: number; activation?: 'relu' | 'tanh' };
  /** A VAE (Gaussian code, ELBO = squared error + β·KL) instead of a plain autoencoder. */
  variational?: { beta?: number; freeBits?: number };
  training?: { batchSize?: number; maxIters?: number; learningRate?: number; evalInterval?: number; valFraction?: number; seed?: number };
  outDir: string;
  /** Script the documents were normalised to; recorded so that `encodeTexts` converts new texts the same way (default `keep`). */
  script?: 'simplified' | 'traditional' | 'keep';
  json?: boolean;
  progress?: boolean;
  log?: (line: string) => void;
  extraFiles?: Record<string, string>;
}

/**
 * The documents of a corpus file for vectorizing: each record of a `.jsonl`
 * (its `field`), each non-empty line of a `.txt`.
 */
export function readDocuments(path: string, opts: { field?: string; script?: 'simplified' | 'traditional' | 'keep' } = {}): string[] {
  if (path.endsWith('.txt')) return readCorpus(path, { separator: '\n', script: opts.script }).map((d) => d.trim()).filter((d) => d !== '');
  return readCorpus(path, { field: opts.field, script: opts.script });
}

function buildVectorizer(spec: VectorizerSpec): CountVectorizer {
  const o = { analyzer: spec.analyzer, ngramRange: spec.ngramRange, minDf: spec.minDf, maxDf: spec.maxDf, maxFeatures: spec.maxFeatures, lowercase: spec.lowercase, binary: spec.binary };
  // Normalisation is the pipeline's separate Normalizer step (as the brief's pipeline), so the tf-idf itself is unnormalised.
  return (spec.type ?? 'tfidf') === 'tfidf' ? new TfidfVectorizer({ ...o, norm: null }) : new CountVectorizer(o);
}

function toTensor(x: CsrMatrix): Tensor {
  return fromArray(x.toFloat32(), [x.rows, x.cols]);
}

/**
 * Fit the vectorizer on the documents, normalise, and train the autoencoder
 * (or VAE) on random mini-batches of rows; a `valFraction` of the rows
 * (default 0.1, at least one) is held out for the validation loss. Writes
 * `outDir/best` and `outDir/last` (config.json, model.safetensors,
 * vectorizer.json) with the Trainer's metrics.
 * @throws ConfigError with fewer than 2 documents or bad sizes
 */
export async function trainVectorAutoencoder(opts: TrainVectorAutoencoderOptions): Promise<TrainSummary & { parameters: number; features: number }> {
  const docs = opts.documents;
  if (docs.length < 2) throw new ConfigError(`the autoencoder needs at least 2 documents, got ${docs.length}`);
  const t = opts.training ?? {};
  const seed = t.seed ?? 1337;
  const spec = opts.vectorizer ?? {};
  const vectorizer = buildVectorizer(spec);
  const norm = spec.norm === undefined ? 'l2' : spec.norm;
  let x = vectorizer.fitTransform(docs);
  if (norm) x = normalize(x, norm);
  const n = x.rows;
  const d = x.cols;
  const csr = x;
  const order = Array.from({ length: n }, (_, i) => i);
  const shuffle = new Generator(seed + 3);
  for (let i = n - 1; i > 0; i--) {
    const j = shuffle.randint(0, i + 1);
    [order[i], order[j]] = [order[j], order[i]];
  }
  const nVal = Math.max(1, Math.floor(n * (t.valFraction ?? 0.1)));
  const valIdx = order.slice(0, nVal);
  const trainIdx = order.slice(nVal);
  // Rows stay sparse until a batch needs them: a corpus × vocabulary dense matrix would not fit in memory.
  const rows = (idx: number[]): Tensor => {
    const out = new Float32Array(idx.length * d);
    idx.forEach((r, i) => {
      for (let k = csr.indptr[r]; k < csr.indptr[r + 1]; k++) out[i * d + csr.indices[k]] = csr.data[k]!;
    });
    return new Tensor(out, [idx.length, d]);
  };
  const m = opts.model ?? {};
  const gen = new Generator(seed);
  const hidden = m.hiddenSizes ?? [256];
  const latent = m.latentSize ?? 16;
  const model: Autoencoder | VAE = opts.variational
    ? new VAE({ model_type: 'muse-vae', input_size: d, hidden_sizes: hidden, latent_size: latent }, { gen })
    : new Autoencoder({ model_type: 'muse-autoencoder', input_size: d, hidden_sizes: hidden, latent_size: latent, activation: m.activation ?? 'relu' }, { gen });
  const batchGen = new Generator(seed + 1);
  const noiseGen = new Generator(seed + 2);
  const B = Math.min(t.batchSize ?? 32, trainIdx.length);
  const val = rows(valIdx);
  const lossOf = (batch: Tensor): Tensor => {
    if (model instanceof VAE) {
      const training = model.training;
      return model.loss(batch, { gen: training ? noiseGen : noiseGen.clone(), beta: training ? opts.variational?.beta ?? 1 : 1, freeBits: training ? opts.variational?.freeBits : 0 }).loss;
    }
    return model.loss(batch);
  };
  const config = { ...model.config, muse_norm: norm, muse_script: opts.script ?? 'keep' };
  const maxIters = t.maxIters ?? 500;
  const trainer = new Trainer<Tensor>({
    model,
    lossFn: lossOf,
    nextTrainBatch: () => rows(Array.from({ length: B }, () => trainIdx[batchGen.randint(0, trainIdx.length)])),
    evalBatches: () => [val],
    maxIters,
    evalInterval: t.evalInterval ?? Math.max(1, Math.floor(maxIters / 10)),
    evalIters: 1,
    learningRate: t.learningRate ?? 1e-3,
    warmupIters: 0,
    weightDecay: 0,
    beta2: 0.999,
    outDir: opts.outDir,
    rng: { batches: batchGen, noise: noiseGen },
    save: checkpointSaver(model, { config, extraFiles: { 'vectorizer.json': JSON.stringify(vectorizer.toJSON()) + '\n', ...(opts.extraFiles ?? {}) } }),
    json: opts.json,
    progress: opts.progress,
    log: opts.log,
  });
  const summary = await trainer.train();
  return { ...summary, parameters: model.numParameters(), features: d };
}

/**
 * Latent codes of texts: vectorize, normalise, encode (a VAE gives its
 * posterior mean μ). Texts with no known feature encode the zero vector.
 * @returns `[texts, latent]` rows
 */
export function encodeTexts(ae: LoadedVectorAutoencoder, texts: readonly string[]): number[][] {
  const out: number[][] = [];
  // Chunks of 1,024 documents keep the dense input small for large corpora.
  for (let start = 0; start < texts.length; start += 1024) {
    const chunk = texts.slice(start, start + 1024).map((t) => (toScript(t, ae.script)));
    let x = ae.vectorizer.transform(chunk);
    if (ae.norm) x = normalize(x, ae.norm);
    const z = noGrad(() => (ae.model instanceof VAE ? ae.model.encode(toTensor(x)).mu : ae.model.encode(toTensor(x))));
    const k = z.shape[1];
    const zd = z.data as Float32Array;
    for (let i = 0; i < x.rows; i++) out.push(Array.from(zd.subarray(i * k, (i + 1) * k)));
  }
  return out;
}

function cosine(a: readonly number[], b: readonly number[]): number {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i] * b[i];
    aa += a[i] * a[i];
    bb += b[i] * b[i];
  }
  return aa === 0 || bb === 0 ? 0 : ab / Math.sqrt(aa * bb);
}

/**
 * The `k` candidates whose latent codes are closest to the query's, by
 * cosine similarity (ties keep candidate order).
 */
export function nearestNeighbors(ae: LoadedVectorAutoencoder, query: string, candidates: readonly string[], k = 5): { text: string; index: number; similarity: number }[] {
  if (!(Number.isInteger(k) && k > 0)) throw new ConfigError(`k must be a positive integer, got ${k}`);
  const [q] = encodeTexts(ae, [query]);
  const zs = encodeTexts(ae, candidates);
  return zs
    .map((z, index) => ({ text: candidates[index], index, similarity: cosine(q, z) }))
    .sort((a, b) => b.similarity - a.similarity || a.index - b.index)
    .slice(0, k);
}
