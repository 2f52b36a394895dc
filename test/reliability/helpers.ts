import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

export const ROOT = join(import.meta.dirname, '../..');

/** Run the `muse` CLI from source; returns its status, stdout and stderr. */
export function muse(args: string[], opts: { input?: string | Buffer; cwd?: string; env?: Record<string, string>; timeout?: number } = {}): { status: number | null; stdout: string; stderr: string; signal: NodeJS.Signals | null } {
  const r = spawnSync(process.execPath, [join(ROOT, 'bin', 'muse.js'), ...args], {
    cwd: opts.cwd ?? ROOT,
    input: opts.input,
    encoding: 'utf8',
    timeout: opts.timeout ?? 60_000,
    env: { ...process.env, MUSE_FROM_SOURCE: '1', OMP_NUM_THREADS: '1', ...(opts.env ?? {}) },
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, signal: r.signal };
}
