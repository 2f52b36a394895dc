/**
 * `npm run bench -- lora-poem [--steps N] [--model DIR] [--pairs FILE] [--r R] [--alpha A] [--target-modules LIST]`:
 * LoRA on a poem task. The bundled poet (`models/muse-poet-zh`) learns to
 * finish a regulated poem from its first line — the other three or seven
 * lines, then stop — on `examples/poem-pairs.jsonl` (the 5x4, 7x4, 5x8 and
 * 7x8 poems of its held-out set, which it never trained on;
 * `scripts/build-poem-pairs.ts`), 20% of them held out. Fine-tuned twice with
 * the same split, seed, batches and steps, every weight and LoRA (r 16,
 * α 2r, c_attn unless the flags say otherwise); the held-out poems are scored
 * with BLEU (`zh` tokenizer) and ROUGE-L with confidence intervals and with
 * the poem metrics of first line + generated lines (form validity, rhyme,
 * tones, repeated characters, distinct-2). One JSON line per system (base,
 * full, lora), then one comparison line with the trainable share.
 */
import { readPairs } from '../src/data/index.js';
import { benchArg, compareLoraWithFull, loraArgs } from './_lora-vs-full.js';

export default async function main(args: string[]): Promise<void> {
  await compareLoraWithFull({
    bench: 'lora-poem',
    model: benchArg(args, 'model', 'models/muse-poet-zh'),
    pairs: readPairs(benchArg(args, 'pairs', 'examples/poem-pairs.jsonl')),
    steps: Number(benchArg(args, 'steps', '300')),
    batchSize: 16,
    valFraction: 0.2,
    lora: loraArgs(args, 'c_attn'),
    poems: true,
  });
}
