/**
 * Lines of classical verse for the sentence VAE: extracting them from a
 * corpus and checking that a generated line is well formed.
 */
import { HAN_RANGES } from '../../data/script.js';

const HAN = `[${HAN_RANGES}]`;
/** Punctuation that ends a line of classical verse. */
export const LINE_END_PUNCTUATION = '，。？！';

/**
 * The lines of classical verse in `docs`: runs of exactly `charsPerLine` Han
 * characters followed by their closing punctuation (，。？！), starting at the
 * beginning of a document or after punctuation/whitespace. Unique, in order
 * of first appearance.
 */
export function extractPoemLines(docs: Iterable<string>, charsPerLine = 5): string[] {
  const re = new RegExp(`(?<=^|[，。？！；：、\\s])(${HAN}{${charsPerLine}}[${LINE_END_PUNCTUATION}])`, 'gu');
  const seen = new Set<string>();
  for (const d of docs) for (const m of d.matchAll(re)) seen.add(m[1]);
  return [...seen];
}

/** True when `line` is exactly `charsPerLine` Han characters followed by one line-ending mark (，。？！). */
export function isWellFormedLine(line: string, charsPerLine = 5): boolean {
  return new RegExp(`^${HAN}{${charsPerLine}}[${LINE_END_PUNCTUATION}]$`, 'u').test(line);
}
