/**
 * Shared helpers of the native-backend parity tests (test/backend/native-*.test.ts):
 * the backend under test (or a skip reason when the addon is not built), seeded
 * random arrays, and a tolerance check.
 */
import assert from 'node:assert/strict';
import { loadNativeBackend, nativeLoadError } from '../../src/backend/native.js';
import { Generator } from '../../src/tensor/random.js';
import type { Backend } from '../../src/backend/backend.js';

/** The native backend, or null when the addon is not built. */
export const native: Backend | null = loadNativeBackend();

/** `test(name, { skip }, …)` option: false when the addon loaded, else a message saying why and how to build it. */
export const skip: string | false = native
  ? false
  : `native addon not built (${nativeLoadError() ?? 'unknown reason'}); build it with \`node scripts/build-native.mjs\``;

/** The native backend; only call inside a test that is skipped when it is absent. */
export function nb(): Backend {
  if (!native) throw new Error('native backend not loaded');
  return native;
}

/** `n` standard-normal float32 values (times `scale`), reproducible from `seed`. */
export function randn(n: number, seed: number, scale = 1): Float32Array {
  const g = new Generator(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = g.normal() * scale;
  return out;
}

/** `n` uniform integers in [low, high). */
export function randint(n: number, low: number, high: number, seed: number): Int32Array {
  const g = new Generator(seed);
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = g.randint(low, high);
  return out;
}

/**
 * Asserts `actual ≈ expected` elementwise: |a − e| ≤ rtol·(|e| + mean|e|), i.e.
 * relative to the element, and near zero relative to the array's typical
 * magnitude (float32 sums cannot do better on values that cancel). NaN must
 * match NaN and infinities must match exactly.
 */
export function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, rtol: number, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length ${actual.length} vs ${expected.length}`);
  let scale = 0;
  let finite = 0;
  for (let i = 0; i < expected.length; i++) {
    if (Number.isFinite(expected[i])) {
      scale += Math.abs(expected[i]);
      finite++;
    }
  }
  scale = finite ? scale / finite : 0;
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i];
    const e = expected[i];
    if (Number.isNaN(e)) {
      assert.ok(Number.isNaN(a), `${what}[${i}]: expected NaN, got ${a}`);
    } else if (!Number.isFinite(e)) {
      assert.equal(a, e, `${what}[${i}]`);
    } else {
      const tol = rtol * (Math.abs(e) + scale) + 1e-30;
      assert.ok(Math.abs(a - e) <= tol, `${what}[${i}]: native ${a} vs js ${e} (|diff| ${Math.abs(a - e)} > ${tol})`);
    }
  }
}
