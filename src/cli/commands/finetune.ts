import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { onInterrupt } from '../interrupt.js';
import { Command, InvalidArgumentError, Option } from 'commander';
import { writeFileAtomic } from '../../io/atomic.js';
import { fablesToPairs, readCorpus, readPairs, type StoryPair } from '../../data/index.js';
import { finetune } from '../../models/gpt2/finetune.js';
import { GGML_TYPES, type GgmlType } from '../../quant/formats.js';
import { defaultModelFor } from '../../models/bundled.js';
import { loadCausalLM, modelTypeOf } from '../../models/registry.js';
import { finetuneSeq2Seq } from '../../models/seq2seq/finetune.js';
import { loadSeq2SeqDir, SEQ2SEQ_MODEL_TYPE } from '../../models/seq2seq/load.js';
import { loadTokenizer } from '../../tokenizers/index.js';
import { ConfigError } from '../../errors.js';
import type { FinetuneRunOptions } from '../../pipelines/runs.js';
import { PEFT_DEFAULT_TARGETS, parseTargetModules, type LoraConfig } from '../../lora/index.js';

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

/** The `--lora …` flags that `muse finetune` and `muse train` share (commander's camelCase names). */
export interface LoraFlags {
  lora?: boolean;
  loraR: number;
  loraAlpha: number;
  loraDropout: number;
  targetModules?: string;
  useRslora?: boolean;
  baseDtype?: string;
  gradientCheckpointing?: boolean;
}

interface FinetuneFlags extends LoraFlags {
  pairs: string;
  arch: string;
  model?: string;
  out: string;
  overwrite?: boolean;
  beginningField: string;
  endingField: string;
  maxIters?: number;
  batchSize?: number;
  learningRate?: number;
  valFraction: number;
  seed: number;
  tokenizer?: string;
  dModel?: number;
  layers?: number;
  heads?: number;
  ffnDim?: number;
  dropout?: number;
  labelSmoothing?: number;
  preLn?: boolean;
  maxSourceLength?: number;
  maxTargetLength?: number;
  json?: boolean;
}

/**
 * `--base-dtype`: the storage type of the frozen base under `--lora`
 * (f32, f16, bf16, q8_0, q4_0, q5_0, q4_k, q5_k, q6_k).
 * @throws ConfigError naming the values it takes, or when given without --lora
 */
export function loraBaseTypeFromFlags(o: LoraFlags): GgmlType | undefined {
  if (o.baseDtype === undefined) return undefined;
  if (!o.lora) throw new ConfigError('--base-dtype sets how the frozen base of --lora is stored; add --lora (full fine-tuning trains float32 weights)');
  const t = GGML_TYPES.find((x) => x.toLowerCase() === o.baseDtype!.toLowerCase());
  if (!t) throw new ConfigError(`--base-dtype ${o.baseDtype}: use one of ${GGML_TYPES.map((x) => x.toLowerCase()).join(', ')} (q8_0 or q4_k for QLoRA-style training)`);
  return t;
}

/** The LoRA configuration of `--lora …` flags for a model of `modelType` (PEFT's default targets when none are given). */
export function loraConfigFromFlags(o: LoraFlags, modelType: string): LoraConfig {
  const defaults = PEFT_DEFAULT_TARGETS[modelType];
  if (!o.targetModules && !defaults) throw new ConfigError(`--lora: PEFT has no default target modules for model_type "${modelType}"; pass --target-modules NAMES or all-linear`);
  return {
    r: o.loraR,
    loraAlpha: o.loraAlpha,
    loraDropout: o.loraDropout,
    useRslora: o.useRslora === true,
    targetModules: o.targetModules ? parseTargetModules(o.targetModules) : defaults,
  };
}

