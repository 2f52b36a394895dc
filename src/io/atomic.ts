import { mkdirSync, renameSync, writeFileSync, rmSync } from 'node:fs';
import { dirname, basename, join } from 'node:path';

/**
 * Write a file atomically: the data goes to a temporary file in the same
 * directory, which is then renamed over the target (rename is atomic on POSIX
 * file systems), so a crash mid-write never leaves a half-written file and
 * never destroys the previous version. Creates the parent directory.
 *
 * @param path target file
 * @param data file contents (a string is written as UTF-8)
 * @throws the underlying fs error (ENOSPC, EACCES…) after removing the temp file
 */
export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  const dir = dirname(path);
  mkdirSync(dir, { recursive: true });
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${Date.now()}.tmp`);
  try {
    writeFileSync(tmp, data);
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}
