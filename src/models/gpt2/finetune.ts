import { countTargetTokens } from '../../train/target-tokens.js';
import { join } from 'node:path';
import { Generator, fromArray, type Tensor } from '../../tensor/index.js';
import { GPT } from './model.js';
import { LlamaForCausalLM } from '../llama/model.js';
import type { CausalLM } from '../causal-lm.js';
import { loadCausalLM } from '../registry.js';
import { checkpointSaver } from '../pretrained.js';
import { Trainer, type TrainSummary } from '../../train/index.js';
import { collateExamples, pairsToFinetuneExamples, splitDocuments, type FinetuneExample, type StoryPair } from '../../data/index.js';
import { generate, toHF, type GenerationConfig } from '../../generate/index.js';
import { corpusBleu, corpusRouge, hasCjk } from '../../eval/index.js';
import { ConfigError } from '../../errors.js';
import { loadGPT2Dir, requireGPT } from './family.js';
import type { LoadedCausalLM } from '../loaded.js';
import { assertFreshRunDir, type FinetuneRunOptions } from '../../pipelines/runs.js';
import { injectLora, loadAdapter, saveAdapter, storeFrozenBase, type LoraConfig, type LoraModel } from '../../lora/index.js';
import type { GgmlType } from '../../quant/formats.js';

/** Options of {@link finetune}. */
export interface FinetuneOptions extends FinetuneRunOptions {
  /** The base model (it is trained in place). */
  base: LoadedCausalLM;
  /**
   * Train LoRA adapters (Hu et al. 2021) instead of every weight: the base
   * stays frozen, checkpoints (`best/`, `last/`) are PEFT adapter directories
   * (`adapter_config.json` + `adapter_model.safetensors`), and the default
   * learning rate is 1e-3.
   */
  lora?: LoraConfig;
  /** With `lora`: hold the frozen base's linear layers in this storage type (QLoRA-style, `storeFrozenBase`); default float32. */
  loraBaseType?: GgmlType;
}

/** BLEU and ROUGE-L of generated endings against the reference endings. */
export interface EndingScores {
  bleu: number;
  rougeL: number;
  /** sacreBLEU tokenizer used (`zh` for Chinese endings, `13a` otherwise). */
  tokenize: 'zh' | '13a';
  /** The generated endings, in held-out order. */
  hypotheses: string[];
}

/** What {@link finetune} returns. */
export interface FinetuneReport {
  train: TrainSummary;
  heldOut: number;
  trainPairs: number;
  before: EndingScores;
  after: EndingScores;
  /** The fine-tuned model directory (`outDir/best`; a PEFT adapter directory with `lora`). */
  checkpoint: string;
  /** Parameters that were trained (all of them, or the adapters'). */
  trainableParameters: number;
  /** Parameters of the whole model (base + adapters). */
  totalParameters: number;
}

/**
 * Generate an ending for every beginning and score the endings with corpus
 * BLEU (sacreBLEU; `zh` tokenizer for Chinese) and mean ROUGE-L F1
 * (rouge-score; CJK-aware tokenizer chosen automatically).
 */
export function scoreEndings(loaded: LoadedCausalLM, model: CausalLM, pairs: readonly StoryPair[], config: GenerationConfig): EndingScores {
  const tok = loaded.tokenizer;
  const refs = pairs.map((p) => p.ending);
  const zh = refs.some((r) => hasCjk(r));
  const hyps = pairs.map((p) => {
    const ids = tok.encode(p.beginning, { addSpecialTokens: false }).ids;
    const out = generate(model, [ids], config, { tokenizer: tok, onWarning: () => {} });
    return tok.decode(out.sequences[0], { skipSpecialTokens: true }).trim();
  });
  const tokenize = zh ? 'zh' : '13a';
  return {
    bleu: corpusBleu(hyps, [refs], { tokenize }).score,
    rougeL: corpusRouge(hyps, refs, { rougeTypes: ['rougeL'] }).mean.rougeL.fmeasure,
    tokenize,
    hypotheses: hyps,
  };
}

/** A causal LM `finetune` trains: GPT-2 (full or LoRA) or, with LoRA, the Llama family. */
type PairsModel = GPT | LlamaForCausalLM;

/**
 * The model of `base` for fine-tuning on pairs, with its end-of-text id.
 * @throws ConfigError for a family this pipeline does not train (Llama without LoRA names --lora)
 */
function pairsModel(base: LoadedCausalLM, lora: boolean): { model: PairsModel; configEos: number | undefined } {
  if (base.model instanceof GPT) return { model: base.model, configEos: base.model.config.eos_token_id ?? undefined };
  if (base.model instanceof LlamaForCausalLM) {
    if (!lora) throw new ConfigError(`full fine-tuning on pairs supports GPT-2 models only; ${base.dir} is a ${base.modelType} model: add --lora to train adapters on it`);
    const e = base.model.config.eos_token_id;
    return { model: base.model, configEos: (Array.isArray(e) ? e[0] : e) ?? undefined };
  }
  requireGPT(base, lora ? 'LoRA fine-tuning on pairs (GPT-2 and the Llama family)' : 'fine-tuning');
  throw new ConfigError(`fine-tuning: ${base.dir} cannot be fine-tuned`);
}

/**
 * Fine-tune a causal LM on (beginning → ending) pairs with the loss on the
 * ending tokens only (labels −100 on the beginning, HF convention), save the
 * result as a new model directory, and report BLEU/ROUGE-L of greedy endings
 * on a held-out split, before and after fine-tuning. Full fine-tuning takes a
 * GPT-2 base; LoRA (`lora`) also a Llama-family one (Llama, Mistral, Qwen2/3), loaded in float32.
 * @throws ConfigError when the base is neither (or Llama-family without `lora`), when there are fewer than 2 pairs or no end-of-text token, or
 *   when `outDir` holds an earlier run and `overwrite` is not set
 */
