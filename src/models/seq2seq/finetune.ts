import { countTargetTokens } from '../../train/target-tokens.js';
import { join } from 'node:path';
import { Generator, fromArray, type Tensor } from '../../tensor/index.js';
import { Seq2SeqTransformer } from './model.js';
import type { Seq2SeqConfig } from './config.js';
import { checkpointSaver } from '../pretrained.js';
import { Trainer, type TrainSummary } from '../../train/index.js';
import { splitDocuments, type StoryPair } from '../../data/index.js';
import { toHF, type GenerationConfig } from '../../generate/index.js';
import { corpusBleu, corpusRouge, hasCjk } from '../../eval/index.js';
import type { Tokenizer } from '../../tokenizers/index.js';
import { ConfigError } from '../../errors.js';
import type { EndingScores } from '../gpt2/finetune.js';
import { encodeSource, generateEndings, loadSeq2SeqDir, SEQ2SEQ_MODEL_TYPE } from './load.js';
import { assertFreshRunDir, type FinetuneRunOptions } from '../../pipelines/runs.js';

/** One training example of the encoder–decoder: source ids and target labels. */
export interface Seq2SeqExample {
  /** `[srcLen]` beginning tokens + EOS (see {@link encodeSource}). */
  inputIds: number[];
  /** `[tgtLen]` ending tokens + EOS (no EOS when the ending was cut at maxTargetLength). */
  labels: number[];
}

/**
 * Encode (beginning → ending) pairs for the encoder–decoder: the source is
 * the beginning plus EOS (its last tokens when too long), the target the
 * ending plus EOS (its first `maxTargetLength` tokens when too long, then
 * without EOS, so the model never learns to stop mid-story).
 */
export function pairsToSeq2SeqExamples(
  pairs: readonly StoryPair[],
  tokenizer: Tokenizer,
  opts: { eosId: number; maxSourceLength: number; maxTargetLength: number },
): Seq2SeqExample[] {
  return pairs.map((p) => {
    const end = tokenizer.encode(p.ending.trim(), { addSpecialTokens: false }).ids;
    const labels = end.length + 1 <= opts.maxTargetLength ? [...end, opts.eosId] : end.slice(0, opts.maxTargetLength);
    return { inputIds: encodeSource(tokenizer, p.beginning.trim(), opts.eosId, opts.maxSourceLength), labels };
  });
}

/** A padded batch: sources right-padded with `padId` (mask 0), labels with −100. */
export interface Seq2SeqBatch {
  inputIds: Tensor;
  attentionMask: Tensor;
  labels: Tensor;
}

/** Pad examples into int32 tensors `[batch, maxSrcLen]` / `[batch, maxTgtLen]`. */
export function collateSeq2Seq(examples: readonly Seq2SeqExample[], padId: number): Seq2SeqBatch {
  const B = examples.length;
  const S = Math.max(...examples.map((e) => e.inputIds.length));
  const T = Math.max(...examples.map((e) => e.labels.length));
  const ids = new Int32Array(B * S).fill(padId);
  const mask = new Int32Array(B * S);
  const labels = new Int32Array(B * T).fill(-100);
  examples.forEach((e, b) => {
    e.inputIds.forEach((id, i) => {
      ids[b * S + i] = id;
      mask[b * S + i] = 1;
    });
    labels.set(e.labels, b * T);
  });
  return { inputIds: fromArray(ids, [B, S], 'int32'), attentionMask: fromArray(mask, [B, S], 'int32'), labels: fromArray(labels, [B, T], 'int32') };
}

/**
 * Corpus BLEU (sacreBLEU; `zh` tokenizer for Chinese references) and mean
 * ROUGE-L F1 (rouge-score; CJK-aware tokenizer chosen automatically) of
 * hypotheses against references.
 */
