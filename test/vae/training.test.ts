/**
 * Tiny end-to-end training runs: the autoencoder, the MLP VAE and the
 * sentence VAE each lower their loss on small synthetic data; the
 * vectorize → normalize → autoencode pipeline round-trips through its
 * directory and finds a document's own neighbours.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as T from '../../src/tensor/index.js';
import { Autoencoder } from '../../src/models/vae/autoencoder.js';
import { VAE } from '../../src/models/vae/vae.js';
import { SentenceVAE, makeSentenceBatch, type SentenceVAEConfig } from '../../src/models/vae/sentence-vae.js';
import { AdamW } from '../../src/train/index.js';
import { encodeTexts, loadVectorAutoencoder, nearestNeighbors, trainVectorAutoencoder } from '../../src/models/vae/index.js';

/** Plain AdamW steps; returns the loss before and after. */
function fit(model: { namedParameters(): [string, T.Tensor][]; zeroGrad(): void }, loss: () => T.Tensor, steps: number, lr: number): { first: number; last: number } {
  const opt = new AdamW(model.namedParameters(), { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 });
  let first = NaN;
  let last = NaN;
  for (let s = 0; s < steps; s++) {
    const l = loss();
    if (s === 0) first = l.item();
    last = l.item();
    l.backward();
    opt.step(lr);
    model.zeroGrad();
  }
  return { first, last };
}

/** 64 rows of 12 features lying on a 2-dimensional manifold. */
function lowRankData(): T.Tensor {
  const g = new T.Generator(3);
  const basis = T.randn([2, 12], g);
  return T.matmul(T.randn([64, 2], g), basis).tanh().detach();
}

test('autoencoder: the mean squared reconstruction error falls by 5× in 150 steps', () => {
  const x = lowRankData();
  const ae = new Autoencoder({ model_type: 'muse-autoencoder', input_size: 12, hidden_sizes: [32], latent_size: 2 }, { gen: new T.Generator(1) });
  const { first, last } = fit(ae, () => ae.loss(x), 150, 1e-2);
  assert.ok(last < first / 5, `loss ${first} → ${last}`);
});

test('MLP VAE: the negative ELBO falls and the KL stays finite', () => {
  const x = lowRankData();
  const vae = new VAE({ model_type: 'muse-vae', input_size: 12, hidden_sizes: [32], latent_size: 4 }, { gen: new T.Generator(1) });
  const gen = new T.Generator(2);
  const { first, last } = fit(vae, () => vae.loss(x, { gen }).loss, 200, 1e-2);
  assert.ok(last < first * 0.5, `-ELBO ${first} → ${last}`);
  const r = vae.loss(x, { gen });
  assert.ok(Number.isFinite(r.kl.item()) && r.kl.item() > 0.5, `KL ${r.kl.item()} (the code carries information)`);
});

test('sentence VAE: loss falls on a toy language, and the decoder reconstructs a line from its code', () => {
  // vocabulary: 0 pad, 1 <s>, 2 </s>, 3 <unk>, 4..9 symbols; lines are "a b c" patterns
  const config: SentenceVAEConfig = { model_type: 'muse-sentence-vae', vocab_size: 10, n_embd: 16, hidden_size: 32, latent_size: 4, max_length: 4, pad_token_id: 0, bos_token_id: 1, eos_token_id: 2, unk_token_id: 3 };
  const lines = [[4, 5, 6], [7, 8, 9], [4, 8, 6, 5], [9, 9], [5, 4], [6, 7, 8, 9]];
  const batch = makeSentenceBatch(lines, config);
  const model = new SentenceVAE(config, { gen: new T.Generator(1) });
  const gen = new T.Generator(2);
  const { first, last } = fit(model, () => model.loss(batch, { gen, beta: 0.1, wordDropout: 0.1 }).loss, 150, 1e-2);
  assert.ok(last < first / 3, `loss ${first} → ${last}`);
  model.eval();
  const mu = T.noGrad(() => model.encode(batch.inputIds, batch.attentionMask).mu);
  const decoded = model.decode(mu);
  const exact = decoded.filter((d, i) => d.join() === lines[i].join()).length;
  assert.ok(exact >= 4, `reconstructed ${exact}/6: ${JSON.stringify(decoded)}`);
});

