import type { Tokenizer } from '../tokenizers/index.js';

/**
 * The characters of `prompt` that `tokenizer` can only map to its unknown
 * token (`<unk>`, `[UNK]`): a prompt in a language or script the model never
 * saw. A byte-level BPE tokenizer has none (every byte is in its vocabulary).
 * Whitespace is ignored.
 * @returns the distinct unknown characters in order of first appearance, and
 *   how many of the prompt's characters they account for
 */
export function unknownCharacters(tokenizer: Tokenizer, prompt: string): { chars: string[]; count: number; total: number } {
  const unk = tokenizer.unkTokenId;
  const chars: string[] = [];
  let count = 0;
  let total = 0;
  if (unk === undefined) return { chars, count, total: [...prompt].filter((c) => c.trim() !== '').length };
  const verdict = new Map<string, boolean>();
  for (const c of prompt) {
    if (c.trim() === '') continue;
    total++;
    let unknown = verdict.get(c);
    if (unknown === undefined) {
      const ids = tokenizer.encode(c, { addSpecialTokens: false }).ids;
      unknown = ids.length > 0 && ids.every((id) => id === unk);
      verdict.set(c, unknown);
      if (unknown) chars.push(c);
    }
    if (unknown) count++;
  }
  return { chars, count, total };
}

/**
 * A one-line warning when part of the prompt is unknown to the model's
 * vocabulary (it would be fed as `<unk>`, and the continuation will be poor),
 * naming the characters and what to do; null when every character is known.
 * @param task which models to suggest: text generators (`generate`, the default) or masked LMs (`fill-mask`)
 */
export function unknownPromptWarning(tokenizer: Tokenizer, prompt: string, modelDir: string, task: 'generate' | 'fill-mask' = 'generate'): string | null {
  const { chars, count, total } = unknownCharacters(tokenizer, prompt);
  if (count === 0) return null;
  const shown = chars.slice(0, 8).map((c) => JSON.stringify(c)).join(', ') + (chars.length > 8 ? ', …' : '');
  return (
    `warning: ${count} of ${total} characters of the prompt are unknown to the model in ${modelDir} (${shown}) and are read as <unk>; ` +
    (task === 'fill-mask'
      ? 'it was trained on other text — pass --model a BERT masked-LM directory trained on this language (e.g. a Hugging Face bert-base-uncased download for English); the only bundled masked LM, models/muse-bert-zh, knows Chinese'
      : 'it was trained on other text — pick a model trained on this language with --model (the bundled models/muse-poet-zh knows Chinese, models/muse-story-en English)')
  );
}
