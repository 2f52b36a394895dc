/**
 * The latent-variable families' registry entries: the sentence VAE
 * (`muse-sentence-vae`: sample, interpolate, reconstruct lines of verse) and
 * the vector autoencoders (`muse-autoencoder`, `muse-vae`: encode documents,
 * nearest neighbours), with their directory loaders and savers.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Generator, fromArray, type Tensor } from '../../tensor/index.js';
import { loadCheckpoint } from '../../io/checkpoint.js';
import { readJsonFile } from '../../io/json.js';
import { loadTokenizer } from '../../tokenizers/index.js';
import { vectorizerFromJSON, type CountVectorizerJSON, type Norm } from '../../features/index.js';
import { ConfigError, FileFormatError } from '../../errors.js';
import { saveModel } from '../pretrained.js';
import { defaultModelDir } from '../bundled.js';
import type { LoadedSentenceVAE, LoadedVectorAutoencoder, Script } from '../loaded.js';
import type { ModelFamily, SaveParts } from '../registry.js';
import { SentenceVAE, type SentenceVAEConfig } from './sentence-vae.js';
import { Autoencoder, checkMlpSizes, type AutoencoderConfig } from './autoencoder.js';
import { VAE, type VAEConfig } from './vae.js';

/** Tensors of a muse-native checkpoint (names are the model's own) as a state dict. */
function stateDict(tensors: Map<string, { data: Float32Array | Int32Array; shape: number[] }>): Map<string, Tensor> {
  const sd = new Map<string, Tensor>();
  for (const [name, t] of tensors) sd.set(name, fromArray(t.data, t.shape));
  return sd;
}

/**
 * Check that `fields` of `raw` are positive integers.
 * @throws ConfigError naming the first field that is not
 */
function requirePositiveInts(raw: Record<string, unknown>, fields: readonly string[]): void {
  for (const k of fields) {
    const v = raw[k];
    if (!Number.isInteger(v) || (v as number) <= 0) throw new ConfigError(`${k} must be a positive integer, got ${JSON.stringify(v)}`);
  }
}

/**
 * Load a sentence VAE directory (`config.json` with `model_type`
 * `muse-sentence-vae`, `model.safetensors`, `tokenizer.json`).
 * @param dir default: the bundled `models/muse-vae-zh`
 * @throws FileFormatError when the directory is missing or is not a sentence VAE
 */
export function loadSentenceVAE(dir: string = defaultModelDir('sample'), tokenizerDir: string = dir): LoadedSentenceVAE {
  if (!existsSync(dir)) throw new FileFormatError(`sentence VAE directory ${dir} does not exist; pass --model DIR with the best/ or last/ directory of \`muse vae train\``);
  const ck = loadCheckpoint(dir);
  if (ck.config['model_type'] !== 'muse-sentence-vae') {
    throw new FileFormatError(`${dir}/config.json: model_type is ${JSON.stringify(ck.config['model_type'])}, expected "muse-sentence-vae"; this is not a sentence VAE directory`);
  }
  const model = new SentenceVAE(ck.config as unknown as SentenceVAEConfig, { gen: new Generator(0), init: false });
  model.loadStateDict(stateDict(ck.tensors));
  model.eval();
  const tokenizer = loadTokenizer(tokenizerDir);
  const extra = ck.config;
  const script = (extra['muse_script'] as Script | undefined) ?? 'keep';
  const charsPerLine = typeof extra['muse_chars_per_line'] === 'number' ? extra['muse_chars_per_line'] : 5;
  return { kind: 'sentence-vae', family: 'sentence-vae', modelType: 'muse-sentence-vae', dir, model, tokenizer, script, charsPerLine, report: { missing: [], unexpected: [] } };
}

/** Save a sentence VAE directory that {@link loadSentenceVAE} reads back. */
export function saveSentenceVAEDir(dir: string, parts: SaveParts<LoadedSentenceVAE>): void {
  saveModel(dir, parts.model, {
    config: { ...parts.model.config, muse_script: parts.script, muse_chars_per_line: parts.charsPerLine },
    tokenizerJson: parts.tokenizer.toJSON(),
  });
}

