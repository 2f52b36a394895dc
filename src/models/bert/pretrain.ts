import { countTargetTokens } from '../../train/target-tokens.js';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Generator, fromArray, type Tensor } from '../../tensor/index.js';
import { BertForMaskedLM } from './model.js';
import { bertParameterCount } from './config.js';
import { loadBert } from './weights.js';
import { checkpointSaver } from '../pretrained.js';
import { Trainer, type TrainSummary } from '../../train/index.js';
import { readCorpus, BLANK_LINE } from '../../data/corpus.js';
import { LengthGroupedSampler, MlmCollator, chunkAtBoundaries, chineseWordIds, type MlmBatch, type MlmExample } from './mlm-data.js';
import { WordPieceTokenizer, BERT_SPECIAL_TOKENS, loadTokenizer, type Tokenizer } from '../../tokenizers/index.js';
import { specialToken } from '../../tokenizers/added-tokens.js';
import { ConfigError } from '../../errors.js';
import { recipeTrainerOptions, type TrainRecipe } from '../../pipelines/recipe.js';
import { resumeState } from '../../pipelines/runs.js';
import type { PretrainOptions } from '../gpt2/pretrain.js';

/** The MLM-specific recipe fields (`data.*` and `training.*` of a `model_type: "bert"` recipe). */
export interface MlmRecipeFields {
  data: {
    /** Keep only documents whose every line (split at ，。！？；,.!?;) has one of these lengths in characters, e.g. [5, 7] for regulated verse. */
    lineLengths?: number[];
    /** Whole-word masking with Chinese word spans (Intl.Segmenter). Default false. */
    wholeWordMask?: boolean;
  };
  training: {
    mlmProbability?: number;
    /**
     * Batches of examples of (nearly) the same length, so batches carry little
     * padding (HF `group_by_length`; see {@link LengthGroupedSampler}). Default false.
     */
    groupByLength?: boolean;
  };
}

const LINE_END = /[，。！？；,.!?;]/u;

/** True when every line of `doc` (split at Chinese/Western sentence punctuation) has a length in `lengths`. */
export function hasLineLengths(doc: string, lengths: readonly number[]): boolean {
  const lines = doc.split(LINE_END).map((l) => [...l.trim()].length).filter((n) => n > 0);
  return lines.length > 0 && lines.every((n) => lengths.includes(n));
}

/** The documents of an MLM recipe, split by document. */
export interface MlmCorpus {
  train: string[];
  val: string[];
}

/**
 * Read the corpus files, normalise the script, keep the documents whose lines
 * have `data.lineLengths`, shuffle them (seed `training.seed`) and hold out the
 * last `data.valFraction` of documents for validation. Deterministic: the
 * fill-mask benchmark calls it again to get the same held-out poems.
 * @throws ConfigError when fewer than one validation document remains
 */
export function readMlmCorpus(recipe: TrainRecipe, files: string[]): MlmCorpus {
  const d = recipe.data as TrainRecipe['data'] & MlmRecipeFields['data'];
  let docs: string[] = [];
  for (const f of files) docs.push(...readCorpus(f, { field: d.field, join: d.join, script: d.script ?? 'keep', separator: d.txtDocuments === 'paragraphs' ? BLANK_LINE : undefined }));
  const read = docs.length;
  if (d.lineLengths) docs = docs.filter((doc) => hasLineLengths(doc, d.lineLengths!));
  const filterNote = d.lineLengths ? ` (data.lineLengths ${JSON.stringify(d.lineLengths)} kept ${docs.length} of ${read} documents: only those whose every line has one of these lengths; --data.lineLengths=null keeps them all)` : '';
  const gen = new Generator(recipe.training.seed ?? 1337);
  for (let i = docs.length - 1; i > 0; i--) {
    const j = gen.randint(0, i + 1);
    [docs[i], docs[j]] = [docs[j], docs[i]];
  }
  const nVal = Math.floor(docs.length * (d.valFraction ?? 0.1));
  if (nVal < 1 || docs.length - nVal < 1) throw new ConfigError(`the corpus gives ${docs.length - nVal} training and ${nVal} validation documents${filterNote}; use a larger corpus or another valFraction`);
  return { train: docs.slice(0, docs.length - nVal), val: docs.slice(docs.length - nVal) };
}

