/**
 * One measurement of `npm run bench -- lora`, in its own process so that its
 * peak RSS is its own: a Qwen2.5-0.5B-shaped Llama-family model (random
 * weights), LoRA on q/k/v/o + MLP, `steps` timed training steps (forward,
 * backward, AdamW on the adapters) after one warm-up step, with activation
 * checkpointing when the job says so. Prints one JSON line
 * `{"msPerStep","tokS","peakRssMB","trainable","total"}`.
 *
 *     node --import tsx bench/_lora-child.ts '{"base":"f32"|"q8_0","layers":24,"vocab":151936,"batch":4,"seq":256,"r":16,"steps":2}'
 */
import { Generator, fromArray } from '../src/tensor/index.js';
import { LlamaForCausalLM } from '../src/models/llama/model.js';
import { injectLora, loraParameters, storeLoraBases } from '../src/lora/index.js';
import { AdamW } from '../src/train/adamw.js';

interface Job {
  base: 'f32' | 'q8_0';
  layers: number;
  vocab: number;
  batch: number;
  seq: number;
  r: number;
  steps: number;
  gradientCheckpointing?: boolean;
}

const job = JSON.parse(process.argv[2] ?? '{}') as Job;
const model = new LlamaForCausalLM(
  {
    model_type: 'qwen2', hidden_size: 896, intermediate_size: 4864, num_hidden_layers: job.layers, num_attention_heads: 14, num_key_value_heads: 2,
    vocab_size: job.vocab, max_position_embeddings: 32768, tie_word_embeddings: true, rms_norm_eps: 1e-6, rope_theta: 1000000,
  },
  // A Q8_0 base is drawn one layer at a time and quantized at once (zero-filled float32 pages stay unmapped until written), so peak RSS is the stored model's.
  { seed: 1, init: job.base === 'f32' },
);
const lm = injectLora(model, { r: job.r, loraAlpha: 2 * job.r, loraDropout: 0.05, useRslora: false, targetModules: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'] });
const total = model.numParameters();
if (job.base === 'q8_0') {
  const g = new Generator(11);
  const fill = (d: Float32Array): void => {
    for (let i = 0; i < d.length; i++) d[i] = 0.02 * g.normal();
  };
  fill(model.namedParameters().find(([n]) => n === 'model.embed_tokens.weight')![1].data as Float32Array);
  for (const e of lm.layers) {
    fill(e.module.weight.data as Float32Array);
    storeLoraBases({ ...lm, layers: [e] }, 'Q8_0');
  }
}
const params = loraParameters(lm);
const opt = new AdamW(params, { weightDecay: 0.01 });
const gen = new Generator(7);
const n = job.batch * job.seq;
const ids = new Int32Array(n);
for (let i = 0; i < n; i++) ids[i] = gen.randint(0, job.vocab);
const x = fromArray(ids, [job.batch, job.seq], 'int32');
model.train();
model.gradientCheckpointing = job.gradientCheckpointing === true;
const step = (): void => {
  model.zeroGrad();
  const { loss } = model.forward(x, { labels: x });
  loss!.backward();
  opt.step(1e-4);
};
step();
const t0 = performance.now();
for (let s = 0; s < job.steps; s++) step();
const ms = (performance.now() - t0) / job.steps;
const trainable = params.reduce((a, [, p]) => a + p.size, 0);
console.log(JSON.stringify({ msPerStep: ms, tokS: (n * 1000) / ms, peakRssMB: process.resourceUsage().maxRSS / 1024, trainable, total }));
