import type { F32, I32 } from '../backend.js';

/** Row-wise softmax over `[rows, cols]` with max subtraction and a float64 sum. */
export function softmax(x: F32, out: F32, rows: number, cols: number): void {
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    let mx = -Infinity;
    for (let j = 0; j < cols; j++) if (x[o + j] > mx) mx = x[o + j];
    let s = 0;
    for (let j = 0; j < cols; j++) {
      const e = Math.exp(x[o + j] - mx);
      out[o + j] = e;
      s += e;
    }
    const inv = 1 / s;
    for (let j = 0; j < cols; j++) out[o + j] *= inv;
  }
}

/** `dx = y ⊙ (dy − Σ dy⊙y)` per row. */
export function softmaxBackward(y: F32, dy: F32, dx: F32, rows: number, cols: number): void {
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    let dot = 0;
    for (let j = 0; j < cols; j++) dot += dy[o + j] * y[o + j];
    for (let j = 0; j < cols; j++) dx[o + j] = y[o + j] * (dy[o + j] - dot);
  }
}

/** Row-wise log-softmax: `x − max − log Σ exp(x − max)`. */
export function logSoftmax(x: F32, out: F32, rows: number, cols: number): void {
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    let mx = -Infinity;
    for (let j = 0; j < cols; j++) if (x[o + j] > mx) mx = x[o + j];
    let s = 0;
    for (let j = 0; j < cols; j++) s += Math.exp(x[o + j] - mx);
    const lse = mx + Math.log(s);
    for (let j = 0; j < cols; j++) out[o + j] = x[o + j] - lse;
  }
}

/** `dx = dy − exp(y)·Σ dy` per row, `y` the log-softmax output. */
export function logSoftmaxBackward(y: F32, dy: F32, dx: F32, rows: number, cols: number): void {
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    let s = 0;
    for (let j = 0; j < cols; j++) s += dy[o + j];
    for (let j = 0; j < cols; j++) dx[o + j] = dy[o + j] - Math.exp(y[o + j]) * s;
  }
}

/** LayerNorm forward over the last axis, biased variance (PyTorch `F.layer_norm`). */
export function layerNorm(
  x: F32,
  weight: F32 | null,
  bias: F32 | null,
  out: F32,
  mean: F32,
  rstd: F32,
  rows: number,
  cols: number,
  eps: number,
): void {
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    let s = 0;
    for (let j = 0; j < cols; j++) s += x[o + j];
    const mu = s / cols;
    let v = 0;
    for (let j = 0; j < cols; j++) {
      const d = x[o + j] - mu;
      v += d * d;
    }
    const rs = 1 / Math.sqrt(v / cols + eps);
    mean[r] = mu;
    rstd[r] = rs;
    for (let j = 0; j < cols; j++) {
      let y = (x[o + j] - mu) * rs;
      if (weight) y *= weight[j];
      if (bias) y += bias[j];
      out[o + j] = y;
    }
  }
}

/**
 * LayerNorm backward: `dx = rstd·(ĝ − mean(ĝ) − x̂·mean(ĝ⊙x̂))` with `ĝ = dy⊙weight`
 * (overwrites `dx`); accumulates `dWeight += Σ dy⊙x̂`, `dBias += Σ dy`.
 */
export function layerNormBackward(
  dy: F32,
  x: F32,
  weight: F32 | null,
  mean: F32,
  rstd: F32,
  dx: F32,
  dWeight: F32 | null,
  dBias: F32 | null,
  rows: number,
  cols: number,
): void {
  const dw = dWeight ? new Float64Array(cols) : null;
  const db = dBias ? new Float64Array(cols) : null;
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    const mu = mean[r];
    const rs = rstd[r];
    let sumG = 0;
    let sumGX = 0;
    for (let j = 0; j < cols; j++) {
      const xh = (x[o + j] - mu) * rs;
      const g = weight ? dy[o + j] * weight[j] : dy[o + j];
      sumG += g;
      sumGX += g * xh;
      if (dw) dw[j] += dy[o + j] * xh;
      if (db) db[j] += dy[o + j];
    }
    const mG = sumG / cols;
    const mGX = sumGX / cols;
    for (let j = 0; j < cols; j++) {
      const xh = (x[o + j] - mu) * rs;
      const g = weight ? dy[o + j] * weight[j] : dy[o + j];
      dx[o + j] = rs * (g - mG - xh * mGX);
    }
  }
  if (dWeight && dw) for (let j = 0; j < cols; j++) dWeight[j] += dw[j];
  if (dBias && db) for (let j = 0; j < cols; j++) dBias[j] += db[j];
}

/** Row gather `out[i, :] = weight[ids[i], :]`. */
export function embedding(weight: F32, ids: I32, out: F32, n: number, dim: number): void {
  for (let i = 0; i < n; i++) {
    const src = ids[i] * dim;
    out.set(weight.subarray(src, src + dim), i * dim);
  }
}

/** Scatter-add `dWeight[ids[i], :] += dOut[i, :]`. */
export function embeddingBackward(dOut: F32, ids: I32, dWeight: F32, n: number, dim: number): void {
  for (let i = 0; i < n; i++) {
    const dst = ids[i] * dim;
    const src = i * dim;
    for (let j = 0; j < dim; j++) dWeight[dst + j] += dOut[src + j];
  }
}

/**
 * Per-row cross-entropy with label smoothing ε, PyTorch semantics:
 * `loss = (1−ε)·(lse − x[t]) + ε·(lse − mean(x))`; ignored rows give 0.
 * @returns the number of non-ignored rows
 */
export function crossEntropy(
  logits: F32,
  targets: I32,
  losses: F32,
  lse: F32,
  rows: number,
  classes: number,
  ignoreIndex: number,
  labelSmoothing: number,
): number {
  let count = 0;
  for (let r = 0; r < rows; r++) {
    const o = r * classes;
    let mx = -Infinity;
    for (let j = 0; j < classes; j++) if (logits[o + j] > mx) mx = logits[o + j];
    let s = 0;
    let sumX = 0;
    for (let j = 0; j < classes; j++) {
      s += Math.exp(logits[o + j] - mx);
      sumX += logits[o + j];
    }
    const l = mx + Math.log(s);
    lse[r] = l;
    const t = targets[r];
    if (t === ignoreIndex) {
      losses[r] = 0;
      continue;
    }
    count++;
    const nll = l - logits[o + t];
    losses[r] = labelSmoothing === 0 ? nll : (1 - labelSmoothing) * nll + labelSmoothing * (l - sumX / classes);
  }
  return count;
}

/** `dLogits[r, :] = rowScale[r]·(softmax(logits[r]) − target_dist)`, zero on ignored rows. */
export function crossEntropyBackward(
  logits: F32,
  targets: I32,
  lse: F32,
  rowScale: F32,
  dLogits: F32,
  rows: number,
  classes: number,
  ignoreIndex: number,
  labelSmoothing: number,
): void {
  const off = labelSmoothing / classes;
  for (let r = 0; r < rows; r++) {
    const o = r * classes;
    const t = targets[r];
    if (t === ignoreIndex) {
      dLogits.fill(0, o, o + classes);
      continue;
    }
    const sc = rowScale[r];
    const l = lse[r];
    for (let j = 0; j < classes; j++) dLogits[o + j] = sc * (Math.exp(logits[o + j] - l) - off);
    dLogits[o + t] -= sc * (1 - labelSmoothing);
  }
}
