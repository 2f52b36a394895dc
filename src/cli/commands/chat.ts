/**
 * `muse chat --model PATH`: talk to a chat model with its own chat template.
 * Interactive (a readline prompt; the conversation is kept; `/reset` forgets
 * it, `/exit` or Ctrl-D leaves), or one-shot with `--message` (and
 * `--system`): the reply is printed and the command ends. Piped stdin lines
 * are read as successive user messages.
 */
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { Command, InvalidArgumentError } from 'commander';
import { ChatSession, chatModel } from '../../chat/index.js';
import { ConfigError } from '../../errors.js';
import type { GenerationConfig } from '../../generate/index.js';
import { loadModel } from '../../models/registry.js';
import { dtypeLoadOptions } from '../dtype-flags.js';

function num(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n)) throw new InvalidArgumentError(`${name} must be a number, got "${v}"`);
    return n;
  };
}

interface ChatFlags {
  model: string;
  system?: string;
  message?: string;
  chatTemplate?: string;
  templateName?: string;
  maxNewTokens?: number;
  temperature?: number;
  topK?: number;
  topP?: number;
  minP?: number;
  repetitionPenalty?: number;
  greedy?: boolean;
  seed?: number;
  dtype?: string;
  kvCacheDtype?: string;
}

/** Generation options from the flags over the model's generation_config.json; chat replies default to 512 new tokens. */
function configOf(defaults: GenerationConfig, flags: ChatFlags): GenerationConfig {
  const c: GenerationConfig = { ...defaults };
  delete c.maxLength;
  c.maxNewTokens = flags.maxNewTokens ?? defaults.maxNewTokens ?? 512;
  if (flags.temperature !== undefined) c.temperature = flags.temperature;
  if (flags.topK !== undefined) c.topK = flags.topK;
  if (flags.topP !== undefined) c.topP = flags.topP;
  if (flags.minP !== undefined) c.minP = flags.minP;
  if (flags.repetitionPenalty !== undefined) c.repetitionPenalty = flags.repetitionPenalty;
  if (flags.seed !== undefined) c.seed = flags.seed;
  if (flags.temperature !== undefined && flags.temperature > 0 && c.doSample === undefined) c.doSample = true;
  if (flags.greedy || flags.temperature === 0) {
    c.doSample = false;
    delete c.temperature;
    delete c.topK;
    delete c.topP;
    delete c.minP;
  }
  return c;
}

/** Registers `muse chat`. */
export function register(program: Command): void {
  program
    .command('chat')
    .description('chat with a model that has a chat template (interactive, or one reply with --message)')
    .requiredOption('--model <path>', 'model directory (tokenizer_config.json with a chat_template) or .gguf file')
    .option('--system <text>', 'system message')
    .option('--message <text>', 'one user message: print the reply and exit')
    .option('--chat-template <file>', 'a Jinja chat template file to use instead of the model\'s')
    .option('--template-name <name>', 'which of several named chat templates (e.g. tool_use)')
    .option('--max-new-tokens <n>', 'longest reply in tokens (default: generation_config.json, else 512)', num('--max-new-tokens'))
    .option('--temperature <t>', 'sampling temperature (0 = greedy)', num('--temperature'))
    .option('--top-k <k>', 'keep the k most likely tokens (0 = off)', num('--top-k'))
    .option('--top-p <p>', 'nucleus sampling: smallest set with probability ≥ p', num('--top-p'))
    .option('--min-p <p>', 'drop tokens below p × the top probability', num('--min-p'))
    .option('--repetition-penalty <r>', 'CTRL repetition penalty (>1 discourages repeats)', num('--repetition-penalty'))
    .option('--greedy', 'greedy decoding')
    .option('--seed <n>', 'random seed', num('--seed'))
    .option('--dtype <dtype>', 'weights in memory: auto (as stored) or float32', 'auto')
    .option('--kv-cache-dtype <dtype>', 'KV cache of half-precision/quantized models: float32 or float16', 'float32')
    .action(async (flags: ChatFlags) => {
      const loaded = loadModel(flags.model, dtypeLoadOptions(flags));
      if (loaded.kind !== 'causal-lm') {
        throw new ConfigError(`${flags.model} holds a ${loaded.modelType} model (${loaded.kind}); muse chat needs a causal language model with a chat template`);
      }
      const template = flags.chatTemplate !== undefined ? readFileSync(flags.chatTemplate, 'utf8') : undefined;
      const chat = chatModel(loaded, { template, templateName: flags.templateName });
      const session = new ChatSession(chat, { system: flags.system });
      const config = configOf(loaded.generationConfig, flags);
      const warn = (m: string): void => void process.stderr.write(`muse: warning: ${m}\n`);
      const reply = async (message: string): Promise<void> => {
        const r = session.send(message, config, { onWarning: warn });
        for await (const piece of r) process.stdout.write(piece);
        process.stdout.write('\n');
        if (r.output?.finishReasons[0] === 'length') process.stderr.write(`muse: the reply reached --max-new-tokens ${config.maxNewTokens} and was cut\n`);
      };
      if (flags.message !== undefined) {
        await reply(flags.message);
        return;
      }
      const interactive = process.stdin.isTTY === true;
      const rl = createInterface({ input: process.stdin, output: interactive ? process.stdout : undefined, terminal: interactive });
      if (interactive) {
        process.stdout.write(`muse chat with ${flags.model} — /reset forgets the conversation, /exit or Ctrl-D leaves\n`);
        rl.setPrompt('> ');
        rl.prompt();
      }
      try {
        for await (const line of rl) {
          const text = line.trim();
          if (text === '/exit' || text === '/quit') break;
          if (text === '/reset') session.reset();
          else if (text !== '') await reply(line);
          if (interactive) rl.prompt();
        }
      } finally {
        rl.close();
      }
    });
}