export async function finetune(opts: FinetuneOptions): Promise<FinetuneReport> {
  const { base, outDir } = opts;
  assertFreshRunDir(outDir, opts, false);
  const { model, configEos } = pairsModel(base, opts.lora !== undefined);
  const tok = base.tokenizer;
  if (opts.pairs.length < 2) throw new ConfigError(`fine-tuning needs at least 2 pairs (one held out), got ${opts.pairs.length}`);
  const eos = tok.eosTokenId ?? configEos;
  if (eos === undefined || eos === null) throw new ConfigError('the model\'s tokenizer has no end-of-text token, which fine-tuning appends to each ending');
  const seed = opts.seed ?? 1337;
  let { train, val } = splitDocuments(opts.pairs, { valFraction: opts.valFraction ?? 0.1, seed });
  if (val.length === 0) {
    val = train.slice(-1);
    train = train.slice(0, -1);
  }
  const maxLength = model.maxPositions;
  const encode = (s: string) => tok.encode(s, { addSpecialTokens: false }).ids;
  const trainEx = pairsToFinetuneExamples(train, encode, { eosId: eos, maxLength });
  const valEx = pairsToFinetuneExamples(val, encode, { eosId: eos, maxLength });
  const longest = Math.max(...val.map((p) => encode(p.ending).length));
  const genConfig: GenerationConfig = opts.generationConfig ?? { doSample: false, maxNewTokens: Math.min(maxLength - 1, Math.ceil(longest * 1.5) + 8) };

  model.eval();
  const before = scoreEndings(base, model, val, genConfig);

  const batchSize = Math.min(opts.batchSize ?? 8, trainEx.length);
  const gen = new Generator(seed);
  const toBatch = (examples: FinetuneExample[]): { x: Tensor; y: Tensor } => {
    const c = collateExamples(examples, eos);
    return { x: fromArray(c.inputIds, [c.batchSize, c.seqLen], 'int32'), y: fromArray(c.labels, [c.batchSize, c.seqLen], 'int32') };
  };
  const maxIters = opts.maxIters ?? Math.max(20, Math.ceil((3 * trainEx.length) / batchSize));
  const loraGen = new Generator(seed + 1);
  const lm: LoraModel | null = opts.lora ? injectLora(model, opts.lora, { gen: loraGen }) : null;
  // Counted before a stored base hands its float32 arrays back (the parameters are still the model's).
  const totalParameters = model.numParameters();
  if (lm && opts.loraBaseType && opts.loraBaseType !== 'F32') storeFrozenBase(lm, opts.loraBaseType);
  model.gradientCheckpointing = opts.gradientCheckpointing === true;
  const lr = opts.learningRate ?? (lm ? 1e-3 : 1e-4);
  const recipeJson = JSON.stringify({ recipe: { data: { script: base.script } }, finetunedFrom: base.dir, ...(lm ? { lora: lm.config } : {}) }, null, 2) + '\n';
  const trainer = new Trainer({
    model,
    lossFn: (b: { x: Tensor; y: Tensor }) => model.forward(b.x, { targets: b.y }).loss!,
    tokensInBatch: (b) => countTargetTokens(b.y),
    nextTrainBatch: () => toBatch(Array.from({ length: batchSize }, () => trainEx[gen.randint(0, trainEx.length)])),
    evalBatches: function* () {
      for (let i = 0; ; i = (i + batchSize) % valEx.length) yield toBatch(valEx.slice(i, i + batchSize));
    },
    maxIters,
    evalInterval: opts.evalInterval ?? Math.max(1, Math.floor(maxIters / 5)),
    evalIters: Math.max(1, Math.ceil(valEx.length / batchSize)),
    learningRate: lr,
    minLr: lr / 10,
    warmupIters: Math.min(10, Math.floor(maxIters / 10)),
    weightDecay: opts.weightDecay ?? 0.01,
    beta2: 0.99,
    gradClip: 1,
    outDir,
    rng: lm ? { batches: gen, lora: loraGen } : { batches: gen },
    save: lm
      ? (dir, extra) =>
          saveAdapter(dir, lm, {
            baseModel: base.dir,
            trainerState: extra.trainerState,
            optimizerTensors: extra.optimizerTensors,
            extraFiles: { ...extra.extraFiles, 'muse_recipe.json': recipeJson },
          })
      : checkpointSaver(model, { config: model.config, tokenizerJson: tok.toJSON(), generationConfig: toHF(base.generationConfig), extraFiles: { 'muse_recipe.json': recipeJson } }),
    json: opts.json,
    progress: opts.progress,
    log: opts.log,
    signal: opts.signal,
  });
  const summary = await trainer.train();

  // Score the best checkpoint's weights (the trainer leaves the last step's in memory).
  const best = lm ? loadCausalLM(base.dir, { dtype: 'float32' }) : loadGPT2Dir(summary.checkpoint);
  if (lm) loadAdapter(summary.checkpoint, best.model);
  best.model.eval();
  const after = scoreEndings(best, best.model, val, genConfig);
  const trainableParameters = model.parameters().filter((p) => p.requiresGrad).reduce((n, p) => n + p.size, 0);
  return { train: summary, heldOut: val.length, trainPairs: train.length, before, after, checkpoint: summary.checkpoint, trainableParameters, totalParameters };
}
