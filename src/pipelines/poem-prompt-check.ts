/**
 * Conflicts between a Chinese prompt and the poem constraints asked for
 * (`--acrostic`, `--form`): the constraints continue the prompt's lines, so a
 * prompt that already breaks them would yield a broken poem. `muse generate`
 * refuses such a prompt with a message naming the conflict and the fix.
 */
import type { PoemForm } from '../generate/index.js';

const BREAK = /[，。！？；、,.!?;\n]/u;

/**
 * The prompt's lines as the poem constraints see them: complete lines (closed
 * by punctuation) and a last, possibly partial one; characters other than Han
 * ones are ignored. Null when the prompt holds non-Han text (not a verse).
 */
function verseLines(prompt: string): { lines: string[]; partial: string } | null {
  const text = prompt.replace(/\s+/gu, '');
  if (text === '') return { lines: [], partial: '' };
  if (!/^[\p{Script=Han}，。！？；、,.!?;]+$/u.test(text)) return null;
  const parts = text.split(BREAK);
  const partial = parts.pop() ?? '';
  return { lines: parts.filter((p) => p !== ''), partial };
}

/**
 * Why the prompt cannot start a poem with these constraints, or null when it can.
 * @param prompt the prompt, in the model's script
 * @param opts the acrostic characters (model's script) and the poem form in force
 * @returns a message naming the line, the conflict and the fix (CLI flags), or null
 */
export function poemPromptConflict(prompt: string, opts: { acrostic?: string; form?: PoemForm }): string | null {
  const v = verseLines(prompt);
  if (!v) return null;
  const all = v.partial === '' ? v.lines : [...v.lines, v.partial];
  if (opts.form) {
    const [n, rows] = opts.form.split('x').map(Number) as [number, number];
    for (const [i, line] of v.lines.entries()) {
      const len = [...line].length;
      if (len !== n) {
        return `the prompt's line ${i + 1} "${line}" has ${len} characters but --form ${opts.form} needs ${n} per line; ` +
          (len === 5 || len === 7 ? `pass --form ${len}x${rows} (or leave --form out: the prompt's own form is used)` : `start the prompt with ${n}-character lines`);
      }
    }
    if ([...v.partial].length > n) {
      return `the prompt's last line "${v.partial}" already has ${[...v.partial].length} characters but --form ${opts.form} needs ${n} per line; end a line with "，" after ${n} characters or pass another --form`;
    }
    if (all.length > rows) return `the prompt already has ${all.length} lines but --form ${opts.form} has ${rows}; shorten the prompt or pass a longer form`;
  }
  if (opts.acrostic) {
    const heads = [...opts.acrostic];
    if (all.length > heads.length) return `the prompt has ${all.length} lines but --acrostic ${opts.acrostic} gives only ${heads.length} line starts; shorten the prompt or lengthen --acrostic`;
    for (const [i, line] of all.entries()) {
      const first = [...line][0];
      if (first !== heads[i]) {
        return `the prompt's line ${i + 1} starts with "${first}" but --acrostic ${opts.acrostic} needs "${heads[i]}" there; ` +
          `start the prompt with "${heads.slice(0, i + 1).join('…')}…" lines, or give no prompt (the acrostic alone starts the poem)`;
      }
    }
  }
  return null;
}
