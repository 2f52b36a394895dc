/**
 * `npm run bench -- lora-aesop [--steps N] [--model DIR] [--pairs FILE] [--r R] [--alpha A] [--target-modules LIST]`:
 * a real use of LoRA. `muse-story-en` is fine-tuned on the Aesop pairs
 * (`examples/aesop-pairs.jsonl`, loss on the endings) twice with the same
 * split, seed, batches and number of steps: every weight and LoRA (r 16,
 * α 2r, c_attn, PEFT's GPT-2 default, unless the flags say otherwise); the
 * held-out endings are scored with BLEU and ROUGE-L with confidence
 * intervals (`_lora-vs-full.ts`). One JSON line per system, then one
 * comparison line with the trainable share.
 */
import { readPairs } from '../src/data/index.js';
import { benchArg, compareLoraWithFull, loraArgs } from './_lora-vs-full.js';

export default async function main(args: string[]): Promise<void> {
  await compareLoraWithFull({
    bench: 'lora-aesop',
    model: benchArg(args, 'model', 'models/muse-story-en'),
    pairs: readPairs(benchArg(args, 'pairs', 'examples/aesop-pairs.jsonl')),
    steps: Number(benchArg(args, 'steps', '150')),
    batchSize: 8,
    valFraction: 0.1,
    lora: loraArgs(args, 'c_attn'),
    poems: false,
  });
}
