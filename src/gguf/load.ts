/**
 * Loading GGUF model files into muse models, for the model registry: the
 * GPT-2 family loads `gpt2`-architecture files, the Llama family `llama`
 * (also Mistral), `qwen2` and `qwen3` files (each family's `canLoadFile`
 * asks {@link isGgufOf}). Weights are decoded to float32 into the model's own
 * buffers (adopted, not copied); the tokenizer comes from the file's
 * metadata, generation defaults from its special token ids.
 */
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { FileFormatError } from '../errors.js';
import { GgufFile, metaPlain, metaString } from '../io/gguf.js';
import { fallbackGenerationDefaults, generationConfigFromHF } from '../generate/index.js';
import { GPT } from '../models/gpt2/model.js';
import { gpt2StateDict } from '../models/gpt2/weights.js';
import { LlamaForCausalLM } from '../models/llama/model.js';
import { llamaStateDict } from '../models/llama/load.js';
import type { LoadedCausalLM } from '../models/loaded.js';
import { endOfTurnIdsFromGGUFMetadata, tokenizerFromGGUFMetadata, tokenizerFromJSON, type BaseTokenizer } from '../tokenizers/index.js';
import { ggufToHf, type GgufAsHf } from './read.js';
import { simpleTokenizerJSON } from './tokenizer-meta.js';

/**
 * True when `path` is a GGUF file (by its magic) whose `general.architecture`
 * is one of `archs`. Reads only the header; never throws.
 */
export function isGgufOf(path: string, archs: readonly string[]): boolean {
  const arch = ggufArchOf(path);
  return arch !== undefined && archs.includes(arch);
}

// general.architecture by file (path, size, mtime): the registry asks every family, then the family loads.
const archCache = new Map<string, { size: number; mtimeMs: number; arch: string | undefined }>();

/** The `general.architecture` of a GGUF file, or undefined when `path` is not a readable GGUF file. Never throws. */
function ggufArchOf(path: string): string | undefined {
  let st;
  try {
    st = statSync(path);
    if (!st.isFile()) return undefined;
  } catch {
    return undefined;
  }
  const hit = archCache.get(path);
  if (hit && hit.size === st.size && hit.mtimeMs === st.mtimeMs) return hit.arch;
  let arch: string | undefined;
  try {
    const fd = openSync(path, 'r');
    let isGguf = false;
    try {
      const magic = Buffer.alloc(4);
      isGguf = readSync(fd, magic, 0, 4, 0) === 4 && magic.toString('latin1') === 'GGUF';
    } finally {
      closeSync(fd);
    }
    if (isGguf) {
      const f = GgufFile.open(path);
      try {
        arch = metaString(f.metadata, 'general.architecture', path);
      } finally {
        f.close();
      }
    }
  } catch {
    arch = undefined;
  }
  if (archCache.size > 64) archCache.clear();
  archCache.set(path, { size: st.size, mtimeMs: st.mtimeMs, arch });
  return arch;
}

/**
 * The tokenizer stored in a GGUF file's metadata.
 * @throws FileFormatError when the file has no tokenizer or one muse cannot build (named: model and pre-tokenizer)
 */
export function ggufTokenizer(file: GgufFile): BaseTokenizer {
  // muse's own kinds (GPT-2 byte-level BPE, character vocabularies) as muse's tokenizers, exactly;
  // every other llama.cpp tokenizer through the GGUF tokenizer of src/tokenizers/.
  const json = simpleTokenizerJSON(file.metadata, file.path);
  if (json) return tokenizerFromJSON(json);
  if (!file.metadata.has('tokenizer.ggml.model')) throw new FileFormatError(`${file.path}: the GGUF file holds no tokenizer (tokenizer.ggml.model is missing)`);
  return tokenizerFromGGUFMetadata(plainMetadata(file), { source: file.path });
}

/** The metadata as plain values (what src/tokenizers' GGUF functions take). */
function plainMetadata(file: GgufFile): Map<string, unknown> {
  const out = new Map<string, unknown>();
  for (const [k, v] of file.metadata) if (k.startsWith('tokenizer.')) out.set(k, metaPlain(v));
  return out;
}

