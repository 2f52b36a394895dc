import { existsSync } from 'node:fs';
import { extname, join } from 'node:path';
import { Generator, fromArray, type Tensor } from '../../tensor/index.js';
import { GPT } from './model.js';
import { gptParameterCount } from './config.js';
import { checkpointSaver } from '../pretrained.js';
import { loadGPT } from './weights.js';
import { Trainer, type TrainSummary } from '../../train/index.js';
import { readCorpus, BLANK_LINE, toSimplified, toTraditional } from '../../data/corpus.js';
import { encodeTextStream, fileBytes, LARGE_TEXT_FILE_BYTES, readTextChunks, TokenBuffer, type TokenIds } from '../../data/token-stream.js';
import { getBatch } from '../../data/lm-batches.js';
import { CharTokenizer, ByteLevelBPETokenizer, loadTokenizer, type Tokenizer } from '../../tokenizers/index.js';
import { injectLora, loadAdapterWeights, readAdapterResumeState, saveAdapter, storeFrozenBase, type LoraConfig, type LoraModel } from '../../lora/index.js';
import type { GgmlType } from '../../quant/formats.js';
import { ConfigError } from '../../errors.js';
import { assertFreshRunDir, resumeState } from '../../pipelines/runs.js';
import { recipeTrainerOptions, type TrainRecipe } from '../../pipelines/recipe.js';
import { pretrainMLM } from '../bert/pretrain.js';
import { familyFor, readModelConfig } from '../registry.js';
import { LlamaForCausalLM } from '../llama/model.js';
import { architectureOf, loadLlama } from '../llama/load.js';
import { llamaParameterCount } from '../llama/config.js';

/** Options of {@link pretrain}. */
export interface PretrainOptions {
  recipe: TrainRecipe;
  /** Corpus files (`.txt` or `.jsonl`). */
  corpus: string[];
  /**
   * Validation files: when given, these documents (in file order, never
   * shuffled) are the validation stream and every document of `corpus`
   * trains — a fixed held-out set instead of the stream's tail
   * (`data.valFraction` is then unused).
   */
  valCorpus?: string[];
  /**
   * Start from the weights and tokenizer of this GPT-2 directory (nanoGPT's
   * `init_from`): continued pretraining with a fresh optimizer and schedule.
   * The recipe's model shape must match the directory's.
   */
  initFrom?: string;
  /**
   * Train LoRA adapters on the frozen `initFrom` model instead of every
   * weight (causal LMs): `best/` and `last/` are PEFT adapter directories;
   * `resume` continues the adapter in `last/` over the same base.
   */
  lora?: LoraConfig;
  /** With `lora`: hold the frozen base's linear layers in this storage type (QLoRA-style, `storeFrozenBase`); default float32. */
  loraBaseType?: GgmlType;
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
  /** Token ids (`Uint16Array` when the vocabulary fits 16 bits, as nanoGPT's `train.bin`). */
  train: TokenIds;
  val: TokenIds;
  /** Characters read. */
  chars: number;
}

/** A document: its text, or (a .txt file too large for one string, read as one document) its pieces, read on demand. */
type Doc = string | { pieces: () => Iterable<string>; bytes: number };

/**
 * Read the corpus files, normalise the script, join documents with the
 * separator, build (or reuse) the tokenizer and encode; the first
 * `1 − valFraction` of the stream is training data, the rest validation
 * (nanoGPT's `prepare.py`). With `valFiles`, the validation stream is those
 * files' documents instead (same reading, script and separator; never
 * shuffled), every document of `files` trains, and the tokenizer is built
 * from the training documents only.
 * @throws ConfigError when the validation split is shorter than one block
 */
