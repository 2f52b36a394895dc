/**
 * A sentence VAE after Bowman et al. 2016, "Generating Sentences from a
 * Continuous Space" (CoNLL): a GRU encoder reads the line, its last state
 * gives μ and log σ² of q(z|x); z (reparameterised) sets the decoder's
 * initial state and is fed, concatenated with the previous token's
 * embedding, at every step of an autoregressive GRU decoder — so the decoder
 * is conditioned on z throughout, not only at the start. Against posterior
 * collapse: KL annealing (linear or cyclical, `vae.ts`), word dropout
 * (Bowman §3.2: decoder inputs replaced by `<unk>`) and free bits.
 */
import { Generator, Tensor, concat, crossEntropy, embedding, fromArray, linear, noGrad, reshape, tanh } from '../../tensor/index.js';
import { Module } from '../../nn/module.js';
import { Embedding, Linear } from '../../nn/layers.js';
import { ConfigError, ShapeError } from '../../errors.js';
import { GRU } from './gru.js';
import { gaussianKL, klObjective, reparameterize } from './vae.js';

/** Config of {@link SentenceVAE} (the `config.json` of its directory). */
export interface SentenceVAEConfig {
  model_type: 'muse-sentence-vae';
  vocab_size: number;
  /** Token embedding width (shared by encoder and decoder). */
  n_embd: number;
  /** GRU state width (encoder and decoder). */
  hidden_size: number;
  /** Latent dimensions. */
  latent_size: number;
  /** Longest line in tokens (without `<s>`/`</s>`); decoding stops after it. */
  max_length: number;
  pad_token_id: number;
  bos_token_id: number;
  eos_token_id: number;
  unk_token_id: number;
}

/**
 * One padded batch of lines.
 * - `inputIds` `[batch, T]` int32: the encoder's tokens (pad after the end);
 * - `attentionMask` `[batch, T]` float 0/1;
 * - `decoderInputIds` `[batch, T + 1]` int32: `<s>` then the tokens;
 * - `labels` `[batch, T + 1]` int32: the tokens then `</s>`, −100 on padding.
 */
export interface SentenceBatch {
  inputIds: Tensor;
  attentionMask: Tensor;
  decoderInputIds: Tensor;
  labels: Tensor;
}

/** Build a {@link SentenceBatch} from token-id lists (without special tokens). */
export function makeSentenceBatch(lines: readonly (readonly number[])[], config: SentenceVAEConfig): SentenceBatch {
  const B = lines.length;
  if (B === 0) throw new ConfigError('makeSentenceBatch: no lines');
  const T = Math.max(1, ...lines.map((l) => l.length));
  const ids = new Int32Array(B * T).fill(config.pad_token_id);
  const mask = new Float32Array(B * T);
  const dec = new Int32Array(B * (T + 1)).fill(config.pad_token_id);
  const labels = new Int32Array(B * (T + 1)).fill(-100);
  lines.forEach((l, b) => {
    dec[b * (T + 1)] = config.bos_token_id;
    l.forEach((id, t) => {
      ids[b * T + t] = id;
      mask[b * T + t] = 1;
      dec[b * (T + 1) + t + 1] = id;
      labels[b * (T + 1) + t] = id;
    });
    labels[b * (T + 1) + l.length] = config.eos_token_id;
  });
  return {
    inputIds: fromArray(ids, [B, T], 'int32'),
    attentionMask: fromArray(mask, [B, T]),
    decoderInputIds: fromArray(dec, [B, T + 1], 'int32'),
    labels: fromArray(labels, [B, T + 1], 'int32'),
  };
}

/** Options of {@link SentenceVAE.loss}. */
export interface SentenceVAELossOptions {
  /** Source of ε and of the word-dropout mask. */
  gen: Generator;
  /** KL weight β (default 1). */
  beta?: number;
  /** Free bits λ in nats per latent dimension (default 0). */
  freeBits?: number;
  /** Probability of replacing a decoder input token by `<unk>` (default 0; Bowman et al. §3.2). */
  wordDropout?: number;
}

/** The terms of the sentence VAE's objective, scalars in nats per line. */
export interface SentenceVAELoss {
  /** recon + β·KL (free bits applied): what training minimises. */
  loss: Tensor;
  /** −log p(x|z), summed over the line's tokens (with `</s>`). */
  recon: Tensor;
  /** KL(q(z|x) ‖ N(0, I)) without free bits. recon + kl = −ELBO. */
  kl: Tensor;
  /** Posterior means `[batch, latent]` (for active-unit statistics). */
  mu: Tensor;
}

