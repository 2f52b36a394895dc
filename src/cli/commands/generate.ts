import { Command, InvalidArgumentError, Option } from 'commander';
import { checkMinMaxNewTokens, generate, stream, type GenerationConfig, type PoemForm } from '../../generate/index.js';
import { defaultModelFor } from '../../models/bundled.js';
import { loadModel } from '../../models/registry.js';
import { toScript } from '../../data/script.js';
import { unknownPromptWarning } from '../../pipelines/prompt-check.js';
import { seq2seqTarget } from '../../models/seq2seq/load.js';
import { inferPoemForm } from '../../pipelines/poem-form.js';
import { poemPromptConflict } from '../../pipelines/poem-prompt-check.js';
import { ConfigError } from '../../errors.js';
import { dtypeLoadOptions } from '../dtype-flags.js';
import { applyAdapter } from '../../lora/apply.js';
import { cliFlagNames } from '../flag-names.js';

function num(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n)) throw new InvalidArgumentError(`${name} must be a number, got "${v}"`);
    return n;
  };
}

function collect(v: string, prev: string[] = []): string[] {
  return [...prev, v];
}

interface GenerateFlags {
  model?: string;
  maxNewTokens?: number;
  minNewTokens?: number;
  temperature?: number;
  topK?: number;
  topP?: number;
  minP?: number;
  typicalP?: number;
  repetitionPenalty?: number;
  /** `--no-repeat-ngram-size N` (commander's key for a `--no-` option). */
  repeatNgramSize?: number | boolean;
  numBeams?: number;
  numReturnSequences?: number;
  lengthPenalty?: number;
  greedy?: boolean;
  doSample?: boolean;
  seed?: number;
  stop?: string[];
  acrostic?: string;
  form?: string;
  rhyme?: boolean;
  tones?: string;
  json?: boolean;
  tokenizer?: string;
  dtype?: string;
  adapter?: string;
  kvCacheDtype?: string;
}

