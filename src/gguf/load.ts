/**
 * Loading GGUF model files into muse models: GPT-2 (`gpt2` architecture)
 * here; the Llama family builds its model from the same {@link GgufAsHf}
 * (`readGgufModel`). Weights are decoded to float32 (F32, F16, BF16 and the
 * quantized types alike); the tokenizer comes from the file's metadata.
 */
import { FileFormatError } from '../errors.js';
import { GgufFile } from '../io/gguf.js';
import { generationConfigFromHF, type GenerationConfig } from '../generate/index.js';
import { GPT } from '../models/gpt.js';
import { gpt2StateDict, type LoadReport } from '../models/pretrained.js';
import { tokenizerFromJSON, type BaseTokenizer } from '../tokenizers/index.js';
import { ggufToHf, type GgufAsHf } from './read.js';
import { simpleTokenizerJSON } from './tokenizer-meta.js';

/**
 * The tokenizer stored in a GGUF file's metadata.
 * @throws FileFormatError when the file has no tokenizer or one muse cannot build (named: model and pre-tokenizer)
 */
export function ggufTokenizer(file: GgufFile): BaseTokenizer {
  const json = simpleTokenizerJSON(file.metadata, file.path);
  if (json) return tokenizerFromJSON(json);
  const model = file.metadata.get('tokenizer.ggml.model');
  const pre = file.metadata.get('tokenizer.ggml.pre');
  if (!model) throw new FileFormatError(`${file.path}: the GGUF file holds no tokenizer (tokenizer.ggml.model is missing)`);
  throw new FileFormatError(
    `${file.path}: the GGUF tokenizer (tokenizer.ggml.model ${JSON.stringify(model.value)}, pre ${JSON.stringify(pre?.value ?? null)}) is not one muse builds yet`,
  );
}

/** A GGUF file loaded as a muse GPT-2. */
export interface LoadedGgufGPT2 {
  model: GPT;
  tokenizer: BaseTokenizer;
  generationConfig: GenerationConfig;
  report: LoadReport;
  hf: GgufAsHf;
}

/**
 * Load a `gpt2`-architecture GGUF file as a muse {@link GPT} (eval mode).
 * @throws FileFormatError for another architecture, a missing tensor (named) or an unreadable tokenizer
 * @throws ShapeError when a tensor does not match the hyperparameters
 */
export function loadGgufGPT2(path: string): LoadedGgufGPT2 {
  const file = GgufFile.open(path);
  try {
    const hf = ggufToHf(file);
    if (hf.arch !== 'gpt2') throw new FileFormatError(`${path}: GGUF architecture "${hf.arch}" is not gpt2`);
    const tokenizer = ggufTokenizer(file);
    const model = new GPT(hf.config, { init: false });
    const { missing, unexpected } = model.loadStateDict(gpt2StateDict(hf.tensors), false);
    const required = missing.filter((n) => n !== 'lm_head.weight');
    if (required.length) throw new FileFormatError(`${path}: missing tensors ${required.join(', ')}; the file does not hold a complete GPT-2 model`);
    model.eval();
    return { model, tokenizer, generationConfig: generationConfigFromHF(hf.generationConfig), report: { missing, unexpected: [...unexpected, ...hf.unmapped] }, hf };
  } finally {
    file.close();
  }
}
