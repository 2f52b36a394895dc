import { Tensor, Generator, fromArray, noGrad, crossEntropy, gelu, relu, scaledDotProductAttention, matmul } from '../../tensor/index.js';
import { isGradEnabled } from '../../tensor/autograd.js';
import { getBackend } from '../../backend/index.js';
import { kernelMLMLoss, type FusedBertParams } from './train-step.js';
import { Module } from '../../nn/module.js';
import { Dropout, Embedding, LayerNorm, Linear, normalInit } from '../../nn/layers.js';
import { ShapeError } from '../../errors.js';
import { bertConfig, type BertConfig } from './config.js';

/** The activation named by `hidden_act` (HF `ACT2FN`): `gelu` is the exact erf form. */
function activation(x: Tensor, act: BertConfig['hidden_act']): Tensor {
  if (act === 'relu') return relu(x);
  return gelu(x, act === 'gelu' ? 'none' : 'tanh');
}

/**
 * `bert.embeddings`: word + learned position + token-type embeddings, then
 * LayerNorm and dropout (Devlin et al. 2019 §3, Fig. 2; HF `BertEmbeddings`).
 */
export class BertEmbeddings extends Module {
  readonly word_embeddings: Embedding;
  readonly position_embeddings: Embedding;
  readonly token_type_embeddings: Embedding;
  readonly LayerNorm: LayerNorm;
  private readonly dropout: Dropout;

  constructor(cfg: BertConfig, gen: Generator, init = true) {
    super();
    const o = { std: cfg.initializer_range, gen, init };
    this.word_embeddings = this.registerModule('word_embeddings', new Embedding(cfg.vocab_size, cfg.hidden_size, o));
    this.position_embeddings = this.registerModule('position_embeddings', new Embedding(cfg.max_position_embeddings, cfg.hidden_size, o));
    this.token_type_embeddings = this.registerModule('token_type_embeddings', new Embedding(cfg.type_vocab_size, cfg.hidden_size, o));
    this.LayerNorm = this.registerModule('LayerNorm', new LayerNorm(cfg.hidden_size, cfg.layer_norm_eps));
    this.dropout = this.registerModule('dropout', new Dropout(cfg.hidden_dropout_prob, gen));
  }

  /** ids, positions, token types, each int32 `[batch, seqLen]` → `[batch, seqLen, hidden_size]`. */
  forward(inputIds: Tensor, positionIds: Tensor, tokenTypeIds: Tensor): Tensor {
    const x = this.word_embeddings.forward(inputIds).add(this.position_embeddings.forward(positionIds)).add(this.token_type_embeddings.forward(tokenTypeIds));
    return this.dropout.forward(this.LayerNorm.forward(x));
  }
}

/** `attention.self`: the query, key and value projections (HF `BertSelfAttention`, `nn.Linear` layout `[out, in]`). */
export class BertSelfAttention extends Module {
  readonly query: Linear;
  readonly key: Linear;
  readonly value: Linear;
  readonly nHead: number;
  readonly headDim: number;

  constructor(cfg: BertConfig, gen: Generator, init = true) {
    super();
    const C = cfg.hidden_size;
    const o = { std: cfg.initializer_range, gen, init };
    this.nHead = cfg.num_attention_heads;
    this.headDim = C / cfg.num_attention_heads;
    this.query = this.registerModule('query', new Linear(C, C, o));
    this.key = this.registerModule('key', new Linear(C, C, o));
    this.value = this.registerModule('value', new Linear(C, C, o));
  }

  /**
   * Bidirectional multi-head attention (Vaswani et al. 2017 §3.2.2).
   * @param x `[batch, seqLen, hidden]`
   * @param keyPaddingMask `[batch, seqLen]`, 1 = attend, 0 = padding; null = all real
   * @returns the heads concatenated, `[batch, seqLen, hidden]` (before `attention.output.dense`)
   */
  forward(x: Tensor, keyPaddingMask: Tensor | null): Tensor {
    const [B, T, C] = x.shape as [number, number, number];
    const H = this.nHead;
    const D = this.headDim;
    const heads = (t: Tensor) => t.reshape([B, T, H, D]).permute([0, 2, 1, 3]);
    const y = scaledDotProductAttention(heads(this.query.forward(x)), heads(this.key.forward(x)), heads(this.value.forward(x)), { keyPaddingMask });
    return y.permute([0, 2, 1, 3]).reshape([B, T, C]);
  }
}

