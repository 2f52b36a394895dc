/**
 * A plain autoencoder over vectors (Hinton & Salakhutdinov 2006, "Reducing
 * the Dimensionality of Data with Neural Networks", in its modern MLP form):
 * encoder `input → hidden… → z`, decoder `z → hidden… → input`, trained to
 * minimise the mean squared reconstruction error.
 */
import { Generator, Tensor, mseLoss, relu, tanh } from '../../tensor/index.js';
import { Module } from '../../nn/module.js';
import { Linear } from '../../nn/layers.js';
import { ConfigError } from '../../errors.js';

/** Config of {@link Autoencoder} (written to `config.json`). */
export interface AutoencoderConfig {
  model_type: 'muse-autoencoder';
  /** Input vector length (the vectorizer's feature count). */
  input_size: number;
  /** Hidden widths of the encoder; the decoder mirrors them. */
  hidden_sizes: number[];
  /** Code (bottleneck) size. */
  latent_size: number;
  /** Non-linearity after each hidden layer (default `relu`); the code and the output are linear. */
  activation?: 'relu' | 'tanh';
}

/**
 * Check the sizes of an MLP autoencoder / VAE config.
 * @throws ConfigError naming the sizes when one is not a positive integer
 */
export function checkMlpSizes(config: { input_size: number; hidden_sizes: number[]; latent_size: number }, what: string): void {
  const { input_size: d, hidden_sizes: hs, latent_size: k } = config;
  const ok = (n: number) => Number.isInteger(n) && n > 0;
  if (!ok(d) || !ok(k) || !Array.isArray(hs) || !hs.every(ok)) {
    throw new ConfigError(`${what}: sizes must be positive integers, got input ${d}, hidden [${Array.isArray(hs) ? hs.join(', ') : String(hs)}], latent ${k}`);
  }
}

/**
 * Register a stack of Linear layers `from → widths[0] → widths[1] …` under
 * `owner.name.0`, `.1`, … (scale 1/√fan_in: He/LeCun-style, activations stay O(1)).
 * @returns the layers and the width of the last one
 */
export function mlpStack(owner: Module, name: string, from: number, widths: readonly number[], opts: { gen: Generator; init?: boolean }): { layers: Linear[]; width: number } {
  const stack = owner.registerModule(name, new Module());
  const layers: Linear[] = [];
  let prev = from;
  widths.forEach((h, i) => {
    layers.push(stack.registerModule(String(i), mlpLinear(prev, h, opts)));
    prev = h;
  });
  return { layers, width: prev };
}

/** One Linear `[in → out]` with the scale {@link mlpStack} uses. */
export function mlpLinear(i: number, o: number, opts: { gen: Generator; init?: boolean }): Linear {
  return new Linear(i, o, { gen: opts.gen, init: opts.init, std: 1 / Math.sqrt(i) });
}

/**
 * MLP autoencoder. Parameter names: `encoder.{i}`, `to_latent`, `decoder.{i}`, `output`
 * (each a PyTorch `nn.Linear`: `weight` `[out, in]`, `bias` `[out]`).
 */
export class Autoencoder extends Module {
  private readonly enc: Linear[] = [];
  private readonly dec: Linear[] = [];
  private readonly toLatent: Linear;
  private readonly out: Linear;
  private readonly act: (x: Tensor) => Tensor;

  /** @throws ConfigError on non-positive sizes or an unknown activation */
  constructor(readonly config: AutoencoderConfig, opts: { gen: Generator; init?: boolean }) {
    super();
    checkMlpSizes(config, 'autoencoder');
    const { input_size: d, hidden_sizes: hs, latent_size: k } = config;
    const a = config.activation ?? 'relu';
    if (a !== 'relu' && a !== 'tanh') throw new ConfigError(`autoencoder: activation must be relu or tanh, got ${String(a)}`);
    this.act = a === 'relu' ? relu : tanh;
    const enc = mlpStack(this, 'encoder', d, hs, opts);
    this.enc.push(...enc.layers);
    this.toLatent = this.registerModule('to_latent', mlpLinear(enc.width, k, opts));
    const dec = mlpStack(this, 'decoder', k, [...hs].reverse(), opts);
    this.dec.push(...dec.layers);
    this.out = this.registerModule('output', mlpLinear(dec.width, d, opts));
  }

  /** `x` `[batch, input]` → z `[batch, latent]`. */
  encode(x: Tensor): Tensor {
    let h = x;
    for (const l of this.enc) h = this.act(l.forward(h));
    return this.toLatent.forward(h);
  }

  /** z `[batch, latent]` → reconstruction `[batch, input]`. */
  decode(z: Tensor): Tensor {
    let h = z;
    for (const l of this.dec) h = this.act(l.forward(h));
    return this.out.forward(h);
  }

  /**
   * Squared reconstruction error summed over features, averaged over rows
   * (PyTorch `MSELoss(reduction='sum') / batch`), a scalar: on l2-normalised
   * rows it is the fraction of each row's energy not reconstructed (1 for an
   * all-zero output), a scale the element mean (÷ features) would hide.
   */
  loss(x: Tensor): Tensor {
    return mseLoss(this.decode(this.encode(x)), x, { reduction: 'sum' }).div(x.shape[0]);
  }
}
