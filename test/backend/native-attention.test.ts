/**
 * Native fused attention (forward and FlashAttention-style backward) against
 * the js reference (relative 1e-5): causal and not, key padding masks, tq < tk
 * (causal offset tk − tq, as with a KV cache), single-query decoding, fully
 * masked rows (zeros, lse = −inf, zero gradients), head sizes that are not a
 * multiple of the vector width, and lengths that cross the 32-query and
 * 128-key tiles (online softmax across key blocks).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { jsBackend } from '../../src/backend/js/index.js';
import type { AttentionParams } from '../../src/backend/backend.js';
import { assertClose, nb, randn, skip } from './native-util.js';

const TOL = 1e-5;

interface Case {
  batch: number;
  heads: number;
  tq: number;
  tk: number;
  headDim: number;
  causal: boolean;
  /** Per batch row, how many trailing keys are padding (0 = none), or null for no mask. */
  pad: number[] | null;
  /** Per batch row, keys masked at the front (left padding). */
  leftPad?: number[];
}

function run(c: Case, seed: number): void {
  const { batch, heads, tq, tk, headDim } = c;
  const nq = batch * heads * tq * headDim;
  const nk = batch * heads * tk * headDim;
  const q = randn(nq, seed);
  const k = randn(nk, seed + 1);
  const v = randn(nk, seed + 2);
  const dOut = randn(nq, seed + 3);
  let mask: Int32Array | null = null;
  if (c.pad) {
    mask = new Int32Array(batch * tk).fill(1);
    for (let b = 0; b < batch; b++) {
      for (let j = tk - c.pad[b]; j < tk; j++) mask[b * tk + j] = 0;
      for (let j = 0; j < (c.leftPad?.[b] ?? 0); j++) mask[b * tk + j] = 0;
    }
  }
  const base: Omit<AttentionParams, 'out' | 'lse'> = {
    q, k, v, batch, heads, tq, tk, headDim, scale: 1 / Math.sqrt(headDim), causal: c.causal, keyPaddingMask: mask,
  };
  const res = (be: typeof jsBackend) => {
    const out = new Float32Array(nq).fill(NaN);
    const lse = new Float32Array(batch * heads * tq).fill(NaN);
    be.attention({ ...base, out, lse });
    const dq = new Float32Array(nq).fill(NaN);
    const dk = new Float32Array(nk).fill(NaN);
    const dv = new Float32Array(nk).fill(NaN);
    be.attentionBackward({ ...base, out, lse, dOut, dq, dk, dv });
    return { out, lse, dq, dk, dv };
  };
  const j = res(jsBackend);
  const n = res(nb());
  const what = `attention b${batch} h${heads} tq${tq} tk${tk} d${headDim} causal=${c.causal} pad=${c.pad ? c.pad.join('/') : '-'}`;
  assertClose(n.out, j.out, TOL, `${what} out`);
  assertClose(n.lse, j.lse, TOL, `${what} lse`);
  assertClose(n.dq, j.dq, TOL, `${what} dq`);
  assertClose(n.dk, j.dk, TOL, `${what} dk`);
  assertClose(n.dv, j.dv, TOL, `${what} dv`);
}

test('attention: training shapes, causal and not, across query and key tiles', { skip }, () => {
  let seed = 1;
  for (const causal of [true, false]) {
    run({ batch: 2, heads: 3, tq: 64, tk: 64, headDim: 32, causal, pad: null }, seed++);
    run({ batch: 1, heads: 1, tq: 129, tk: 129, headDim: 64, causal, pad: null }, seed++);
    run({ batch: 1, heads: 1, tq: 63, tk: 300, headDim: 16, causal, pad: null }, seed++); // tq < tk, 3 key tiles
    run({ batch: 1, heads: 2, tq: 7, tk: 7, headDim: 7, causal, pad: null }, seed++);
    run({ batch: 2, heads: 1, tq: 33, tk: 33, headDim: 1, causal, pad: null }, seed++);
    run({ batch: 1, heads: 1, tq: 40, tk: 40, headDim: 80, causal, pad: null }, seed++); // headDim not a vector multiple
  }
});

test('attention: key padding masks (right and left), with and without causal', { skip }, () => {
  let seed = 100;
  for (const causal of [true, false]) {
    run({ batch: 3, heads: 2, tq: 37, tk: 37, headDim: 16, causal, pad: [0, 5, 20] }, seed++);
    run({ batch: 2, heads: 2, tq: 9, tk: 140, headDim: 24, causal, pad: [3, 100], leftPad: [10, 2] }, seed++);
  }
});

test('attention: decoding (tq = 1 and a few queries against a longer cache)', { skip }, () => {
  let seed = 200;
  for (const causal of [true, false])
    for (const tq of [1, 3, 9]) {
      run({ batch: 1, heads: 2, tq, tk: 256, headDim: 32, causal, pad: null }, seed++);
      run({ batch: 2, heads: 2, tq, tk: 19, headDim: 64, causal, pad: [0, 4], leftPad: [3, 0] }, seed++);
    }
});

test('attention: fully masked rows give zeros, lse = -inf and zero gradients (never NaN)', { skip }, () => {
  // Batch row 1 masks every key; with causal and tq > tk the first rows see no key at all.
  run({ batch: 2, heads: 2, tq: 40, tk: 40, headDim: 8, causal: true, pad: [0, 40] }, 300);
  run({ batch: 1, heads: 1, tq: 50, tk: 20, headDim: 8, causal: true, pad: null }, 301);
  run({ batch: 2, heads: 1, tq: 1, tk: 10, headDim: 8, causal: false, pad: [10, 0] }, 302);
  const q = randn(16, 1), k = randn(16, 2), v = randn(16, 3);
  const out = new Float32Array(16).fill(NaN);
  const lse = new Float32Array(2).fill(NaN);
  nb().attention({ q, k, v, out, lse, batch: 1, heads: 1, tq: 2, tk: 2, headDim: 8, scale: 1, causal: false, keyPaddingMask: Int32Array.from([0, 0]) });
  assert.deepEqual(Array.from(out), new Array(16).fill(0));
  assert.deepEqual(Array.from(lse), [-Infinity, -Infinity]);
});
