// LoRA against the float64 PyTorch reference (test/fixtures/lora/gen_lora_fixtures.py):
// 20 AdamW steps on the adapters of a tiny GPT-2 (Conv1D c_attn), BERT (query, value)
// and Llama (all-linear, rsLoRA); zero-B logits = base logits exactly; merged = unmerged.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fromArray, noGrad, type Tensor } from '../../src/tensor/index.js';
import type { Module } from '../../src/nn/module.js';
import { familyFor, readModelConfig, readConfigFor } from '../../src/models/registry.js';
import { readSafetensors } from '../../src/io/safetensors.js';
import { AdamW } from '../../src/train/adamw.js';
import { injectLora, loadAdapter, loraParameters, mergeLora, saveAdapter, type LoraModel } from '../../src/lora/index.js';

interface Fam {
  name: string;
  dir: string;
  targetModules: string[] | 'all-linear';
  r: number;
  loraAlpha: number;
  useRslora: boolean;
  A0: Record<string, number[]>;
  losses: number[];
  gradsFirst: Record<string, number[]>;
  gradsLast: Record<string, number[]>;
  final: Record<string, number[]>;
  baseLogits: number[];
  trainedLogits: number[];
  inputIds: number[];
  labels: number[];
  attentionMask?: number[];
  shape: [number, number];
}
const fx = JSON.parse(readFileSync('test/fixtures/lora/lora_fixtures.json', 'utf8')) as {
  lr: number; weightDecay: number; beta1: number; beta2: number; eps: number; families: Fam[];
};

function loadBase(dir: string): Module {
  const raw = readModelConfig(dir);
  const fam = familyFor(raw.model_type);
  const model = fam.build(readConfigFor(raw, dir), { seed: 1 });
  const sd = new Map<string, Tensor>();
  for (const [k, t] of readSafetensors(join(dir, 'model.safetensors')).tensors) sd.set(k, fromArray(t.data, t.shape));
  model.loadStateDict(sd, false);
  return model;
}

type Fwd = (m: Module, withLabels: boolean) => { logits: Tensor; loss?: Tensor };
function forwardOf(f: Fam): Fwd {
  const [B, T] = f.shape;
  const ids = fromArray(Int32Array.from(f.inputIds), [B, T], 'int32');
  const labels = fromArray(Int32Array.from(f.labels), [B, T], 'int32');
  const mask = f.attentionMask ? fromArray(Int32Array.from(f.attentionMask), [B, T], 'int32') : null;
  return (m, withLabels) => {
    const model = m as unknown as { forward(ids: Tensor, o: Record<string, unknown>): { logits: Tensor; loss?: Tensor } };
    if (f.name === 'bert') return model.forward(ids, { attentionMask: mask, ...(withLabels ? { labels } : {}) });
    return model.forward(ids, withLabels ? { labels } : {});
  };
}

function close(got: ArrayLike<number>, want: number[], atol: number, rtol: number, what: string): void {
  assert.equal(got.length, want.length, `${what}: length`);
  let worst = 0;
  for (let i = 0; i < want.length; i++) {
    const err = Math.abs(got[i] - want[i]) - (atol + rtol * Math.abs(want[i]));
    worst = Math.max(worst, err);
    if (err > 0) assert.fail(`${what}[${i}]: got ${got[i]}, want ${want[i]}`);
  }
}

