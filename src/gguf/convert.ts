/**
 * Model → GGUF file, the work behind `muse quantize` and `muse export
 * --format gguf`: a model directory (muse-trained or Hugging Face; GPT-2 and
 * the Llama family) is loaded through the registry and written with its
 * tokenizer in the metadata; a GGUF file is re-typed tensor by tensor
 * (decoded to float32 and encoded again, as `llama-quantize
 * --allow-requantize` does), its metadata and tokenizer kept as they are.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, FileFormatError } from '../errors.js';
import { GgufFile, ggufValue, type GgufValue } from '../io/gguf.js';
import { writeGguf, type GgufTensorToWrite } from '../io/gguf-write.js';
import { modelTensors } from '../models/pretrained.js';
import { loadCausalLM } from '../models/registry.js';
import { quantizeRow } from '../quant/formats.js';
import { LLAMA_FTYPE, allowsQuantization, tensorTypeFor, GGUF_FILE_TYPES, type GgufFileType } from './mix.js';
import { hfToGguf, typeCounts } from './write.js';
import { readJsonFile } from '../io/json.js';

/** What {@link convertToGguf} did. */
export interface GgufConversionReport {
  input: string;
  out: string;
  fileType: GgufFileType;
  /** GGUF architecture written. */
  arch: string;
  tensors: number;
  /** How many tensors got each storage type. */
  types: Record<string, number>;
  /** Bytes of the written file. */
  bytes: number;
  seconds: number;
}

/**
 * Validate a `--type` value.
 * @throws ConfigError listing the accepted types
 */
export function parseGgufFileType(value: string): GgufFileType {
  const v = value.toLowerCase();
  if (!(GGUF_FILE_TYPES as readonly string[]).includes(v)) {
    throw new ConfigError(`--type ${JSON.stringify(value)} is not one muse writes; use one of ${GGUF_FILE_TYPES.join(', ')}`);
  }
  return v as GgufFileType;
}

function isGgufFile(path: string): boolean {
  if (!existsSync(path) || !statSync(path).isFile()) return false;
  const head = readFileSync(path).subarray(0, 4);
  return head.toString('latin1') === 'GGUF';
}

/** Re-type every tensor of a GGUF file (metadata kept, `general.file_type` updated). */
function requantize(input: string, out: string, fileType: GgufFileType): Omit<GgufConversionReport, 'bytes' | 'seconds'> {
  const src = GgufFile.open(input);
  try {
    const arch = String(src.metadata.get('general.architecture')?.value ?? 'unknown');
    const metadata: Array<[string, GgufValue]> = [];
    for (const [k, v] of src.metadata) {
      if (k === 'general.file_type' || k === 'general.quantization_version' || k === 'general.alignment') continue;
      metadata.push([k, v]);
    }
    const at = metadata.findIndex(([k]) => k === 'general.architecture') + 1;
    const extra: Array<[string, GgufValue]> = [['general.file_type', ggufValue.uint32(LLAMA_FTYPE[fileType])]];
    if (!['f32', 'f16', 'bf16'].includes(fileType)) extra.push(['general.quantization_version', ggufValue.uint32(2)]);
    metadata.splice(at, 0, ...extra);
    const nLayers = Number(src.metadata.get(`${arch}.block_count`)?.value ?? 0);
    const ctx = {
      fileType,
      nLayers,
      nAttentionWv: src.tensors.filter((t) => /attn_(v|qkv)\.weight$/.test(t.name)).length,
      tiedEmbeddings: src.tensor('output.weight') === undefined,
    };
    const tensors: GgufTensorToWrite[] = src.tensors.map((info) => {
      if (info.type === undefined) {
        throw new FileFormatError(`${input}: tensor "${info.name}" is stored as ${info.typeName}, which muse cannot decode to re-quantize`);
      }
      // Tensors llama-quantize leaves alone keep their stored type and bytes.
      const keep = !allowsQuantization(info.name, info.dims.length) || (fileType === 'f32' && info.type === 'F32');
      const type = keep ? info.type : tensorTypeFor(info.name, info.dims, ctx);
      return { name: info.name, type, shape: info.shape, data: () => (keep ? src.readTensorBytes(info) : quantizeRow(type, src.readTensorF32(info))) };
    });
    writeGguf(out, { metadata, tensors, alignment: src.header.alignment });
    return { input, out, fileType, arch, tensors: tensors.length, types: typeCounts({ metadata, tensors }) };
  } finally {
    src.close();
  }
}

/**
 * Write `input` (a model directory or a GGUF file) as a GGUF file of type `fileType`.
 *
 * @param input a model directory muse loads (GPT-2 or Llama family; a training
 *   run's `best/`/`last/`, or a Hugging Face directory) or a `.gguf` file
 * @param out the .gguf file to write (atomically)
 * @throws FileFormatError / ConfigError naming what cannot be read or represented
 */
export function convertToGguf(input: string, out: string, fileType: GgufFileType): GgufConversionReport {
  const started = Date.now();
  let report: Omit<GgufConversionReport, 'bytes' | 'seconds'>;
  if (isGgufFile(input)) {
    report = requantize(input, out, fileType);
  } else {
    const loaded = loadCausalLM(input, { task: 'export to GGUF', dtype: 'float32' });
    const config = (loaded.model as unknown as { config: Record<string, unknown> }).config;
    if (config === undefined || typeof config !== 'object') throw new ConfigError(`${input}: this model has no config to write as GGUF`);
    const tok = loaded.tokenizer;
    const specialIds = {
      bos: loaded.generationConfig.bosTokenId ?? tok.bosTokenId,
      eos: (Array.isArray(loaded.generationConfig.eosTokenId) ? loaded.generationConfig.eosTokenId[0] : loaded.generationConfig.eosTokenId) ?? tok.eosTokenId,
      unk: tok.specialTokens.unk?.id,
      pad: loaded.generationConfig.padTokenId ?? tok.specialTokens.pad?.id,
    };
    let chatTemplate: string | undefined;
    const tcPath = join(input, 'tokenizer_config.json');
    if (existsSync(tcPath)) {
      try {
        const tc = readJsonFile(tcPath) as { chat_template?: unknown };
        if (typeof tc.chat_template === 'string') chatTemplate = tc.chat_template;
      } catch {
        // a damaged tokenizer_config.json only loses the chat template
      }
    }
    const file = hfToGguf(
      { config, tensors: modelTensors(loaded.model), tokenizerJson: tok.toJSON() as Record<string, unknown>, specialIds, chatTemplate, name: String(config['_name_or_path'] ?? input.replace(/\/+$/, '').split('/').pop()) },
      fileType,
    );
    writeGguf(out, file);
    report = { input, out, fileType, arch: String(file.metadata instanceof Map ? file.metadata.get('general.architecture')?.value : file.metadata[0][1].value), tensors: file.tensors.length, types: typeCounts(file) };
  }
  return { ...report, bytes: statSync(out).size, seconds: (Date.now() - started) / 1000 };
}
