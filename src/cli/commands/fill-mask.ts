import { Command } from 'commander';
import { fillMask } from '../../models/bert/fill-mask.js';
import { loadMaskedLMDir } from '../../models/bert/family.js';
import { ConfigError } from '../../errors.js';
import { unknownPromptWarning } from '../../pipelines/prompt-check.js';

/** Registers `muse fill-mask`. */
export function register(program: Command): void {
  program
    .command('fill-mask')
    .description('predict the tokens behind [MASK] with a BERT masked LM (default: the bundled muse-bert-zh)')
    .argument('<text>', 'text with one or more [MASK] tokens, e.g. "床前明月[MASK]，疑是地上霜。"')
    .option('--model <dir>', 'BERT model directory (muse train output or a Hugging Face BertForMaskedLM)')
    .option('--tokenizer <dir>', 'tokenizer files (tokenizer.json or vocab.txt) when the model directory has none')
    .option('--top-k <n>', 'candidates per mask', '5')
    .option('--json', "print Hugging Face's fill-mask pipeline output (a list, or a list of lists for several masks)")
    .action((text: string, opts: { model?: string; tokenizer?: string; topK: string; json?: boolean }) => {
      const topK = Number(opts.topK);
      if (!Number.isInteger(topK) || topK < 1) throw new ConfigError(`--top-k must be a positive integer, got ${opts.topK}`);
      const lm = loadMaskedLMDir(opts.model, opts.tokenizer ?? opts.model);
      // Text mostly outside the vocabulary reads as [UNK]: the candidates then mean little, so say so (as generate does).
      const unknown = unknownPromptWarning(lm.tokenizer, text.replace(/\[MASK\]/g, ''), opts.model ?? 'the bundled muse-bert-zh', 'fill-mask');
      if (unknown) process.stderr.write(`muse: ${unknown.replace('of the prompt', 'of the text')}\n`);
      const results = fillMask(lm, text, { topK });
      if (opts.json) {
        process.stdout.write(JSON.stringify(results.length === 1 ? results[0] : results) + '\n');
        return;
      }
      const lines: string[] = [];
      results.forEach((cands, m) => {
        if (results.length > 1) lines.push(`mask ${m + 1}:`);
        for (const c of cands) lines.push(`${c.score.toFixed(4)}  ${c.token_str}  ${c.sequence}`);
      });
      process.stdout.write(lines.join('\n') + '\n');
    });
}
