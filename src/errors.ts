/**
 * The base class of every error muse throws on purpose. Its message names the
 * problem and, where there is one, the fix (e.g. "checkpoint X is truncated:
 * expected 4096 bytes of tensor data, found 1024; re-save or re-download it").
 */
export class MuseError extends Error {
  /** A short machine-readable code such as `SHAPE_MISMATCH` or `BAD_CHECKPOINT`. */
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = 'MuseError';
    this.code = code;
  }
}

/** A tensor shape that does not fit the op; the message names the op and both shapes. */
export class ShapeError extends MuseError {
  constructor(message: string) {
    super('SHAPE_MISMATCH', message);
    this.name = 'ShapeError';
  }
}

/** A bad option or argument value; the message names the option. */
export class ConfigError extends MuseError {
  constructor(message: string) {
    super('BAD_CONFIG', message);
    this.name = 'ConfigError';
  }
}

/** A missing, truncated or malformed file; the message names the file. */
export class FileFormatError extends MuseError {
  constructor(message: string) {
    super('BAD_FILE', message);
    this.name = 'FileFormatError';
  }
}

/**
 * Levenshtein distance between two strings (insertions, deletions and
 * substitutions of UTF-16 code units each cost 1), for "did you mean" hints.
 */
export function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0];
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j];
      prev[j] = Math.min(up + 1, prev[j - 1] + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length];
}

/**
 * The candidate closest to `name` (case-insensitive {@link editDistance}) when
 * it is at most `maxDistance` away, to suggest in an error message on a typo.
 */
export function closestName(name: string, candidates: Iterable<string>, maxDistance: number): string | undefined {
  const lower = name.toLowerCase();
  let best: string | undefined;
  let bestD = maxDistance + 1;
  for (const c of candidates) {
    const d = editDistance(c.toLowerCase(), lower);
    if (d < bestD) [best, bestD] = [c, d];
  }
  return best;
}
