import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, writeFileSync, rmSync, writeSync } from 'node:fs';
import { dirname, basename, join } from 'node:path';

/** Options of {@link writeFileAtomic}. */
export interface WriteAtomicOptions {
  /**
   * Flush the file to disk before the rename and the directory entry after it
   * (`fsync`), so the new version survives a power loss, not only a crash of
   * the process. Costs a disk flush per file; checkpoints use it. Default false.
   */
  fsync?: boolean;
}

/**
 * Write a file atomically: the data goes to a temporary file in the same
 * directory, which is then renamed over the target (rename is atomic on POSIX
 * file systems), so a crash mid-write never leaves a half-written file and
 * never destroys the previous version. Creates the parent directory.
 *
 * @param path target file
 * @param data file contents (a string is written as UTF-8)
 * @param options see {@link WriteAtomicOptions}
 * @throws the underlying fs error (ENOSPC, EACCES…) after removing the temp file
 */
export function writeFileAtomic(path: string, data: string | Uint8Array, options: WriteAtomicOptions = {}): void {
  const dir = dirname(path);
  mkdirSync(dir, { recursive: true });
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${Date.now()}.tmp`);
  try {
    if (options.fsync) {
      const fd = openSync(tmp, 'w');
      try {
        const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
        let off = 0;
        while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
    } else {
      writeFileSync(tmp, data);
    }
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
  if (options.fsync) fsyncDirectory(dir);
}

/**
 * Flush a directory's entries (new names, renames) to disk. A no-op where the
 * platform cannot open directories for fsync (Windows).
 */
export function fsyncDirectory(dir: string): void {
  let fd: number;
  try {
    fd = openSync(dir, 'r');
  } catch {
    return;
  }
  try {
    fsyncSync(fd);
  } catch {
    // EINVAL/EPERM on file systems that do not support syncing directories
  } finally {
    closeSync(fd);
  }
}