/** `dense` → dropout → `LayerNorm(· + residual)`: HF's `BertSelfOutput` and `BertOutput` (post-LayerNorm). */
export class BertResidualOutput extends Module {
  readonly dense: Linear;
  readonly LayerNorm: LayerNorm;
  private readonly dropout: Dropout;

  constructor(inFeatures: number, cfg: BertConfig, gen: Generator, init = true) {
    super();
    this.dense = this.registerModule('dense', new Linear(inFeatures, cfg.hidden_size, { std: cfg.initializer_range, gen, init }));
    this.LayerNorm = this.registerModule('LayerNorm', new LayerNorm(cfg.hidden_size, cfg.layer_norm_eps));
    this.dropout = this.registerModule('dropout', new Dropout(cfg.hidden_dropout_prob, gen));
  }

  /** `h` `[..., inFeatures]`, `residual` `[..., hidden]` → `[..., hidden]`. */
  forward(h: Tensor, residual: Tensor): Tensor {
    return this.LayerNorm.forward(this.dropout.forward(this.dense.forward(h)).add(residual));
  }
}

/** `attention`: `self` + `output` (HF `BertAttention`). */
export class BertAttention extends Module {
  readonly self: BertSelfAttention;
  readonly output: BertResidualOutput;
  constructor(cfg: BertConfig, gen: Generator, init = true) {
    super();
    this.self = this.registerModule('self', new BertSelfAttention(cfg, gen, init));
    this.output = this.registerModule('output', new BertResidualOutput(cfg.hidden_size, cfg, gen, init));
  }
  /** `[batch, seqLen, hidden]` → same shape. */
  forward(x: Tensor, keyPaddingMask: Tensor | null): Tensor {
    return this.output.forward(this.self.forward(x, keyPaddingMask), x);
  }
}

/** `intermediate`: `dense` (hidden → intermediate_size) and the activation. */
export class BertIntermediate extends Module {
  readonly dense: Linear;
  constructor(private readonly cfg: BertConfig, gen: Generator, init = true) {
    super();
    this.dense = this.registerModule('dense', new Linear(cfg.hidden_size, cfg.intermediate_size, { std: cfg.initializer_range, gen, init }));
  }
  /** `[..., hidden]` → `[..., intermediate_size]`. */
  forward(x: Tensor): Tensor {
    return activation(this.dense.forward(x), this.cfg.hidden_act);
  }
}

/** One post-LayerNorm encoder layer (HF `BertLayer`): attention, then the feed-forward block, each `LayerNorm(x + sublayer(x))`. */
export class BertLayer extends Module {
  readonly attention: BertAttention;
  readonly intermediate: BertIntermediate;
  readonly output: BertResidualOutput;
  constructor(cfg: BertConfig, gen: Generator, init = true) {
    super();
    this.attention = this.registerModule('attention', new BertAttention(cfg, gen, init));
    this.intermediate = this.registerModule('intermediate', new BertIntermediate(cfg, gen, init));
    this.output = this.registerModule('output', new BertResidualOutput(cfg.intermediate_size, cfg, gen, init));
  }
  /** `[batch, seqLen, hidden]` → same shape. */
  forward(x: Tensor, keyPaddingMask: Tensor | null): Tensor {
    const h = this.attention.forward(x, keyPaddingMask);
    return this.output.forward(this.intermediate.forward(h), h);
  }
}

/** `bert`: embeddings and `encoder.layer.{i}` (HF `BertModel` with `add_pooling_layer=False`). */
export class BertEncoderModel extends Module {
  readonly embeddings: BertEmbeddings;
  readonly layer: BertLayer[] = [];
  constructor(cfg: BertConfig, gen: Generator, init = true) {
    super();
    this.embeddings = this.registerModule('embeddings', new BertEmbeddings(cfg, gen, init));
    const encoder = this.registerModule('encoder', new Module());
    const layers = encoder.registerModule('layer', new Module());
    for (let i = 0; i < cfg.num_hidden_layers; i++) this.layer.push(layers.registerModule(String(i), new BertLayer(cfg, gen, init)));
  }
}

