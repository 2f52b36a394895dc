/**
 * Using a trained sentence VAE: sample new lines from the prior, interpolate
 * between two lines (Bowman et al. 2016, §5.2), reconstruct a line.
 */
import { Generator, fromArray, noGrad, randn, type Tensor } from '../../tensor/index.js';
import { toScript } from '../../data/script.js';
import { ConfigError } from '../../errors.js';
import type { LoadedSentenceVAE } from '../loaded.js';
import { makeSentenceBatch } from './sentence-vae.js';

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
    for (let j = 0; j < k; j++) z[s * k + j] = (1 - t) * mu[j] + t * mu[k + j];
  }
  const gen = new Generator(opts.seed ?? 0);
  const out = decodeIds(vae, vae.model.decode(fromArray(z, [steps, k]), { temperature: opts.temperature, topK: opts.topK, gen }));
  return out.map((line, i) => ({ t: ts[i], line }));
}

/** Encode a line to its posterior mean and decode it back. */
export function reconstructLine(vae: LoadedSentenceVAE, line: string, opts: VAEDecodeOptions = {}): string {
  const mu = encodeLinesToMu(vae, [line]);
  const gen = new Generator(opts.seed ?? 0);
  return decodeIds(vae, vae.model.decode(mu, { temperature: opts.temperature, topK: opts.topK, gen }))[0];
}