/** Options of {@link SentenceVAE.decode}. */
export interface SentenceDecodeOptions {
  /** 0 (default) = greedy; otherwise softmax sampling at this temperature. */
  temperature?: number;
  /** Keep only the k most likely tokens when sampling (default all). */
  topK?: number;
  /** Source of the samples (required when temperature > 0). */
  gen?: Generator;
  /** Longest output in tokens (default `config.max_length`). */
  maxLength?: number;
}

/**
 * The sentence VAE. Parameter names: `embed.weight`, `encoder.*` (PyTorch
 * `nn.GRU` names), `to_mu`, `to_logvar`, `latent_to_hidden`, `decoder.*`, `lm_head`.
 */
export class SentenceVAE extends Module {
  readonly embed: Embedding;
  readonly encoder: GRU;
  readonly toMu: Linear;
  readonly toLogVar: Linear;
  readonly latentToHidden: Linear;
  readonly decoder: GRU;
  readonly lmHead: Linear;

  /** @throws ConfigError on non-positive sizes or special ids outside the vocabulary */
  constructor(readonly config: SentenceVAEConfig, opts: { gen: Generator; init?: boolean }) {
    super();
    const c = config;
    for (const k of ['vocab_size', 'n_embd', 'hidden_size', 'latent_size', 'max_length'] as const) {
      if (!Number.isInteger(c[k]) || c[k] <= 0) throw new ConfigError(`sentence VAE config: ${k} must be a positive integer, got ${c[k]}`);
    }
    for (const k of ['pad_token_id', 'bos_token_id', 'eos_token_id', 'unk_token_id'] as const) {
      if (!Number.isInteger(c[k]) || c[k] < 0 || c[k] >= c.vocab_size) throw new ConfigError(`sentence VAE config: ${k} ${c[k]} is outside the vocabulary of ${c.vocab_size}`);
    }
    const o = { gen: opts.gen, init: opts.init };
    this.embed = this.registerModule('embed', new Embedding(c.vocab_size, c.n_embd, { ...o, std: 0.1 }));
    this.encoder = this.registerModule('encoder', new GRU(c.n_embd, c.hidden_size, o));
    this.toMu = this.registerModule('to_mu', new Linear(c.hidden_size, c.latent_size, { ...o, std: 1 / Math.sqrt(c.hidden_size) }));
    this.toLogVar = this.registerModule('to_logvar', new Linear(c.hidden_size, c.latent_size, { ...o, std: 0.01 }));
    this.latentToHidden = this.registerModule('latent_to_hidden', new Linear(c.latent_size, c.hidden_size, { ...o, std: 1 / Math.sqrt(c.latent_size) }));
    this.decoder = this.registerModule('decoder', new GRU(c.n_embd + c.latent_size, c.hidden_size, o));
    this.lmHead = this.registerModule('lm_head', new Linear(c.hidden_size, c.vocab_size, { ...o, std: 1 / Math.sqrt(c.hidden_size) }));
  }

  /**
   * q(z|x): the encoder's last state (per row, padding skipped) → μ, log σ².
   * @param inputIds `[batch, T]` int32
   * @param attentionMask `[batch, T]` float 0/1 (default all ones)
   * @returns μ, log σ² `[batch, latent]`
   */
  encode(inputIds: Tensor, attentionMask?: Tensor): { mu: Tensor; logVar: Tensor } {
    const x = this.embed.forward(inputIds);
    const { hN } = this.encoder.forward(x, undefined, attentionMask);
    return { mu: this.toMu.forward(hN), logVar: this.toLogVar.forward(hN) };
  }

  /**
   * Teacher-forced decoder logits p(x_t | x_<t, z).
   * @param z `[batch, latent]`
   * @param decoderInputIds `[batch, T]` int32 (`<s>` first)
   * @returns logits `[batch, T, vocab]`
   */
  decoderLogits(z: Tensor, decoderInputIds: Tensor): Tensor {
    const [B, T] = decoderInputIds.shape as [number, number];
    if (z.shape[0] !== B || z.shape[1] !== this.config.latent_size) {
      throw new ShapeError(`SentenceVAE: z must be [${B}, ${this.config.latent_size}], got [${z.shape.join(', ')}]`);
    }
    const emb = this.embed.forward(decoderInputIds); // [B, T, E]
    const zs = reshape(z, [B, 1, this.config.latent_size]).expand([B, T, this.config.latent_size]);
    const h0 = tanh(this.latentToHidden.forward(z));
    const { output } = this.decoder.forward(concat([emb, zs], -1), h0);
    return this.lmHead.forward(output);
  }