export function scoreHypotheses(hypotheses: string[], references: readonly string[]): EndingScores {
  const tokenize = references.some((r) => hasCjk(r)) ? 'zh' : '13a';
  return {
    bleu: corpusBleu(hypotheses, [references], { tokenize }).score,
    rougeL: corpusRouge(hypotheses, references, { rougeTypes: ['rougeL'] }).mean.rougeL.fmeasure,
    tokenize,
    hypotheses,
  };
}

/** The trivial baseline: the ending is the beginning copied. */
export function copyBaseline(pairs: readonly StoryPair[]): EndingScores {
  return scoreHypotheses(pairs.map((p) => p.beginning), pairs.map((p) => p.ending));
}

/** Options of {@link finetuneSeq2Seq} (held-out decoding stays within maxTargetLength). */
export interface FinetuneSeq2SeqOptions extends FinetuneRunOptions {
  /** Source and target vocabulary (one tokenizer; its end-of-text token is EOS, padding and decoder start). */
  tokenizer: Tokenizer;
  /** Continue training this model (e.g. a loaded `muse-seq2seq` directory); default: a new model from `config`. */
  model?: Seq2SeqTransformer;
  /** Fields of a new model's config (vocabulary size and special ids come from the tokenizer). */
  config?: Partial<Seq2SeqConfig>;
  /** More training pairs (e.g. other cut points of the training stories); never held out. */
  extraTrainPairs?: StoryPair[];
  warmupIters?: number;
  /** Longest source / target in tokens (default: the model's max_position_embeddings). */
  maxSourceLength?: number;
  maxTargetLength?: number;
  /** Script the pairs were normalised to (recorded in `muse_recipe.json`). */
  script?: 'simplified' | 'traditional' | 'keep';
}

/** What {@link finetuneSeq2Seq} returns. */
export interface FinetuneSeq2SeqReport {
  train: TrainSummary;
  heldOut: number;
  trainPairs: number;
  parameters: number;
  /** Copying the beginning as the ending. */
  baseline: EndingScores;
  /** The best checkpoint's endings. */
  after: EndingScores;
  /** The trained model directory (`outDir/best`). */
  checkpoint: string;
}

/**
 * Train the encoder–decoder Transformer on (beginning → ending) pairs with
 * the label-smoothed loss (validation loss without smoothing, so it reads as
 * nats per target token like the GPT fine-tune's), save HF-style model
 * directories (`config.json` with `model_type: "muse-seq2seq"`,
 * `model.safetensors`, `tokenizer.json`, `generation_config.json`), and
 * report BLEU/ROUGE-L of generated endings on the held-out split against the
 * copy-the-beginning baseline.
 * @throws ConfigError for fewer than 2 pairs or a tokenizer without an end-of-text token
 */
