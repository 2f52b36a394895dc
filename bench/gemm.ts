/**
 * GEMM throughput: `npm run bench -- gemm [--seconds S] [--threads N] [--no-numpy] [--backoff]`.
 *
 * Prints one JSON line per (case, backend):
 * `{"bench":"gemm","backend":"native"|"js"|"numpy","m","n","k","transA","transB","gflops","pctPeak"}`
 * for square 256/512/1024 products, the transformer-shaped products of a
 * small GPT training step (forward `x·W`, and the two backward layouts
 * `dX = dY·Wᵀ` (transB) and `dW = Xᵀ·dY` (transA)), and a few decoding-sized
 * (skinny) ones; plus `{"bench":"fma-peak","gflops"}`, the register-only FMA
 * ceiling measured in the same run (pctPeak is relative to it). numpy
 * (OpenBLAS) runs in one python3 subprocess when numpy is importable; the js
 * backend only for 256³ (it is slow). Each figure is the best of many short
 * timing samples (≥ 0.3 ms each, for about S seconds per case): on a shared
 * machine a sample that no other process interrupted shows what the kernel
 * does, where an average would mostly measure the other processes. The FMA
 * peak is measured the same way.
 */
import { spawnSync } from 'node:child_process';
import { jsBackend } from '../src/backend/js/index.js';
import type { Backend, GemmParams } from '../src/backend/backend.js';
import { loadNativeAddon, loadNativeBackend, nativeLoadError } from '../src/backend/native.js';

interface Case {
  m: number;
  n: number;
  k: number;
  transA: boolean;
  transB: boolean;
  /** Where the shape comes from, for the reader of the JSON. */
  label: string;
}

/** Forward `[M,K]·[K,N]` and its two backward products (dX = dY·Wᵀ, dW = Xᵀ·dY). */
function withBackward(M: number, K: number, N: number, label: string): Case[] {
  return [
    { m: M, n: N, k: K, transA: false, transB: false, label: `${label} forward` },
    { m: M, n: K, k: N, transA: false, transB: true, label: `${label} dX` },
    { m: K, n: N, k: M, transA: true, transB: false, label: `${label} dW` },
  ];
}

export const CASES: Case[] = [
  { m: 256, n: 256, k: 256, transA: false, transB: false, label: 'square' },
  { m: 512, n: 512, k: 512, transA: false, transB: false, label: 'square' },
  { m: 1024, n: 1024, k: 1024, transA: false, transB: false, label: 'square' },
  ...withBackward(768, 128, 512, 'mlp up 768x128·128x512'),
  ...withBackward(768, 512, 128, 'mlp down 768x512·512x128'),
  ...withBackward(768, 128, 384, 'qkv 768x128·128x384'),
  ...withBackward(768, 128, 128, 'proj 768x128·128x128'),
  ...withBackward(768, 128, 65, 'lm_head 768x128·128x65'),
  { m: 768, n: 65, k: 128, transA: false, transB: true, label: 'lm_head tied (x·Wteᵀ)' },
  { m: 1, n: 384, k: 128, transA: false, transB: false, label: 'decode qkv' },
  { m: 1, n: 2304, k: 768, transA: false, transB: true, label: 'decode GPT-2 qkv (Linear layout)' },
  { m: 8, n: 512, k: 128, transA: false, transB: false, label: 'decode 8 beams' },
];

const SAMPLE_S = 3e-4;

function flopsOf(c: Case): number {
  return 2 * c.m * c.n * c.k;
}

/** Best GFLOP/s over timing samples of ≥ SAMPLE_S seconds each, for about totalS seconds. */
function timeBackend(be: Backend, c: Case, totalS: number): number {
  const a = new Float32Array(c.m * c.k).map(() => Math.random() - 0.5);
  const b = new Float32Array(c.k * c.n).map(() => Math.random() - 0.5);
  const p: GemmParams = {
    a, b, c: new Float32Array(c.m * c.n), batch: 1, m: c.m, n: c.n, k: c.k, transA: c.transA, transB: c.transB,
    alpha: 1, beta: 0, aOffset: 0, bOffset: 0, cOffset: 0, aBatchStride: 0, bBatchStride: 0, cBatchStride: 0,
  };
  be.gemm(p); // warm-up: page in, grow packing buffers, wake threads
  const sampleS = SAMPLE_S;
  let reps = 1;
  let best = Infinity;
  const end = performance.now() + totalS * 1000;
  while (performance.now() < end || best === Infinity) {
    const t0 = performance.now();
    for (let r = 0; r < reps; r++) be.gemm(p);
    const dt = (performance.now() - t0) / 1000;
    if (dt < sampleS && reps < 1 << 20) {
      reps *= 2;
      continue;
    }
    best = Math.min(best, dt / reps);
  }
  return flopsOf(c) / best / 1e9;
}