export function tokenizeCorpus(recipe: TrainRecipe, files: string[], tokenizer?: Tokenizer, valFiles?: string[]): TokenizedCorpus {
  const d = recipe.data;
  const script = d.script ?? 'keep';
  const normalise = script === 'simplified' ? toSimplified : script === 'traditional' ? (t: string) => toTraditional(t) : (t: string) => t;
  const readDocs = (paths: string[]): Doc[] => {
    const out: Doc[] = [];
    for (const f of paths) {
      const paragraphs = d.txtDocuments === 'paragraphs';
      if (!paragraphs && extname(f).toLowerCase() === '.txt' && fileBytes(f) >= LARGE_TEXT_FILE_BYTES) {
        out.push({ pieces: () => mapIterable(readTextChunks(f), normalise), bytes: fileBytes(f) });
        continue;
      }
      // one push per document: push(...docs) overflows the argument list for a corpus of 300,000 poems
      for (const doc of readCorpus(f, { field: d.field, join: d.join, script, separator: paragraphs ? BLANK_LINE : undefined })) out.push(doc);
    }
    return out;
  };
  let docs = readDocs(files);
  if (d.shuffleDocuments) {
    const gen = new Generator(recipe.training.seed ?? 1337);
    docs = [...docs];
    for (let i = docs.length - 1; i > 0; i--) {
      const j = gen.randint(0, i + 1);
      [docs[i], docs[j]] = [docs[j], docs[i]];
    }
  }
  const sep = d.separator ?? '\n\n';
  const texts = function* (): IterableIterator<string> {
    for (const doc of docs) {
      if (typeof doc === 'string') yield doc;
      else yield* doc.pieces();
    }
  };
  // Rare characters beyond minFrequency become <unk>; <|endoftext|> can end documents.
  const tok =
    tokenizer ??
    (recipe.tokenizer.type === 'char'
      ? CharTokenizer.train(texts(), { minFrequency: recipe.tokenizer.minFrequency, specialTokens: ['<|endoftext|>'], unkToken: '<unk>' })
      : ByteLevelBPETokenizer.train(texts(), { vocabSize: recipe.tokenizer.vocabSize ?? 8000, minFrequency: recipe.tokenizer.minFrequency ?? 2, specialTokens: ['<|endoftext|>'] }));
  const stream = encodeDocuments(docs, tok, sep);
  let train: TokenIds;
  let val: TokenIds;
  let chars = stream.chars;
  if (valFiles && valFiles.length > 0) {
    const held = encodeDocuments(readDocs(valFiles), tok, sep);
    train = stream.ids;
    val = held.ids;
    chars += held.chars;
  } else {
    const ids = stream.ids;
    const nVal = Math.floor(ids.length * (d.valFraction ?? 0.1));
    train = ids.subarray(0, ids.length - nVal);
    val = ids.subarray(ids.length - nVal);
  }
  const block = recipe.training.blockSize;
  if (val.length <= block + 1 || train.length <= block + 1) {
    throw new ConfigError(`the corpus gives ${train.length} training and ${val.length} validation tokens, fewer than one block of ${block}; use a larger corpus, a smaller blockSize or a larger valFraction`);
  }
  return { tokenizer: tok, train, val, chars };
}

/**
 * Encode documents into one token stream, a chunk at a time into a typed
 * array (src/data/token-stream.ts: the same ids as one encode call over the
 * whole text, without a plain array of every token). With `sep === 'eos'`
 * every document is followed by the end-of-text token (GPT-2 style, so
 * generation learns to stop); otherwise documents are joined with `sep`.
 * @returns `{ ids: [n] token ids, chars: characters read }`
 * @throws ConfigError for `"eos"` with a tokenizer that has no end-of-text token
 */
