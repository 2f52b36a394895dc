/**
 * Variational autoencoders (Kingma & Welling 2014, "Auto-Encoding Variational
 * Bayes"): the pieces every VAE shares — the reparameterised sample, the
 * Gaussian KL term, KL-weight schedules and free bits — and an MLP VAE over
 * vectors. The sentence VAE (`sentence-vae.ts`) builds on the same pieces.
 */
import { Generator, Tensor, exp, maximum, mseLoss, randn, sum, tanh } from '../../tensor/index.js';
import { Module } from '../../nn/module.js';
import type { Linear } from '../../nn/layers.js';
import { checkMlpSizes, mlpLinear, mlpStack } from './autoencoder.js';
import { ConfigError, ShapeError } from '../../errors.js';

/**
 * The reparameterisation trick (Kingma & Welling 2014, §2.4):
 * `z = μ + exp(½·log σ²) ⊙ ε` with `ε ~ N(0, I)`, so the sample is a
 * differentiable function of μ and log σ².
 * @param mu `[batch, latent]`
 * @param logVar `[batch, latent]` (log σ²)
 * @param gen the source of ε
 * @param eps optional fixed noise `[batch, latent]` (tests, deterministic decoding)
 * @returns z `[batch, latent]`
 * @throws ShapeError when the shapes differ
 */
export function reparameterize(mu: Tensor, logVar: Tensor, gen: Generator, eps?: Tensor): Tensor {
  if (mu.shape.join() !== logVar.shape.join()) {
    throw new ShapeError(`reparameterize: mu [${mu.shape.join(', ')}] and logVar [${logVar.shape.join(', ')}] must have the same shape`);
  }
  const noise = eps ?? randn(mu.shape, gen);
  return mu.add(exp(logVar.mul(0.5)).mul(noise));
}

/**
 * KL(q(z|x) ‖ N(0, I)) of a diagonal Gaussian q = N(μ, σ²), per latent
 * dimension, in closed form (Kingma & Welling 2014, appendix B):
 * `½·(μ² + σ² − 1 − log σ²)` nats.
 * @param mu `[batch, latent]`
 * @param logVar `[batch, latent]`
 * @returns `[batch, latent]` (sum over the last axis for the KL of each row)
 */
export function gaussianKL(mu: Tensor, logVar: Tensor): Tensor {
  return mu.mul(mu).add(exp(logVar)).sub(1).sub(logVar).mul(0.5);
}

/**
 * The KL term of the training objective with free bits (Kingma et al. 2016,
 * "Improved Variational Inference with Inverse Autoregressive Flow", §C.8):
 * `Σ_j max(λ, mean_batch KL_j)`. A dimension whose batch-mean KL is below λ
 * contributes a constant, so the optimiser has no reason to close it
 * completely — the defence against posterior collapse. λ = 0 gives the plain
 * batch-mean KL per row.
 * @param klPerDim `[batch, latent]` from {@link gaussianKL}
 * @param freeBits λ in nats per latent dimension (default 0)
 * @returns a scalar, nats per row
 */
export function klObjective(klPerDim: Tensor, freeBits = 0): Tensor {
  const perDim = klPerDim.mean(0); // [latent]
  return freeBits > 0 ? sum(maximum(perDim, freeBits)) : sum(perDim);
}

/** How the KL weight β grows during training (Bowman et al. 2016; Fu et al. 2019). */
export interface KLSchedule {
  /** `constant` (β always `max`), `linear` (0 → max over `warmupSteps`, then max), `cyclical` (Fu et al. 2019). */
  type: 'constant' | 'linear' | 'cyclical';
  /** Final (or peak) β; default 1. */
  max?: number;
  /** `linear`: steps of the ramp. */
  warmupSteps?: number;
  /** `cyclical`: total steps of the run (split into `cycles` equal cycles). */
  totalSteps?: number;
  /** `cyclical`: number of cycles M (default 4). */
  cycles?: number;
  /** `cyclical`: fraction R of each cycle spent ramping up (default 0.5); the rest holds β at max. */
  ratio?: number;
}

/**
 * The KL weight β at a step (0-based).
 *
 * - linear (Bowman et al. 2016, §3.1 "KL cost annealing"): `max·min(1, step/warmupSteps)`;
 * - cyclical (Fu et al. 2019, "Cyclical Annealing Schedule", eq. 6): the run is
 *   split into M cycles of length L = ⌈totalSteps/M⌉; within a cycle at
 *   position τ = (step mod L)/L, β = `max·min(1, τ/R)`.
 * @throws ConfigError on missing or non-positive lengths
 */
export function klWeight(step: number, schedule: KLSchedule): number {
  const max = schedule.max ?? 1;
  switch (schedule.type) {
    case 'constant':
      return max;
    case 'linear': {
      const w = schedule.warmupSteps ?? 0;
      if (!(w >= 0)) throw new ConfigError(`KL schedule: warmupSteps must be ≥ 0, got ${w}`);
      return w === 0 ? max : max * Math.min(1, step / w);
    }
    case 'cyclical': {
      const total = schedule.totalSteps;
      const m = schedule.cycles ?? 4;
      const r = schedule.ratio ?? 0.5;
      if (!total || total <= 0) throw new ConfigError('KL schedule: cyclical needs totalSteps > 0 (the length of the run)');
      if (!(m >= 1) || !(r > 0 && r <= 1)) throw new ConfigError(`KL schedule: cycles must be ≥ 1 and ratio in (0, 1], got ${m} and ${r}`);
      const len = Math.ceil(total / m);
      const tau = (step % len) / len;
      return max * Math.min(1, tau / r);
    }
    default:
      throw new ConfigError(`KL schedule: unknown type ${String((schedule as { type: unknown }).type)}; use constant, linear or cyclical`);
  }
}

