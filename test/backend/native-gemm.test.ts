/**
 * Native GEMM against the js reference (relative 1e-4): every transpose
 * combination on awkward sizes (1, 7, 63, 129 — below, at and across the
 * microkernel tiles), alpha/beta, NaN in C with beta = 0, batches with
 * offsets and stride-0 broadcast, the small-m/small-n (decoding) paths, and
 * sizes that cross the cache blocks (k > 256, m > 192, n > 2048) and the
 * two-thread split.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { jsBackend } from '../../src/backend/js/index.js';
import type { GemmParams } from '../../src/backend/backend.js';
import { assertClose, nb, randn, skip } from './native-util.js';

const TOL = 1e-4;

function params(over: Partial<GemmParams>): GemmParams {
  return {
    a: new Float32Array(0), b: new Float32Array(0), c: new Float32Array(0),
    batch: 1, m: 0, n: 0, k: 0, transA: false, transB: false, alpha: 1, beta: 0,
    aOffset: 0, bOffset: 0, cOffset: 0, aBatchStride: 0, bBatchStride: 0, cBatchStride: 0,
    ...over,
  };
}

/** Runs both backends on copies of C and compares. */
function compare(p: GemmParams, what: string): void {
  const cj = p.c.slice();
  const cn = p.c.slice();
  jsBackend.gemm({ ...p, c: cj });
  nb().gemm({ ...p, c: cn });
  assertClose(cn, cj, TOL, what);
}

function single(m: number, n: number, k: number, transA: boolean, transB: boolean, seed: number, alpha = 1, beta = 0): void {
  const a = randn(m * k, seed);
  const b = randn(k * n, seed + 1);
  const c = beta === 0 ? new Float32Array(m * n).fill(NaN) : randn(m * n, seed + 2);
  compare(params({ a, b, c, m, n, k, transA, transB, alpha, beta }), `gemm ${m}x${n}x${k} tA=${transA} tB=${transB} α=${alpha} β=${beta}`);
}

test('gemm: sizes 1, 7, 63, 129 in every combination and every transpose', { skip }, () => {
  const sizes = [1, 7, 63, 129];
  let seed = 1;
  for (const m of sizes)
    for (const n of sizes)
      for (const k of sizes)
        for (const tA of [false, true])
          for (const tB of [false, true]) single(m, n, k, tA, tB, seed++);
});

test('gemm: alpha and beta, and beta = 0 never reads C (NaN does not leak)', { skip }, () => {
  for (const [m, n, k] of [[7, 63, 129], [63, 7, 5], [2, 300, 40], [300, 3, 40], [33, 65, 17]])
    for (const tA of [false, true])
      for (const tB of [false, true]) {
        single(m, n, k, tA, tB, m + n + k, 1.5, 0.5);
        single(m, n, k, tA, tB, m * n + k, -0.25, 0);
        single(m, n, k, tA, tB, m * k + n, 2, 1);
      }
  // beta = 0 on a NaN-filled C must give exactly the product, with no NaN anywhere.
  const a = randn(20 * 30, 5);
  const b = randn(30 * 40, 6);
  const c = new Float32Array(20 * 40).fill(NaN);
  nb().gemm(params({ a, b, c, m: 20, n: 40, k: 30 }));
  assert.ok(c.every((x) => Number.isFinite(x)), 'NaN leaked from C with beta = 0');
  // k = 0: C = beta·C (alpha·0), and beta = 0 clears NaN.
  const c0 = new Float32Array(6).fill(NaN);
  nb().gemm(params({ a, b, c: c0, m: 2, n: 3, k: 0 }));
  assert.deepEqual(Array.from(c0), [0, 0, 0, 0, 0, 0]);
});

test('gemm: batches with offsets, batch strides and stride-0 broadcast', { skip }, () => {
  const m = 9, n = 17, k = 33, batch = 5;
  const a = randn(3 + batch * m * k, 11);
  const b = randn(2 + batch * k * n, 12);
  for (const tA of [false, true])
    for (const tB of [false, true]) {
      // independent operands, C after an offset
      compare(params({ a, b, c: new Float32Array(4 + batch * m * n).fill(NaN), batch, m, n, k, transA: tA, transB: tB,
        aOffset: 3, bOffset: 2, cOffset: 4, aBatchStride: m * k, bBatchStride: k * n, cBatchStride: m * n }), `batched tA=${tA} tB=${tB}`);
      // one B shared by every batch (a Linear weight), A and C batched
      compare(params({ a, b, c: randn(batch * m * n, 13), batch, m, n, k, transA: tA, transB: tB, beta: 0.5,
        aBatchStride: m * k, bBatchStride: 0, cBatchStride: m * n }), `broadcast B tA=${tA} tB=${tB}`);
      // one A shared by every batch
      compare(params({ a, b, c: new Float32Array(batch * m * n), batch, m, n, k, transA: tA, transB: tB,
        aBatchStride: 0, bBatchStride: k * n, cBatchStride: m * n }), `broadcast A tA=${tA} tB=${tB}`);
    }
  // attention-shaped batch: [B·H, 64, 32]·[B·H, 32, 64]
  const bh = 8;
  compare(params({ a: randn(bh * 64 * 32, 14), b: randn(bh * 32 * 64, 15), c: new Float32Array(bh * 64 * 64), batch: bh,
    m: 64, n: 64, k: 32, aBatchStride: 64 * 32, bBatchStride: 32 * 64, cBatchStride: 64 * 64 }), 'attention-shaped batch');
});

test('gemm: decoding and beam shapes (m or n ≤ 16) on the unpacked paths', { skip }, () => {
  let seed = 100;
  for (const small of [1, 2, 3, 4, 8, 13, 16])
    for (const tA of [false, true])
      for (const tB of [false, true]) {
        single(small, 1000, 77, tA, tB, seed++);
        single(small, 37, 300, tA, tB, seed++, 0.5, 2);
        single(1000, small, 77, tA, tB, seed++);
        single(45, small, 300, tA, tB, seed++, 0.5, 2);
      }
});

test('gemm: sizes crossing the cache blocks and the thread split', { skip }, () => {
  let seed = 200;
  for (const tA of [false, true])
    for (const tB of [false, true]) {
      single(200, 70, 300, tA, tB, seed++, 1, 0.25); // k > KC, m > MC: accumulation across k blocks
      single(9, 2100, 5, tA, tB, seed++); // n > NC
      single(768, 65, 128, tA, tB, seed++); // lm_head-shaped: a 1-wide column tail
      single(128, 96, 768, tA, tB, seed++); // weight-gradient-shaped
    }
});