/** `muse finetune --arch seq2seq`: train (or continue) an encoder–decoder and print its report. */
async function finetuneSeq2SeqCommand(o: FinetuneFlags, pairs: ReturnType<typeof readPairs>): Promise<void> {
  const dir = o.model ?? defaultModelFor(pairs[0]?.beginning ?? '');
  // A seq2seq directory continues training; any other directory only lends its tokenizer.
  const start = existsSync(join(dir, 'config.json')) && modelTypeOf(dir) === SEQ2SEQ_MODEL_TYPE ? loadSeq2SeqDir(dir) : null;
  const tokenizer = o.tokenizer ? loadTokenizer(o.tokenizer) : start ? start.tokenizer : loadTokenizer(dir);
  const config = Object.fromEntries(
    Object.entries({
      d_model: o.dModel,
      encoder_layers: o.layers,
      decoder_layers: o.layers,
      encoder_attention_heads: o.heads,
      decoder_attention_heads: o.heads,
      encoder_ffn_dim: o.ffnDim,
      decoder_ffn_dim: o.ffnDim,
      dropout: o.dropout,
      label_smoothing: o.labelSmoothing,
      normalize_before: o.preLn ? true : undefined,
    }).filter(([, v]) => v !== undefined),
  );
  const interrupt = onInterrupt('saving last/, then scoring the best checkpoint so far');
  const report = await finetuneSeq2Seq({
    tokenizer,
    model: start?.model,
    config,
    ...runFlags(o, pairs),
    maxSourceLength: o.maxSourceLength,
    maxTargetLength: o.maxTargetLength,
    script: start?.script,
    signal: interrupt.signal,
  });
  // Ctrl-C / SIGTERM: last/ was saved and the best checkpoint scored; the exit code says it was cut short.
  interrupt.finish();
  const summary = {
    checkpoint: report.checkpoint,
    arch: 'seq2seq',
    parameters: report.parameters,
    trainPairs: report.trainPairs,
    heldOut: report.heldOut,
    valLoss: report.train.bestValLoss,
    baseline: scorePair(report.baseline),
    after: scorePair(report.after),
    tokenize: report.after.tokenize,
  };
  printReport(
    o.json,
    summary,
    `trained a ${report.parameters.toLocaleString('en')}-parameter encoder–decoder on ${report.trainPairs} pairs, ${report.heldOut} held out; best val loss ${report.train.bestValLoss?.toFixed(4)}`,
    [['copy the beginning', report.baseline], ['seq2seq', report.after]],
  );
}

/** The fine-tuning run options both architectures take from the command line. */
function runFlags(o: FinetuneFlags, pairs: StoryPair[]): FinetuneRunOptions {
  return {
    pairs,
    outDir: o.out,
    overwrite: o.overwrite,
    maxIters: o.maxIters,
    batchSize: o.batchSize,
    learningRate: o.learningRate,
    valFraction: o.valFraction,
    seed: o.seed,
    gradientCheckpointing: o.gradientCheckpointing,
    json: o.json,
    log: o.json ? (line) => process.stdout.write(line + '\n') : undefined,
  };
}

/** BLEU and ROUGE-L of an ending score, as the JSON report lists them. */
const scorePair = (s: { bleu: number; rougeL: number }) => ({ bleu: s.bleu, rougeL: s.rougeL });

/**
 * Print a fine-tuning report: the JSON line (`--json`) or the headline and the
 * held-out score table (`rows`: [label, score] per system).
 */
function printReport(
  json: boolean | undefined,
  summary: Record<string, unknown> & { tokenize: string; checkpoint: string },
  headline: string,
  rows: [string, { bleu: number; rougeL: number }][],
  adapterBase?: string,
): void {
  if (json) process.stdout.write(JSON.stringify(summary) + '\n');
  else printScores(headline, rows, summary.tokenize, summary.checkpoint, adapterBase);
}

/** The held-out score table both architectures print: one row per system, BLEU and ROUGE-L F1 (in %). */
function printScores(headline: string, rows: [string, { bleu: number; rougeL: number }][], tokenize: string, checkpoint: string, adapterBase?: string): void {
  const w = Math.max(...rows.map(([label]) => label.length)) + 2;
  const pct = (x: number) => (100 * x).toFixed(2);
  process.stdout.write(
    [
      headline,
      `${''.padEnd(w)}BLEU (${tokenize})   ROUGE-L F1`,
      ...rows.map(([label, r]) => `${label.padEnd(w)}${r.bleu.toFixed(2).padStart(8)}   ${pct(r.rougeL).padStart(10)}`),
      // A LoRA run saves an adapter directory, which is used together with its base, not as a --model.
      adapterBase ? `adapter: ${checkpoint} (muse generate --model ${adapterBase} --adapter ${checkpoint})` : `model: ${checkpoint}`,
    ].join('\n') + '\n',
  );
}

