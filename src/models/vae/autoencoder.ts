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
    const { input_size: d, hidden_sizes: hs, latent_size: k } = config;
    if (!(Number.isInteger(d) && d > 0) || !(Number.isInteger(k) && k > 0) || hs.some((h) => !(Number.isInteger(h) && h > 0))) {
      throw new ConfigError(`autoencoder: sizes must be positive integers, got input ${d}, hidden [${hs.join(', ')}], latent ${k}`);
    }
    const a = config.activation ?? 'relu';
    if (a !== 'relu' && a !== 'tanh') throw new ConfigError(`autoencoder: activation must be relu or tanh, got ${String(a)}`);
    this.act = a === 'relu' ? relu : tanh;
    // He/LeCun-style scale 1/√fan_in keeps activations O(1) through the stack.
    const mk = (i: number, o: number) => new Linear(i, o, { gen: opts.gen, init: opts.init, std: 1 / Math.sqrt(i) });
    const encoder = this.registerModule('encoder', new Module());
    let prev = d;
    hs.forEach((h, i) => {
      this.enc.push(encoder.registerModule(String(i), mk(prev, h)));
      prev = h;
    });
    this.toLatent = this.registerModule('to_latent', mk(prev, k));
    const decoder = this.registerModule('decoder', new Module());
    prev = k;
    [...hs].reverse().forEach((h, i) => {
      this.dec.push(decoder.registerModule(String(i), mk(prev, h)));
      prev = h;
    });
    this.out = this.registerModule('output', mk(prev, d));
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
