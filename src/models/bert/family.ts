/**
 * The BERT family's registry entry (`model_type` `bert`): a masked LM for
 * fill-mask and masked-LM pretraining. Loads Hugging Face `BertForMaskedLM`
 * (and bare `BertModel`, `BertForPreTraining`) directories (weight names:
 * `weights.ts`) and saves them as `transformers` reads them.
 */
import { existsSync } from 'node:fs';
import { Generator } from '../../tensor/index.js';
import { loadTokenizer } from '../../tokenizers/index.js';
import { FileFormatError } from '../../errors.js';
import { recipeScript, scriptNoteFiles } from '../../pipelines/runs.js';
import { saveModel } from '../pretrained.js';
import { defaultModelDir } from '../bundled.js';
import type { LoadedMaskedLM } from '../loaded.js';
import type { CostRecipe, ModelFamily, SaveParts, TrainingCost } from '../registry.js';
import { BertForMaskedLM } from './model.js';
import { bertConfig, bertParameterCount } from './config.js';
import { loadBert } from './weights.js';

/**
 * Load a BERT masked-LM directory (HF layout: `config.json`, `model.safetensors`,
 * `tokenizer.json` or `vocab.txt`) from disk only.
 * @param dir default: the bundled `models/muse-bert-zh`
 * @param tokenizerDir where the tokenizer files are when `dir` has none (e.g. a checkpoint saved without its tokenizer)
 * @throws FileFormatError naming the directory/file when something is missing or is not a BERT masked LM
 */
export function loadMaskedLMDir(dir: string = defaultModelDir('fill-mask'), tokenizerDir: string = dir): LoadedMaskedLM {
  if (!existsSync(dir)) throw new FileFormatError(`model directory ${dir} does not exist; pass --model DIR with a BERT directory (from \`muse train\` with a model_type "bert" recipe, or a Hugging Face BertForMaskedLM)`);
  const { model, report } = loadBert(dir);
  const tokenizer = loadTokenizer(tokenizerDir);
  if (tokenizer.maskTokenId === undefined) throw new FileFormatError(`${dir}: the tokenizer has no mask token ([MASK]); fill-mask needs a BERT tokenizer`);
  if (tokenizer.vocabSize > model.config.vocab_size) {
    throw new FileFormatError(`${dir}: the tokenizer has ${tokenizer.vocabSize} ids but the model only ${model.config.vocab_size}; they do not belong together`);
  }
  return { kind: 'masked-lm', family: 'bert', modelType: 'bert', dir, model, tokenizer, script: recipeScript(dir), report };
}

/** Save a BERT directory that {@link loadMaskedLMDir} (and `transformers`) reads back. */
export function saveBertDir(dir: string, parts: SaveParts<LoadedMaskedLM>): void {
  saveModel(dir, parts.model, {
    config: parts.model.config,
    tokenizerJson: parts.tokenizer.toJSON(),
    extraFiles: scriptNoteFiles(parts.script),
  });
}

/**
 * Parameters and training FLOPs of a masked-LM recipe: N counts the encoder's
 * matrices, the head's transform and the decoder on the masked share of
 * positions only (the head runs on labelled rows); attention adds 12·L·C·T.
 */
export function bertTrainingCost(r: CostRecipe): TrainingCost {
  const cfg = bertConfig(r.model);
  const parameters = bertParameterCount(cfg);
  const C = cfg.hidden_size;
  const L = cfg.num_hidden_layers;
  const p = r.mlmProbability ?? 0.15;
  const nonEmbeddingParameters = parameters - (cfg.max_position_embeddings + cfg.type_vocab_size) * C;
  const matmulPerToken = L * (4 * C * C + 2 * C * cfg.intermediate_size) + p * (C * C + cfg.vocab_size * C);
  const flopsPerToken = 6 * matmulPerToken + 12 * L * C * r.blockSize;
  return { parameters, nonEmbeddingParameters, flopsPerToken, width: C, inner: cfg.intermediate_size };
}

/** The registry entry (listed in `src/models/families.ts`). */
export const bertFamily: ModelFamily<LoadedMaskedLM> = {
  name: 'bert',
  modelTypes: ['bert'],
  kind: 'masked-lm',
  tasks: ['fill-mask', 'pretrain'],
  readConfig: (raw) => bertConfig(raw),
  build: (config, opts = {}) => new BertForMaskedLM(bertConfig(config), { generator: new Generator(opts.seed ?? 0) }),
  load: (path, opts = {}) => loadMaskedLMDir(path, opts.tokenizerDir),
  save: saveBertDir,
  trainingCost: bertTrainingCost,
  loadWeights: (path, opts) => loadBert(path, opts),
};
