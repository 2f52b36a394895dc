/**
 * The three ops the Llama family adds to the tensor engine, each one
 * differentiable node (forward and backward loops in float64 accumulation):
 * RMSNorm, rotary embeddings in the rotate-half layout, and SwiGLU's
 * `silu(gate) ⊙ up`.
 */
import { Tensor } from '../../tensor/index.js';
import { needsGrad, record } from '../../tensor/autograd.js';
import { allocF32, allocZeroF32 } from '../../tensor/pool.js';
import { ShapeError } from '../../errors.js';
import { getBackend } from '../../backend/index.js';

/**
 * Root-mean-square layer normalisation (Zhang & Sennrich 2019; transformers'
 * `LlamaRMSNorm`): `y = x / √(mean(x²) + eps) · weight` over the last axis.
 * @param x `[..., C]` float32
 * @param weight `[C]`
 * @returns `[..., C]`
 * @throws ShapeError when weight is not `[C]`
 */
export function rmsNorm(x: Tensor, weight: Tensor, eps: number): Tensor {
  const C = x.shape[x.shape.length - 1] ?? 0;
  if (weight.shape.length !== 1 || weight.shape[0] !== C) {
    throw new ShapeError(`rmsNorm: weight [${weight.shape.join(', ')}] does not match the last axis of input [${x.shape.join(', ')}] (expected [${C}])`);
  }
  const rows = C === 0 ? 0 : x.size / C;
  const xd = x.data as Float32Array;
  const wd = weight.data as Float32Array;
  const out = new Float32Array(x.size);
  const rstd = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    const o = r * C;
    let ss = 0;
    for (let j = 0; j < C; j++) ss += xd[o + j] * xd[o + j];
    const s = 1 / Math.sqrt(ss / C + eps);
    rstd[r] = s;
    for (let j = 0; j < C; j++) out[o + j] = Math.fround(xd[o + j] * s) * wd[j];
  }
  const res = new Tensor(out, x.shape);
  if (needsGrad(x, weight)) {
    // Closures keep flags and sizes, not the tensors (whose data would otherwise outlive the forward pass).
    const xGrad = x.requiresGrad;
    const wGrad = weight.requiresGrad;
    const xSize = x.size;
    record(res, [x, weight], (g) => {
      const dx = xGrad ? allocF32(xSize) : null;
      const dw = wGrad ? allocZeroF32(C) : null;
      const dwAcc = dw ? new Float64Array(C) : null;
      for (let r = 0; r < rows; r++) {
        const o = r * C;
        const s = rstd[r];
        if (dx) {
          let dot = 0;
          for (let j = 0; j < C; j++) dot += g[o + j] * wd[j] * xd[o + j];
          const k = (s * s * s * dot) / C;
          for (let j = 0; j < C; j++) dx[o + j] = s * g[o + j] * wd[j] - k * xd[o + j];
        }
        if (dwAcc) for (let j = 0; j < C; j++) dwAcc[j] += g[o + j] * xd[o + j] * s;
      }
      if (dw && dwAcc) for (let j = 0; j < C; j++) dw[j] = dwAcc[j]!;
      return [dx, dw];
    });
  }
  return res;
}

/**
 * Rotary embeddings in the rotate-half layout (transformers'
 * `apply_rotary_pos_emb`: `x·cos + rotate_half(x)·sin`, with
 * `rotate_half(x) = [−x₂, x₁]`): for `i < D/2`,
 * `y[i] = x[i]·cos[i] − x[i+D/2]·sin[i]`, `y[i+D/2] = x[i+D/2]·cos[i] + x[i]·sin[i]`.
 * @param x `[rows, heads, D]` (e.g. `[batch·seq, heads, headDim]`), float32
 * @param cos `[rows, D/2]` and `sin` `[rows, D/2]` (see `ropeTables`), one row per position
 * @returns same shape as x
 * @throws ShapeError when the tables do not cover x's rows
 */
export function applyRotary(x: Tensor, cos: Float32Array, sin: Float32Array): Tensor {
  if (x.shape.length !== 3) throw new ShapeError(`applyRotary: x must be [rows, heads, headDim], got [${x.shape.join(', ')}]`);
  const [rows, H, D] = x.shape as [number, number, number];
  const h = D / 2;
  if (cos.length !== rows * h || sin.length !== rows * h) {
    throw new ShapeError(`applyRotary: cos/sin hold ${cos.length}/${sin.length} values, expected rows·headDim/2 = ${rows * h}`);
  }
  const rotate = (src: Float32Array, dst: Float32Array, sign: number): void => {
    for (let r = 0; r < rows; r++) {
      const t = r * h;
      for (let hh = 0; hh < H; hh++) {
        const o = (r * H + hh) * D;
        for (let i = 0; i < h; i++) {
          const c = cos[t + i];
          const s = sign * sin[t + i];
          const a = src[o + i];
          const b = src[o + i + h];
          dst[o + i] = a * c - b * s;
          dst[o + i + h] = b * c + a * s;
        }
      }
    }
  };
  const out = new Float32Array(x.size);
  rotate(x.data as Float32Array, out, 1);
  const res = new Tensor(out, x.shape);
  if (needsGrad(x)) {
    // The rotation is orthogonal: its adjoint rotates by the opposite angle.
    const xSize = x.size;
    record(res, [x], (g) => {
      const dx = allocF32(xSize);
      rotate(g, dx, -1);
      return [dx];
    });
  }
  return res;
}

/**
 * SwiGLU's gated activation (Shazeer 2020): `silu(gate) ⊙ up`, where
 * `silu(z) = z·σ(z)` (transformers' `act_fn(gate_proj(x)) * up_proj(x)`).
 * @param gate `[..., I]`, up the same shape
 * @returns `[..., I]`
 * @throws ShapeError when the shapes differ
 */
export function siluMul(gate: Tensor, up: Tensor): Tensor {
  if (gate.size !== up.size || gate.shape.join() !== up.shape.join()) {
    throw new ShapeError(`siluMul: gate [${gate.shape.join(', ')}] and up [${up.shape.join(', ')}] must have the same shape`);
  }
  const gd = gate.data as Float32Array;
  const ud = up.data as Float32Array;
  const n = gate.size;
  // σ(gate) on the backend's vectorised kernel, straight into the output (recomputed in the backward: one buffer less to keep).
  const out = new Float32Array(n);
  getBackend().unary('sigmoid', gd, out, n);
  for (let i = 0; i < n; i++) out[i] = gd[i] * out[i] * ud[i];
  const res = new Tensor(out, gate.shape);
  if (needsGrad(gate, up)) {
    const upGrad = up.requiresGrad;
    const gateGrad = gate.requiresGrad;
    record(res, [gate, up], (g) => {
      const sig = allocF32(n);
      getBackend().unary('sigmoid', gd, sig, n);
      let du: Float32Array | null = null;
      if (upGrad) {
        du = allocF32(n);
        for (let i = 0; i < n; i++) du[i] = g[i] * gd[i] * sig[i];
      }
      if (gateGrad) {
        // dσ-weighted: d/dz [z·σ(z)] = σ(z)·(1 + z·(1 − σ(z))), written over σ in place.
        for (let i = 0; i < n; i++) {
          const sg = sig[i];
          sig[i] = g[i] * ud[i] * sg * (1 + gd[i] * (1 - sg));
        }
        return [sig, du];
      }
      return [null, du];
    });
  }
  return res;
}