for (const f of fx.families) {
  test(`LoRA ${f.name}: 20 AdamW steps equal PyTorch float64; zero B = base; merged = base + adapter`, () => {
    const model = loadBase(f.dir);
    model.eval();
    const fwd = forwardOf(f);
    const nested = noGrad(() => fwd(model, false).logits.toArray());
    const base: number[] = (nested as unknown as number[]).flat(Infinity);
    close(base, f.baseLogits, 1e-4, 1e-4, 'base logits');
    const lm: LoraModel = injectLora(model, { r: f.r, loraAlpha: f.loraAlpha, loraDropout: 0, useRslora: f.useRslora, targetModules: f.targetModules });
    const params = loraParameters(lm);
    assert.deepEqual(params.filter(([n]) => n.endsWith('lora_A.weight')).map(([n]) => n).sort(), Object.keys(f.A0).sort());
    for (const [n, p] of params) if (n.endsWith('lora_A.weight')) (p.data as Float32Array).set(f.A0[n]);
    // Only adapters are trainable.
    assert.deepEqual(model.namedParameters().filter(([, p]) => p.requiresGrad).map(([n]) => n).sort(), params.map(([n]) => n).sort());
    const zeroB = noGrad(() => fwd(model, false).logits.data as Float32Array);
    const baseExact = (() => { const m2 = loadBase(f.dir); m2.eval(); return noGrad(() => fwd(m2, false).logits.data as Float32Array); })();
    assert.deepEqual(Array.from(zeroB), Array.from(baseExact), 'a zero B gives exactly the base logits');

    const opt = new AdamW(params, { beta1: fx.beta1, beta2: fx.beta2, eps: fx.eps, weightDecay: fx.weightDecay, noDecay: () => false });
    // Dropout stays off (eval mode): tiny-bert's config has hidden_dropout_prob 0.1 and the reference has none.
    for (let step = 0; step < f.losses.length; step++) {
      model.zeroGrad();
      const { loss } = fwd(model, true);
      close([loss!.item()], [f.losses[step]], 1e-5, 1e-5, `loss at step ${step}`);
      loss!.backward();
      if (step === 0 || step === f.losses.length - 1) {
        const want = step === 0 ? f.gradsFirst : f.gradsLast;
        // float32 vs float64 over 19 Adam steps (Adam's normalisation amplifies tiny gradients' differences): looser at the end.
        const [atol, rtol] = step === 0 ? [2e-5, 2e-3] : [2e-4, 1e-2];
        for (const [n, p] of params) close(p.grad ? p.grad.data : new Float32Array(p.size), want[n], atol, rtol, `grad ${n} at step ${step}`);
      }
      opt.step(fx.lr);
    }
    for (const [n, p] of params) close(p.data, f.final[n], 5e-5, 2e-3, `final ${n}`);
    const trained = noGrad(() => fwd(model, false).logits.data as Float32Array);
    close(trained, f.trainedLogits, 3e-3, 3e-3, 'trained logits (unmerged)');

    // PEFT round trip: save, load onto a fresh base, same logits.
    const dir = mkdtempSync(join(tmpdir(), 'muse-lora-'));
    try {
      saveAdapter(dir, lm, { baseModel: f.dir, taskType: f.name === 'bert' ? 'FEATURE_EXTRACTION' : 'CAUSAL_LM' });
      const cfg = JSON.parse(readFileSync(join(dir, 'adapter_config.json'), 'utf8')) as Record<string, unknown>;
      assert.equal(cfg.peft_type, 'LORA');
      assert.equal(cfg.fan_in_fan_out, f.name === 'gpt2');
      const names = [...readSafetensors(join(dir, 'adapter_model.safetensors')).tensors.keys()];
      assert.ok(names.every((n) => n.startsWith('base_model.model.') && /\.lora_[AB]\.weight$/.test(n)), names.join(' '));
      const m3 = loadBase(f.dir);
      loadAdapter(dir, m3);
      assert.deepEqual(Array.from(noGrad(() => fwd(m3, false).logits.data as Float32Array)), Array.from(trained));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }

    mergeLora(lm);
    const merged = noGrad(() => fwd(model, false).logits.data as Float32Array);
    close(merged, f.trainedLogits, 3e-3, 3e-3, 'merged logits');
    close(merged, Array.from(trained), 1e-4, 1e-4, 'merged vs unmerged');
    assert.ok(!model.namedParameters().some(([n]) => n.includes('lora_')), 'merge_and_unload leaves the plain parameter names');
  });
}
