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
