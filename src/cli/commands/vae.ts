import { Command } from 'commander';
import {
  interpolateLines,
  isWellFormedLine,
  loadSentenceVAE,
  loadVAERecipe,
  reconstructLine,
  sampleLines,
  trainSentenceVAE,
  type VAEDecodeOptions,
} from '../../models/vae/index.js';
import { ConfigError } from '../../errors.js';
import { overridesFrom, trainingRunIO } from '../overrides.js';
import { onInterrupt } from '../interrupt.js';

interface DecodeFlags {
  model?: string;
  temperature: string;
  topK?: string;
  seed: string;
  json?: boolean;
}

function decodeOptions(o: DecodeFlags): VAEDecodeOptions {
  const temperature = Number(o.temperature);
  const seed = Number(o.seed);
  const topK = o.topK === undefined ? undefined : Number(o.topK);
  if (!(temperature >= 0)) throw new ConfigError(`--temperature must be ≥ 0 (0 = greedy), got ${o.temperature}`);
  if (!Number.isInteger(seed)) throw new ConfigError(`--seed must be an integer, got ${o.seed}`);
  if (topK !== undefined && !(Number.isInteger(topK) && topK > 0)) throw new ConfigError(`--top-k must be a positive integer, got ${o.topK}`);
  return { temperature, seed, topK };
}

function withDecodeFlags(cmd: Command): Command {
  return cmd
    .option('--model <dir>', 'sentence VAE directory (default: the bundled models/muse-vae-zh)')
    .option('--temperature <t>', 'decoder temperature; 0 = greedy', '0')
    .option('--top-k <k>', 'sample among the k most likely characters')
    .option('--seed <n>', 'random seed', '0')
    .option('--json', 'print JSON');
}

/** Registers `muse vae train|sample|interpolate|reconstruct`. */
export function register(program: Command): void {
  const vae = program.command('vae').description('sentence VAE (Bowman et al. 2016): train, sample new lines from the prior, interpolate, reconstruct');

  vae
    .command('train')
    .description('train a sentence VAE on the lines of a corpus from a recipe (configs/vae-*.json); --key=value words override recipe fields')
    .requiredOption('--config <file>', 'recipe, e.g. configs/vae-poem-zh.json')
    .requiredOption('--corpus <files...>', 'corpus files (.txt or .jsonl)')
    .requiredOption('--out <dir>', 'output directory (best/, last/, metrics.jsonl, vae_metrics.jsonl, loss.svg)')
    .option('--json', 'print JSON records, ending with one summary line')
    .option('--no-progress', 'no progress bar')
    .allowUnknownOption(true)
    .allowExcessArguments(true)
    .action(async (opts: { config: string; corpus: string[]; out: string; json?: boolean; progress: boolean }, cmd: Command) => {
      const recipe = loadVAERecipe(opts.config, overridesFrom(cmd.args));
      const command = ['muse', 'vae', ...process.argv.slice(3)].join(' ');
      const interrupt = onInterrupt();
      const summary = await trainSentenceVAE({
        recipe,
        corpus: opts.corpus,
        outDir: opts.out,
        ...trainingRunIO(opts, interrupt.signal, { recipe, command }),
      });
      const interrupted = interrupt.finish();
      const f = summary.final;
      if (opts.json) {
        process.stdout.write(JSON.stringify({ step: summary.step, valLoss: summary.valLoss, bestValLoss: summary.bestValLoss, checkpoint: summary.checkpoint, ...(f ?? {}), ...(interrupted ? { interrupted: interrupt.received } : {}) }) + '\n');
      } else {
        process.stdout.write(
          `${interrupted ? `interrupted (${interrupt.received}) at` : 'done:'} step ${summary.step}${f ? `, -ELBO ${f.negElbo.toFixed(3)} = recon ${f.recon.toFixed(3)} + KL ${f.kl.toFixed(3)} nats/line, active units ${f.activeUnits}/${f.latentSize}` : ''}\nmodel: ${summary.checkpoint}\n`,
        );
      }
    });

  withDecodeFlags(vae.command('sample').description('new lines decoded from z ~ N(0, I)'))
    .option('--n <n>', 'number of lines', '10')
    .action((opts: DecodeFlags & { n: string }) => {
      const model = loadSentenceVAE(opts.model);
      const lines = sampleLines(model, Number(opts.n), decodeOptions(opts));
      for (const l of lines) process.stdout.write((opts.json ? JSON.stringify(l) : l) + '\n');
      if (!opts.json) {
        const ok = lines.filter((l) => isWellFormedLine(l, model.charsPerLine)).length;
        process.stderr.write(`${ok}/${lines.length} well-formed (${model.charsPerLine} characters + line-ending punctuation)\n`);
      }
    });

  withDecodeFlags(vae.command('interpolate').description('decode points on the line between two lines’ latent codes').argument('<lineA>').argument('<lineB>'))
    .option('--steps <n>', 'points including both ends', '6')
    .action((a: string, b: string, opts: DecodeFlags & { steps: string }) => {
      const model = loadSentenceVAE(opts.model);
      const out = interpolateLines(model, a, b, Number(opts.steps), decodeOptions(opts));
      for (const p of out) process.stdout.write(opts.json ? JSON.stringify(p) + '\n' : `${p.t.toFixed(2)}  ${p.line}\n`);
    });

  withDecodeFlags(vae.command('reconstruct').description('encode a line to its posterior mean and decode it').argument('<line>')).action((line: string, opts: DecodeFlags) => {
    const model = loadSentenceVAE(opts.model);
    const out = reconstructLine(model, line, decodeOptions(opts));
    process.stdout.write((opts.json ? JSON.stringify({ input: line, reconstruction: out }) : out) + '\n');
  });
}
