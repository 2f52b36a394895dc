/**
 * The encoder–decoder family's registry entry (`model_type` `muse-seq2seq`):
 * story endings from beginnings (`muse finetune --arch seq2seq`, `muse generate`).
 */
import { Generator } from '../../tensor/index.js';
import { toHF } from '../../generate/index.js';
import { scriptNoteFiles } from '../../pipelines/runs.js';
import { saveModel } from '../pretrained.js';
import type { LoadedSeq2Seq } from '../loaded.js';
import type { ModelFamily, SaveParts } from '../registry.js';
import { Seq2SeqTransformer } from './model.js';
import { seq2seqConfig } from './config.js';
import { loadSeq2SeqDir, SEQ2SEQ_MODEL_TYPE } from './load.js';

/** Save a seq2seq directory that {@link loadSeq2SeqDir} reads back (the decoder start token goes into generation_config.json). */
export function saveSeq2SeqDir(dir: string, parts: SaveParts<LoadedSeq2Seq>): void {
  const cfg = parts.model.config;
  saveModel(dir, parts.model, {
    config: cfg,
    tokenizerJson: parts.tokenizer.toJSON(),
    generationConfig: { ...toHF(parts.generationConfig), decoder_start_token_id: cfg.decoder_start_token_id, pad_token_id: cfg.pad_token_id },
    extraFiles: scriptNoteFiles(parts.script),
  });
}

/** The registry entry (listed in `src/models/families.ts`). */
export const seq2seqFamily: ModelFamily<LoadedSeq2Seq> = {
  name: 'seq2seq',
  modelTypes: [SEQ2SEQ_MODEL_TYPE],
  kind: 'seq2seq',
  tasks: ['generate', 'finetune'],
  readConfig: (raw) => seq2seqConfig(raw),
  build: (config, opts = {}) => new Seq2SeqTransformer(seq2seqConfig(config), { generator: new Generator(opts.seed ?? 0) }),
  load: (path, opts = {}) => loadSeq2SeqDir(path, opts.tokenizerDir),
  save: saveSeq2SeqDir,
};
