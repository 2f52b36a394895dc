/**
 * Library messages speak the library's option names (`doSample`,
 * `numReturnSequences`, `maxNewTokens`); on the command line they are
 * rewritten to the flags a user types (`--do-sample`, `--num-return-sequences`,
 * `--max-new-tokens`), so the fix a message names is one the user can apply.
 */

/** Generation options that `muse generate` exposes as flags of the same name in kebab-case. */
const FLAG_OPTIONS = [
  'maxNewTokens', 'minNewTokens', 'temperature', 'topK', 'topP', 'minP', 'typicalP', 'repetitionPenalty',
  'noRepeatNgramSize', 'numBeams', 'numReturnSequences', 'lengthPenalty', 'stopStrings', 'acrostic', 'form', 'rhyme', 'tones', 'seed',
] as const;

/** `numReturnSequences` → `--num-return-sequences` (and `stopStrings` → `--stop`). */
function kebabFlag(name: string): string {
  if (name === 'stopStrings') return '--stop';
  return '--' + name.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase());
}

/**
 * Rewrite a library message for the command line: `doSample: true` → `--do-sample`,
 * `doSample: false` → `--greedy`, and each camelCase generation option with a flag
 * (not part of a dotted recipe key such as `generation.maxNewTokens`) → its `--flag`.
 * Options of one-word names (`temperature`, `form`, …) are left as they read.
 * @param message a library error or warning message
 * @returns the message in CLI vocabulary
 */
export function cliFlagNames(message: string): string {
  let out = message
    .replace(/(?<![.\w-])doSample: true\b/g, '--do-sample')
    .replace(/(?<![.\w-])doSample: false\b/g, '--greedy')
    .replace(/(?<![.\w-])doSample is false\b/g, 'sampling is off (--greedy, or the model\'s default)');
  for (const name of FLAG_OPTIONS) {
    if (!/[A-Z]/.test(name)) continue;
    out = out.replace(new RegExp(`(?<![.\\w-])${name}\\b`, 'g'), kebabFlag(name));
  }
  return out.replace(/\bgeneration option (--[a-z-]+)/g, '$1');
}