export async function finetuneSeq2Seq(opts: FinetuneSeq2SeqOptions): Promise<FinetuneSeq2SeqReport> {
  assertFreshRunDir(opts.outDir, opts, false);
  const tok = opts.tokenizer;
  if (opts.pairs.length < 2) throw new ConfigError(`fine-tuning needs at least 2 pairs (one held out), got ${opts.pairs.length}`);
  const eos = tok.eosTokenId;
  if (eos === undefined) throw new ConfigError('the tokenizer has no end-of-text token, which ends every source and target; use a tokenizer with <|endoftext|> or </s>');
  const seed = opts.seed ?? 1337;
  const model =
    opts.model ??
    new Seq2SeqTransformer(
      { ...opts.config, vocab_size: tok.vocabSize, eos_token_id: eos, pad_token_id: tok.padTokenId ?? eos, decoder_start_token_id: eos, bos_token_id: tok.bosTokenId ?? null },
      { seed },
    );
  const cfg = model.config;
  let { train, val } = splitDocuments(opts.pairs, { valFraction: opts.valFraction ?? 0.1, seed });
  if (val.length === 0) {
    val = train.slice(-1);
    train = train.slice(0, -1);
  }
  const maxSourceLength = Math.min(opts.maxSourceLength ?? cfg.max_position_embeddings, cfg.max_position_embeddings);
  const maxTargetLength = Math.min(opts.maxTargetLength ?? cfg.max_position_embeddings, cfg.max_position_embeddings);
  const enc = { eosId: eos, maxSourceLength, maxTargetLength };
  const trainEx = pairsToSeq2SeqExamples([...train, ...(opts.extraTrainPairs ?? [])], tok, enc);
  const valEx = pairsToSeq2SeqExamples(val, tok, enc);
  const longest = Math.max(...val.map((p) => tok.encode(p.ending, { addSpecialTokens: false }).ids.length));
  const genConfig: GenerationConfig = opts.generationConfig ?? { doSample: false, maxNewTokens: Math.min(maxTargetLength, Math.ceil(longest * 1.5) + 8) };

  const batchSize = Math.min(opts.batchSize ?? 16, trainEx.length);
  const gen = new Generator(seed);
  const pad = cfg.pad_token_id;
  const maxIters = opts.maxIters ?? Math.max(50, Math.ceil((20 * trainEx.length) / batchSize));
  const learningRate = opts.learningRate ?? 5e-4;
  // `muse generate` samples like the bundled GPT models; --greedy or --num-beams decode deterministically.
  const generationDefaults: GenerationConfig = { doSample: true, temperature: 0.8, topK: 40, maxNewTokens: maxTargetLength, eosTokenId: eos, bosTokenId: cfg.decoder_start_token_id };
  const trainer = new Trainer({
    model,
    // Label smoothing while training (§5.4); the plain NLL for validation.
    lossFn: (b: Seq2SeqBatch) => model.forward({ ...b, labelSmoothing: model.training ? cfg.label_smoothing : 0 }).loss!,
    tokensInBatch: (b) => countTargetTokens(b.labels),
    nextTrainBatch: () => collateSeq2Seq(Array.from({ length: batchSize }, () => trainEx[gen.randint(0, trainEx.length)]), pad),
    evalBatches: function* () {
      for (let i = 0; ; i = (i + batchSize) % valEx.length) yield collateSeq2Seq(valEx.slice(i, i + batchSize), pad);
    },
    maxIters,
    evalInterval: opts.evalInterval ?? Math.max(1, Math.floor(maxIters / 10)),
    evalIters: Math.max(1, Math.ceil(valEx.length / batchSize)),
    learningRate,
    minLr: learningRate / 10,
    warmupIters: opts.warmupIters ?? Math.min(100, Math.floor(maxIters / 10)),
    weightDecay: opts.weightDecay ?? 0.01,
    beta2: 0.98, // the paper's Adam β₂ (§5.3)
    gradClip: 1,
    outDir: opts.outDir,
    rng: { batches: gen },
    save: checkpointSaver(model, {
      config: model.config,
      tokenizerJson: tok.toJSON(),
      generationConfig: { ...toHF(generationDefaults), decoder_start_token_id: cfg.decoder_start_token_id, pad_token_id: pad },
      extraFiles: {
        'muse_recipe.json':
          JSON.stringify({ recipe: { arch: SEQ2SEQ_MODEL_TYPE, data: { script: opts.script ?? 'keep' }, maxSourceLength, maxTargetLength, learningRate, batchSize, maxIters, seed } }, null, 2) + '\n',
      },
    }),
    json: opts.json,
    progress: opts.progress,
    log: opts.log,
    signal: opts.signal,
  });
  const summary = await trainer.train();

  const best = loadSeq2SeqDir(summary.checkpoint);
  const after = scoreHypotheses(generateEndings(best, val.map((p) => p.beginning), genConfig), val.map((p) => p.ending));
  return {
    train: summary,
    heldOut: val.length,
    trainPairs: trainEx.length,
    parameters: model.numParameters(),
    baseline: copyBaseline(val),
    after,
    checkpoint: join(opts.outDir, 'best'),
  };
}
