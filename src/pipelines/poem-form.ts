import type { PoemForm } from '../generate/index.js';

const LINE = /^(\p{Script=Han}+)[，。！？；]$/u;

/**
 * The classical form a Chinese prompt starts: one or more lines of 5 or 7
 * Han characters, each closed by punctuation (`床前明月光，` → `5x4`,
 * `春眠不觉晓，处处闻啼鸟。夜来风雨声，` → `5x4`). Used by `muse generate` to
 * finish a quatrain of the same form when the user names none.
 * @returns `5x4` / `7x4`, or undefined when the prompt is not such lines
 *   (different lengths, free text, or already four lines or more)
 */
export function inferPoemForm(prompt: string): PoemForm | undefined {
  const lines = prompt.trim().match(/[^，。！？；]+[，。！？；]/gu);
  if (!lines || lines.join('') !== prompt.trim() || lines.length >= 4) return undefined;
  const lengths = new Set(lines.map((l) => (LINE.exec(l)?.[1] ?? '').length));
  if (lengths.size !== 1) return undefined;
  const n = [...lengths][0];
  return n === 5 ? '5x4' : n === 7 ? '7x4' : undefined;
}