/**
 * A BERT WordPiece tokenizer whose vocabulary is single characters (the
 * `bert-base-chinese` approach for CJK text): `[PAD] [UNK] [CLS] [SEP] [MASK]`,
 * then every character seen at least `minFrequency` times, in order of
 * frequency; BertNormalizer without lower-casing, CJK characters split.
 */
export function charWordPieceTokenizer(docs: readonly string[], minFrequency = 1): WordPieceTokenizer {
  const counts = new Map<string, number>();
  for (const doc of docs) for (const ch of doc) if (!/\s/u.test(ch)) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  const vocab = new Map<string, number>();
  for (const t of BERT_SPECIAL_TOKENS) vocab.set(t, vocab.size);
  const chars = [...counts].filter(([, n]) => n >= minFrequency).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  for (const [ch] of chars) if (!vocab.has(ch)) vocab.set(ch, vocab.size);
  return new WordPieceTokenizer(vocab, {
    addedTokens: BERT_SPECIAL_TOKENS.map((t) => specialToken(t, vocab.get(t)!)),
    normalizer: { cleanText: true, handleChineseChars: true, stripAccents: false, lowercase: false },
  });
}

/**
 * Encode documents as MLM examples: `[CLS] piece [SEP]` with pieces of at
 * most `blockSize − 2` tokens cut after sentence-final punctuation; with
 * `wholeWord`, each token carries the index of its Chinese word.
 */
export function mlmExamples(docs: readonly string[], tok: Tokenizer, blockSize: number, wholeWord = false): MlmExample[] {
  const cls = tok.tokenToId('[CLS]');
  const sep = tok.tokenToId('[SEP]');
  if (cls === undefined || sep === undefined) throw new ConfigError('the tokenizer has no [CLS]/[SEP] tokens; an MLM needs a BERT tokenizer');
  const boundaryIds = new Set(['。', '！', '？', '；', '.', '!', '?'].map((t) => tok.tokenToId(t)).filter((x): x is number => x !== undefined));
  const out: MlmExample[] = [];
  for (const doc of docs) {
    let ids: number[];
    let words: Int32Array | null = null;
    if (wholeWord) {
      const enc = tok.encode(doc, { addSpecialTokens: false });
      ids = enc.ids;
      const perChar = chineseWordIds(doc);
      words = Int32Array.from(enc.offsets, ([s]) => perChar[s] ?? -1);
    } else ids = tok.encodeIds(doc, { addSpecialTokens: false });
    for (const [s, e] of chunkAtBoundaries(ids, blockSize - 2, (id) => boundaryIds.has(id))) {
      const ex = new Int32Array(e - s + 2);
      ex[0] = cls;
      for (let i = s; i < e; i++) ex[i - s + 1] = ids[i]!;
      ex[ex.length - 1] = sep;
      if (words) {
        const w = new Int32Array(ex.length).fill(-1);
        w.set(words.subarray(s, e), 1);
        out.push({ ids: ex, wordIds: w });
      } else out.push({ ids: ex });
    }
  }
  return out;
}

/** The masking collator for a BERT tokenizer (specials never masked). */
export function collatorFor(tok: Tokenizer, opts: { vocabSize: number; mlmProbability?: number; wholeWordMask?: boolean }): MlmCollator {
  const mask = tok.maskTokenId;
  if (mask === undefined) throw new ConfigError('the tokenizer has no [MASK] token; an MLM needs a BERT tokenizer');
  const specials = BERT_SPECIAL_TOKENS.map((t) => tok.tokenToId(t)).filter((x): x is number => x !== undefined);
  return new MlmCollator({ maskTokenId: mask, padTokenId: tok.padTokenId ?? 0, specialIds: specials, vocabSize: opts.vocabSize, mlmProbability: opts.mlmProbability, wholeWordMask: opts.wholeWordMask });
}

interface TensorBatch {
  inputIds: Tensor;
  attentionMask: Tensor;
  labels: Tensor;
}

function toTensors(b: MlmBatch): TensorBatch {
  const s = [b.batchSize, b.seqLen];
  return { inputIds: fromArray(b.inputIds, s, 'int32'), attentionMask: fromArray(b.attentionMask, s, 'int32'), labels: fromArray(b.labels, s, 'int32') };
}