/**
 * Load a directory written by `trainVectorAutoencoder` (`autoencode.ts`).
 * @throws FileFormatError when files are missing or the model type is unknown
 */
export function loadVectorAutoencoder(dir: string): LoadedVectorAutoencoder {
  const vpath = join(dir, 'vectorizer.json');
  if (!existsSync(vpath)) throw new FileFormatError(`${dir} has no vectorizer.json; pass the best/ or last/ directory of \`muse ae train\``);
  const ck = loadCheckpoint(dir);
  const type = ck.config['model_type'];
  const gen = new Generator(0);
  let model: Autoencoder | VAE;
  if (type === 'muse-autoencoder') model = new Autoencoder(ck.config as unknown as AutoencoderConfig, { gen, init: false });
  else if (type === 'muse-vae') model = new VAE(ck.config as unknown as VAEConfig, { gen, init: false });
  else throw new FileFormatError(`${dir}/config.json: model_type ${JSON.stringify(type)} is not muse-autoencoder or muse-vae`);
  model.loadStateDict(stateDict(ck.tensors));
  model.eval();
  const vectorizer = vectorizerFromJSON(readJsonFile(vpath) as CountVectorizerJSON);
  const norm = (ck.config['muse_norm'] as Norm | null | undefined) ?? null;
  const script = (ck.config['muse_script'] as Script | undefined) ?? 'keep';
  return { kind: 'vector-autoencoder', family: 'vector-autoencoder', modelType: type, dir, model, vectorizer, norm, script, report: { missing: [], unexpected: [] } };
}

/** Save a vector autoencoder directory (model, vectorizer, norm, script) that {@link loadVectorAutoencoder} reads back. */
export function saveVectorAutoencoderDir(dir: string, parts: SaveParts<LoadedVectorAutoencoder>): void {
  saveModel(dir, parts.model, {
    config: { ...parts.model.config, muse_norm: parts.norm, muse_script: parts.script },
    extraFiles: { 'vectorizer.json': JSON.stringify(parts.vectorizer.toJSON()) + '\n' },
  });
}

/** The sentence VAE's registry entry (listed in `src/models/families.ts`). */
export const sentenceVAEFamily: ModelFamily<LoadedSentenceVAE> = {
  name: 'sentence-vae',
  modelTypes: ['muse-sentence-vae'],
  kind: 'sentence-vae',
  tasks: ['sample', 'interpolate', 'reconstruct', 'pretrain'],
  readConfig: (raw) => {
    requirePositiveInts(raw, ['vocab_size', 'n_embd', 'hidden_size', 'latent_size', 'max_length']);
    return raw;
  },
  build: (config, opts = {}) => new SentenceVAE(config as unknown as SentenceVAEConfig, { gen: new Generator(opts.seed ?? 0) }),
  load: (path, opts = {}) => loadSentenceVAE(path, opts.tokenizerDir),
  save: saveSentenceVAEDir,
};

/** The vector autoencoders' registry entry (listed in `src/models/families.ts`). */
export const vectorAutoencoderFamily: ModelFamily<LoadedVectorAutoencoder> = {
  name: 'vector-autoencoder',
  modelTypes: ['muse-autoencoder', 'muse-vae'],
  kind: 'vector-autoencoder',
  tasks: ['encode', 'neighbors', 'pretrain'],
  readConfig: (raw) => {
    checkMlpSizes(raw as unknown as AutoencoderConfig, String(raw['model_type']));
    return raw;
  },
  build: (config, opts = {}) => {
    const gen = new Generator(opts.seed ?? 0);
    return config['model_type'] === 'muse-vae' ? new VAE(config as unknown as VAEConfig, { gen }) : new Autoencoder(config as unknown as AutoencoderConfig, { gen });
  },
  load: (path) => loadVectorAutoencoder(path),
  save: saveVectorAutoencoderDir,
};