/**
 * Active units (Burda et al. 2016, "Importance Weighted Autoencoders", §5.2):
 * latent dimension j is active when `Cov_x(E_q(z|x)[z_j]) > threshold`
 * (0.01), i.e. its posterior mean varies across the data.
 * @param mu posterior means of a data sample, row-major `[n, latent]`
 * @returns the count and each dimension's variance (population variance over the n rows)
 */
export function activeUnits(mu: Float32Array, n: number, latent: number, threshold = 0.01): { count: number; variances: number[] } {
  const variances: number[] = [];
  for (let j = 0; j < latent; j++) {
    let s = 0;
    for (let i = 0; i < n; i++) s += mu[i * latent + j];
    const m = s / n;
    let v = 0;
    for (let i = 0; i < n; i++) v += (mu[i * latent + j] - m) ** 2;
    variances.push(v / n);
  }
  return { count: variances.filter((v) => v > threshold).length, variances };
}

/** Config of {@link VAE} (written to `config.json`). */
export interface VAEConfig {
  model_type: 'muse-vae';
  /** Input vector length. */
  input_size: number;
  /** Hidden layer widths of the encoder (mirrored by the decoder). */
  hidden_sizes: number[];
  /** Latent dimensions. */
  latent_size: number;
}

/** The terms of a VAE loss, each a scalar in nats (or squared units) per row. */
export interface VAELoss {
  /** The objective to minimise: recon + β·KL (with free bits). */
  loss: Tensor;
  /** Reconstruction term per row. */
  recon: Tensor;
  /** KL(q(z|x) ‖ p(z)) per row, without free bits. */
  kl: Tensor;
}

/**
 * An MLP VAE over vectors: encoder `input → hidden… (tanh) → μ, log σ²`,
 * decoder `z → hidden… (tanh) → input`. The reconstruction term is the
 * squared error summed over features (a Gaussian likelihood with unit
 * variance up to a constant), so the loss is the negative ELBO per row when
 * β = 1. Parameter names: `encoder.{i}`, `to_mu`, `to_logvar`, `decoder.{i}`, `output`.
 */
export class VAE extends Module {
  private readonly enc: Linear[] = [];
  private readonly dec: Linear[] = [];
  private readonly toMu: Linear;
  private readonly toLogVar: Linear;
  private readonly out: Linear;

  /** @throws ConfigError on non-positive sizes */
  constructor(readonly config: VAEConfig, opts: { gen: Generator; init?: boolean }) {
    super();
    checkMlpSizes(config, 'VAE');
    const { input_size: d, hidden_sizes: hs, latent_size: k } = config;
    const enc = mlpStack(this, 'encoder', d, hs, opts);
    this.enc.push(...enc.layers);
    this.toMu = this.registerModule('to_mu', mlpLinear(enc.width, k, opts));
    this.toLogVar = this.registerModule('to_logvar', mlpLinear(enc.width, k, opts));
    const dec = mlpStack(this, 'decoder', k, [...hs].reverse(), opts);
    this.dec.push(...dec.layers);
    this.out = this.registerModule('output', mlpLinear(dec.width, d, opts));
  }

  /** `x` `[batch, input]` → μ, log σ² `[batch, latent]`. */
  encode(x: Tensor): { mu: Tensor; logVar: Tensor } {
    let h = x;
    for (const l of this.enc) h = tanh(l.forward(h));
    return { mu: this.toMu.forward(h), logVar: this.toLogVar.forward(h) };
  }

  /** `z` `[batch, latent]` → reconstruction `[batch, input]`. */
  decode(z: Tensor): Tensor {
    let h = z;
    for (const l of this.dec) h = tanh(l.forward(h));
    return this.out.forward(h);
  }

  /**
   * The loss of a batch: recon (squared error summed over features, mean over
   * rows) + β·KL, with one reparameterised sample per row (also in eval
   * mode: the ELBO is an expectation over q). `beta` 1 and no free bits give
   * the negative ELBO.
   * @param x `[batch, input]`
   */
  loss(x: Tensor, opts: { gen: Generator; beta?: number; freeBits?: number }): VAELoss {
    const { mu, logVar } = this.encode(x);
    const z = reparameterize(mu, logVar, opts.gen);
    const xHat = this.decode(z);
    const recon = mseLoss(xHat, x, { reduction: 'sum' }).div(x.shape[0]);
    const klDims = gaussianKL(mu, logVar);
    const kl = klDims.sum(-1).mean();
    const beta = opts.beta ?? 1;
    const loss = recon.add(klObjective(klDims, opts.freeBits ?? 0).mul(beta));
    return { loss, recon, kl };
  }
}
