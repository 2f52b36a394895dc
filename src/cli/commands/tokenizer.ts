/**
 * `muse tokenizer train` (train a char, byte-level BPE or WordPiece tokenizer
 * on a corpus and save it in Hugging Face layout) and `muse tokenize` (print
 * the ids and tokens of a text, or of every line of standard input). Parsing
 * and printing only; the tokenizers live in `src/tokenizers/`.
 */
import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import { ConfigError } from '../../errors.js';
import { readCorpus } from '../../data/index.js';
import {
  ByteLevelBPETokenizer,
  CharTokenizer,
  type Encoding,
  loadTokenizer,
  type Tokenizer,
  WordPieceTokenizer,
} from '../../tokenizers/index.js';

interface TrainFlags {
  corpus: string[];
  field: string;
  type: string;
  vocabSize?: string;
  minFrequency?: string;
  specialTokens?: string;
  unkToken?: string;
  lowercase: boolean;
  out: string;
}

interface TokenizeFlags {
  tokenizer: string;
  json?: boolean;
  offsets?: boolean;
  specialTokens: boolean;
}

function positiveInt(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new ConfigError(`${flag} must be a positive integer, got ${JSON.stringify(value)}`);
  return n;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function trainAction(flags: TrainFlags): void {
  if (flags.corpus.length === 0) throw new ConfigError('muse tokenizer train needs at least one --corpus FILE');
  const vocabSize = positiveInt(flags.vocabSize, '--vocab-size');
  const minFrequency = positiveInt(flags.minFrequency, '--min-frequency');
  const specialTokens = flags.specialTokens === undefined ? undefined : flags.specialTokens.split(',').map((s) => s.trim()).filter(Boolean);
  // One document per JSON line (or the whole .txt file); a newline after each keeps line breaks in the vocabulary.
  const docs = flags.corpus.flatMap((path) => readCorpus(path, { field: flags.field }).map((d) => d + '\n'));
  const started = Date.now();
  let tok: Tokenizer;
  switch (flags.type) {
    case 'char':
      tok = CharTokenizer.train(docs, { specialTokens, unkToken: flags.unkToken, minFrequency });
      break;
    case 'bpe':
      if (vocabSize === undefined) throw new ConfigError('--vocab-size is required for --type bpe (e.g. --vocab-size 8000)');
      tok = ByteLevelBPETokenizer.train(docs, { vocabSize, minFrequency, specialTokens });
      break;
    case 'wordpiece':
      if (vocabSize === undefined) throw new ConfigError('--vocab-size is required for --type wordpiece (e.g. --vocab-size 8000)');
      tok = WordPieceTokenizer.train(docs, { vocabSize, minFrequency, specialTokens, lowercase: flags.lowercase });
      break;
    default:
      throw new ConfigError(`--type must be char, bpe or wordpiece, got ${JSON.stringify(flags.type)}`);
  }
  tok.save(flags.out);
  // As HF tokenizers' BPE/WordPiece trainers do, the special tokens and the whole alphabet (every character,
  // and WordPiece's ##-continuations of them) are kept even past vocab_size: say so instead of exceeding it silently.
  if (vocabSize !== undefined && flags.type !== 'char' && tok.vocabSize > vocabSize) {
    process.stderr.write(
      `muse: warning: the vocabulary has ${tok.vocabSize} ids, more than --vocab-size ${vocabSize}: the special tokens and the corpus's alphabet ` +
        `(${flags.type === 'wordpiece' ? 'each character, word-initial and ##-continued' : 'the 256 bytes'}) are always kept, as in Hugging Face tokenizers' trainers, ` +
        `so no merges were learned past them; pass a --vocab-size above ${tok.vocabSize} to learn subwords\n`,
    );
  }
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  process.stdout.write(`trained a ${flags.type} tokenizer with ${tok.vocabSize} ids on ${docs.length} documents in ${seconds} s; saved to ${flags.out}\n`);
}

function format(e: Encoding, flags: TokenizeFlags): string {
  if (flags.json) {
    const obj: Record<string, unknown> = { ids: e.ids, tokens: e.tokens };
    if (flags.offsets) obj.offsets = e.offsets;
    return JSON.stringify(obj);
  }
  return `${e.ids.join(' ')}\t${JSON.stringify(e.tokens)}`;
}

async function tokenizeAction(text: string | undefined, flags: TokenizeFlags): Promise<void> {
  const tok = loadTokenizer(flags.tokenizer);
  const opts = { addSpecialTokens: flags.specialTokens };
  if (text !== undefined) {
    process.stdout.write(format(tok.encode(text, opts), flags) + '\n');
    return;
  }
  // Standard input, one result per line; invalid UTF-8 reads as U+FFFD (as Hugging Face does).
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0);
    throw err;
  });
  const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
  let buffer: string[] = [];
  const flush = async (): Promise<void> => {
    if (buffer.length === 0) return;
    const chunk = buffer.join('\n') + '\n';
    buffer = [];
    if (!process.stdout.write(chunk)) await new Promise<void>((resolve) => process.stdout.once('drain', () => resolve()));
  };
  // Decoding replaced invalid bytes with U+FFFD (which then encodes as <unk> or its bytes): count them and say so once.
  let replaced = 0;
  let firstLine = 0;
  let n = 0;
  for await (const line of lines) {
    n++;
    if (line.includes('\uFFFD')) {
      if (firstLine === 0) firstLine = n;
      for (const ch of line) if (ch === '\uFFFD') replaced++;
    }
    buffer.push(format(tok.encode(line, opts), flags));
    if (buffer.length >= 1000) await flush();
  }
  await flush();
  if (replaced > 0) {
    process.stderr.write(`muse: warning: the input holds ${replaced} U+FFFD replacement character${replaced === 1 ? '' : 's'} (invalid UTF-8 is read as U+FFFD, first on line ${firstLine}), tokenized as such; re-save the input as UTF-8\n`);
  }
}