export function encodeDocuments(docs: readonly Doc[], tok: Tokenizer, sep: string): { ids: TokenIds; chars: number } {
  // The ids buffer starts at the corpus's size in characters (bytes for a streamed file): a char or
  // byte-level tokenizer gives about one token per character at most, so a large corpus is not copied as it grows.
  const estimate = docs.reduce((n, doc) => n + (typeof doc === 'string' ? doc.length : doc.bytes) + (sep === 'eos' ? 1 : sep.length), 16);
  const out = new TokenBuffer(tok.vocabSize, estimate);
  const charLevel = tok instanceof CharTokenizer;
  const chunkable = charLevel || (tok instanceof ByteLevelBPETokenizer && !tok.addPrefixSpace);
  const streamOpts = { charLevel, chunkChars: chunkable ? undefined : Infinity };
  let chars = 0;
  const counted = function* (pieces: Iterable<string>): IterableIterator<string> {
    for (const p of pieces) {
      chars += p.length;
      yield p;
    }
  };
  const piecesOf = (doc: Doc): Iterable<string> => (typeof doc === 'string' ? [doc] : doc.pieces());
  if (sep === 'eos') {
    const eos = tok.eosTokenId;
    if (eos === undefined) throw new ConfigError('data.separator "eos" needs a tokenizer with an end-of-text token');
    for (const doc of docs) {
      encodeTextStream(tok, counted(piecesOf(doc)), out, streamOpts);
      out.push([eos]);
    }
  } else {
    const joined = function* (): IterableIterator<string> {
      for (let i = 0; i < docs.length; i++) {
        if (i > 0) yield sep;
        yield* piecesOf(docs[i]);
      }
    };
    encodeTextStream(tok, counted(joined()), out, streamOpts);
  }
  return { ids: out.toArray(), chars };
}

function* mapIterable<T, U>(items: Iterable<T>, f: (x: T) => U): IterableIterator<U> {
  for (const x of items) yield f(x);
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
  const { outDir } = opts;
  // LoRA adapts the base as it is: its config.json replaces the recipe's model section.
  const recipe = opts.lora && opts.initFrom ? { ...opts.recipe, model: readModelConfig(opts.initFrom) as TrainRecipe['model'] } : opts.recipe;
  assertFreshRunDir(outDir, opts);
  // The recipe's model_type picks the family through the registry (GPT-2 when absent): masked LMs
  // (BERT) train with src/models/bert/pretrain.ts, causal LMs (GPT-2, the Llama family) here, with
  // the same Trainer and checkpoints.
  const family = familyFor((recipe.model as Record<string, unknown>).model_type ?? 'gpt2', "the recipe's model section");
  if (family.kind === 'masked-lm' && opts.lora) {
    throw new ConfigError('muse train --lora trains causal LMs (GPT-2, the Llama family); for BERT use the library (injectLora from src/lora with the masked-LM loss) or train it fully without --lora');
  }
  if (family.kind === 'masked-lm') return pretrainMLM(opts);
  if (family.kind !== 'causal-lm') {
    throw new ConfigError(`muse train pretrains causal LMs and masked LMs from recipes; a ${family.name} model (${family.kind}) trains with its own command (muse vae train, muse ae train, muse finetune --arch seq2seq)`);
  }
  const tr = recipe.training;
  const lastDir = join(outDir, 'last');
  const resuming = opts.resume === true && existsSync(join(lastDir, 'trainer_state.json'));
  if (opts.resume && !resuming) {
    throw new ConfigError(`--resume: ${lastDir} holds no trainer_state.json; start without --resume or point --out at an earlier run`);
  }
  // the tokenizer of the run being resumed, or of the model it starts from
  if (opts.lora && !opts.initFrom) throw new ConfigError('--lora trains adapters on a frozen base: pass --model BASE (or --init-from BASE)');
  // With LoRA, last/ holds only the adapter: the base and its tokenizer always come from initFrom.
  const tokDir = resuming && !opts.lora ? lastDir : opts.initFrom;
  const data = tokenizeCorpus(recipe, opts.corpus, tokDir ? loadTokenizer(tokDir) : undefined, opts.valCorpus);
  const tok = data.tokenizer;
  const seed = tr.seed ?? 1337;
  const ids = { bos_token_id: tok.bosTokenId ?? tok.eosTokenId ?? null, eos_token_id: tok.eosTokenId ?? null };
  const modelGen = new Generator(seed);
  // Llama-family recipes (model_type llama, mistral, qwen2, qwen3) train the same way; the context is max_position_embeddings.
  const llama = family.name === 'llama';
  // the run being resumed, or the model continued pretraining starts from (--init-from)
  const fromDir = resuming && !opts.lora ? lastDir : opts.initFrom;
  let model: GPT | LlamaForCausalLM;
  let modelCfg: Record<string, unknown>;
  if (llama) {
    const m = recipe.model as Record<string, unknown>;
    modelCfg = { ...m, vocab_size: tok.vocabSize, max_position_embeddings: (m.max_position_embeddings) ?? tr.blockSize, ...ids };
    model = fromDir ? loadLlama(fromDir, { generator: modelGen }).model : new LlamaForCausalLM(modelCfg, { generator: modelGen });
  } else {
    modelCfg = { ...recipe.model, vocab_size: tok.vocabSize, n_positions: recipe.model.n_positions ?? tr.blockSize, ...ids };
    model = fromDir ? loadGPT(fromDir, { generator: modelGen }).model : new GPT(modelCfg, { generator: modelGen });
  }
  if (fromDir) checkResumeArchitecture(model.config, modelCfg, fromDir, resuming && !opts.lora ? '--resume' : '--init-from');
  const loraGen = new Generator(seed + 3);
  const lm: LoraModel | null = opts.lora ? injectLora(model, opts.lora, { gen: loraGen }) : null;
  if (lm && resuming) loadAdapterWeights(lastDir, lm);
  if (lm && opts.loraBaseType && opts.loraBaseType !== 'F32') storeFrozenBase(lm, opts.loraBaseType);
  model.gradientCheckpointing = tr.gradientCheckpointing === true;
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
    rng: lm ? { batches: batchGen, dropout: modelGen, lora: loraGen } : { batches: batchGen, dropout: modelGen },
    resume: resuming ? (lm ? readAdapterResumeState(lastDir) : resumeState(lastDir)) : undefined,
    save: lm
      ? (dir, extra) =>
          saveAdapter(dir, lm, {
            baseModel: opts.initFrom,
            trainerState: extra.trainerState,
            optimizerTensors: extra.optimizerTensors,
            extraFiles: { ...extra.extraFiles, ...opts.extraFiles },
          })
      : checkpointSaver(model, {
      config: model instanceof LlamaForCausalLM ? { architectures: [architectureOf(model.config)], ...model.config } : model.config,
      tokenizerJson: tok.toJSON(),
      generationConfig,
      extraFiles: opts.extraFiles,
    }),
    json: opts.json,
    progress: opts.progress,
    log: opts.log,
    signal: opts.signal,
  });
  const summary = await trainer.train();
  return { ...summary, parameters: model instanceof LlamaForCausalLM ? llamaParameterCount(model.config) : gptParameterCount(model.config) };
}

