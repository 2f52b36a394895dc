import { ConfigError } from '../errors.js';

/**
 * The `--key=value` / `--key value` words commander did not know, as recipe
 * overrides (`--training.maxIters=100`, `--maxIters 100`) for every command
 * that trains from a recipe.
 * @throws ConfigError for a word that is not an option, or an option without a value
 */
export function overridesFrom(words: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < words.length; i++) {
    const w = words[i];
    if (!w.startsWith('--')) throw new ConfigError(`unexpected argument "${w}"; recipe overrides look like --training.maxIters=100 or --maxIters 100`);
    const body = w.slice(2);
    const eq = body.indexOf('=');
    if (eq >= 0) out[body.slice(0, eq)] = body.slice(eq + 1);
    else {
      const v = words[i + 1];
      if (v === undefined || v.startsWith('--')) throw new ConfigError(`override --${body} needs a value (--${body}=VALUE)`);
      out[body] = v;
      i++;
    }
  }
  return out;
}

/**
 * What every training command passes its pipeline besides the recipe: output
 * mode (`--json` lines on stdout, or a progress bar), the interrupt signal,
 * and the recipe note written into every checkpoint (`muse_recipe.json`:
 * the effective recipe and the command line, read back on `--resume`).
 */
export function trainingRunIO(
  flags: { json?: boolean; progress?: boolean },
  signal: AbortSignal,
  note: object,
): { json?: boolean; progress?: boolean; signal: AbortSignal; log?: (line: string) => void; extraFiles: Record<string, string> } {
  return {
    json: flags.json,
    progress: flags.progress,
    signal,
    log: flags.json ? (line) => process.stdout.write(line + '\n') : undefined,
    extraFiles: { 'muse_recipe.json': JSON.stringify(note, null, 2) + '\n' },
  };
}
