import { existsSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { recoverCheckpoint } from './checkpoint.js';

/** Whether `dir` has a hidden sibling left by an interrupted checkpoint save (`.NAME.muse-staging|ready|previous`). */
function hasSwapSiblings(dir: string): boolean {
  const parent = dirname(dir);
  const name = basename(dir);
  return ['staging', 'ready', 'previous'].some((s) => existsSync(join(parent, `.${name}.muse-${s}`)));
}

/**
 * Finish (or undo) any checkpoint save that a crash or kill interrupted in
 * `path` itself and, when `path` is a training run folder, in its `best/` and
 * `last/` checkpoints, and when `path` is a run's `best/` or `last/`, in its
 * sibling (see `recoverCheckpoint` for what each leftover means).
 * Every `muse` command calls it on the directories it is given before opening
 * them, so a run killed between the two renames of a save is loadable and
 * resumable by name instead of "does not exist". Does nothing (a few `stat`
 * calls) when no save was interrupted; never touches files that are not the
 * save protocol's own hidden siblings.
 *
 * @param path a model directory, a run folder, or any path (a file or a missing path is fine)
 * @returns one line per repair, e.g. `completed interrupted save into /abs/run/last` (empty when there was nothing to do)
 * @throws fs errors (EACCES…) when a repair cannot be made
 */
export function recoverInterruptedSaves(path: string): string[] {
  const target = resolve(path);
  const done: string[] = [];
  const candidates = [target];
  let isDir = false;
  try {
    isDir = statSync(target).isDirectory();
  } catch {
    // missing: it may be the destination of an interrupted swap
  }
  if (isDir || hasSwapSiblings(target)) {
    for (const child of ['best', 'last']) candidates.push(join(target, child));
  }
  // RUN/last given: its sibling RUN/best belongs to the same run (and the other way round).
  const name = basename(target);
  if (name === 'best' || name === 'last') candidates.push(join(dirname(target), name === 'best' ? 'last' : 'best'));
  for (const dir of candidates) {
    if (hasSwapSiblings(dir)) done.push(...recoverCheckpoint(dir));
  }
  return done;
}
