import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Generator, fromArray, type Tensor } from '../../tensor/index.js';
import { GPT } from './model.js';
import { gptParameterCount } from './config.js';
import { saveModel } from '../pretrained.js';
import { loadGPT } from './weights.js';
import { Trainer, type TrainSummary } from '../../train/index.js';
import { readCorpus, BLANK_LINE } from '../../data/corpus.js';
import { getBatch } from '../../data/lm-batches.js';
import { CharTokenizer, ByteLevelBPETokenizer, loadTokenizer, type Tokenizer } from '../../tokenizers/index.js';
import { ConfigError } from '../../errors.js';
import { assertFreshRunDir, recipeTrainerOptions, resumeState, type TrainRecipe } from '../../pipelines/recipe.js';
import { pretrainMLM } from '../bert/pretrain.js';

/** Options of {@link pretrain}. */
export interface PretrainOptions {
  recipe: TrainRecipe;
  /** Corpus files (`.txt` or `.jsonl`). */
  corpus: string[];
  /** Output directory: `best/`, `last/` (HF model directories), `metrics.jsonl`, `loss.svg`. */
  outDir: string;
  /** Continue from `outDir/last`. */
  resume?: boolean;
  /**
   * Start afresh even when `outDir` already holds a run (its `best/` and
   * `last/` are replaced as the new run saves). Without it, such an `outDir`
   * is an error unless `resume` is set: a finished model is never lost silently.
   */
  overwrite?: boolean;
  /** Log lines are JSON records. */
  json?: boolean;
  progress?: boolean;
  log?: (line: string) => void;
  signal?: AbortSignal;
  /** Extra files written into every checkpoint (e.g. the recipe and the command). */
  extraFiles?: Record<string, string>;
}

/** The token stream of a corpus, split nanoGPT-style. */
export interface TokenizedCorpus {
  tokenizer: Tokenizer;
  train: Int32Array;
  val: Int32Array;
  /** Characters read. */
  chars: number;
}

/**
 * Read the corpus files, normalise the script, join documents with the
 * separator, build (or reuse) the tokenizer and encode; the first
 * `1 − valFraction` of the stream is training data, the rest validation
 * (nanoGPT's `prepare.py`).
 * @throws ConfigError when the validation split is shorter than one block
 */
export function tokenizeCorpus(recipe: TrainRecipe, files: string[], tokenizer?: Tokenizer): TokenizedCorpus {
  const d = recipe.data;
  let docs: string[] = [];
  for (const f of files) {
    docs.push(...readCorpus(f, { field: d.field, join: d.join, script: d.script ?? 'keep', separator: d.txtDocuments === 'paragraphs' ? BLANK_LINE : undefined }));
  }
  if (d.shuffleDocuments) {
    const gen = new Generator(recipe.training.seed ?? 1337);
    docs = [...docs];
    for (let i = docs.length - 1; i > 0; i--) {
      const j = gen.randint(0, i + 1);
      [docs[i], docs[j]] = [docs[j]!, docs[i]!];
    }
  }
  const sep = d.separator ?? '\n\n';
  // Rare characters beyond minFrequency become <unk>; <|endoftext|> can end documents.
  const tok =
    tokenizer ??
    (recipe.tokenizer.type === 'char'
      ? CharTokenizer.train(docs, { minFrequency: recipe.tokenizer.minFrequency, specialTokens: ['<|endoftext|>'], unkToken: '<unk>' })
      : ByteLevelBPETokenizer.train(docs, { vocabSize: recipe.tokenizer.vocabSize ?? 8000, minFrequency: recipe.tokenizer.minFrequency ?? 2, specialTokens: ['<|endoftext|>'] }));
  let ids: Int32Array;
  let chars = 0;
  if (sep === 'eos') {
    // GPT-2 style: every document is followed by the end-of-text token, so generation learns to stop.
    const eos = tok.eosTokenId;
    if (eos === undefined) throw new ConfigError('data.separator "eos" needs a tokenizer with an end-of-text token');
    const parts: number[][] = [];
    let n = 0;
    for (const doc of docs) {
      const p = tok.encodeIds(doc, { addSpecialTokens: false });
      p.push(eos);
      parts.push(p);
      n += p.length;
      chars += doc.length;
    }
    ids = new Int32Array(n);
    let o = 0;
    for (const p of parts) {
      ids.set(p, o);
      o += p.length;
    }
  } else {
    const text = docs.join(sep);
    chars = text.length;
    ids = Int32Array.from(tok.encodeIds(text, { addSpecialTokens: false }));
  }
  const nVal = Math.floor(ids.length * (d.valFraction ?? 0.1));
  const train = ids.subarray(0, ids.length - nVal);
  const val = ids.subarray(ids.length - nVal);
  const block = recipe.training.blockSize;
  if (val.length <= block + 1 || train.length <= block + 1) {
    throw new ConfigError(`the corpus gives ${train.length} training and ${val.length} validation tokens, fewer than one block of ${block}; use a larger corpus, a smaller blockSize or a larger valFraction`);
  }
  return { tokenizer: tok, train, val, chars };
}

