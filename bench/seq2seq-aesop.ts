/**
 * `npm run bench -- seq2seq-aesop [--arch baseline|seq2seq|gpt] [--pairs FILE] [--out DIR] [--max-iters N] [--vocab N]
 *   [--d-model N] [--layers N] [--ffn-dim N] [--dropout P] [--batch-size N] [--learning-rate LR] [--max-target-length N]
 *   [--warmup-iters N] [--pre-ln] [--shakespeare]`
 *
 * Issue 9's comparison on Aesop (beginning → ending) pairs, one held-out split
 * for everyone (`splitDocuments`, valFraction 0.1, seed 1337 — the split
 * `muse finetune` uses): ROUGE-L F1 (and BLEU) of
 *   - `baseline`: the ending is the beginning copied;
 *   - `seq2seq`: the encoder–decoder Transformer trained from scratch by
 *     `finetuneSeq2Seq`, with a byte-level BPE trained on the training pairs
 *     only, and every other sentence cut of the training stories as extra
 *     training pairs (held-out stories are never seen); greedy and beam search;
 *   - `gpt`: the bundled `muse-story-en` fine-tuned by `finetune` (what `muse finetune` runs).
 * `--arch score --checkpoint DIR…` re-scores trained seq2seq checkpoints; every figure comes with a
 * paired bootstrap against the copy baseline (`vsCopy`: mean difference, one-sided p).
 * Run each arch as its own process (one core each, `OMP_NUM_THREADS=1`).
 * Prints JSON lines `{"bench":"seq2seq-aesop","arch",…,"rougeL","bleu"}`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fablesToPairs, readPairs, splitDocuments, type StoryPair } from '../src/data/index.js';
import { ByteLevelBPETokenizer } from '../src/tokenizers/index.js';
import { copyBaseline, finetuneSeq2Seq, scoreHypotheses } from '../src/models/seq2seq/finetune.js';
import { generateEndings, loadSeq2SeqDir } from '../src/models/seq2seq/load.js';
import { finetune } from '../src/models/gpt2/finetune.js';
import { loadGPT2Dir } from '../src/models/gpt2/family.js';
import { rougeScores } from '../src/eval/index.js';
import { Generator } from '../src/tensor/index.js';

const here = dirname(fileURLToPath(import.meta.url));

function arg(args: string[], name: string, dflt: string): string {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1] : dflt;
}
const num = (args: string[], name: string, dflt: number): number => Number(arg(args, name, String(dflt)));

const emit = (rec: object) => process.stdout.write(JSON.stringify({ bench: 'seq2seq-aesop', ...rec }) + '\n');
const round = (x: number, d = 4) => Number(x.toFixed(d));

/**
 * Paired bootstrap (Koehn 2004) of mean ROUGE-L F1, hypotheses vs the copy
 * baseline, over the held-out pairs: the observed difference and the share
 * of 2,000 resamples in which the difference is ≤ 0 (a one-sided p-value).
 */
function versusCopy(hyps: readonly string[], val: readonly StoryPair[]): { diff: number; p: number } {
  const f = (h: string, r: string) => rougeScores(h, r, { rougeTypes: ['rougeL'] }).rougeL.fmeasure;
  const d = val.map((p, i) => f(hyps[i], p.ending) - f(p.beginning, p.ending));
  const n = d.length;
  const g = new Generator(12345);
  let le = 0;
  for (let r = 0; r < 2000; r++) {
    let s = 0;
    for (let i = 0; i < n; i++) s += d[g.randint(0, n)];
    if (s <= 0) le++;
  }
  return { diff: round(d.reduce((a, b) => a + b, 0) / n), p: round(le / 2000, 3) };
}

/** Held-out endings of a seq2seq checkpoint under the three decodings the bench reports. */
function scoreCheckpoint(dir: string, val: readonly StoryPair[], maxNewTokens: number, extra: object): void {
  const best = loadSeq2SeqDir(dir);
  for (const cfg of [{}, { numBeams: 4, noRepeatNgramSize: 3 }, { noRepeatNgramSize: 3 }]) {
    const hyps = generateEndings(best, val.map((p) => p.beginning), { doSample: false, maxNewTokens, ...cfg });
    const s = scoreHypotheses(hyps, val.map((p) => p.ending));
    emit({ arch: 'seq2seq', ...extra, decoding: Object.keys(cfg).length ? JSON.stringify(cfg) : 'greedy', rougeL: round(s.rougeL), bleu: round(s.bleu, 2), vsCopy: versusCopy(hyps, val), sample: hyps[0]?.slice(0, 200) });
  }
}

/** Every other cut point of each training story: sentences 1..k → the rest, for k ≥ 2. */
function moreCuts(train: readonly StoryPair[]): StoryPair[] {
  const out: StoryPair[] = [];
  for (const p of train) {
    const doc = `${p.beginning} ${p.ending}`;
    for (let k = 2; ; k++) {
      const cut = fablesToPairs([doc], { openingSentences: k });
      if (cut.length === 0) break;
      out.push(cut[0]);
    }
  }
  return out;
}