/**
 * The shape of a model cannot change on resume (nanoGPT likewise forces the
 * checkpoint's n_layer, n_head, n_embd, block_size, bias, vocab_size); an
 * override that asks for another shape is an error, not silently ignored.
 * @throws ConfigError naming the field, both values and the fix
 */
function checkResumeArchitecture(saved: Record<string, unknown>, asked: Record<string, unknown>, dir: string, flag = '--resume'): void {
  const keys = [
    'n_layer', 'n_head', 'n_embd', 'n_positions', 'vocab_size', 'n_inner', 'activation_function', 'model_type',
    'hidden_size', 'intermediate_size', 'num_hidden_layers', 'num_attention_heads', 'num_key_value_heads', 'head_dim', 'max_position_embeddings', 'tie_word_embeddings',
  ];
  for (const key of keys) {
    if (asked[key] === undefined || asked[key] === null) continue;
    if (saved[key] !== asked[key]) {
      throw new ConfigError(
        `${flag}: the checkpoint in ${dir} has ${key} ${JSON.stringify(saved[key])} but the recipe or an override asks for ${JSON.stringify(asked[key])}; a model's shape cannot change on ${flag === '--resume' ? 'resume' : 'continued pretraining'} — ${flag === '--resume' ? 'drop the override, or start a new run with another --out' : `set the recipe's model to the checkpoint's shape`}`,
      );
    }
  }
}