/** The prompt piped on stdin (`echo 床前明月光， | muse generate`), one trailing newline dropped; '' when stdin is a terminal. */
async function stdinPrompt(): Promise<string> {
  if (process.stdin.isTTY) return '';
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

/**
 * Why an empty continuation is empty, and what to do: an empty answer is never silent.
 * @param reason the finish reason of the sequence
 */
function emptyNote(dir: string, reason: string | undefined): string {
  const why = reason === 'eos' ? 'it ended the text at once (end-of-text as the first token)' : reason === 'stop' ? 'a stop string or the poem form ended it at once' : `it stopped at once (${reason ?? 'no reason'})`;
  const poet = /muse-poet-zh$/.test(dir);
  return (
    `muse: ${dir} generated nothing: ${why}. ` +
    (poet
      ? 'muse-poet-zh continues classical Chinese poems (e.g. 床前明月光，); it does not write prose — for stories use an English prompt with muse-story-en, or a model fine-tuned on prose (muse finetune).'
      : 'Try another prompt, --min-new-tokens 1 to forbid ending at once, or a model trained on text like the prompt.')
  );
}

/**
 * The note for output cut by the length budget (finish reason `length`), so a cut is never mistaken for an ending.
 * @param maxNewTokens the budget in force, when known
 */
export function lengthNote(maxNewTokens: number | undefined): string {
  return `muse: output cut at the length limit${maxNewTokens !== undefined ? ` (${maxNewTokens} new tokens)` : ''}; pass --max-new-tokens N for more`;
}

/** Registers `muse generate`. */
export function register(program: Command): void {
  program
    .command('generate')
    .description('continue a prompt with a model (default: the bundled muse-poet-zh for Chinese prompts, muse-story-en otherwise)')
    .argument('[prompt]', 'the beginning to continue (when absent: stdin if it is not a terminal; "" or nothing: start from the beginning-of-text token)')
    .option('--dtype <dtype>', 'weights in memory: auto (as stored: half-precision or quantized files stay so, inference only) or float32', 'auto')
    .option('--kv-cache-dtype <dtype>', 'KV cache of half-precision/quantized models: float32 or float16 (half the memory)', 'float32')
    .option('--tokenizer <dir>', 'tokenizer files (tokenizer.json, or vocab.json + merges.txt) when the model directory has none')
    .option('--adapter <dir>', 'a LoRA adapter directory (PEFT format, e.g. from `muse finetune --lora`) merged into --model\'s float32 weights')
    .option('--model <dir>', 'model directory (Hugging Face GPT-2 layout, or a muse-seq2seq directory from `muse finetune --arch seq2seq`)')
    .option('--max-new-tokens <n>', 'tokens to generate', num('--max-new-tokens'))
    .option('--min-new-tokens <n>', 'suppress end-of-text before this many tokens', num('--min-new-tokens'))
    .option('--temperature <t>', 'sampling temperature (0 = greedy)', num('--temperature'))
    .option('--top-k <k>', 'keep the k most likely tokens (0 = off)', num('--top-k'))
    .option('--top-p <p>', 'nucleus sampling: smallest set with probability ≥ p', num('--top-p'))
    .option('--min-p <p>', 'drop tokens below p × the top probability', num('--min-p'))
    .option('--typical-p <p>', 'locally typical sampling mass', num('--typical-p'))
    .option('--repetition-penalty <r>', 'CTRL repetition penalty (>1 discourages repeats)', num('--repetition-penalty'))
    .option('--no-repeat-ngram-size <n>', 'forbid repeating any n-gram', num('--no-repeat-ngram-size'))
    .option('--num-beams <n>', 'beam search width', num('--num-beams'))
    .option('--num-return-sequences <n>', 'sequences to return', num('--num-return-sequences'))
    .option('--length-penalty <x>', 'beam score = logprob / length^x', num('--length-penalty'))
    .option('--greedy', 'greedy decoding (doSample false)')
    .option('--do-sample', 'sample (doSample true); implied by --temperature, --top-k, --top-p, --min-p, --typical-p or --num-return-sequences > 1 without --num-beams')
    .option('--seed <n>', 'random seed', num('--seed'))
    .option('--stop <text>', 'stop when this text appears (repeatable)', collect)
    .option('--acrostic <chars>', 'acrostic poem (藏头诗): line i starts with the i-th character')
    .option('--form <form>', 'fixed poem form: 5x4, 7x4, 5x8 or 7x8 (default: the form a Chinese prompt starts, e.g. 床前明月光， → 5x4; "free" for none)')
    .option('--rhyme', 'rhyme the even lines (and the first where the poem rhymes it) in one 中华新韵 group; needs a form')
    .addOption(new Option('--tones <mode>', 'keep lines on a standard 平仄 pattern: strict, or loose (一三五不论); needs a form').choices(['strict', 'loose']))
    .option('--json', 'one JSON object per returned sequence: {"text","ids","logprobs"}')
    .action(async (promptGiven: string | undefined, flags: GenerateFlags) => {
      const promptArg = promptGiven ?? (await stdinPrompt());
      // An acrostic of Chinese characters, or a poem form, needs the poetry model even without a prompt.
      const poem = (flags.form !== undefined && flags.form !== 'free') || flags.acrostic !== undefined;
      const dir = flags.model ?? (poem && promptArg === '' ? defaultModelFor('诗') : defaultModelFor(promptArg + (flags.acrostic ?? '')));
      const loaded = loadModel(dir, { ...(flags.tokenizer !== undefined ? { tokenizerDir: flags.tokenizer } : {}), ...dtypeLoadOptions(flags), ...(flags.adapter ? { dtype: 'float32' as const } : {}) });
      if (flags.adapter) applyAdapter(loaded, flags.adapter);
      if (loaded.kind !== 'causal-lm' && loaded.kind !== 'seq2seq') {
        throw new ConfigError(`${dir} holds a ${loaded.modelType} model (${loaded.kind}), which does not generate text; pass --model a causal LM or seq2seq directory`);
      }
      const seq2seq = loaded.kind === 'seq2seq' ? loaded : null;
      const gpt = loaded.kind === 'causal-lm' ? loaded : null;
      const prompt = toScript(promptArg, loaded.script);
      const unknown = unknownPromptWarning(loaded.tokenizer, prompt, dir);
      if (unknown) process.stderr.write(`muse: ${unknown}\n`);
      // An encoder–decoder reads the prompt as its source; its decoder starts from the decoder start token.
      const target = seq2seq ? seq2seqTarget(seq2seq, prompt) : { model: gpt!.model, prompt, prefix: prompt };
      const config: GenerationConfig = { ...loaded.generationConfig };
      const set = <K extends keyof GenerationConfig>(k: K, v: GenerationConfig[K] | undefined) => {
        if (v !== undefined) config[k] = v;
      };
      set('maxNewTokens', flags.maxNewTokens);
      checkMinMaxNewTokens(flags.minNewTokens, flags.maxNewTokens);
      set('minNewTokens', flags.minNewTokens);
      set('temperature', flags.temperature);
      set('topK', flags.topK);
      set('topP', flags.topP);
      set('minP', flags.minP);
      set('typicalP', flags.typicalP);
      set('repetitionPenalty', flags.repetitionPenalty);
      // commander treats a `--no-…` flag as a negation: the value lands under `repeatNgramSize` (true when absent).
      set('noRepeatNgramSize', typeof flags.repeatNgramSize === 'number' ? flags.repeatNgramSize : undefined);
      set('numBeams', flags.numBeams);
      set('numReturnSequences', flags.numReturnSequences);
      set('lengthPenalty', flags.lengthPenalty);
      set('seed', flags.seed);
      set('stopStrings', flags.stop);
      set('acrostic', flags.acrostic === undefined ? undefined : toScript(flags.acrostic, loaded.script));
      // A prompt that opens a 5- or 7-character quatrain is finished in the same form, unless --form free.
      // An acrostic alone gets a 5-character quatrain (or 8-line poem) when its length fits one.
      const acrosticLines = flags.acrostic === undefined ? 0 : [...flags.acrostic].length;
      const acrosticForm: PoemForm | undefined = acrosticLines === 4 ? '5x4' : acrosticLines === 8 ? '5x8' : undefined;
      if (flags.form !== undefined && !['5x4', '7x4', '5x8', '7x8', 'free'].includes(flags.form)) {
        throw new ConfigError(`--form must be one of 5x4, 7x4, 5x8, 7x8 or free, got "${flags.form}"`);
      }
      const form = flags.form === 'free' ? undefined : ((flags.form as PoemForm | undefined) ?? inferPoemForm(prompt) ?? acrosticForm);
      set('form', form);
      // The constraints continue the prompt's lines: a prompt that already breaks them is refused, not silently mangled.
      if (gpt && (form !== undefined || config.acrostic !== undefined)) {
        const conflict = poemPromptConflict(prompt, { ...(config.acrostic !== undefined ? { acrostic: config.acrostic } : {}), ...(form !== undefined ? { form } : {}) });
        if (conflict) throw new ConfigError(conflict);
      }
      if (flags.rhyme) set('rhyme', true);
      set('tones', flags.tones as GenerationConfig['tones']);
      if ((flags.rhyme || flags.tones) && form === undefined) {
        throw new ConfigError(
          `--${flags.rhyme ? 'rhyme' : 'tones'} needs a poem form: start the prompt with a 5- or 7-character line (e.g. "床前明月光，"), give --acrostic with 4 or 8 characters, or pass --form 5x4, 7x4, 5x8 or 7x8`,
        );
      }
      if (flags.greedy && flags.doSample) throw new ConfigError('--greedy and --do-sample contradict each other; pass one of them');
      // Asking for a sampling knob (or several different sequences without beams) means sampling, on the CLI.
      const samplingFlag = (['temperature', 'topK', 'topP', 'minP', 'typicalP'] as const).some((k) => flags[k] !== undefined && !(k === 'temperature' && flags[k] === 0));
      const manySampled = (flags.numReturnSequences ?? 1) > 1 && (flags.numBeams ?? 1) <= 1;
      if (!flags.greedy && (flags.doSample || samplingFlag || manySampled)) config.doSample = true;
      // Greedy (or plain beam search, as HF does by default) ignores the model's sampling defaults.
      if (flags.greedy || ((flags.numBeams ?? 1) > 1 && flags.temperature === undefined && flags.topK === undefined && flags.topP === undefined)) {
        config.doSample = false;
        for (const k of ['temperature', 'topK', 'topP', 'minP', 'typicalP'] as const) {
          if (flags[k] === undefined) delete config[k];
        }
      }

      // A model whose own default budget outruns its context (muse-story-en: 300 new tokens, 128 positions)
      // slides its window by design; the note is for budgets the user chose.
      const quietDefaultWindow = (m: string): void => {
        if (flags.maxNewTokens === undefined && /sliding the window/.test(m)) return;
        process.stderr.write(`muse: warning: ${cliFlagNames(m)}\n`);
      };
      const single = (config.numBeams ?? 1) <= 1 && (config.numReturnSequences ?? 1) <= 1;
      if (single && !flags.json) {
        // Stream: the prompt first (as the model sees it), then the continuation as it is produced.
        const s = stream(target.model, loaded.tokenizer, target.prompt, config, { onWarning: quietDefaultWindow });
        process.stdout.write(target.prefix);
        let any = false;
        for await (const piece of s) {
          process.stdout.write(piece);
          any ||= piece.trim() !== '';
        }
        process.stdout.write('\n');
        if (!any) process.stderr.write(emptyNote(dir, s.output?.finishReasons[0]) + '\n');
        else if (s.output?.finishReasons[0] === 'length') process.stderr.write(lengthNote(config.maxNewTokens) + '\n');
        return;
      }
      const ids = target.prompt.length ? loaded.tokenizer.encode(target.prompt, { addSpecialTokens: false }).ids : [];
      const out = generate(target.model, [ids], config, { tokenizer: loaded.tokenizer, onWarning: quietDefaultWindow });
      out.sequences.forEach((seq, i) => {
        const text = loaded.tokenizer.decode(seq, { skipSpecialTokens: true });
        if (text.trim() === '') process.stderr.write(emptyNote(dir, out.finishReasons[i]) + '\n');
        if (flags.json) {
          process.stdout.write(JSON.stringify({ text, ids: seq, logprobs: out.logprobs[i] }) + '\n');
        } else {
          process.stdout.write(`${out.sequences.length > 1 ? `[${i + 1}] ` : ''}${target.prefix}${text}\n`);
        }
      });
      if (!flags.json && out.finishReasons.some((r) => r === 'length')) process.stderr.write(lengthNote(config.maxNewTokens) + '\n');
    });
}