/** `cls.predictions.transform`: dense → activation → LayerNorm (HF `BertPredictionHeadTransform`). */
export class BertPredictionHeadTransform extends Module {
  readonly dense: Linear;
  readonly LayerNorm: LayerNorm;
  constructor(private readonly cfg: BertConfig, gen: Generator, init = true) {
    super();
    this.dense = this.registerModule('dense', new Linear(cfg.hidden_size, cfg.hidden_size, { std: cfg.initializer_range, gen, init }));
    this.LayerNorm = this.registerModule('LayerNorm', new LayerNorm(cfg.hidden_size, cfg.layer_norm_eps));
  }
  /** `[..., hidden]` → same shape. */
  forward(x: Tensor): Tensor {
    return this.LayerNorm.forward(activation(this.dense.forward(x), this.cfg.hidden_act));
  }
}

/**
 * `cls.predictions`: the transform, then the decoder — tied to
 * `bert.embeddings.word_embeddings.weight` unless `tie_word_embeddings` is
 * false (then `decoder.weight` is its own parameter) — plus the output `bias`
 * `[vocab_size]` (HF's `cls.predictions.decoder.bias` is this same tensor).
 */
export class BertLMPredictionHead extends Module {
  readonly transform: BertPredictionHeadTransform;
  readonly bias: Tensor;
  readonly decoderWeight: Tensor;
  constructor(cfg: BertConfig, wordEmbeddings: Tensor, gen: Generator, init = true) {
    super();
    this.transform = this.registerModule('transform', new BertPredictionHeadTransform(cfg, gen, init));
    this.bias = this.registerParameter('bias', new Tensor(new Float32Array(cfg.vocab_size), [cfg.vocab_size]));
    if (cfg.tie_word_embeddings) this.decoderWeight = wordEmbeddings;
    else {
      const decoder = this.registerModule('decoder', new Module());
      this.decoderWeight = decoder.registerParameter('weight', normalInit([cfg.vocab_size, cfg.hidden_size], cfg.initializer_range, gen, init));
    }
  }
  /** `[..., hidden]` → logits `[..., vocab_size]`. */
  forward(hidden: Tensor): Tensor {
    return matmul(this.transform.forward(hidden), this.decoderWeight, { transB: true }).add(this.bias);
  }
}

/** Options of {@link BertForMaskedLM.forward}. */
export interface BertForwardOptions {
  /** int32 `[batch, seqLen]`, 1 = real token, 0 = padding (keys only are masked, as HF). Default: all real. */
  attentionMask?: Tensor | null;
  /** int32 `[batch, seqLen]` segment ids `< type_vocab_size`. Default: zeros. */
  tokenTypeIds?: Tensor | null;
  /** int32 `[batch, seqLen]`. Default: `0 … seqLen−1` in every row. */
  positionIds?: Tensor | null;
  /** int32 `[batch, seqLen]`: the original token at masked positions, −100 elsewhere (HF convention; not shifted). */
  labels?: Tensor | null;
  /**
   * `'all'` (default): logits for every position, `[batch, seqLen, vocab]` (HF).
   * `'labelled'`: logits only for the positions whose label is not −100,
   * `[count, vocab]` in row-major order — the same loss for a sixth of the
   * head's cost when 15% of positions are masked.
   * `'none'`: the loss of `'labelled'` only; `logits` is an empty
   * `[0, vocab]` tensor (training: no copy of a `[count, vocab]` array per step).
   */
  logitsFor?: 'all' | 'labelled' | 'none';
}

/** Output of {@link BertForMaskedLM.forward}. */
export interface BertMaskedLMOutput {
  /** `[batch, seqLen, vocab_size]`, `[count, vocab_size]` with `logitsFor: 'labelled'`, `[0, vocab_size]` with `'none'`. */
  logits: Tensor;
  /** Mean cross-entropy over labelled positions (scalar), when labels were given. */
  loss?: Tensor;
}

/**
 * BERT with its masked-language-model head (Devlin et al. 2019; HF
 * `BertForMaskedLM`): word + position + token-type embeddings, post-LayerNorm
 * encoder layers with bidirectional attention, exact-erf GELU, and
 * `cls.predictions` (transform + decoder tied to the word embeddings + bias).
 * Parameter names and layouts are Hugging Face's (`bert.encoder.layer.0.attention.self.query.weight`
 * is `[out, in]`), so checkpoints round-trip with `transformers`.
 * Attention-probability dropout is not applied (the attention kernel is fused);
 * hidden dropout is.
 */
