import { Command } from 'commander';
import { join } from 'node:path';
import { loadRecipe } from '../../pipelines/recipe.js';
import { resumeChanges } from '../../pipelines/runs.js';
import { pretrain } from '../../models/gpt2/pretrain.js';
import { estimateTraining } from '../../pipelines/estimate.js';
import { ConfigError } from '../../errors.js';
import { overridesFrom, trainingRunIO } from '../overrides.js';
import { onInterrupt } from '../interrupt.js';
import { loraBaseTypeFromFlags, loraConfigFromFlags, type LoraFlags } from './finetune.js';
import { modelTypeOf } from '../../models/registry.js';

/** A loss for the summary line; "n/a" before the first evaluation (e.g. after Ctrl-C). */
function fmt(x: number | null | undefined): string {
  return typeof x === 'number' && Number.isFinite(x) ? x.toFixed(4) : 'n/a';
}

function humanBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${n.toFixed(i ? 1 : 0)} ${units[i]}`;
}

interface TrainFlags extends LoraFlags {
  config: string;
  corpus: string[];
  valCorpus?: string[];
  initFrom?: string;
  model?: string;
  field?: string;
  out: string;
  resume?: boolean;
  overwrite?: boolean;
  json?: boolean;
  progress: boolean;
}

/** Registers `muse train` and `muse estimate`. */
export function register(program: Command): void {
  program
    .command('train')
    .description('pretrain a GPT on a corpus from a JSON recipe (configs/*.json); extra --key=value words override recipe fields')
    .requiredOption('--config <file>', 'recipe, e.g. configs/shakespeare-char-baby.json')
    .requiredOption('--corpus <files...>', 'corpus files (.txt or .jsonl)')
    .option('--val-corpus <files...>', 'fixed validation files: their documents validate and the whole --corpus trains (instead of the stream\'s last valFraction)')
    .option('--init-from <dir>', 'start from this GPT-2 directory\'s weights and tokenizer (continued pretraining: fresh optimizer and schedule)')
    .option('--model <dir>', 'with --lora: the frozen base model (same as --init-from)')
    .option('--lora', 'train LoRA adapters on the frozen --model instead of every weight; best/ and last/ are PEFT adapter directories')
    .option('--lora-r <n>', 'LoRA rank r', (v) => Number(v), 16)
    .option('--lora-alpha <a>', 'LoRA alpha (scaling alpha/r)', (v) => Number(v), 32)
    .option('--lora-dropout <p>', 'dropout on the adapters\' input', (v) => Number(v), 0.05)
    .option('--target-modules <names>', 'comma-separated module names or all-linear (default: PEFT\'s per architecture)')
    .option('--use-rslora', 'rank-stabilised LoRA: scale by alpha/sqrt(r)')
    .option('--base-dtype <type>', 'with --lora: store the frozen base\'s linear layers as f16, bf16, q8_0, q4_k, … (QLoRA-style; default f32)')
    .option('--gradient-checkpointing', 'recompute each layer\'s activations in the backward pass (training.gradientCheckpointing): far less memory for one more forward pass per layer')
    .option('--field <name>', 'JSONL field holding the text (overrides data.field)')
    .requiredOption('--out <dir>', 'output directory (best/, last/, metrics.jsonl, loss.svg)')
    .option('--resume', 'continue from OUT/last')
    .option('--overwrite', 'start afresh even if OUT already holds a run (its best/ and last/ are replaced)')
    .option('--json', 'print JSON records, ending with one summary line')
    .option('--no-progress', 'no progress bar')
    .allowUnknownOption(true)
    .allowExcessArguments(true)
    .action(async (opts: TrainFlags, cmd: Command) => {
      if (opts.model && opts.initFrom && opts.model !== opts.initFrom) throw new ConfigError('--model and --init-from name different models; give one');
      const initFrom = opts.model ?? opts.initFrom;
      if (opts.lora && !initFrom) throw new ConfigError('--lora needs the frozen base: --model DIR');
      const lora = opts.lora ? loraConfigFromFlags(opts, String(modelTypeOf(initFrom!))) : undefined;
      const overrides = overridesFrom(cmd.args);
      if (opts.field) overrides['data.field'] = JSON.stringify(opts.field);
      if (opts.gradientCheckpointing) overrides['training.gradientCheckpointing'] = 'true';
      const recipe = loadRecipe(opts.config, overrides);
      const command = ['muse', 'train', ...process.argv.slice(3)].join(' ');
      if (opts.resume) {
        const changes = resumeChanges(join(opts.out, 'last'), recipe, opts.corpus);
        if (changes.length) {
          process.stderr.write(
            `muse: --resume continues ${opts.out} with settings that differ from the ones it ran with (${join(opts.out, 'last', 'muse_recipe.json')}): ${changes.join('; ')}. ` +
              'The run goes on with the new ones; repeat the first command\'s overrides to keep its schedule and data.\n',
          );
        }
      }
      const interrupt = onInterrupt();
      const summary = await pretrain({
        recipe,
        corpus: opts.corpus,
        valCorpus: opts.valCorpus,
        initFrom,
        lora,
        loraBaseType: loraBaseTypeFromFlags(opts),
        outDir: opts.out,
        resume: opts.resume,
        overwrite: opts.overwrite,
        ...trainingRunIO(opts, interrupt.signal, { recipe, command }),
      });
      const interrupted = interrupt.finish();
      const line = {
        step: summary.step,
        trainLoss: summary.trainLoss,
        valLoss: summary.valLoss,
        bestValLoss: summary.bestValLoss,
        tokensPerSec: summary.tokensPerSec,
        checkpoint: summary.checkpoint,
      };
      if (opts.json) process.stdout.write(JSON.stringify(interrupted ? { ...line, interrupted: interrupt.received } : line) + '\n');
      else {
        process.stdout.write(
          `${interrupted ? `interrupted (${interrupt.received}) at` : 'done:'} step ${line.step}, train loss ${fmt(line.trainLoss)}, val loss ${fmt(line.valLoss)} (best ${fmt(line.bestValLoss)}), ` +
            `${Math.round(line.tokensPerSec ?? 0)} tokens/s\nmodel: ${line.checkpoint}\n`,
        );
      }
    });

  program
    .command('estimate')
    .description('parameters, FLOPs per token, memory and an estimated time per iteration for a recipe')
    .requiredOption('--config <file>', 'recipe file')
    .option('--vocab-size <n>', 'vocabulary size when the recipe does not fix it', '65')
    .option('--json', 'print one JSON object')
    .allowUnknownOption(true)
    .allowExcessArguments(true)
    .action((opts: { config: string; vocabSize: string; json?: boolean }, cmd: Command) => {
      const recipe = loadRecipe(opts.config, overridesFrom(cmd.args));
      const vocab = Number(opts.vocabSize);
      if (!Number.isInteger(vocab) || vocab <= 0) throw new ConfigError(`--vocab-size must be a positive integer, got ${opts.vocabSize}`);
      const e = estimateTraining(recipe, vocab);
      const bert = (recipe.model as Record<string, unknown>).model_type === 'bert';
      if (opts.json) {
        process.stdout.write(JSON.stringify(e) + '\n');
        return;
      }
      process.stdout.write(
        [
          `parameters:        ${e.parameters.toLocaleString('en')} (${e.nonEmbeddingParameters.toLocaleString('en')} without position${bert ? ' and token-type' : ''} embeddings)${recipe.model.vocab_size === undefined ? `, assuming a vocabulary of ${vocab} (pass --vocab-size; a char tokenizer has one entry per distinct character + ${bert ? '5' : '2'})` : ''}`,
          `FLOPs per token:   ${(e.flopsPerToken / 1e6).toFixed(2)} M (${bert ? '6·(encoder + head on the masked share) + 12·L·C·T' : '6N + 12·L·C·T'})`,
          `tokens per iter:   ${e.tokensPerIter}`,
          `FLOPs per iter:    ${(e.flopsPerIter / 1e9).toFixed(2)} G`,
          `memory:            weights ${humanBytes(e.memory.weights)}, gradients ${humanBytes(e.memory.gradients)}, AdamW ${humanBytes(e.memory.adamw)}, total ${humanBytes(e.memory.total)} (+ activations)`,
          `GEMM measured:     ${e.measuredGflops.toFixed(1)} GFLOP/s (${e.backend} backend)`,
          `time per iter:     ≥ ${e.msPerIter.toFixed(1)} ms (GEMM-bound estimate)`,
        ].join('\n') + '\n',
      );
    });
}