test('vectorize → normalize → autoencode pipeline: trains, saves, reloads, encodes and finds neighbours', async () => {
  const topics = [
    ['fox', 'grapes', 'vine', 'sour', 'jump'],
    ['tortoise', 'hare', 'race', 'slow', 'steady'],
    ['crow', 'cheese', 'sing', 'flatter', 'beak'],
  ];
  const g = new T.Generator(4);
  const docs: string[] = [];
  for (let i = 0; i < 60; i++) {
    const t = topics[i % 3];
    docs.push(Array.from({ length: 6 }, () => t[g.randint(0, t.length)]).join(' '));
  }
  const dir = mkdtempSync(join(tmpdir(), 'muse-ae-'));
  try {
    const s = await trainVectorAutoencoder({ documents: docs, model: { hiddenSizes: [16], latentSize: 3 }, training: { maxIters: 150, learningRate: 1e-2, evalInterval: 50 }, outDir: dir, progress: false, log: () => {} });
    assert.equal(s.features, 15);
    assert.ok(s.bestValLoss! < 0.5, `val loss ${s.bestValLoss}`);
    const ae = loadVectorAutoencoder(join(dir, 'best'));
    assert.equal(encodeTexts(ae, ['fox vine'])[0].length, 3);
    const nb = nearestNeighbors(ae, 'the hare and the tortoise race', docs, 5);
    assert.ok(nb.every((n) => n.index % 3 === 1), `neighbours should be hare/tortoise documents: ${JSON.stringify(nb)}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('trainSentenceVAE: extracts 5-character lines, trains, writes vae_metrics.jsonl, and the directory loads and samples', async () => {
  const { trainSentenceVAE, loadSentenceVAE, sampleLines, extractPoemLines } = await import('../../src/models/vae/index.js');
  const { writeFileSync, readFileSync, existsSync } = await import('node:fs');
  const dir = mkdtempSync(join(tmpdir(), 'muse-svae-'));
  try {
    const chars = '山水风月花鸟云天江春秋日夜人心';
    const g = new T.Generator(8);
    const line = () => Array.from({ length: 5 }, () => chars[g.randint(0, chars.length)]).join('');
    const recs = Array.from({ length: 120 }, () => JSON.stringify({ text: `${line()}，${line()}。${line()}？长长长长长长，` }));
    writeFileSync(join(dir, 'poems.jsonl'), recs.join('\n') + '\n');
    assert.deepEqual(extractPoemLines(['白日依山尽，黄河入海流。欲穷千里目，更上一层楼。七个字的一行诗，']), ['白日依山尽，', '黄河入海流。', '欲穷千里目，', '更上一层楼。']);
    const recipe = {
      model: { n_embd: 8, hidden_size: 16, latent_size: 4 },
      data: { script: 'simplified' as const, charsPerLine: 5, valLines: 40 },
      training: { batchSize: 16, maxIters: 20, learningRate: 0.01, evalInterval: 10, evalIters: 2 },
      vae: { klSchedule: { type: 'linear' as const, warmupSteps: 10 }, freeBits: 0.1, wordDropout: 0.2 },
    };
    const s = await trainSentenceVAE({ recipe, corpus: [join(dir, 'poems.jsonl')], outDir: join(dir, 'run'), progress: false, log: () => {} });
    assert.equal(s.step, 20);
    assert.ok(s.final && Number.isFinite(s.final.negElbo) && Math.abs(s.final.negElbo - s.final.recon - s.final.kl) < 1e-3);
    const metrics = readFileSync(join(dir, 'run', 'vae_metrics.jsonl'), 'utf8').trim().split('\n');
    assert.equal(metrics.length, 2);
    assert.ok(existsSync(join(dir, 'run', 'best', 'tokenizer.json')));
    const vae = loadSentenceVAE(join(dir, 'run', 'best'));
    assert.equal(vae.charsPerLine, 5);
    const out = sampleLines(vae, 3, { seed: 1 });
    assert.equal(out.length, 3);
    assert.ok(out.every((l) => [...l].every((c) => chars.includes(c) || '，。？！'.includes(c))), JSON.stringify(out));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
