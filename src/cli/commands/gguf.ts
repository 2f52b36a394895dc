/**
 * `muse quantize MODEL --type … --out FILE.gguf` and `muse export MODEL
 * --format gguf --out FILE.gguf`: write a model (a muse training run's
 * best/ or last/, a Hugging Face GPT-2/Llama/Mistral/Qwen directory, or a
 * GGUF file) as a GGUF file llama.cpp, Ollama and muse itself load.
 * Parsing and printing only; the work is `src/gguf/convert.ts`.
 */
import type { Command } from 'commander';
import { ConfigError } from '../../errors.js';
import { convertToGguf, parseGgufFileType, type GgufConversionReport } from '../../gguf/convert.js';

interface Flags {
  type?: string;
  out?: string;
  format?: string;
  json?: boolean;
}

function print(r: GgufConversionReport, json: boolean | undefined): void {
  if (json) {
    console.log(JSON.stringify(r));
    return;
  }
  const types = Object.entries(r.types).map(([t, n]) => `${n} ${t}`).join(', ');
  console.log(`wrote ${r.out}: ${r.arch}, ${r.fileType}, ${r.tensors} tensors (${types}), ${(r.bytes / 1e6).toFixed(1)} MB in ${r.seconds.toFixed(1)} s`);
}

function requireOut(flags: Flags, cmd: string): string {
  if (!flags.out) throw new ConfigError(`muse ${cmd} needs --out FILE.gguf`);
  if (!flags.out.endsWith('.gguf')) throw new ConfigError(`--out ${flags.out}: name the file with a .gguf extension (llama.cpp and Ollama expect it)`);
  return flags.out;
}

/** Registers `muse quantize` and `muse export`. */
export function register(program: Command): void {
  program
    .command('quantize')
    .description('write a model as a quantized or half-precision GGUF file (llama-quantize\'s type mix)')
    .argument('<model>', 'a model directory (muse run best/ or last/, Hugging Face GPT-2/Llama/Mistral/Qwen2/Qwen3) or a .gguf file')
    .requiredOption('--type <type>', 'q8_0 | q4_0 | q4_k_m | f16 | bf16 | f32')
    .option('--out <file>', 'the .gguf file to write')
    .option('--json', 'print the report as one JSON line')
    .action((model: string, flags: Flags) => {
      print(convertToGguf(model, requireOut(flags, 'quantize'), parseGgufFileType(flags.type ?? '')), flags.json);
    });
  program
    .command('export')
    .description('export a model in another format (gguf: for llama.cpp and Ollama)')
    .argument('<model>', 'a model directory (muse run best/ or last/, Hugging Face GPT-2/Llama/Mistral/Qwen2/Qwen3) or a .gguf file')
    .requiredOption('--format <format>', 'gguf')
    .option('--type <type>', 'tensor type: f32 (default, exact) | f16 | bf16 | q8_0 | q4_0 | q4_k_m')
    .option('--out <file>', 'the .gguf file to write')
    .option('--json', 'print the report as one JSON line')
    .action((model: string, flags: Flags) => {
      if (flags.format !== 'gguf') throw new ConfigError(`--format ${JSON.stringify(flags.format)} is not supported; muse exports gguf`);
      print(convertToGguf(model, requireOut(flags, 'export'), parseGgufFileType(flags.type ?? 'f32')), flags.json);
    });
}