export class BertForMaskedLM extends Module {
  readonly config: BertConfig;
  readonly bert: BertEncoderModel;
  readonly cls: Module;
  readonly predictions: BertLMPredictionHead;
  /**
   * Compute the training loss (`logitsFor: 'labelled'` with labels and
   * default positions) and its gradients with the backend's whole-step
   * kernel when it has one (native; `train-step.ts`) and the decoder is
   * tied. false forces the op-by-op autograd path (tests compare the two).
   */
  fusedTrain = true;
  /** The generator of initialisation and of every Dropout module (the fused path draws its masks from it too). */
  private readonly generator: Generator;

  /**
   * @param config HF BERT config fields (completed with `BertConfig` defaults and validated)
   * @param opts.seed seed of the generator for initialisation and dropout
   * @param opts.init false = skip the random initialisation (a checkpoint is loaded next)
   * @throws ConfigError for an invalid config
   */
  constructor(config: Partial<BertConfig> & Record<string, unknown>, opts: { seed?: number; generator?: Generator; init?: boolean } = {}) {
    super();
    this.config = bertConfig(config);
    const gen = opts.generator ?? new Generator(opts.seed ?? 1337);
    this.generator = gen;
    const init = opts.init ?? true;
    this.bert = this.registerModule('bert', new BertEncoderModel(this.config, gen, init));
    this.cls = this.registerModule('cls', new Module());
    this.predictions = this.cls.registerModule('predictions', new BertLMPredictionHead(this.config, this.bert.embeddings.word_embeddings.weight, gen, init));
  }

  get vocabSize(): number {
    return this.config.vocab_size;
  }

  /** @throws ShapeError unless every given `[batch, seqLen]` input matches inputIds and seqLen ≤ max_position_embeddings */
  private checkInputs(inputIds: Tensor, opts: BertForwardOptions): void {
    if (inputIds.shape.length !== 2) throw new ShapeError(`BertForMaskedLM: inputIds must be [batch, seqLen], got [${inputIds.shape.join(', ')}]`);
    const [B, T] = inputIds.shape as [number, number];
    if (T > this.config.max_position_embeddings) {
      throw new ShapeError(`BertForMaskedLM: sequence length ${T} exceeds max_position_embeddings ${this.config.max_position_embeddings}; truncate the input`);
    }
    const check = (name: string, t: Tensor | null | undefined): void => {
      if (t && (t.shape.length !== 2 || t.shape[0] !== B || t.shape[1] !== T)) {
        throw new ShapeError(`BertForMaskedLM: ${name} must be [${B}, ${T}] like inputIds, got [${t.shape.join(', ')}]`);
      }
    };
    check('attentionMask', opts.attentionMask);
    check('tokenTypeIds', opts.tokenTypeIds);
    check('positionIds', opts.positionIds);
    check('labels', opts.labels);
  }

  /** The trainable tensors in the whole-step kernel's order, and the active hidden dropout. */
  private fusedParams(): FusedBertParams {
    const e = this.bert.embeddings;
    const tensors: Tensor[] = [e.word_embeddings.weight, e.position_embeddings.weight, e.token_type_embeddings.weight, e.LayerNorm.weight, e.LayerNorm.bias];
    for (const l of this.bert.layer) {
      const sa = l.attention.self;
      const lin = (x: Linear): Tensor[] => [x.weight, x.bias!];
      tensors.push(
        ...lin(sa.query), ...lin(sa.key), ...lin(sa.value), ...lin(l.attention.output.dense), l.attention.output.LayerNorm.weight, l.attention.output.LayerNorm.bias,
        ...lin(l.intermediate.dense), ...lin(l.output.dense), l.output.LayerNorm.weight, l.output.LayerNorm.bias,
      );
    }
    const t = this.predictions.transform;
    tensors.push(t.dense.weight, t.dense.bias!, t.LayerNorm.weight, t.LayerNorm.bias, this.predictions.bias);
    const p = this.config.hidden_dropout_prob;
    return { tensors, dropout: this.training && p > 0 ? { p, gen: this.generator } : null };
  }