/** Registers `muse tokenizer train` and `muse tokenize`. */
export function register(program: Command): void {
  const group = program.command('tokenizer').description('Train tokenizers (char, byte-level BPE, WordPiece)');
  group
    .command('train')
    .description('Train a tokenizer on a corpus and save tokenizer.json (+ tokenizer_config.json, special_tokens_map.json) to --out')
    .requiredOption('--corpus <file>', 'a .txt or .jsonl corpus (repeatable)', collect, [])
    .option('--field <name>', 'JSON Lines field holding the text', 'text')
    .requiredOption('--type <type>', 'char | bpe | wordpiece')
    .option('--vocab-size <n>', 'target vocabulary size (bpe, wordpiece); the special tokens and the alphabet are kept whole even past it, as in HF tokenizers')
    .option('--min-frequency <n>', 'least count for a merge (bpe, wordpiece) or a character (char)')
    .option('--special-tokens <list>', 'comma-separated special tokens (default: bpe <|endoftext|>; wordpiece [PAD],[UNK],[CLS],[SEP],[MASK]; char none)')
    .option('--unk-token <token>', 'char: token for characters outside the vocabulary')
    .option('--no-lowercase', 'wordpiece: keep case (a cased model)')
    .requiredOption('--out <dir>', 'output directory')
    .action((flags: TrainFlags) => trainAction(flags));

  program
    .command('tokenize')
    .description('Print the ids and tokens of TEXT (or of each line of standard input): "ids<TAB>tokens", or JSON with --json')
    .argument('[text]', 'text to tokenize; omit to read standard input line by line')
    .requiredOption('--tokenizer <dir>', 'directory with tokenizer.json, or GPT-2 vocab.json + merges.txt, or BERT vocab.txt')
    .option('--json', 'one JSON line {"ids":[…],"tokens":[…]} per input')
    .option('--offsets', 'with --json: also print character offsets')
    .option('--no-special-tokens', 'do not add [CLS]/[SEP] or other special tokens')
    .action((text: string | undefined, flags: TokenizeFlags) => tokenizeAction(text, flags));
}
