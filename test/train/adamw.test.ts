import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { AdamW, defaultNoDecay, nanoGptNoDecay } from '../../src/train/adamw.js';
import { clipGradNorm } from '../../src/train/clip.js';
import type { NamedParameter, TrainableParameter } from '../../src/train/parameter.js';
import { getBackend, jsBackend } from '../../src/backend/index.js';
import type { Backend } from '../../src/backend/backend.js';
import { ConfigError, FileFormatError, ShapeError } from '../../src/errors.js';

interface StepFx {
  lr: number;
  grads: Record<string, number[] | null>;
  norm: number;
  params: Record<string, number[]>;
  state: Record<string, { exp_avg: number[]; exp_avg_sq: number[]; step: number }>;
}
interface Fixture {
  adamw: {
    shapes: Record<string, number[]>;
    decay: string[];
    hyper: { beta1: number; beta2: number; eps: number; weight_decay: number; max_norm: number };
    initial: Record<string, number[]>;
    steps: StepFx[];
  };
}
const fx = JSON.parse(readFileSync(new URL('../fixtures/train/train_fixtures.json', import.meta.url), 'utf8')) as Fixture;

function param(shape: number[], values?: ArrayLike<number>): TrainableParameter {
  const n = shape.reduce((a, b) => a * b, 1);
  return { shape, data: values ? Float32Array.from(values) : new Float32Array(n), grad: null };
}

const backends: Backend[] = getBackend().name === 'js' ? [jsBackend] : [jsBackend, getBackend()];

test('default no-decay rule: biases, LayerNorm and embeddings are exempt, other matrices decay', () => {
  const p = (shape: number[]) => param(shape);
  const noDecay = (name: string, shape: number[]) => defaultNoDecay(name, p(shape));
  // GPT-2 (HF names)
  assert.equal(noDecay('transformer.wte.weight', [65, 128]), true);
  assert.equal(noDecay('transformer.wpe.weight', [64, 128]), true);
  assert.equal(noDecay('transformer.h.0.ln_1.weight', [128]), true);
  assert.equal(noDecay('transformer.h.0.ln_1.bias', [128]), true);
  assert.equal(noDecay('transformer.h.0.attn.c_attn.bias', [384]), true);
  assert.equal(noDecay('transformer.h.0.attn.c_attn.weight', [128, 384]), false);
  assert.equal(noDecay('transformer.h.3.mlp.c_proj.weight', [512, 128]), false);
  assert.equal(noDecay('lm_head.weight', [65, 128]), false); // an untied head is a matrix like any other
  // BERT / BART names
  assert.equal(noDecay('bert.embeddings.word_embeddings.weight', [30522, 768]), true);
  assert.equal(noDecay('bert.embeddings.position_embeddings.weight', [512, 768]), true);
  assert.equal(noDecay('bert.embeddings.token_type_embeddings.weight', [2, 768]), true);
  assert.equal(noDecay('bert.encoder.layer.0.attention.self.query.weight', [768, 768]), false);
  assert.equal(noDecay('model.shared.weight', [100, 16]), true);
  assert.equal(noDecay('model.encoder.embed_tokens.weight', [100, 16]), true);
  // nanoGPT's real rule decays embeddings
  assert.equal(nanoGptNoDecay('transformer.wte.weight', p([65, 128])), false);
  assert.equal(nanoGptNoDecay('transformer.h.0.ln_1.weight', p([128])), true);
});

test('AdamW groups follow the rule and the custom noDecay option', () => {
  const params: NamedParameter[] = [
    ['transformer.wte.weight', param([4, 2])],
    ['transformer.h.0.mlp.c_fc.weight', param([2, 8])],
    ['transformer.h.0.mlp.c_fc.bias', param([8])],
  ];
  assert.deepEqual(new AdamW(params).groups(), {
    decay: ['transformer.h.0.mlp.c_fc.weight'],
    noDecay: ['transformer.wte.weight', 'transformer.h.0.mlp.c_fc.bias'],
  });
  assert.deepEqual(new AdamW(params, { noDecay: nanoGptNoDecay }).groups().decay, ['transformer.wte.weight', 'transformer.h.0.mlp.c_fc.weight']);
  assert.throws(() => new AdamW(params, { beta2: 1 }), ConfigError);
  assert.throws(() => new AdamW(params, { eps: 0 }), ConfigError);
  assert.throws(() => new AdamW([...params, params[0]]), /twice/);
  assert.throws(() => new AdamW([['ids', { shape: [2], data: new Int32Array(2), grad: null }]]), ShapeError);
});

