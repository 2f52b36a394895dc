/**
 * attentionProbe against an independent float64 GPT-2 forward pass written
 * with plain loops from the state dict (HF GPT2Model semantics: pre-LN blocks,
 * Conv1D [in, out] weights, gelu_new, softmax(QKᵀ/√d) with a causal mask).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GPT } from '../../src/models/gpt2/model.js';
import { attentionProbe } from '../../src/models/gpt2/attention-probe.js';
import { ShapeError } from '../../src/errors.js';

const cfg = { vocab_size: 23, n_positions: 16, n_embd: 12, n_layer: 3, n_head: 3, resid_pdrop: 0, embd_pdrop: 0, attn_pdrop: 0 };

function makeModel(): GPT {
  const model = new GPT(cfg, { seed: 7 });
  // Sharpen the attention: with init-scale weights every head is nearly uniform, which would not test much.
  for (const [name, t] of model.stateDict()) {
    if (name.endsWith('attn.c_attn.weight')) {
      const d = t.data as Float32Array;
      for (let i = 0; i < d.length; i++) d[i] = d[i] * 25;
    }
  }
  return model;
}

function referenceAttention(model: GPT, ids: number[]): number[][][][] {
  const sd = model.stateDict();
  const w = (n: string): Float32Array => sd.get(n)!.data as Float32Array;
  const C = cfg.n_embd;
  const H = cfg.n_head;
  const D = C / H;
  const T = ids.length;
  const eps = 1e-5;
  const wte = w('transformer.wte.weight');
  const wpe = w('transformer.wpe.weight');
  let h = ids.map((id, t) => Array.from({ length: C }, (_, c) => wte[id * C + c] + wpe[t * C + c]));
  const ln = (x: number[], g: Float32Array, b: Float32Array): number[] => {
    const mu = x.reduce((s, v) => s + v, 0) / x.length;
    const v = x.reduce((s, u) => s + (u - mu) ** 2, 0) / x.length;
    return x.map((u, i) => ((u - mu) / Math.sqrt(v + eps)) * g[i] + b[i]);
  };
  const conv = (x: number[], W: Float32Array, b: Float32Array, nOut: number): number[] =>
    Array.from({ length: nOut }, (_, o) => x.reduce((s, u, i) => s + u * W[i * nOut + o], b[o]));
  const geluNew = (u: number): number => 0.5 * u * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (u + 0.044715 * u ** 3)));
  const out: number[][][][] = [];
  for (let l = 0; l < cfg.n_layer; l++) {
    const p = `transformer.h.${l}.`;
    const qkv = h.map((x) => conv(ln(x, w(p + 'ln_1.weight'), w(p + 'ln_1.bias')), w(p + 'attn.c_attn.weight'), w(p + 'attn.c_attn.bias'), 3 * C));
    const layer: number[][][] = [];
    const y = h.map(() => new Array<number>(C).fill(0));
    for (let hd = 0; hd < H; hd++) {
      const rows: number[][] = [];
      for (let i = 0; i < T; i++) {
        const s = Array.from({ length: T }, (_, j) => {
          if (j > i) return -Infinity;
          let dot = 0;
          for (let d = 0; d < D; d++) dot += qkv[i][hd * D + d] * qkv[j][C + hd * D + d];
          return dot / Math.sqrt(D);
        });
        const m = Math.max(...s);
        const e = s.map((v) => Math.exp(v - m));
        const z = e.reduce((a, b) => a + b, 0);
        const a = e.map((v) => v / z);
        rows.push(a);
        for (let j = 0; j <= i; j++) for (let d = 0; d < D; d++) y[i][hd * D + d] += a[j] * qkv[j][2 * C + hd * D + d];
      }
      layer.push(rows);
    }
    out.push(layer);
    h = h.map((x, i) => {
      const o = conv(y[i], w(p + 'attn.c_proj.weight'), w(p + 'attn.c_proj.bias'), C);
      return x.map((u, c) => u + o[c]);
    });
    h = h.map((x) => {
      const f = conv(ln(x, w(p + 'ln_2.weight'), w(p + 'ln_2.bias')), w(p + 'mlp.c_fc.weight'), w(p + 'mlp.c_fc.bias'), 4 * C).map(geluNew);
      const o = conv(f, w(p + 'mlp.c_proj.weight'), w(p + 'mlp.c_proj.bias'), C);
      return x.map((u, c) => u + o[c]);
    });
  }
  return out;
}

test('attentionProbe matches an independent float64 GPT-2 forward pass, every layer and head', () => {
  const model = makeModel();
  const ids = [3, 17, 0, 22, 5, 5, 9, 11, 2];
  const maps = attentionProbe(model, ids);
  const ref = referenceAttention(model, ids);
  assert.equal(maps.nLayer, 3);
  assert.equal(maps.nHead, 3);
  assert.equal(maps.seqLen, ids.length);
  const T = ids.length;
  let maxErr = 0;
  let peaky = 0;
  for (let l = 0; l < 3; l++) {
    for (let h = 0; h < 3; h++) {
      for (let i = 0; i < T; i++) {
        let rowSum = 0;
        for (let j = 0; j < T; j++) {
          const got = maps.weights[l][(h * T + i) * T + j];
          rowSum += got;
          maxErr = Math.max(maxErr, Math.abs(got - ref[l][h][i][j]));
          if (j > i) assert.equal(got, 0, 'no attention to future positions');
          if (got > 0.9 && i > 0) peaky++;
        }
        assert.ok(Math.abs(rowSum - 1) < 1e-5, `row ${i} sums to ${rowSum}`);
      }
    }
  }
  assert.ok(maxErr < 1e-4, `max abs error ${maxErr}`);
  assert.ok(peaky > 0, 'the sharpened model has some peaked heads (the test would not catch a uniform answer otherwise)');
});

test('attentionProbe restores training mode and rejects bad input', () => {
  const model = makeModel();
  model.train();
  attentionProbe(model, [1, 2]);
  assert.equal(model.training, true);
  assert.throws(() => attentionProbe(model, []), ShapeError);
  assert.throws(() => attentionProbe(model, new Array(17).fill(1)), /n_positions/);
  assert.throws(() => attentionProbe(model, [23]), /vocabulary/);
});
