/**
 * Options of the HTTP server, in a module of their own so the package's public
 * types name them without pulling in fastify's (and so Node's) types.
 */
import type { ModelRegistry } from './model-registry.js';
import type { LoadModelOptions } from '../models/registry.js';

/** Options of {@link createServer}; every field has a default. */
export interface ServeOptions {
  /** Model directories to serve (default: the bundled models), or a registry already loaded. */
  models?: readonly string[] | ModelRegistry;
  /**
   * LoRA adapters (PEFT directories) over the first of `models`, each served
   * as the model id `name` with the base's weights shared (`--adapter NAME=DIR`;
   * see src/serve/adapters.ts). Only with model directories, not a registry.
   */
  adapters?: readonly { name: string; dir: string }[];
  /** How model directories are loaded (`dtype`, `kvCacheDtype`; see LoadModelOptions). */
  load?: LoadModelOptions;
  /** SQLite file of the ratings (default `muse-ratings.db` in the working directory). */
  db?: string;
  /** Folder of training runs shown by /train (default `runs`). */
  runsDir?: string;
  /** Generations running at once (default 4). */
  maxConcurrent?: number;
  /** Requests waiting for a slot before 429s (default 64). */
  maxQueued?: number;
  /** Unseeded requests with equal settings decoded together, at most (default 8; 1 turns batching off). */
  maxBatch?: number;
  /** Largest max_tokens a request may ask for (default 512). */
  maxTokens?: number;
  /** Longest prompt in characters (default 4000). */
  maxPromptChars?: number;
  /** Largest request body in bytes (default 64 KiB). */
  bodyLimit?: number;
  /** Log requests as JSON lines to stderr (default false). */
  logger?: boolean;
  /** Built playground folder (default `<package>/web/dist`). */
  webDir?: string;
  /**
   * OpenMP threads of the native kernels, process-wide (default: unchanged).
   * `muse serve` uses 1: generations are interleaved on one JavaScript thread
   * and the bundled models' per-token GEMMs are small, while multi-threaded
   * kernels on a busy machine stall (measured: 185 tokens/s with 1 thread,
   * 6 with 2, on the 2-core machine under load).
   */
  threads?: number;
  /**
   * Require `Authorization: Bearer <apiKey>` on `/v1/*` and `/api/*` (401
   * otherwise, in OpenAI's error shape). Default: no key (fine on loopback).
   */
  apiKey?: string;
  /**
   * Host names, besides loopback and the bound address, that requests may use
   * (`Host`, and `Origin` on state-changing requests); `['*']` disables the
   * checks. See `src/serve/access.ts`.
   */
  allowedHosts?: readonly string[];
}
