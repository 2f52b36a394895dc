/**
 * `npm run bench -- lora-aesop [--steps N] [--model DIR] [--pairs FILE]`: a real
 * use of LoRA. `muse-story-en` is fine-tuned on the Aesop pairs
 * (`examples/aesop-pairs.jsonl`, loss on the endings) twice with the same
 * split, seed, batches and number of steps: every weight (learning rate
 * 1e-4, `muse finetune`'s default) and LoRA (r 16, α 32, c_attn, PEFT's GPT-2
 * default; learning rate 1e-3, `--lora`'s default). The held-out endings
 * (greedy) are scored with corpus BLEU (paired bootstrap, 95% intervals,
 * p-value of LoRA vs full) and mean ROUGE-L F1 (bootstrap 95% interval over
 * pairs). One JSON line per system, then one comparison line.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readPairs, splitDocuments } from '../src/data/index.js';
import { loadGPT2Dir } from '../src/models/gpt2/family.js';
import { finetune, type FinetuneReport } from '../src/models/gpt2/finetune.js';
import { pairedBootstrap } from '../src/eval/significance.js';
import { corpusRouge } from '../src/eval/index.js';
import { Generator } from '../src/tensor/index.js';

function arg(args: string[], name: string, dflt: string): string {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1] : dflt;
}

/** Mean of per-pair ROUGE-L F1 with a percentile bootstrap 95% interval. */
function rougeCi(hyps: string[], refs: string[]): { mean: number; ci: [number, number] } {
  const seg = corpusRouge(hyps, refs, { rougeTypes: ['rougeL'], returnSegments: true }).segments!.map((s) => s.rougeL.fmeasure);
  const g = new Generator(12345);
  const means: number[] = [];
  for (let b = 0; b < 1000; b++) {
    let s = 0;
    for (let i = 0; i < seg.length; i++) s += seg[g.randint(0, seg.length)];
    means.push(s / seg.length);
  }
  means.sort((a, b) => a - b);
  return { mean: seg.reduce((a, b) => a + b, 0) / seg.length, ci: [means[24], means[974]] };
}

export default async function main(args: string[]): Promise<void> {
  const steps = Number(arg(args, 'steps', '150'));
  const modelDir = arg(args, 'model', 'models/muse-story-en');
  const pairs = readPairs(arg(args, 'pairs', 'examples/aesop-pairs.jsonl'));
  const out = mkdtempSync(join(tmpdir(), 'muse-lora-aesop-'));
  try {
    const reports: [string, FinetuneReport, number][] = [];
    for (const system of ['full', 'lora'] as const) {
      const t0 = performance.now();
      const r = await finetune({
        base: loadGPT2Dir(modelDir), pairs, outDir: join(out, system), maxIters: steps, batchSize: 8, valFraction: 0.1, seed: 1337, progress: false, log: () => {},
        ...(system === 'lora' ? { lora: { r: 16, loraAlpha: 32, loraDropout: 0.05, useRslora: false, targetModules: ['c_attn'] } } : {}),
      });
      reports.push([system, r, (performance.now() - t0) / 1000]);
    }
    // The held-out references, in the order the reports score them (finetune's split, the same in both runs).
    const { train, val: v } = splitDocuments(pairs, { valFraction: 0.1, seed: 1337 });
    const val = v.length ? v : train.slice(-1);
    const references = val.map((p) => p.ending);
    const [full, lora] = [reports[0][1], reports[1][1]];
    const bleu = pairedBootstrap(full.after.hypotheses, lora.after.hypotheses, [references], { metric: 'bleu' });
    const base = pairedBootstrap(full.before.hypotheses, full.before.hypotheses, [references], { metric: 'bleu' });
    const line = (system: string, r: FinetuneReport, seconds: number, b: { score: number; ci: number }): string =>
      JSON.stringify({
        bench: 'lora-aesop', system, steps, heldOut: r.heldOut, trainableParameters: r.trainableParameters, totalParameters: r.totalParameters,
        bleu: b.score, bleuCi95: b.ci /* ± half-width */, rougeL: rougeCi(r.after.hypotheses, references), valLoss: r.train.bestValLoss, seconds: Math.round(seconds),
      });
    console.log(JSON.stringify({ bench: 'lora-aesop', system: 'base', heldOut: full.heldOut, bleu: base.baseline.score, bleuCi95: base.baseline.ci, rougeL: rougeCi(full.before.hypotheses, references) }));
    console.log(line('full', full, reports[0][2], bleu.baseline));
    console.log(line('lora', lora, reports[1][2], bleu.system));
    console.log(JSON.stringify({ bench: 'lora-aesop', compare: 'lora vs full', bleuPValue: bleu.system.pValue, trainableShare: lora.trainableParameters / lora.totalParameters }));
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}