/** PyTorch AdamW for one tensor, in float64 (written from torch/optim/adamw.py `_single_tensor_adamw`). */
function referenceAdamW(p: Float64Array, g: Float64Array, m: Float64Array, v: Float64Array, t: number, lr: number, b1: number, b2: number, eps: number, wd: number): void {
  for (let i = 0; i < p.length; i++) {
    p[i] *= 1 - lr * wd;
    m[i] = m[i] * b1 + (1 - b1) * g[i];
    v[i] = v[i] * b2 + (1 - b2) * g[i] * g[i];
    const mHat = m[i] / (1 - b1 ** t);
    const vHat = v[i] / (1 - b2 ** t);
    p[i] -= (lr * mHat) / (Math.sqrt(vHat) + eps);
  }
}

test('AdamW matches a float64 hand reference over 6 steps (decay and no-decay groups, gradScale)', () => {
  for (const backend of backends) {
    const n = 12;
    const w0 = Array.from({ length: n }, (_, i) => Math.sin(i + 1));
    const b0 = Array.from({ length: 3 }, (_, i) => Math.cos(i + 1));
    const w = param([3, 4], w0);
    const b = param([3], b0);
    const opt = new AdamW([['layer.weight', w], ['layer.bias', b]], { beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: 0.1, backend });
    const rw = Float64Array.from(w.data);
    const rb = Float64Array.from(b.data);
    const mw = new Float64Array(n), vw = new Float64Array(n), mb = new Float64Array(3), vb = new Float64Array(3);
    for (let t = 1; t <= 6; t++) {
      const gw = Float32Array.from({ length: n }, (_, i) => Math.sin(7 * t + 3 * i) * 0.5);
      const gb = Float32Array.from({ length: 3 }, (_, i) => Math.cos(5 * t + i));
      w.grad = { data: gw };
      b.grad = { data: gb };
      const lr = 1e-2 * t;
      const scale = t === 2 ? 0.25 : 1;
      opt.step(lr, scale);
      referenceAdamW(rw, Float64Array.from(gw, (x) => x * scale), mw, vw, t, lr, 0.9, 0.99, 1e-8, 0.1);
      referenceAdamW(rb, Float64Array.from(gb, (x) => x * scale), mb, vb, t, lr, 0.9, 0.99, 1e-8, 0);
      for (let i = 0; i < n; i++) assert.ok(Math.abs(w.data[i] - rw[i]) < 2e-6, `${backend.name} step ${t} w[${i}]: ${w.data[i]} vs ${rw[i]}`);
      for (let i = 0; i < 3; i++) assert.ok(Math.abs(b.data[i] - rb[i]) < 2e-6, `${backend.name} step ${t} b[${i}]`);
    }
    // The first step's size is lr (Adam's bias correction makes |Δ| ≈ lr·sign(g) at t = 1).
    assert.equal(opt.stepCount, 6);
  }
});

test('clipGradNorm + AdamW reproduce torch.optim.AdamW with clip_grad_norm_ (PyTorch fixture)', () => {
  const A = fx.adamw;
  for (const backend of backends) {
    const params: NamedParameter[] = Object.entries(A.shapes).map(([name, shape]) => [name, param(shape, A.initial[name])]);
    const opt = new AdamW(params, {
      beta1: A.hyper.beta1,
      beta2: A.hyper.beta2,
      eps: A.hyper.eps,
      weightDecay: A.hyper.weight_decay,
      backend,
    });
    assert.deepEqual(opt.groups().decay, A.decay);
    A.steps.forEach((s, t) => {
      for (const [name, p] of params) p.grad = s.grads[name] ? { data: Float32Array.from(s.grads[name]) } : null;
      const clip = clipGradNorm(params.map(([, p]) => p), A.hyper.max_norm, 1, backend);
      assert.ok(Math.abs(clip.norm - s.norm) <= 1e-5 * s.norm, `step ${t} norm ${clip.norm} vs torch ${s.norm}`);
      if (t === 1) assert.ok(clip.scale < 0.5, 'step 1 is meant to be clipped');
      opt.step(s.lr, clip.scale);
      for (const [name, p] of params) {
        const want = s.params[name];
        for (let i = 0; i < want.length; i++) {
          assert.ok(Math.abs(p.data[i] - want[i]) <= 1e-6 + 1e-5 * Math.abs(want[i]), `${backend.name} step ${t} ${name}[${i}]: ${p.data[i]} vs torch ${want[i]}`);
        }
      }
      const sd = opt.stateDict();
      for (const [name, st] of Object.entries(s.state)) {
        const m = sd.get(`state.${name}.exp_avg`)!.data;
        const v = sd.get(`state.${name}.exp_avg_sq`)!.data;
        assert.equal(sd.get(`state.${name}.step`)!.data[0], st.step, `${name} step count at ${t}`);
        for (let i = 0; i < m.length; i++) {
          assert.ok(Math.abs(m[i] - st.exp_avg[i]) <= 1e-7 + 1e-5 * Math.abs(st.exp_avg[i]), `exp_avg ${name}[${i}]`);
          assert.ok(Math.abs(v[i] - st.exp_avg_sq[i]) <= 1e-9 + 1e-5 * Math.abs(st.exp_avg_sq[i]), `exp_avg_sq ${name}[${i}]`);
        }
      }
    });
  }
});

