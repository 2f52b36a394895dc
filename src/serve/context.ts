/**
 * The state one server shares between its routes.
 */
import type { Batcher } from './batcher.js';
import type { ModelRegistry } from './model-registry.js';
import type { GenerationQueue } from './queue.js';
import type { RatingsStore } from './ratings-store.js';
import type { SchemaLimits } from './schemas.js';

/** Everything a route handler may use. */
export interface ServeContext {
  registry: ModelRegistry;
  queue: GenerationQueue;
  /** Batched decoding of unseeded requests (null: every request decodes alone). */
  batcher: Batcher | null;
  ratings: RatingsStore;
  limits: SchemaLimits;
  /** Folder whose sub-folders are training runs (`metrics.jsonl`), for the /train page. */
  runsDir: string;
  /** Built playground assets (`web/dist`). */
  webDir: string;
  /** Abort controllers of the generations in flight (aborted when shutdown's grace time runs out). */
  active: Set<AbortController>;
  /** True once shutdown has begun: new generations are refused with 503. */
  draining: boolean;
}