/** HF `generation_config.json` for a freshly trained model. */
export function defaultGenerationConfig(recipe: TrainRecipe, tok: Tokenizer): Record<string, unknown> {
  return {
    do_sample: true,
    temperature: 0.8,
    top_k: 200,
    max_new_tokens: 200,
    ...(tok.eosTokenId !== undefined ? { eos_token_id: tok.eosTokenId } : {}),
    ...(tok.bosTokenId !== undefined ? { bos_token_id: tok.bosTokenId } : {}),
    ...(recipe.generation ?? {}),
  };
}

/**
 * Pretrain a GPT on a corpus with the Trainer: nanoGPT's random-window batches,
 * AdamW, warmup + cosine, clipping, periodic evaluation, `best/` and `last/`
 * checkpoints in Hugging Face layout, exact resume.
 * @returns the Trainer's summary (the `--json` line of `muse train`)
 * @throws ConfigError when `outDir` holds an earlier run and neither `resume` nor `overwrite` is set
 */
export async function pretrain(opts: PretrainOptions): Promise<TrainSummary & { parameters: number }> {
  const { recipe, outDir } = opts;
  assertFreshRunDir(outDir, opts);
  // BERT recipes train a masked LM (src/pipelines/pretrain-mlm.ts) with the same Trainer and checkpoints.
  if ((recipe.model as Record<string, unknown>).model_type === 'bert') return pretrainMLM(opts);
  const tr = recipe.training;
  const lastDir = join(outDir, 'last');
  const resuming = opts.resume === true && existsSync(join(lastDir, 'trainer_state.json'));
  if (opts.resume && !resuming) {
    throw new ConfigError(`--resume: ${lastDir} holds no trainer_state.json; start without --resume or point --out at an earlier run`);
  }
  const data = tokenizeCorpus(recipe, opts.corpus, resuming ? loadTokenizer(lastDir) : undefined);
  const tok = data.tokenizer;
  const seed = tr.seed ?? 1337;
  const modelCfg = {
    ...recipe.model,
    vocab_size: tok.vocabSize,
    n_positions: recipe.model.n_positions ?? tr.blockSize,
    bos_token_id: tok.bosTokenId ?? tok.eosTokenId ?? null,
    eos_token_id: tok.eosTokenId ?? null,
  };
  const modelGen = new Generator(seed);
  const model = resuming ? loadGPT(lastDir, { generator: modelGen }).model : new GPT(modelCfg, { generator: modelGen });
  if (resuming) checkResumeArchitecture(model.config as unknown as Record<string, unknown>, modelCfg, lastDir);
  model.train();
  const batchGen = new Generator(seed + 1);
  const B = tr.batchSize;
  const T = tr.blockSize;
  const toBatch = (b: { inputIds: Int32Array; labels: Int32Array }) => ({
    x: fromArray(b.inputIds, [B, T], 'int32'),
    y: fromArray(b.labels, [B, T], 'int32'),
  });
  const evalGen = new Generator(seed + 2);
  const generationConfig = defaultGenerationConfig(recipe, tok);
  const trainer = new Trainer({
    model,
    lossFn: (batch: { x: Tensor; y: Tensor }) => model.forward(batch.x, { targets: batch.y }).loss!,
    nextTrainBatch: () => toBatch(getBatch(data.train, T, B, batchGen)),
    // nanoGPT's estimate_loss: eval_iters random windows of the validation split.
    evalBatches: function* () {
      const g = evalGen.clone();
      for (;;) yield toBatch(getBatch(data.val, T, B, g));
    },
    tokensPerBatch: B * T,
    ...recipeTrainerOptions(tr),
    outDir,
    rng: { batches: batchGen, dropout: modelGen },
    resume: resuming ? resumeState(lastDir) : undefined,
    save: (dir, extra) =>
      saveModel(dir, model, {
        config: model.config,
        tokenizerJson: tok.toJSON(),
        generationConfig,
        trainerState: extra.trainerState,
        optimizerTensors: extra.optimizerTensors,
        extraFiles: { ...(extra.extraFiles ?? {}), ...(opts.extraFiles ?? {}) },
      }),
    json: opts.json,
    progress: opts.progress,
    log: opts.log,
    signal: opts.signal,
  });
  const summary = await trainer.train();
  return { ...summary, parameters: gptParameterCount(model.config) };
}

/**
 * The shape of a model cannot change on resume (nanoGPT likewise forces the
 * checkpoint's n_layer, n_head, n_embd, block_size, bias, vocab_size); an
 * override that asks for another shape is an error, not silently ignored.
 * @throws ConfigError naming the field, both values and the fix
 */
function checkResumeArchitecture(saved: Record<string, unknown>, asked: Record<string, unknown>, dir: string): void {
  for (const key of ['n_layer', 'n_head', 'n_embd', 'n_positions', 'vocab_size', 'n_inner', 'activation_function']) {
    if (asked[key] === undefined || (key === 'n_inner' && asked[key] === null)) continue;
    if (saved[key] !== asked[key]) {
      throw new ConfigError(
        `--resume: the checkpoint in ${dir} has ${key} ${JSON.stringify(saved[key])} but the recipe or an override asks for ${JSON.stringify(asked[key])}; a model's shape cannot change on resume — drop the override, or start a new run with another --out`,
      );
    }
  }
}

