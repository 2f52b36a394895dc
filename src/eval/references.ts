/**
 * Reference-stream handling shared by BLEU and chrF, following sacreBLEU's
 * `Metric._cache_references`: streams must be as long as the hypotheses, an
 * empty line drops that stream's reference for the segment, and a segment
 * with no reference left is an error.
 */
import { ConfigError } from '../errors.js';

/** Number of references per segment, or `var` when it varies (sacreBLEU's `nrefs`). */
export type NumRefs = number | 'var';

/**
 * Checks that there is at least one reference stream and every stream has
 * one line per hypothesis.
 * @throws ConfigError naming the mismatched stream and both lengths
 */
export function checkReferenceStreams(hyps: readonly string[], refs: readonly (readonly string[])[]): void {
  if (refs.length === 0) throw new ConfigError('no reference stream given; pass at least one list of references');
  refs.forEach((stream, k) => {
    if (stream.length !== hyps.length) {
      throw new ConfigError(
        `reference stream ${k + 1} has ${stream.length} lines but there are ${hyps.length} hypotheses; every stream needs one line per hypothesis`,
      );
    }
  });
}

/**
 * The non-empty references of segment `s`.
 * @throws ConfigError when none is left
 */
export function referencesOf(refs: readonly (readonly string[])[], s: number): string[] {
  const out: string[] = [];
  for (const stream of refs) {
    const line = stream[s];
    if (line !== undefined && line !== null && line !== '') out.push(line);
  }
  if (out.length === 0) {
    throw new ConfigError(`segment ${s + 1} has an empty reference in every stream; give it a reference or remove the segment`);
  }
  return out;
}
