import type { AttentionBackwardParams, AttentionParams } from '../backend.js';

/** True when query `i` may attend to key `j` of batch row `b`. */
function allowed(p: AttentionParams, b: number, i: number, j: number): boolean {
  if (p.causal && j > i + (p.tk - p.tq)) return false;
  if (p.keyPaddingMask && p.keyPaddingMask[b * p.tk + j] === 0) return false;
  return true;
}

/**
 * Reference fused attention forward (Vaswani et al. 2017 §3.2.1): one score
 * row at a time, max-subtracted, log-sum-exp kept for backward. A fully masked
 * row writes zeros and `lse = -Infinity`.
 */
export function attention(p: AttentionParams): void {
  const { q, k, v, out, lse, batch, heads, tq, tk, headDim: D, scale } = p;
  const s = new Float64Array(tk);
  const acc = new Float64Array(D);
  for (let b = 0; b < batch; b++) {
    for (let h = 0; h < heads; h++) {
      const bh = b * heads + h;
      const qBase = bh * tq * D;
      const kBase = bh * tk * D;
      for (let i = 0; i < tq; i++) {
        const qo = qBase + i * D;
        let mx = -Infinity;
        for (let j = 0; j < tk; j++) {
          if (!allowed(p, b, i, j)) {
            s[j] = -Infinity;
            continue;
          }
          const ko = kBase + j * D;
          let dot = 0;
          for (let d = 0; d < D; d++) dot += q[qo + d] * k[ko + d];
          s[j] = dot * scale;
          if (s[j] > mx) mx = s[j];
        }
        const oo = qBase + i * D;
        if (mx === -Infinity) {
          out.fill(0, oo, oo + D);
          lse[bh * tq + i] = -Infinity;
          continue;
        }
        let sum = 0;
        acc.fill(0);
        for (let j = 0; j < tk; j++) {
          if (s[j] === -Infinity) continue;
          const e = Math.exp(s[j] - mx);
          sum += e;
          const vo = kBase + j * D;
          for (let d = 0; d < D; d++) acc[d] += e * v[vo + d];
        }
        for (let d = 0; d < D; d++) out[oo + d] = acc[d] / sum;
        lse[bh * tq + i] = mx + Math.log(sum);
      }
    }
  }
}

/**
 * Reference attention backward (FlashAttention-2 style recomputation):
 * `P = exp(S − lse)`, `dV = Pᵀ·dO`, `dP = dO·Vᵀ`, `dS = P ⊙ (dP − rowsum(dO ⊙ O))`,
 * `dQ = scale·dS·K`, `dK = scale·dSᵀ·Q`.
 */
export function attentionBackward(p: AttentionBackwardParams): void {
  const { q, k, v, out, lse, dOut, dq, dk, dv, batch, heads, tq, tk, headDim: D, scale } = p;
  dq.fill(0);
  dk.fill(0);
  dv.fill(0);
  for (let b = 0; b < batch; b++) {
    for (let h = 0; h < heads; h++) {
      const bh = b * heads + h;
      const qBase = bh * tq * D;
      const kBase = bh * tk * D;
      for (let i = 0; i < tq; i++) {
        const l = lse[bh * tq + i];
        if (l === -Infinity) continue;
        const qo = qBase + i * D;
        let di = 0;
        for (let d = 0; d < D; d++) di += dOut[qo + d] * out[qo + d];
        for (let j = 0; j < tk; j++) {
          if (!allowed(p, b, i, j)) continue;
          const ko = kBase + j * D;
          let dot = 0;
          let dp = 0;
          for (let d = 0; d < D; d++) {
            dot += q[qo + d] * k[ko + d];
            dp += dOut[qo + d] * v[ko + d];
          }
          const pij = Math.exp(dot * scale - l);
          const ds = pij * (dp - di) * scale;
          for (let d = 0; d < D; d++) {
            dv[ko + d] += pij * dOut[qo + d];
            dq[qo + d] += ds * k[ko + d];
            dk[ko + d] += ds * q[qo + d];
          }
        }
      }
    }
  }
}
