/**
 * Reference-stream handling shared by BLEU and chrF, following sacreBLEU's
 * `Metric._cache_references`: streams must be as long as the hypotheses, an
 * empty line drops that stream's reference for the segment when another
 * stream has one, and a segment with only empty references is scored
 * against an empty reference (0), as sacreBLEU 2.x scores it.
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
 * The non-empty references of segment `s`; a segment whose every reference
 * is empty is scored against one empty reference (0 matches, reference
 * length 0), as sacreBLEU 2.x does (it keeps `""` and drops only `None`),
 * instead of refusing the whole file. {@link emptyReferenceSegments} lists
 * such segments for a warning.
 */
export function referencesOf(refs: readonly (readonly string[])[], s: number): string[] {
  const out: string[] = [];
  for (const stream of refs) {
    const line = stream[s];
    if (line !== undefined && line !== null && line !== '') out.push(line);
  }
  return out.length === 0 ? [''] : out;
}

/** 1-based numbers of the segments whose references are all empty (scored 0 by {@link referencesOf}). */
export function emptyReferenceSegments(refs: readonly (readonly string[])[]): number[] {
  const n = refs[0]?.length ?? 0;
  const out: number[] = [];
  for (let s = 0; s < n; s++) if (refs.every((stream) => !stream[s])) out.push(s + 1);
  return out;
}
