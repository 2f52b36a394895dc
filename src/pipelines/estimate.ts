import { getBackend } from '../backend/index.js';
import { ConfigError } from '../errors.js';
import { familyFor, registeredFamilies } from '../models/registry.js';
import type { TrainRecipe } from './recipe.js';

/** What {@link estimateTraining} reports. */
export interface TrainingEstimate {
  parameters: number;
  /** Parameters excluding position embeddings (the "N" of 6N; Kaplan et al. 2020 count them out too). */
  nonEmbeddingParameters: number;
  /**
   * Training FLOPs per token: 6N + 12·n_layer·n_embd·T (forward + backward
   * incl. attention; PaLM appendix B). For a BERT recipe N counts the encoder's
   * matrices, the head's transform and the decoder on the masked share of
   * positions only (the head runs on labelled rows).
   */
  flopsPerToken: number;
  /** Training FLOPs per iteration (tokens per iteration × flopsPerToken). */
  flopsPerIter: number;
  tokensPerIter: number;
  /** Bytes of fp32 weights, gradients and AdamW's two moments. */
  memory: { weights: number; gradients: number; adamw: number; total: number };
  /** GEMM throughput measured just now on a training-shaped product, GFLOP/s. */
  measuredGflops: number;
  /** tokens/iter × flops/token ÷ measured GEMM rate; a lower bound (non-GEMM work is not counted). */
  msPerIter: number;
  backend: string;
}

/**
 * Estimate a recipe's size and speed: parameter count, FLOPs per token,
 * memory for weights/gradients/AdamW state, and a time per iteration from a
 * quick GEMM measurement at the model's shape on the active backend.
 * @param vocabSize vocabulary size to assume when the recipe does not fix it
 */
export function estimateTraining(recipe: TrainRecipe, vocabSize: number): TrainingEstimate {
  const m = recipe.model as Record<string, unknown>;
  // The recipe's model_type picks the family (GPT-2 when absent); the family knows its parameter count and FLOPs.
  const family = familyFor(m['model_type'] ?? 'gpt2', 'the recipe\'s model section');
  if (!family.trainingCost) throw new ConfigError(`the ${family.name} family has no training estimate; estimate supports ${registeredFamilies().filter((f) => f.trainingCost).flatMap((f) => f.modelTypes).join(', ')}`);
  const t = recipe.training as TrainRecipe['training'] & { mlmProbability?: number };
  const cost = family.trainingCost({ model: { ...m, vocab_size: (m['vocab_size']) ?? vocabSize }, blockSize: t.blockSize, mlmProbability: t.mlmProbability });
  return withThroughput(recipe, cost.parameters, cost.nonEmbeddingParameters, cost.flopsPerToken, cost.width, cost.inner);
}

/** The estimate's per-iteration, memory and speed fields, with the GEMM measured at `[batch·T, width]·[width, inner]`. */
function withThroughput(
  recipe: TrainRecipe, parameters: number, nonEmbeddingParameters: number, flopsPerToken: number, width: number, inner: number,
): TrainingEstimate {
  const t = recipe.training;
  const tokensPerIter = t.batchSize * t.blockSize * (t.gradientAccumulationSteps ?? 1);
  const flopsPerIter = flopsPerToken * tokensPerIter;
  const measuredGflops = measureGemm(t.batchSize * t.blockSize, width, inner);
  const bytes = 4 * parameters;
  return {
    parameters,
    nonEmbeddingParameters,
    flopsPerToken,
    flopsPerIter,
    tokensPerIter,
    memory: { weights: bytes, gradients: bytes, adamw: 2 * bytes, total: 4 * bytes },
    measuredGflops,
    msPerIter: (flopsPerIter / (measuredGflops * 1e9)) * 1e3,
    backend: getBackend().name,
  };
}

/** GFLOP/s of `[m, k]·[k, n]` on the active backend (best of a few repetitions, ~0.2 s). */
export function measureGemm(m: number, k: number, n: number): number {
  const be = getBackend();
  const a = new Float32Array(m * k).fill(0.5);
  const b = new Float32Array(k * n).fill(0.25);
  const c = new Float32Array(m * n);
  const run = () =>
    be.gemm({ a, b, c, batch: 1, m, n, k, transA: false, transB: false, alpha: 1, beta: 0, aOffset: 0, bOffset: 0, cOffset: 0, aBatchStride: 0, bBatchStride: 0, cBatchStride: 0 });
  run();
  let best = Infinity;
  const deadline = performance.now() + 200;
  let reps = 0;
  while (reps < 3 || (performance.now() < deadline && reps < 200)) {
    const t0 = performance.now();
    run();
    best = Math.min(best, performance.now() - t0);
    reps++;
  }
  return (2 * m * n * k) / (best * 1e-3) / 1e9;
}
