import { getBackend } from '../backend/index.js';
import { gptConfig, gptParameterCount, type GPTConfig } from '../models/gpt2/config.js';
import { bertConfig, bertParameterCount } from '../models/bert/config.js';
import type { TrainRecipe } from './recipe.js';
import { LLAMA_MODEL_TYPES, llamaConfig, llamaParameterCount, type LlamaModelType } from '../models/llama/config.js';

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
  const t = recipe.training;
  if ((recipe.model as Record<string, unknown>).model_type === 'bert') return estimateBert(recipe, vocabSize);
  if (LLAMA_MODEL_TYPES.includes((recipe.model as Record<string, unknown>).model_type as LlamaModelType)) return estimateLlama(recipe, vocabSize);
  const cfg: GPTConfig = gptConfig({ ...recipe.model, vocab_size: (recipe.model.vocab_size as number | undefined) ?? vocabSize, n_positions: recipe.model.n_positions ?? t.blockSize });
  const parameters = gptParameterCount(cfg);
  const nonEmbeddingParameters = parameters - cfg.n_positions * cfg.n_embd;
  const flopsPerToken = 6 * nonEmbeddingParameters + 12 * cfg.n_layer * cfg.n_embd * t.blockSize;
  return withThroughput(recipe, parameters, nonEmbeddingParameters, flopsPerToken, cfg.n_embd, 4 * cfg.n_embd);
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

/** {@link estimateTraining} for a `model_type: "bert"` recipe (masked-LM pretraining). */
function estimateBert(recipe: TrainRecipe, vocabSize: number): TrainingEstimate {
  const t = recipe.training;
  const m = recipe.model as Record<string, unknown>;
  const cfg = bertConfig({ ...m, vocab_size: (m.vocab_size as number | undefined) ?? vocabSize });
  const parameters = bertParameterCount(cfg);
  const C = cfg.hidden_size;
  const L = cfg.num_hidden_layers;
  const T = t.blockSize;
  const p = (t as { mlmProbability?: number }).mlmProbability ?? 0.15;
  const nonEmbeddingParameters = parameters - (cfg.max_position_embeddings + cfg.type_vocab_size) * C;
  const matmulPerToken = L * (4 * C * C + 2 * C * cfg.intermediate_size) + p * (C * C + cfg.vocab_size * C);
  const flopsPerToken = 6 * matmulPerToken + 12 * L * C * T;
  return withThroughput(recipe, parameters, nonEmbeddingParameters, flopsPerToken, C, cfg.intermediate_size);
}

/**
 * {@link estimateTraining} for a Llama-family recipe: N is every parameter
 * (no position embeddings; the embedding matrix counted once, as the tied head
 * or beside an untied one, whose lookup costs no FLOPs but is counted as the
 * GPT-2 estimate counts wte); attention adds 12·L·(heads·headDim)·T.
 */
function estimateLlama(recipe: TrainRecipe, vocabSize: number): TrainingEstimate {
  const t = recipe.training;
  const m = recipe.model as Record<string, unknown>;
  const cfg = llamaConfig({ ...m, vocab_size: (m.vocab_size as number | undefined) ?? vocabSize, max_position_embeddings: (m.max_position_embeddings as number | undefined) ?? t.blockSize }, 'recipe model');
  const parameters = llamaParameterCount(cfg);
  const matmulParams = cfg.tie_word_embeddings ? parameters : parameters - cfg.vocab_size * cfg.hidden_size;
  const flopsPerToken = 6 * matmulParams + 12 * cfg.num_hidden_layers * cfg.num_attention_heads * cfg.head_dim * t.blockSize;
  return withThroughput(recipe, parameters, parameters, flopsPerToken, cfg.hidden_size, cfg.intermediate_size);
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
