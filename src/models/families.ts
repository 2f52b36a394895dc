/**
 * The model families muse ships, one line each: adding a family is a folder
 * under `src/models/` (config, model, weight names, loader, task entry
 * points, and a `family.ts` with its {@link ModelFamily} entry) plus one line
 * here. Read by `src/models/registry.ts`.
 */
import type { ModelFamily } from './registry.js';
import { gpt2Family } from './gpt2/family.js';
import { bertFamily } from './bert/family.js';
import { llamaFamily } from './llama/family.js';
import { seq2seqFamily } from './seq2seq/family.js';
import { sentenceVAEFamily, vectorAutoencoderFamily } from './vae/family.js';

/** The built-in families, in the order `loadModel` tries file loaders. */
export const BUILTIN_FAMILIES: readonly ModelFamily[] = [
  gpt2Family,
  llamaFamily,
  bertFamily,
  seq2seqFamily,
  sentenceVAEFamily,
  vectorAutoencoderFamily,
];
