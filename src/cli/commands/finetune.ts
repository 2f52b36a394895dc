import { Command, InvalidArgumentError } from 'commander';
import { writeFileAtomic } from '../../io/atomic.js';
import { fablesToPairs, readCorpus, readPairs } from '../../data/index.js';
import { finetune } from '../../pipelines/finetune.js';
import { defaultModelFor, loadModelDir } from '../../pipelines/load-model.js';

function int(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError(`${name} must be a positive integer, got "${v}"`);
    return n;
  };
}

function float(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isFinite(n)) throw new InvalidArgumentError(`${name} must be a number, got "${v}"`);
    return n;
  };
}

/** Registers `muse finetune` and `muse pairs`. */
export function register(program: Command): void {
  program
    .command('finetune')
    .description('fine-tune a model on (beginning → ending) pairs, loss on the ending only; reports BLEU/ROUGE-L before and after on held-out pairs')
    .requiredOption('--pairs <file>', 'JSONL with one {"beginning","ending"} object per line')
    .option('--model <dir>', 'base model directory (default: the bundled model for the pairs\' language)')
    .option('--out <dir>', 'output directory (best/, last/, metrics.jsonl, loss.svg)', 'runs/finetune')
    .option('--beginning-field <name>', 'JSON field of the beginning', 'beginning')
    .option('--ending-field <name>', 'JSON field of the ending', 'ending')
    .option('--max-iters <n>', 'optimizer steps (default: about 3 epochs)', int('--max-iters'))
    .option('--batch-size <n>', 'pairs per step', int('--batch-size'), 8)
    .option('--learning-rate <lr>', 'peak learning rate', float('--learning-rate'), 1e-4)
    .option('--val-fraction <f>', 'held-out fraction for the report', float('--val-fraction'), 0.1)
    .option('--seed <n>', 'seed of the split and batches', int('--seed'), 1337)
    .option('--json', 'print JSON records, ending with one report line')
    .action(async (o: { pairs: string; model?: string; out: string; beginningField: string; endingField: string; maxIters?: number; batchSize: number; learningRate: number; valFraction: number; seed: number; json?: boolean }) => {
      const pairs = readPairs(o.pairs, { beginningField: o.beginningField, endingField: o.endingField });
      const base = loadModelDir(o.model ?? defaultModelFor(pairs[0]?.beginning ?? ''));
      const report = await finetune({
        base,
        pairs,
        outDir: o.out,
        maxIters: o.maxIters,
        batchSize: o.batchSize,
        learningRate: o.learningRate,
        valFraction: o.valFraction,
        seed: o.seed,
        json: o.json,
        log: o.json ? (line) => process.stdout.write(line + '\n') : undefined,
      });
      const summary = {
        checkpoint: report.checkpoint,
        trainPairs: report.trainPairs,
        heldOut: report.heldOut,
        valLoss: report.train.bestValLoss,
        before: { bleu: report.before.bleu, rougeL: report.before.rougeL },
        after: { bleu: report.after.bleu, rougeL: report.after.rougeL },
        tokenize: report.after.tokenize,
      };
      if (o.json) {
        process.stdout.write(JSON.stringify(summary) + '\n');
        return;
      }
      const pct = (x: number) => (100 * x).toFixed(2);
      process.stdout.write(
        [
          `fine-tuned on ${report.trainPairs} pairs, ${report.heldOut} held out; best val loss ${report.train.bestValLoss?.toFixed(4)}`,
          `                 BLEU (${summary.tokenize})   ROUGE-L F1`,
          `base model       ${report.before.bleu.toFixed(2).padStart(8)}   ${pct(report.before.rougeL).padStart(10)}`,
          `fine-tuned       ${report.after.bleu.toFixed(2).padStart(8)}   ${pct(report.after.rougeL).padStart(10)}`,
          `model: ${report.checkpoint}`,
        ].join('\n') + '\n',
      );
    });

  program
    .command('pairs')
    .description('make (beginning → ending) pairs from stories: the opening sentence(s) → the rest')
    .requiredOption('--corpus <file>', 'stories (.jsonl or .txt)')
    .option('--field <name>', 'JSONL field holding the story', 'text')
    .option('--opening-sentences <n>', 'sentences in the beginning', int('--opening-sentences'), 1)
    .requiredOption('--out <file>', 'output JSONL')
    .action((o: { corpus: string; field: string; openingSentences: number; out: string }) => {
      const docs = readCorpus(o.corpus, { field: o.field });
      const pairs = fablesToPairs(docs, { openingSentences: o.openingSentences });
      writeFileAtomic(o.out, pairs.map((p) => JSON.stringify(p)).join('\n') + '\n');
      process.stdout.write(`wrote ${pairs.length} pairs to ${o.out}\n`);
    });
}
