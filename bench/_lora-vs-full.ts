/**
 * The comparison behind `npm run bench -- lora-aesop` and `lora-poem`: one
 * base model fine-tuned on (beginning → ending) pairs twice with the same
 * split, seed, batches and number of steps — every weight (learning rate
 * 1e-4, `muse finetune`'s default) and LoRA (learning rate 1e-3, `--lora`'s
 * default) — and the held-out endings (greedy) scored before and after: corpus
 * BLEU (paired bootstrap, 95% intervals, p-value of LoRA vs full), mean ROUGE-L
 * F1 (bootstrap 95% interval over pairs) and, for poems, the poem metrics of
 * beginning + ending (`src/poetry/metrics.ts`). One JSON line per system, then
 * one comparison line.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { splitDocuments, type StoryPair } from '../src/data/index.js';
import { loadGPT2Dir } from '../src/models/gpt2/family.js';
import { finetune, type FinetuneReport } from '../src/models/gpt2/finetune.js';
import { pairedBootstrap } from '../src/eval/significance.js';
import { corpusRouge } from '../src/eval/index.js';
import { poemMetrics } from '../src/poetry/metrics.js';
import { Generator } from '../src/tensor/index.js';
import type { LoraConfig } from '../src/lora/index.js';

/** What {@link compareLoraWithFull} runs. */
export interface LoraVsFullJob {
  /** The `bench` field of the JSON lines. */
  bench: string;
  /** A GPT-2 model directory. */
  model: string;
  pairs: StoryPair[];
  steps: number;
  batchSize: number;
  valFraction: number;
  lora: LoraConfig;
  /** Also report the poem metrics of beginning + ending. */
  poems: boolean;
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

/** The poem metrics of the held-out beginnings with the generated endings (the prompt line not counted). */
function poems(beginnings: string[], hyps: string[]): Record<string, number> {
  const m = poemMetrics(hyps.map((h, i) => beginnings[i] + h), { promptLines: 1 });
  const r = (x: number): number => Math.round(x * 1000) / 1000;
  return { validForm: r(m.validForm / m.poems), rhymeRate: r(m.rhymeRate), tonesLoose: r(m.tonesLoose), repeatedChars: r(m.repeatedChars), distinct2: r(m.distinct2) };
}

/** Runs the comparison and prints its JSON lines. */
export async function compareLoraWithFull(job: LoraVsFullJob): Promise<void> {
  const out = mkdtempSync(join(tmpdir(), `muse-${job.bench}-`));
  try {
    const reports: [string, FinetuneReport, number][] = [];
    for (const system of ['full', 'lora'] as const) {
      const t0 = performance.now();
      const r = await finetune({
        base: loadGPT2Dir(job.model), pairs: job.pairs, outDir: join(out, system), maxIters: job.steps, batchSize: job.batchSize, valFraction: job.valFraction, seed: 1337,
        progress: false, log: () => {}, ...(system === 'lora' ? { lora: job.lora } : {}),
      });
      reports.push([system, r, (performance.now() - t0) / 1000]);
    }
    // The held-out pairs, in the order the reports score them (finetune's split, the same in both runs).
    const { train, val: v } = splitDocuments(job.pairs, { valFraction: job.valFraction, seed: 1337 });
    const val = v.length ? v : train.slice(-1);
    const references = val.map((p) => p.ending);
    const beginnings = val.map((p) => p.beginning);
    const [full, lora] = [reports[0][1], reports[1][1]];
    const tokenize = full.after.tokenize;
    const bleu = pairedBootstrap(full.after.hypotheses, lora.after.hypotheses, [references], { metric: 'bleu', options: { tokenize } });
    const base = pairedBootstrap(full.before.hypotheses, full.before.hypotheses, [references], { metric: 'bleu', options: { tokenize } });
    const extra = (hyps: string[]): Record<string, unknown> => (job.poems ? { poem: poems(beginnings, hyps) } : {});
    const line = (system: string, r: FinetuneReport, seconds: number, b: { score: number; ci: number }): string =>
      JSON.stringify({
        bench: job.bench, system, model: job.model, steps: job.steps, heldOut: r.heldOut, trainableParameters: r.trainableParameters, totalParameters: r.totalParameters,
        bleu: b.score, bleuCi95: b.ci /* ± half-width */, rougeL: rougeCi(r.after.hypotheses, references), ...extra(r.after.hypotheses), valLoss: r.train.bestValLoss, seconds: Math.round(seconds),
      });
    console.log(JSON.stringify({ bench: job.bench, system: 'base', model: job.model, heldOut: full.heldOut, bleu: base.baseline.score, bleuCi95: base.baseline.ci, rougeL: rougeCi(full.before.hypotheses, references), ...extra(full.before.hypotheses) }));
    console.log(line('full', full, reports[0][2], bleu.baseline));
    console.log(line('lora', lora, reports[1][2], bleu.system));
    console.log(JSON.stringify({ bench: job.bench, compare: 'lora vs full', lora: job.lora, bleuPValue: bleu.system.pValue, trainableShare: lora.trainableParameters / lora.totalParameters }));
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

/** `--name value` from a bench's arguments. */
export function benchArg(args: string[], name: string, dflt: string): string {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1] : dflt;
}

/** The LoRA settings of the `--r`, `--alpha` and `--target-modules` arguments. */
export function loraArgs(args: string[], dfltTargets: string): LoraConfig {
  const r = Number(benchArg(args, 'r', '16'));
  const targets = benchArg(args, 'target-modules', dfltTargets);
  return { r, loraAlpha: Number(benchArg(args, 'alpha', String(2 * r))), loraDropout: 0.05, useRslora: false, targetModules: targets === 'all-linear' ? targets : targets.split(',') };
}
