/**
 * The `muse` command line: parses arguments with commander and hands each
 * command to its module in `./commands/`. Commands hold no logic a library
 * user would also need; they call the library and print.
 */
import { Command } from 'commander';
import { MuseError } from '../errors.js';
import { recoverInterruptedSaves } from '../io/recover.js';
import { cliFlagNames } from './flag-names.js';
// Command registrations (one module per command group, each exports `register`).
// — add one import and one call per command module below —
import { register as registerTrain } from './commands/train.js';
import { register as registerGenerate } from './commands/generate.js';
import { register as registerFinetune } from './commands/finetune.js';
import { register as registerEval } from './commands/eval.js';
import { register as registerTokenizer } from './commands/tokenizer.js';
import { register as registerFillMask } from './commands/fill-mask.js';
import { register as registerVae } from './commands/vae.js';
import { register as registerAe } from './commands/ae.js';
import { register as registerServe } from './commands/serve.js';
import { register as registerRatings } from './commands/ratings.js';
import { register as registerGguf } from './commands/gguf.js';
import { register as registerChat } from './commands/chat.js';
import { register as registerLora } from './commands/lora.js';

const program = new Command();
program
  .name('muse')
  .description('Train, fine-tune, generate and score creative-text models in Node.js')
  .version('0.1.0');

program.showHelpAfterError('(add --help for usage)');

// Output into a closed pipe (`muse generate … | head -c 5`) ends the command quietly, as Unix tools do.
for (const s of [process.stdout, process.stderr]) {
  s.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0);
    throw err;
  });
}

// Every directory a command is given (--model, --out, --runs, --tokenizer…) is first repaired if a
// kill interrupted a checkpoint save in it (or in its best/ and last/), so the command finds it whole.
program.hook('preAction', (_program, action) => {
  const opts = action.opts<Record<string, unknown>>();
  const paths = Object.values(opts).flatMap((v) => (typeof v === 'string' ? [v] : Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []));
  for (const path of paths) {
    if (path === '' || path.includes('\n')) continue;
    for (const line of recoverInterruptedSaves(path)) process.stderr.write(`muse: ${line}\n`);
  }
});
registerTrain(program);
registerGenerate(program);
registerFinetune(program);
registerEval(program);
registerTokenizer(program);
registerFillMask(program);
registerVae(program);
registerAe(program);
registerServe(program);
registerRatings(program);
registerGguf(program);
registerChat(program);
registerLora(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof MuseError) {
    process.stderr.write(`muse: ${cliFlagNames(err.message)}\n`);
    process.exit(1);
  }
  throw err;
}