function missingError(path: string, missing: string[], what: string): FileFormatError {
  return new FileFormatError(`${path}: missing tensors ${missing.slice(0, 8).join(', ')}${missing.length > 8 ? ` and ${missing.length - 8} more` : ''}; the file does not hold a complete ${what} model`);
}

/** Open a GGUF file, convert it to HF form and read its tokenizer. */
function open(path: string): { hf: GgufAsHf; tokenizer: BaseTokenizer } {
  const file = GgufFile.open(path);
  try {
    const hf = ggufToHf(file);
    // Generation stops on every end-of-turn id llama.cpp would (eos, eot, eom).
    const eot = endOfTurnIdsFromGGUFMetadata(plainMetadata(file));
    if (eot.length > 1) hf.generationConfig['eos_token_id'] = eot;
    return { hf, tokenizer: ggufTokenizer(file) };
  } finally {
    file.close();
  }
}

/**
 * Load a `gpt2`-architecture GGUF file as a muse {@link GPT} (eval mode).
 * @throws FileFormatError for another architecture, a missing tensor (named) or an unreadable tokenizer
 * @throws ShapeError when a tensor does not match the hyperparameters
 */
export function loadGgufGPT2(path: string): LoadedCausalLM<GPT> & { hf: GgufAsHf } {
  const { hf, tokenizer } = open(path);
  if (hf.arch !== 'gpt2') throw new FileFormatError(`${path}: GGUF architecture "${hf.arch}" is not gpt2`);
  const model = new GPT(hf.config, { init: false });
  const { missing, unexpected } = model.loadStateDict(gpt2StateDict(hf.tensors), false, { adopt: true });
  const required = missing.filter((n) => n !== 'lm_head.weight');
  if (required.length) throw missingError(path, required, 'GPT-2');
  model.eval();
  const c = model.config;
  return {
    kind: 'causal-lm', family: 'gpt2', modelType: 'gpt2', dir: path, model, tokenizer,
    // GGUF carries no generation_config.json: llama.cpp's sampling defaults, the file's own bos/eos.
    generationConfig: { ...fallbackGenerationDefaults(c.n_positions), ...generationConfigFromHF(hf.generationConfig) }, script: 'keep',
    report: { missing, unexpected: [...unexpected, ...hf.unmapped] },
    info: { contextLength: c.n_positions, nLayer: c.n_layer, nHead: c.n_head, vocabSize: c.vocab_size },
    hf,
  };
}

/**
 * Load a `llama` (Llama, Mistral), `qwen2` or `qwen3` GGUF file as a muse
 * {@link LlamaForCausalLM} (eval mode).
 * @throws FileFormatError for another architecture, a missing tensor (named) or an unreadable tokenizer
 * @throws ConfigError for hyperparameters the llama family does not support (named)
 */
export function loadGgufLlama(path: string): LoadedCausalLM<LlamaForCausalLM> & { hf: GgufAsHf } {
  const { hf, tokenizer } = open(path);
  if (hf.arch === 'gpt2') throw new FileFormatError(`${path}: GGUF architecture gpt2 is not a Llama-family architecture`);
  const model = new LlamaForCausalLM(hf.config, { init: false });
  const tied = model.config.tie_word_embeddings;
  const { missing, unexpected } = model.loadStateDict(llamaStateDict(hf.tensors, tied), false, { adopt: true });
  if (missing.length) throw missingError(path, missing, hf.modelType);
  model.eval();
  const c = model.config;
  return {
    kind: 'causal-lm', family: 'llama', modelType: c.model_type, dir: path, model, tokenizer,
    // GGUF carries no generation_config.json: llama.cpp's sampling defaults, the file's own bos/eos.
    generationConfig: { ...fallbackGenerationDefaults(model.maxPositions), ...generationConfigFromHF(hf.generationConfig) }, script: 'keep',
    report: { missing, unexpected: [...unexpected, ...hf.unmapped] },
    info: { contextLength: model.maxPositions, nLayer: c.num_hidden_layers, nHead: c.num_attention_heads, vocabSize: c.vocab_size },
    hf,
  };
}
