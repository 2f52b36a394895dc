/**
 * Saving any muse model directory (Hugging Face layout) and the load report
 * every family's loader returns. Family-specific weight names live in each
 * family's `weights.ts`.
 */
import type { Module } from '../nn/module.js';
import { saveCheckpoint, type CheckpointToSave } from '../io/checkpoint.js';
import type { StTensor } from '../io/safetensors.js';

/**
 * A model's parameters as safetensors entries (HF names; a tied tensor once,
 * under its first name, as `transformers` saves GPT-2 without `lm_head.weight`).
 * The arrays are shared, not copied.
 */
export function modelTensors(model: Module): Map<string, StTensor> {
  const out = new Map<string, StTensor>();
  for (const [name, t] of model.namedParameters()) {
    out.set(name, { dtype: 'F32', shape: [...t.shape], data: t.data });
  }
  return out;
}

/** What {@link saveModel} writes besides the weights. */
export interface SaveModelOptions {
  /** HF config fields (`config.json`). */
  config: object;
  /** HF tokenizers `tokenizer.json` content. */
  tokenizerJson?: object;
  /** `generation_config.json` content (HF snake_case fields). */
  generationConfig?: object;
  trainerState?: object;
  optimizerTensors?: Map<string, StTensor>;
  extraFiles?: Record<string, string | Uint8Array>;
}

/**
 * Save a model directory in Hugging Face layout (`config.json`,
 * `model.safetensors`, `tokenizer.json`, `generation_config.json`, …). The
 * directory is replaced crash-safely (see `src/io/checkpoint.ts`).
 */
export function saveModel(dir: string, model: Module, opts: SaveModelOptions): void {
  const ck: CheckpointToSave = {
    config: opts.config,
    tensors: modelTensors(model),
    tokenizerJson: opts.tokenizerJson,
    generationConfig: opts.generationConfig,
    trainerState: opts.trainerState,
    optimizerTensors: opts.optimizerTensors,
    extraFiles: opts.extraFiles,
  };
  saveCheckpoint(dir, ck);
}

/** Result of loading weights into a model. */
export interface LoadReport {
  /** Parameters the checkpoint did not provide (left at their initial values). */
  missing: string[];
  /** Checkpoint tensors the model has no parameter for (ignored). */
  unexpected: string[];
}

/**
 * The `save` callback of a `Trainer` for `model`: every checkpoint gets the
 * model's files (`files`: config, tokenizer, generation defaults, extra files)
 * plus what the trainer hands over (`trainer_state.json`,
 * `optimizer.safetensors`, `metrics.jsonl`, `loss.svg`). `files.extraFiles`
 * win over the trainer's on a name clash.
 */
export function checkpointSaver(
  model: Module,
  files: Omit<SaveModelOptions, 'trainerState' | 'optimizerTensors'>,
): (dir: string, extra: { trainerState: object; optimizerTensors: Map<string, StTensor>; extraFiles: Record<string, string> }) => void {
  return (dir, extra) =>
    saveModel(dir, model, { ...files, trainerState: extra.trainerState, optimizerTensors: extra.optimizerTensors, extraFiles: { ...extra.extraFiles, ...(files.extraFiles ?? {}) } });
}
