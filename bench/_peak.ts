/**
 * The machine's fp32 FMA peak (GFLOP/s, all threads) from the native addon's
 * register-only FMA loop, or null when the addon is not built.
 */
import { createRequire } from 'node:module';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

export function fmaPeakGflops(seconds = 0.5): number | null {
  try {
    const require = createRequire(import.meta.url);
    const addon = require(join(dirname(fileURLToPath(import.meta.url)), '../native/build/Release/muse_native.node')) as { fmaPeak?: (s: number) => number };
    return addon.fmaPeak ? addon.fmaPeak(seconds) : null;
  } catch {
    return null;
  }
}
