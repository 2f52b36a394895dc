// The GPT-2 family: config, model, HF weight names, loader, training step, and its task entry points.
export { GPT, GPTAttention, GPTMLP, GPTBlock, GPTTransformer, type GPTOutput } from './model.js';
export { gptConfig, gptParameterCount, GPT2_DEFAULTS, type GPTConfig } from './config.js';
export { gpt2StateDict, loadGPT } from './weights.js';
export { loadGPT2Dir, saveGPT2Dir, requireGPT, gpt2Family, type LoadedGPT2 } from './family.js';
export { pretrain, tokenizeCorpus, defaultGenerationConfig, type PretrainOptions, type TokenizedCorpus } from './pretrain.js';
export { finetune, scoreEndings, type FinetuneOptions, type FinetuneReport, type EndingScores } from './finetune.js';
export { attentionProbe, type AttentionMaps } from './attention-probe.js';