/**
 * Masked-LM pretraining of a BERT (`model_type: "bert"` recipes) with the same
 * Trainer, checkpoints and resume as GPT pretraining: documents → char
 * WordPiece vocabulary → `[CLS] … [SEP]` examples of ≤ `blockSize` tokens →
 * random batches with fresh (dynamic) masks every step; validation is the MLM
 * loss on held-out documents with fixed masks (the same every evaluation).
 * @returns the Trainer's summary plus the parameter count
 * @throws ConfigError for a recipe that cannot work (no validation documents, bad probabilities)
 */
export async function pretrainMLM(opts: PretrainOptions): Promise<TrainSummary & { parameters: number }> {
  const { recipe, outDir } = opts;
  const tr = recipe.training as TrainRecipe['training'] & MlmRecipeFields['training'];
  const d = recipe.data as TrainRecipe['data'] & MlmRecipeFields['data'];
  const lastDir = join(outDir, 'last');
  const resuming = opts.resume === true && existsSync(join(lastDir, 'trainer_state.json'));
  if (opts.resume && !resuming) throw new ConfigError(`--resume: ${lastDir} holds no trainer_state.json; start without --resume or point --out at an earlier run`);
  const corpus = readMlmCorpus(recipe, opts.corpus);
  const tok = resuming ? loadTokenizer(lastDir) : charWordPieceTokenizer(corpus.train, recipe.tokenizer.minFrequency ?? 1);
  const T = tr.blockSize;
  const wholeWord = d.wholeWordMask ?? false;
  const trainEx = mlmExamples(corpus.train, tok, T, wholeWord);
  const valEx = mlmExamples(corpus.val, tok, T, wholeWord);
  const seed = tr.seed ?? 1337;
  const modelCfg: Record<string, unknown> = {
    ...(recipe.model as Record<string, unknown>),
    vocab_size: tok.vocabSize,
    max_position_embeddings: (recipe.model.max_position_embeddings) ?? T,
    pad_token_id: tok.padTokenId ?? 0,
    architectures: ['BertForMaskedLM'],
  };
  const modelGen = new Generator(seed);
  const model = resuming ? loadBert(lastDir, { generator: modelGen }).model : new BertForMaskedLM(modelCfg, { generator: modelGen });
  model.train();
  const collator = collatorFor(tok, { vocabSize: model.config.vocab_size, mlmProbability: tr.mlmProbability, wholeWordMask: wholeWord });
  const B = tr.batchSize;
  const batchGen = new Generator(seed + 1);
  const evalGen = new Generator(seed + 2);
  const meanLen = trainEx.reduce((s, e) => s + e.ids.length, 0) / Math.max(1, trainEx.length);
  const grouped = tr.groupByLength ? new LengthGroupedSampler(trainEx.map((e) => e.ids.length), 8 * B) : null;
  const trainer = new Trainer<TensorBatch>({
    model,
    lossFn: (b) => model.forward(b.inputIds, { attentionMask: b.attentionMask, labels: b.labels, logitsFor: 'none' }).loss!,
    tokensInBatch: (b) => countTargetTokens(b.labels),
    nextTrainBatch: () => {
      const rows: MlmExample[] = [];
      if (grouped) for (const i of grouped.sample(B, batchGen)) rows.push(trainEx[i]);
      else for (let i = 0; i < B; i++) rows.push(trainEx[batchGen.randint(0, trainEx.length)]);
      return toTensors(collator.collate(rows, batchGen));
    },
    // Fixed validation batches and masks: the same examples in order, masked from the same seed every evaluation.
    evalBatches: function* () {
      const g = evalGen.clone();
      for (let i = 0; ; i = (i + B) % valEx.length) {
        const rows: MlmExample[] = [];
        for (let j = 0; j < B; j++) rows.push(valEx[(i + j) % valEx.length]);
        yield toTensors(collator.collate(rows, g));
      }
    },
    tokensPerBatch: Math.round(B * meanLen),
    ...recipeTrainerOptions(tr),
    outDir,
    rng: { batches: batchGen, dropout: modelGen },
    resume: resuming ? resumeState(lastDir) : undefined,
    save: checkpointSaver(model, { config: model.config, tokenizerJson: tok.toJSON(), extraFiles: opts.extraFiles }),
    json: opts.json,
    progress: opts.progress,
    log: opts.log,
    signal: opts.signal,
  });
  const summary = await trainer.train();
  return { ...summary, parameters: bertParameterCount(model.config) };
}