/** Registers `muse finetune` and `muse pairs`. */
export function register(program: Command): void {
  program
    .command('finetune')
    .description('fine-tune a model on (beginning → ending) pairs, loss on the ending only; reports BLEU/ROUGE-L before and after on held-out pairs')
    .requiredOption('--pairs <file>', 'JSONL with one {"beginning","ending"} object per line')
    .addOption(new Option('--arch <arch>', 'gpt: fine-tune a decoder LM; seq2seq: train the encoder–decoder Transformer (Vaswani et al. 2017)').choices(['gpt', 'seq2seq']).default('gpt'))
    .option('--model <dir>', 'base model directory (default: the bundled model for the pairs\' language); with --arch seq2seq a muse-seq2seq directory is trained further, any other directory lends its tokenizer')
    .option('--out <dir>', 'output directory (best/, last/, metrics.jsonl, loss.svg)', 'runs/finetune')
    .option('--overwrite', 'replace a run already in OUT (without it such an OUT is an error)')
    .option('--beginning-field <name>', 'JSON field of the beginning', 'beginning')
    .option('--ending-field <name>', 'JSON field of the ending', 'ending')
    .option('--max-iters <n>', 'optimizer steps (default: about 3 epochs)', int('--max-iters'))
    .option('--batch-size <n>', 'pairs per step (default 8; seq2seq 16)', int('--batch-size'))
    .option('--learning-rate <lr>', 'peak learning rate (default 1e-4; seq2seq 5e-4)', float('--learning-rate'))
    .option('--val-fraction <f>', 'held-out fraction for the report', float('--val-fraction'), 0.1)
    .option('--seed <n>', 'seed of the split and batches', int('--seed'), 1337)
    .option('--tokenizer <path>', 'seq2seq: tokenizer directory or tokenizer.json (default: the --model directory\'s)')
    .option('--d-model <n>', 'seq2seq: model width', int('--d-model'))
    .option('--layers <n>', 'seq2seq: encoder and decoder layers (each)', int('--layers'))
    .option('--heads <n>', 'seq2seq: attention heads', int('--heads'))
    .option('--ffn-dim <n>', 'seq2seq: feed-forward inner size', int('--ffn-dim'))
    .option('--dropout <p>', 'seq2seq: residual dropout', float('--dropout'))
    .option('--label-smoothing <eps>', 'seq2seq: label smoothing ε', float('--label-smoothing'))
    .option('--pre-ln', 'seq2seq: pre-LayerNorm instead of the paper\'s post-LN')
    .option('--max-source-length <n>', 'seq2seq: longest beginning in tokens', int('--max-source-length'))
    .option('--max-target-length <n>', 'seq2seq: longest ending in tokens', int('--max-target-length'))
    .option('--lora', 'train LoRA adapters (Hu et al. 2021) on the frozen model instead of every weight; best/ and last/ are PEFT adapter directories')
    .option('--lora-r <n>', 'LoRA rank r', int('--lora-r'), 16)
    .option('--lora-alpha <a>', 'LoRA alpha (the adapter is scaled by alpha/r)', float('--lora-alpha'), 32)
    .option('--lora-dropout <p>', 'dropout on the adapters\' input', float('--lora-dropout'), 0.05)
    .option('--target-modules <names>', 'comma-separated module names (PEFT suffix matching) or all-linear (default: PEFT\'s per architecture, e.g. c_attn for GPT-2, q_proj,v_proj for Llama)')
    .option('--use-rslora', 'rank-stabilised LoRA: scale by alpha/sqrt(r)')
    .option('--base-dtype <type>', 'with --lora: store the frozen base\'s linear layers as f16, bf16, q8_0, q4_k, … (QLoRA-style; default f32)')
    .option('--gradient-checkpointing', 'recompute each layer\'s activations in the backward pass: far less memory for one more forward pass per layer (causal LMs)')
    .option('--json', 'print JSON records, ending with one report line')
    .action(async (o: FinetuneFlags) => {
      const pairs = readPairs(o.pairs, { beginningField: o.beginningField, endingField: o.endingField });
      if (o.lora && o.arch === 'seq2seq') throw new ConfigError('--lora applies to --arch gpt; the seq2seq Transformer trains all its weights');
      if (o.arch === 'seq2seq') return finetuneSeq2SeqCommand(o, pairs);
      const base = loadCausalLM(o.model ?? defaultModelFor(pairs[0]?.beginning ?? ''), { task: 'be fine-tuned as a causal LM (use --arch seq2seq for an encoder–decoder)' });
      const interrupt = onInterrupt('saving last/, then scoring the best checkpoint so far');
      const report = await finetune({
        lora: o.lora ? loraConfigFromFlags(o, base.modelType) : undefined,
        loraBaseType: loraBaseTypeFromFlags(o),
        base,
        ...runFlags(o, pairs),
        signal: interrupt.signal,
      });
      // Ctrl-C / SIGTERM: last/ was saved and the best checkpoint scored; the exit code says it was cut short.
      interrupt.finish();
      const summary = {
        checkpoint: report.checkpoint,
        trainableParameters: report.trainableParameters,
        totalParameters: report.totalParameters,
        trainPairs: report.trainPairs,
        heldOut: report.heldOut,
        valLoss: report.train.bestValLoss,
        before: scorePair(report.before),
        after: scorePair(report.after),
        tokenize: report.after.tokenize,
      };
      printReport(
        o.json,
        summary,
        `fine-tuned ${o.lora ? `LoRA adapters (${report.trainableParameters.toLocaleString('en')} of ${report.totalParameters.toLocaleString('en')} parameters) ` : ''}on ${report.trainPairs} pairs, ${report.heldOut} held out; best val loss ${report.train.bestValLoss?.toFixed(4)}`,
        [['base model', report.before], [o.lora ? 'LoRA' : 'fine-tuned', report.after]],
        o.lora ? base.dir : undefined,
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
      const skipped = docs.length - pairs.length;
      process.stdout.write(
        `wrote ${pairs.length} pairs to ${o.out}` +
          (skipped > 0 ? ` (${skipped} of ${docs.length} stories skipped: ${o.openingSentences + 1} sentences or more are needed, ${o.openingSentences} for the beginning and at least one for the ending)` : '') +
          '\n',
      );
    });
}
