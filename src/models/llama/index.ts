/**
 * The Llama family: Hugging Face `model_type` llama, mistral, qwen2 and qwen3
 * (RMSNorm, rotary embeddings with linear/dynamic/llama3 scaling, SwiGLU,
 * grouped-query attention, Qwen2 biases, Qwen3 q/k norm, sliding windows).
 * See docs/models.md.
 */
export { LlamaForCausalLM, LlamaModel, LlamaDecoderLayer, LlamaAttention, LlamaMLP, LlamaRMSNorm, type LlamaOutput, type PassContext } from './model.js';
export {
  llamaConfig,
  llamaParameterCount,
  llamaMaxPositions,
  layerWindow,
  LLAMA_MODEL_TYPES,
  LLAMA_DEFAULTS,
  type LlamaConfig,
  type LlamaModelType,
  type RopeScaling,
} from './config.js';
export { loadLlama, saveLlama, llamaStateDict, architectureOf, type LoadedLlama } from './load.js';
export { LlamaLinear } from './linear.js';
export { rmsNorm, applyRotary, siluMul } from './ops.js';
export { ropeInvFreq, ropeTables } from './rope.js';
