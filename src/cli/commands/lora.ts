import type { Command } from 'commander';
import { mergeAdapterToDir } from '../../lora/apply.js';

/** Registers `muse merge` (a LoRA adapter merged into its base, saved as a plain model directory). */
export function register(program: Command): void {
  program
    .command('merge')
    .description('merge a LoRA adapter (PEFT format) into its base model and save the result as a plain model directory (PEFT merge_and_unload)')
    .argument('<base>', 'base model directory')
    .argument('<adapter>', 'adapter directory (adapter_config.json + adapter_model.safetensors)')
    .requiredOption('--out <dir>', 'merged model directory (for GGUF, run `muse export` on it)')
    .action((base: string, adapter: string, o: { out: string }) => {
      const n = mergeAdapterToDir(base, adapter, o.out);
      process.stdout.write(`merged ${n} adapted layers of ${adapter} into ${base}\nmodel: ${o.out}\n`);
    });
}