const NUMPY_SCRIPT = String.raw`
import json, sys, time
import numpy as np
cases = json.loads(sys.stdin.read())
total = float(sys.argv[1])
rng = np.random.default_rng(0)
for c in cases:
    m, n, k = c["m"], c["n"], c["k"]
    a = (rng.random((k, m) if c["transA"] else (m, k), dtype=np.float32) - 0.5)
    b = (rng.random((n, k) if c["transB"] else (k, n), dtype=np.float32) - 0.5)
    A = a.T if c["transA"] else a
    B = b.T if c["transB"] else b
    out = np.empty((m, n), dtype=np.float32)
    np.matmul(A, B, out=out)
    best, reps = float("inf"), 1
    end = time.perf_counter() + total
    sample = 3e-4
    while time.perf_counter() < end or best == float("inf"):
        t0 = time.perf_counter()
        for _ in range(reps):
            np.matmul(A, B, out=out)
        dt = time.perf_counter() - t0
        if dt < sample and reps < (1 << 20):
            reps *= 2
            continue
        best = min(best, dt / reps)
    print(json.dumps({"m": m, "n": n, "k": k, "gflops": 2.0 * m * n * k / best / 1e9}), flush=True)
`;

/** numpy's figures, keyed `m,n,k,tA,tB`, or null when no python3 with numpy is found. */
function numpyFigures(cases: Case[], totalS: number, threads: number | null): Map<string, number> | null {
  // OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE may be set machine-wide and pin
  // OpenBLAS to a slower kernel: drop them for this subprocess only.
  const env = { ...process.env };
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  if (threads !== null) env.OPENBLAS_NUM_THREADS = env.OMP_NUM_THREADS = String(threads);
  for (const py of ['python3', '/usr/bin/python3']) {
    const probe = spawnSync(py, ['-c', 'import numpy'], { env, stdio: 'ignore' });
    if (probe.status !== 0) continue;
    const res = spawnSync(py, ['-c', NUMPY_SCRIPT, String(totalS)], {
      env,
      input: JSON.stringify(cases),
      encoding: 'utf8',
      maxBuffer: 1 << 24,
    });
    if (res.status !== 0) {
      process.stderr.write(`gemm bench: numpy run failed: ${res.stderr}\n`);
      return null;
    }
    const out = new Map<string, number>();
    const lines = res.stdout.trim().split('\n');
    lines.forEach((line, i) => {
      const r = JSON.parse(line) as { gflops: number };
      const c = cases[i];
      out.set(`${c.m},${c.n},${c.k},${c.transA},${c.transB}`, r.gflops);
    });
    return out;
  }
  return null;
}

function round1(x: number): number {
  return Math.round(x * 10) / 10;
}

export default async function main(args: string[]): Promise<void> {
  // The native kernels drop to one thread for a while when a second one keeps
  // arriving late (a shared, oversubscribed machine). Here the question is what
  // the 2-thread kernel does, so that back-off is off unless --backoff is given.
  if (!args.includes('--backoff')) process.env.MUSE_NATIVE_BACKOFF = '0';
  // Bind the two OpenMP threads to the two cores (read by libgomp when the
  // addon loads, below). Unbound, Linux's wake-affine placement can queue the
  // worker behind the caller on one busy core, and every region then waits a
  // scheduler slice: on a loaded machine that, not the kernel, is measured.
  process.env.OMP_PROC_BIND ??= 'true';
  const secIdx = args.indexOf('--seconds');
  const totalS = secIdx >= 0 ? Number(args[secIdx + 1]) : 0.4;
  const withNumpy = !args.includes('--no-numpy');
  const thrIdx = args.indexOf('--threads');
  const threads = thrIdx >= 0 ? Number(args[thrIdx + 1]) : null;
  const addon = loadNativeAddon();
  if (addon && threads !== null) addon.setThreads(threads);
  const native = loadNativeBackend();
  if (!addon || !native) {
    process.stderr.write(`gemm bench: native addon not available (${nativeLoadError() ?? '?'}); build it with \`node scripts/build-native.mjs\`\n`);
  }
  const info = addon?.info();
  const peakStart = addon ? addon.fmaPeak(0.5) : NaN;
  const results: { c: Case; backend: string; gflops: number }[] = [];
  for (const c of CASES) {
    if (native) results.push({ c, backend: 'native', gflops: timeBackend(native, c, totalS) });
    if (c.m === 256 && c.n === 256 && c.k === 256) results.push({ c, backend: 'js', gflops: timeBackend(jsBackend, c, Math.max(totalS, 1)) });
  }
  const np = withNumpy ? numpyFigures(CASES, totalS, threads) : null;
  if (np) for (const c of CASES) results.push({ c, backend: 'numpy', gflops: np.get(`${c.m},${c.n},${c.k},${c.transA},${c.transB}`) ?? NaN });
  // The ceiling is measured before and after: background load only lowers it,
  // so the larger reading is the fairer denominator.
  const peakEnd = addon ? addon.fmaPeak(0.5) : NaN;
  const peak = Math.max(peakStart, peakEnd);
  console.log(
    JSON.stringify({
      bench: 'fma-peak',
      gflops: round1(peak),
      threads: info?.threads ?? null,
      isa: info?.isa ?? null,
      gemmKernel: info?.gemmKernel ?? null,
      procBind: process.env.OMP_PROC_BIND,
      backoff: process.env.MUSE_NATIVE_BACKOFF !== '0',
    }),
  );
  for (const r of results) {
    console.log(
      JSON.stringify({
        bench: 'gemm',
        backend: r.backend,
        m: r.c.m,
        n: r.c.n,
        k: r.c.k,
        transA: r.c.transA,
        transB: r.c.transB,
        gflops: round1(r.gflops),
        pctPeak: Number.isFinite(peak) ? round1((100 * r.gflops) / peak) : null,
        label: r.c.label,
      }),
    );
  }
}
