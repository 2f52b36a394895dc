/**
 * Finite-difference gradient check for the autograd tests.
 *
 * The scalar probed is `L = Σ f(inputs) ⊙ R` with a fixed random `R`, so every
 * output element contributes with a different weight (a plain sum would hide
 * errors that cancel, e.g. in softmax). Analytic gradients come from
 * `backward()`; numeric ones from central differences
 * `(L(x + ε) − L(x − ε)) / 2ε`, with L summed in float64 from the float32
 * forward. With ε = 1e-2 on O(1) inputs the truncation error is O(ε²) and the
 * float32 round-off O(1e-7·|L|/ε), both far below the tolerance, while a wrong
 * formula is off by O(1).
 */
import assert from 'node:assert/strict';
import { Generator, Tensor, noGrad } from '../../src/tensor/index.js';

export interface GradCheckOptions {
  eps?: number;
  atol?: number;
  rtol?: number;
  /** Indices of the inputs whose gradient is checked (default: every float32 input). */
  wrt?: number[];
  seed?: number;
}

function weightedSum(out: Tensor, r: Float32Array): number {
  let s = 0;
  for (let i = 0; i < r.length; i++) s += out.data[i] * r[i];
  return s;
}

/** Assert that autograd matches central differences for `fn` at `inputs`. */
export function gradcheck(name: string, fn: (...xs: Tensor[]) => Tensor, inputs: Tensor[], opts: GradCheckOptions = {}): void {
  const eps = opts.eps ?? 1e-2;
  const atol = opts.atol ?? 2e-3;
  const rtol = opts.rtol ?? 1e-2;
  const wrt = opts.wrt ?? inputs.map((t, i) => (t.dtype === 'float32' ? i : -1)).filter((i) => i >= 0);
  for (const t of inputs) {
    t.grad = null;
    t.requiresGrad = false;
  }
  for (const i of wrt) inputs[i].requiresGrad = true;
  const out = fn(...inputs);
  const gen = new Generator(opts.seed ?? 7);
  const r = new Float32Array(out.size);
  for (let i = 0; i < r.length; i++) r[i] = gen.random() * 2 - 1;
  out.backward(new Tensor(r.slice(), out.shape));
  for (const i of wrt) {
    const x = inputs[i];
    const d = x.data as Float32Array;
    const analytic = x.grad ? (x.grad.data as Float32Array) : new Float32Array(d.length);
    for (let j = 0; j < d.length; j++) {
      const orig = d[j];
      d[j] = orig + eps;
      const lp = noGrad(() => weightedSum(fn(...inputs), r));
      d[j] = orig - eps;
      const lm = noGrad(() => weightedSum(fn(...inputs), r));
      d[j] = orig;
      const numeric = (lp - lm) / (2 * eps);
      const err = Math.abs(analytic[j] - numeric);
      assert.ok(
        err <= atol + rtol * Math.abs(numeric),
        `${name}: d/d(input ${i})[${j}] analytic ${analytic[j]} vs numeric ${numeric} (|err| ${err.toExponential(2)})`,
      );
    }
  }
  for (const t of inputs) {
    t.grad = null;
    t.requiresGrad = false;
  }
}

/** Seeded normal tensor (scaled), for test inputs. */
export function rnd(shape: number[], seed: number, scale = 1): Tensor {
  const g = new Generator(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  const d = new Float32Array(n);
  for (let i = 0; i < n; i++) d[i] = g.normal() * scale;
  return new Tensor(d, shape);
}

/** Seeded uniform tensor in [lo, hi). */
export function uni(shape: number[], seed: number, lo: number, hi: number): Tensor {
  const g = new Generator(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  const d = new Float32Array(n);
  for (let i = 0; i < n; i++) d[i] = lo + (hi - lo) * g.random();
  return new Tensor(d, shape);
}

/** Assert two arrays agree elementwise within atol + rtol·|expected|. */
export function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, atol = 1e-5, rtol = 1e-5, what = 'value'): void {
  assert.equal(actual.length, expected.length, `${what}: length ${actual.length} vs ${expected.length}`);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i];
    const e = expected[i];
    if (Number.isNaN(e)) {
      assert.ok(Number.isNaN(a), `${what}[${i}]: expected NaN, got ${a}`);
      continue;
    }
    if (!Number.isFinite(e)) {
      assert.equal(a, e, `${what}[${i}]`);
      continue;
    }
    assert.ok(Math.abs(a - e) <= atol + rtol * Math.abs(e), `${what}[${i}]: ${a} vs expected ${e}`);
  }
}