export default async function main(args: string[]): Promise<void> {
  const arch = arg(args, 'arch', 'baseline');
  const pairsPath = arg(args, 'pairs', join(here, '../examples/aesop-pairs.jsonl'));
  if (!existsSync(pairsPath)) {
    emit({ skipped: `no pairs file ${pairsPath}` });
    return;
  }
  const out = arg(args, 'out', join(here, `../runs/seq2seq-aesop-${arch}`));
  const seed = 1337;
  const valFraction = 0.1;
  const pairs = readPairs(pairsPath);
  const { train, val } = splitDocuments(pairs, { valFraction, seed });
  const refs = val.map((p) => p.ending);
  const base = copyBaseline(val);
  emit({ arch: 'baseline', method: 'copy the beginning', heldOut: val.length, rougeL: round(base.rougeL), bleu: round(base.bleu, 2) });
  if (arch === 'baseline') return;
  const t0 = performance.now();

  if (arch === 'seq2seq') {
    const tokenizer = ByteLevelBPETokenizer.train(train.map((p) => `${p.beginning} ${p.ending}`), { vocabSize: num(args, 'vocab', 1024) });
    const extra = moreCuts(train);
    // --shakespeare: also (speech → next speech) pairs of tinyshakespeare, for more English (never held out).
    const shakespeare = join(here, '../../shared/data/tinyshakespeare.txt');
    if (args.includes('--shakespeare') && existsSync(shakespeare)) {
      const speeches = readFileSync(shakespeare, 'utf8').split(/\n\s*\n/).map((t) => t.trim()).filter(Boolean);
      for (let i = 0; i + 1 < speeches.length; i++) extra.push({ beginning: speeches[i], ending: speeches[i + 1] });
    }
    const L = num(args, 'layers', 3);
    const maxTargetLength = num(args, 'max-target-length', 256);
    const d = num(args, 'd-model', 192);
    const report = await finetuneSeq2Seq({
      tokenizer,
      config: {
        d_model: d,
        encoder_layers: L,
        decoder_layers: L,
        encoder_attention_heads: 4,
        decoder_attention_heads: 4,
        encoder_ffn_dim: num(args, 'ffn-dim', 4 * d),
        decoder_ffn_dim: num(args, 'ffn-dim', 4 * d),
        dropout: num(args, 'dropout', 0.2),
        max_position_embeddings: 512,
        normalize_before: args.includes('--pre-ln'),
      },
      pairs,
      extraTrainPairs: extra,
      outDir: out,
      overwrite: true, // a benchmark rerun replaces its own earlier run
      valFraction,
      seed,
      maxIters: num(args, 'max-iters', 600),
      batchSize: num(args, 'batch-size', 16),
      learningRate: num(args, 'learning-rate', 7e-4),
      maxSourceLength: 128,
      maxTargetLength,
      warmupIters: args.includes('--warmup-iters') ? num(args, 'warmup-iters', 0) : undefined,
      log: (line) => process.stderr.write(line + '\n'),
    });
    const minutes = (performance.now() - t0) / 60000;
    emit({
      arch: 'seq2seq',
      args: args.join(' '),
      parameters: report.parameters,
      trainPairs: report.trainPairs,
      heldOut: report.heldOut,
      steps: report.train.step,
      bestValLoss: report.train.bestValLoss,
      minutes: round(minutes, 1),
    });
    scoreCheckpoint(report.checkpoint, val, maxTargetLength, { checkpoint: report.checkpoint });
    return;
  }

  if (arch === 'gpt') {
    const baseDir = arg(args, 'model', join(here, '../models/muse-story-en'));
    const report = await finetune({
      base: loadGPT2Dir(baseDir),
      pairs,
      outDir: out,
      overwrite: true, // a benchmark rerun replaces its own earlier run
      valFraction,
      seed,
      maxIters: args.includes('--max-iters') ? num(args, 'max-iters', 0) : undefined,
      log: (line) => process.stderr.write(line + '\n'),
    });
    emit({
      arch: 'gpt',
      base: baseDir.split('/').slice(-1)[0],
      decoding: 'greedy',
      trainPairs: report.trainPairs,
      heldOut: report.heldOut,
      steps: report.train.step,
      bestValLoss: report.train.bestValLoss,
      minutes: round((performance.now() - t0) / 60000, 1),
      rougeLBefore: round(report.before.rougeL),
      rougeL: round(report.after.rougeL),
      bleu: round(report.after.bleu, 2),
      vsCopy: versusCopy(report.after.hypotheses, val),
      sample: report.after.hypotheses[0]?.slice(0, 300),
    });
    return;
  }
  if (arch === 'score') {
    // Re-score trained seq2seq checkpoints: --arch score --checkpoint DIR [--checkpoint DIR …]
    args.forEach((a, i) => {
      if (a === '--checkpoint' && args[i + 1]) scoreCheckpoint(args[i + 1], val, num(args, 'max-target-length', 160), { checkpoint: args[i + 1] });
    });
    return;
  }
  throw new Error(`--arch must be baseline, seq2seq, gpt or score, got ${arch}`);
}
