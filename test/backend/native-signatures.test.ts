/**
 * The typed N-API seam: the addon's kernel table (native/src/signatures.cc)
 * equals the TypeScript one (src/backend/native-signatures.ts); a deliberately
 * wrong entry on either side is caught with an error naming the kernel and the
 * argument; and the addon itself refuses calls that break its table.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadNativeAddon, tryLoadNativeAddon } from '../../src/backend/native.js';
import {
  NATIVE_SIGNATURES,
  NativeSignatureError,
  checkNativeSignatures,
  expectedSignatures,
  type NativeKernelSignature,
} from '../../src/backend/native-signatures.js';
import { skip } from './native-util.js';

/** The addon's own table when it is built, else the TypeScript one in the same format. */
function reported(): Record<string, NativeKernelSignature> {
  const addon = loadNativeAddon();
  return structuredClone((addon ? addon.signatures() : expectedSignatures()) as Record<string, NativeKernelSignature>);
}

function rejects(table: unknown, ...fragments: string[]): void {
  assert.throws(
    () => checkNativeSignatures(table),
    (err: unknown) => {
      assert.ok(err instanceof NativeSignatureError, `a NativeSignatureError, got ${String(err)}`);
      for (const f of fragments) assert.ok(err.message.includes(f), `message names ${JSON.stringify(f)}: ${err.message}`);
      assert.ok(err.message.includes('node scripts/build-native.mjs'), 'message gives the fix');
      return true;
    },
  );
}

test('the addon reports the same kernel table as src/backend/native-signatures.ts', { skip }, () => {
  const addon = loadNativeAddon();
  assert.ok(addon);
  assert.deepEqual(addon.signatures(), expectedSignatures());
  assert.deepEqual(Object.keys(addon.signatures() as object), Object.keys(NATIVE_SIGNATURES), 'same kernels, same order');
  for (const name of Object.keys(NATIVE_SIGNATURES)) assert.equal(typeof (addon as unknown as Record<string, unknown>)[name], 'function', name);
});

test('a deliberately wrong entry is caught, naming the kernel and the argument', () => {
  checkNativeSignatures(reported()); // the untouched table passes

  let t = reported();
  t.gemm.args[3].kind = 'num'; // gemm's batch read as a plain number
  rejects(t, 'kernel gemm, argument 3 (batch)', 'kind is "num" in the addon, "count"');

  t = reported();
  [t.attention.args[1], t.attention.args[2]] = [t.attention.args[2], t.attention.args[1]]; // k and v swapped
  rejects(t, 'kernel attention, argument 1 (k)', 'name is "v"');

  t = reported();
  t.layerNorm.args.pop(); // one argument short
  rejects(t, 'kernel layerNorm, argument 8 (eps)', 'the addon does not take it');

  t = reported();
  t.unary.args.push({ name: 'extra', kind: 'count' });
  rejects(t, 'kernel unary, argument 4 (extra)', 'does not list it');

  t = reported();
  t.embedding.args[2].length = 'n';
  rejects(t, 'kernel embedding, argument 2 (out)', 'length is "n" in the addon, "n*dim"');

  t = reported();
  t.adamw.args[0].role = 'in';
  rejects(t, 'kernel adamw, argument 0 (param)', 'role is "in"');

  t = reported();
  t.crossEntropy.returns = 'void';
  rejects(t, 'kernel crossEntropy returns "void"');

  t = reported();
  delete t.softmax;
  rejects(t, 'kernel softmax is in src/backend/native-signatures.ts but the addon does not export it');

  t = reported();
  t.quantMatvec = { returns: 'void', args: [] };
  rejects(t, 'kernel quantMatvec is exported by the addon but not listed');

  rejects(undefined, 'no kernel signature table');
});

test('an addon without a kernel table (built from older sources) is refused at load', () => {
  const dir = mkdtempSync(join(tmpdir(), 'muse-sig-'));
  const path = join(dir, 'old-addon.cjs');
  writeFileSync(path, 'exports.gemm = function () {}; exports.attention = function () {};\n');
  assert.throws(() => tryLoadNativeAddon(path), (err: unknown) => err instanceof NativeSignatureError && err.message.includes(path));
});

test('the addon refuses calls that break its table: argument count, kinds, lengths named after the table', { skip }, () => {
  const addon = loadNativeAddon()!;
  const loose = addon as unknown as Record<string, (...args: unknown[]) => unknown>;
  assert.throws(() => loose.unary(0, new Float32Array(4), new Float32Array(4)), /unary takes 4 arguments \(op, x, out, n\), got 3/);
  assert.throws(() => loose.unary(0, new Float32Array(4), new Int32Array(4), 4), /unary argument 2 \(out\) must be a Float32Array/);
  assert.throws(() => addon.unary(0, new Float32Array(4), new Float32Array(2), 4), /unary argument 2 \(out\) has 2 elements, the kernel needs 4 \(n\)/);
  assert.throws(() => loose.softmax(new Float32Array(6), new Float32Array(6), 2, 3.5), /softmax argument 3 \(cols\) must be a non-negative integer/);
  assert.equal(addon.sumSquares(Float32Array.from([1, 2]), 2), 5);
});
