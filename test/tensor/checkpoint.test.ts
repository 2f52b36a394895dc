import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as T from '../../src/tensor/index.js';
import { gradcheck, rnd } from './gradcheck.js';
import { LlamaForCausalLM } from '../../src/models/llama/model.js';
import { GPT } from '../../src/models/gpt2/model.js';
import { injectLora, loraParameters } from '../../src/lora/index.js';

test('checkpoint: gradients of input and parameters match finite differences; no grad needed → plain call', () => {
  const block = (h: T.Tensor, w: T.Tensor, b: T.Tensor): T.Tensor => T.gelu(T.matmul(h, w).add(b)).mul(h.narrow(1, 0, 3));
  gradcheck('checkpoint(block)', (x, w, b) => T.checkpoint((h) => block(h, w, b), x, [w, b]), [rnd([2, 4], 1), rnd([4, 3], 2), rnd([3], 3)]);
  // Only a parameter requires grad (a frozen embedding feeding the first layer): its gradient still arrives.
  gradcheck('checkpoint, frozen input', (x, w) => T.checkpoint((h) => T.tanh(T.matmul(h, w)), x, [w]), [rnd([3, 4], 4), rnd([4, 2], 5)], { wrt: [1] });
  const x = rnd([2, 4], 6);
  const y = T.checkpoint((h) => h.mul(2), x, []);
  assert.equal(y.requiresGrad, false);
});

/** Loss and every trainable gradient of one step of `model` on fixed ids. */
function step(model: LlamaForCausalLM | GPT, ids: T.Tensor): { loss: number; grads: Map<string, Float32Array> } {
  model.zeroGrad();
  const { loss } = model.forward(ids, { targets: ids });
  loss!.backward();
  const grads = new Map<string, Float32Array>();
  for (const [n, p] of model.namedParameters()) if (p.requiresGrad) grads.set(n, Float32Array.from(p.grad!.data as Float32Array));
  return { loss: loss!.item(), grads };
}

function assertSameStep(a: ReturnType<typeof step>, b: ReturnType<typeof step>): void {
  assert.equal(a.loss, b.loss);
  assert.deepEqual([...a.grads.keys()], [...b.grads.keys()]);
  for (const [n, g] of a.grads) {
    const h = b.grads.get(n)!;
    for (let i = 0; i < g.length; i++) assert.ok(Math.abs(g[i] - h[i]) <= 1e-6 * (1 + Math.abs(g[i])), `${n}[${i}]: ${g[i]} vs ${h[i]}`);
  }
}

test('gradientCheckpointing: a Llama LoRA step (lora_dropout 0.1, masks replayed) and a GPT-2 step with dropout equal the plain ones', () => {
  const ids = T.fromArray(Int32Array.from({ length: 2 * 12 }, (_, i) => (i * 7) % 40), [2, 12], 'int32');
  const run = (recompute: boolean): ReturnType<typeof step> => {
    const m = new LlamaForCausalLM({ model_type: 'qwen2', vocab_size: 40, hidden_size: 32, intermediate_size: 64, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, max_position_embeddings: 32 }, { seed: 3 });
    const lm = injectLora(m, { r: 4, loraAlpha: 8, loraDropout: 0.1, useRslora: false, targetModules: 'all-linear' }, { gen: new T.Generator(9) });
    for (const [, p] of loraParameters(lm)) if (p.data.every((v) => v === 0)) p.data.fill(0.01); // B ≠ 0, so A gets gradients
    m.gradientCheckpointing = recompute;
    m.train();
    const first = step(m, ids);
    step(m, ids); // the generators advanced alike: a second step draws the same masks in both runs
    return first;
  };
  const plain = run(false);
  assertSameStep(plain, run(true));
  assert.ok(plain.grads.size === 2 * 7 * 2);

  const gpt = (recompute: boolean): ReturnType<typeof step> => {
    const g = new GPT({ vocab_size: 40, n_positions: 16, n_embd: 16, n_head: 2, n_layer: 2, resid_pdrop: 0.1, attn_pdrop: 0.1, embd_pdrop: 0.1 }, { seed: 5 });
    g.fusedTrain = false;
    g.gradientCheckpointing = recompute;
    g.train();
    return step(g, ids);
  };
  assertSameStep(gpt(false), gpt(true));
});
