/**
 * The models bundled with the package (`<package>/models/`) and which one a
 * task uses when the user names none: one table, read by the CLI, `muse
 * serve` and the library.
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isChinese } from '../data/script.js';

/** The folder holding the bundled models (`<package>/models`). */
export function bundledModelsDir(): string {
  return resolve(dirname(fileURLToPath(import.meta.url)), '../../models');
}

/** A bundled model: its folder name, what it is for, and the language of its prompts. */
export interface BundledModel {
  name: string;
  /** `generate` (causal LM), `fill-mask` (BERT) or `sample` (sentence VAE). */
  task: 'generate' | 'fill-mask' | 'sample';
  language: 'zh' | 'en';
  /** Served by `muse serve` when no `--model` is given. */
  served: boolean;
}

/** Every bundled model, the default for its task and language first. */
export const BUNDLED_MODELS: readonly BundledModel[] = [
  { name: 'muse-poet-zh', task: 'generate', language: 'zh', served: true },
  { name: 'muse-story-en', task: 'generate', language: 'en', served: true },
  { name: 'muse-bert-zh', task: 'fill-mask', language: 'zh', served: true },
  { name: 'muse-vae-zh', task: 'sample', language: 'zh', served: false },
];

/**
 * The bundled model directory for `task`, for a prompt's language (Chinese
 * when it holds a Han character, else English; a task with one bundled model
 * ignores the language).
 */
export function defaultModelDir(task: BundledModel['task'], prompt = ''): string {
  const language = isChinese(prompt) ? 'zh' : 'en';
  const forTask = BUNDLED_MODELS.filter((m) => m.task === task);
  const pick = forTask.find((m) => m.language === language) ?? forTask[0];
  if (!pick) throw new Error(`no bundled model for task ${task}`);
  return join(bundledModelsDir(), pick.name);
}

/**
 * The default generation model for a prompt: `muse-poet-zh` for Chinese text,
 * otherwise `muse-story-en`.
 */
export function defaultModelFor(prompt: string): string {
  return defaultModelDir('generate', prompt);
}

/** The name of the bundled generation model preferred for a prompt's language (what `muse serve` picks when a request names no model). */
export function preferredGenerationModel(prompt: string): string {
  return defaultModelFor(prompt).slice(bundledModelsDir().length + 1);
}

/** The bundled models `muse serve` serves by default that exist on disk. */
export function bundledModelDirs(): string[] {
  return BUNDLED_MODELS.filter((m) => m.served)
    .map((m) => join(bundledModelsDir(), m.name))
    .filter((d) => existsSync(join(d, 'config.json')));
}