  /**
   * The objective of a batch. In training mode with the given β, free bits
   * and word dropout (word dropout applies in training mode only); with β = 1 and neither (what evaluation passes) `loss`
   * is the negative ELBO per line (one sample of z).
   */
  loss(batch: SentenceBatch, opts: SentenceVAELossOptions): SentenceVAELoss {
    const { mu, logVar } = this.encode(batch.inputIds, batch.attentionMask);
    const z = reparameterize(mu, logVar, opts.gen);
    // Word dropout is a training-time corruption: in eval mode the decoder always sees the real inputs.
    const decIn = opts.wordDropout && this.training ? this.wordDropout(batch.decoderInputIds, opts.wordDropout, opts.gen) : batch.decoderInputIds;
    const logits = this.decoderLogits(z, decIn);
    const B = batch.inputIds.shape[0];
    const recon = crossEntropy(logits, batch.labels, { reduction: 'sum' }).div(B);
    const klDims = gaussianKL(mu, logVar);
    const kl = klDims.sum(-1).mean();
    const loss = recon.add(klObjective(klDims, opts.freeBits ?? 0).mul(opts.beta ?? 1));
    return { loss, recon, kl, mu };
  }

  /**
   * Bowman et al.'s word dropout: each decoder input after `<s>` (padding
   * excluded) becomes `<unk>` with probability p, so the decoder must lean on z.
   */
  wordDropout(decoderInputIds: Tensor, p: number, gen: Generator): Tensor {
    const src = decoderInputIds.data as Int32Array;
    const out = new Int32Array(src);
    const [B, T] = decoderInputIds.shape as [number, number];
    const { pad_token_id: pad, unk_token_id: unk } = this.config;
    for (let b = 0; b < B; b++) {
      for (let t = 1; t < T; t++) {
        const i = b * T + t;
        if (out[i] !== pad && gen.random() < p) out[i] = unk;
      }
    }
    return fromArray(out, [B, T], 'int32');
  }

  /**
   * Decode lines from latent codes, one token at a time (GRU state carried
   * over), until `</s>` or `maxLength` tokens. `<s>`, `</s>`, `<pad>` and
   * `<unk>` are never emitted as text tokens (`<pad>`/`<unk>`/`<s>` are masked out).
   * @param z `[batch, latent]`
   * @returns token ids per row, without special tokens
   * @throws ConfigError when sampling without a generator
   */
  decode(z: Tensor, opts: SentenceDecodeOptions = {}): number[][] {
    const c = this.config;
    const temperature = opts.temperature ?? 0;
    if (temperature > 0 && !opts.gen) throw new ConfigError('SentenceVAE.decode: sampling (temperature > 0) needs a generator');
    const maxLength = opts.maxLength ?? c.max_length;
    const B = z.shape[0];
    return noGrad(() => {
      let h = tanh(this.latentToHidden.forward(z));
      let prev = new Int32Array(B).fill(c.bos_token_id);
      const out: number[][] = Array.from({ length: B }, () => []);
      const done = new Array<boolean>(B).fill(false);
      const banned = [c.pad_token_id, c.bos_token_id, c.unk_token_id];
      for (let t = 0; t <= maxLength && done.some((d) => !d); t++) {
        const emb = embedding(fromArray(prev, [B], 'int32'), this.embed.weight);
        const gi = linear(concat([emb, z], -1), this.decoder.weightIh, this.decoder.biasIh);
        h = this.decoder.cell(gi, h);
        const logits = this.lmHead.forward(h).data as Float32Array;
        const V = c.vocab_size;
        const next = new Int32Array(B);
        for (let b = 0; b < B; b++) {
          const row = logits.subarray(b * V, (b + 1) * V).slice();
          for (const id of banned) row[id] = -Infinity;
          if (t === maxLength) {
            next[b] = c.eos_token_id; // the longest line ends here
          } else {
            next[b] = temperature > 0 ? sampleRow(row, temperature, opts.topK, opts.gen!) : argmaxRow(row);
          }
          if (!done[b]) {
            if (next[b] === c.eos_token_id) done[b] = true;
            else out[b].push(next[b]);
          }
        }
        prev = next;
      }
      return out;
    });
  }
}

function argmaxRow(row: Float32Array): number {
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i] > row[best]) best = i;
  return best;
}

/** Softmax sampling at a temperature, optionally among the top k logits. */
function sampleRow(row: Float32Array, temperature: number, topK: number | undefined, gen: Generator): number {
  let cutoff = -Infinity;
  if (topK !== undefined && topK > 0 && topK < row.length) {
    cutoff = Float32Array.from(row).sort().reverse()[topK - 1]!;
  }
  let max = -Infinity;
  for (const v of row) if (v > max) max = v;
  const p = new Float64Array(row.length);
  let s = 0;
  for (let i = 0; i < row.length; i++) {
    if (row[i] < cutoff || row[i] === -Infinity) continue;
    p[i] = Math.exp((row[i] - max) / temperature);
    s += p[i];
  }
  let u = gen.random() * s;
  for (let i = 0; i < row.length; i++) {
    u -= p[i];
    if (u <= 0 && p[i] > 0) return i;
  }
  return argmaxRow(row);
}