  /**
   * The encoder's last hidden state (HF `BertModel(...).last_hidden_state`).
   * @param inputIds int32 `[batch, seqLen]`, seqLen ≤ max_position_embeddings
   * @returns `[batch, seqLen, hidden_size]`
   * @throws ShapeError for a sequence longer than max_position_embeddings or mismatched shapes
   */
  encode(inputIds: Tensor, opts: Pick<BertForwardOptions, 'attentionMask' | 'tokenTypeIds' | 'positionIds'> = {}): Tensor {
    this.checkInputs(inputIds, opts);
    const [B, T] = inputIds.shape as [number, number];
    let pos = opts.positionIds ?? null;
    if (!pos) {
      const p = new Int32Array(B * T);
      for (let b = 0; b < B; b++) for (let i = 0; i < T; i++) p[b * T + i] = i;
      pos = fromArray(p, [B, T], 'int32');
    }
    const types = opts.tokenTypeIds ?? fromArray(new Int32Array(B * T), [B, T], 'int32');
    let x = this.bert.embeddings.forward(inputIds, pos, types);
    const mask = opts.attentionMask ?? null;
    for (const layer of this.bert.layer) x = layer.forward(x, mask);
    return x;
  }

  /**
   * Masked-LM forward pass (differentiable).
   * @returns logits (see {@link BertForwardOptions.logitsFor}) and the mean
   *   cross-entropy over labelled positions when `labels` are given
   * @throws ShapeError when shapes disagree or the sequence is too long
   */
  forward(inputIds: Tensor, opts: BertForwardOptions = {}): BertMaskedLMOutput {
    const kernels = getBackend().bertTrain;
    if (
      kernels && this.fusedTrain && (opts.logitsFor === 'labelled' || opts.logitsFor === 'none') && opts.labels && !opts.positionIds && this.config.tie_word_embeddings &&
      inputIds.dtype === 'int32' && opts.labels.dtype === 'int32' && (!opts.attentionMask || opts.attentionMask.dtype === 'int32') &&
      (!opts.tokenTypeIds || opts.tokenTypeIds.dtype === 'int32') && (!isGradEnabled() || this.parameters().every((p) => p.requiresGrad))
    ) {
      this.checkInputs(inputIds, opts);
      return kernelMLMLoss(kernels, this, this.config, this.fusedParams(), inputIds, opts.tokenTypeIds ?? null, opts.attentionMask ?? null, opts.labels, opts.logitsFor === 'labelled');
    }
    const hidden = this.encode(inputIds, opts); // checks every input's shape, labels included
    const [B, T, C] = hidden.shape as [number, number, number];
    const labels = opts.labels ?? null;
    const V = this.config.vocab_size;
    if (opts.logitsFor === 'labelled' || opts.logitsFor === 'none') {
      if (!labels) throw new ShapeError(`BertForMaskedLM: logitsFor '${opts.logitsFor}' needs labels`);
      const ld = labels.data as Int32Array;
      const rows: number[] = [];
      const targets: number[] = [];
      for (let i = 0; i < ld.length; i++) if (ld[i] !== -100) {
        rows.push(i);
        targets.push(ld[i]);
      }
      const picked = hidden.reshape([B * T, C]).indexSelect(0, fromArray(Int32Array.from(rows), [rows.length], 'int32'));
      const logits = this.predictions.forward(picked);
      const loss = crossEntropy(logits, fromArray(Int32Array.from(targets), [targets.length], 'int32'), { ignoreIndex: -100 });
      return { logits: opts.logitsFor === 'none' ? fromArray(new Float32Array(0), [0, V]) : logits, loss };
    }
    const logits = this.predictions.forward(hidden);
    if (!labels) return { logits };
    const loss = crossEntropy(logits.reshape([B * T, V]), labels.reshape([B * T]), { ignoreIndex: -100 });
    return { logits, loss };
  }

  /**
   * Inference logits without gradients (dropout off), as flat arrays.
   * @param inputIds `[batch, seqLen]` row-major
   * @param attentionMask `[batch, seqLen]`, 1 = real token; null = all real
   * @returns logits `[batch, seqLen, vocab_size]` row-major
   */
  logits(inputIds: Int32Array, batch: number, seqLen: number, attentionMask: Int32Array | null = null): Float32Array {
    if (inputIds.length !== batch * seqLen) throw new ShapeError(`BertForMaskedLM.logits: ${inputIds.length} ids, expected batch·seqLen = ${batch}·${seqLen}`);
    const wasTraining = this.training;
    if (wasTraining) this.eval();
    try {
      return noGrad(() => {
        const mask = attentionMask ? fromArray(attentionMask, [batch, seqLen], 'int32') : null;
        return this.forward(fromArray(inputIds, [batch, seqLen], 'int32'), { attentionMask: mask }).logits.data as Float32Array;
      });
    } finally {
      if (wasTraining) this.train();
    }
  }
}