test('AdamW stateDict/loadStateDict: a restored optimizer continues bit-identically', () => {
  const mk = () => [['a.weight', param([2, 3], [1, 2, 3, 4, 5, 6])], ['a.bias', param([3], [0.1, 0.2, 0.3])]] as NamedParameter[];
  const grads = (t: number) => [Float32Array.from({ length: 6 }, (_, i) => Math.sin(t + i)), Float32Array.from({ length: 3 }, (_, i) => Math.cos(t * i))];
  const run = (opt: AdamW, ps: NamedParameter[], from: number, to: number) => {
    for (let t = from; t < to; t++) {
      const g = grads(t);
      ps.forEach(([, p], i) => (p.grad = { data: g[i] }));
      opt.step(1e-2, 0.5);
    }
  };
  const pa = mk();
  const a = new AdamW(pa, { weightDecay: 0.1 });
  run(a, pa, 0, 5);
  const pb = mk();
  const b = new AdamW(pb, { weightDecay: 0.1 });
  run(b, pb, 0, 3);
  const saved = b.stateDict();
  const savedParams = pb.map(([, p]) => Float32Array.from(p.data));
  const pc = mk();
  pc.forEach(([, p], i) => (p.data as Float32Array).set(savedParams[i]));
  const c = new AdamW(pc, { weightDecay: 0.1 });
  c.loadStateDict(saved);
  run(c, pc, 3, 5);
  pa.forEach(([, p], i) => assert.deepEqual(pc[i][1].data, p.data));
  assert.equal(c.stepCount, 5);
  assert.deepEqual(saved.get('state.a.weight.exp_avg')!.shape, [2, 3]);
  assert.equal(saved.get('state.a.bias.step')!.dtype, 'I32');
});

test('AdamW.loadStateDict rejects state of another model without changing anything', () => {
  const ps: NamedParameter[] = [['w', param([2, 2])]];
  const opt = new AdamW(ps);
  const good = opt.stateDict();
  const missing = new Map(good);
  missing.delete('state.w.exp_avg_sq');
  assert.throws(() => opt.loadStateDict(missing), (e: unknown) => e instanceof FileFormatError && /state\.w\.exp_avg_sq/.test(e.message));
  const wrongShape = new Map(good);
  wrongShape.set('state.w.exp_avg', { dtype: 'F32', shape: [4], data: new Float32Array(4) });
  assert.throws(() => opt.loadStateDict(wrongShape), ShapeError);
  const extra = new Map(good);
  extra.set('state.other.exp_avg', { dtype: 'F32', shape: [1], data: new Float32Array(1) });
  assert.throws(() => opt.loadStateDict(extra), /does not have: state\.other\.exp_avg/);
});

test('AdamW skips parameters without a gradient and rejects bad step arguments', () => {
  const w = param([2], [1, 1]);
  const opt = new AdamW([['w', w]], { weightDecay: 0.5 });
  opt.step(0.1);
  assert.deepEqual([...w.data], [1, 1]); // no grad: no decay either (PyTorch)
  assert.equal(opt.stepCount, 0);
  w.grad = { data: new Float32Array(3) };
  assert.throws(() => opt.step(0.1), ShapeError);
  w.grad = { data: new Float32Array(2) };
  assert.throws(() => opt.step(Number.NaN), ConfigError);
  assert.throws(() => opt.step(0.1, Number.POSITIVE_INFINITY), ConfigError);
});
