import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GPT } from '../../src/models/gpt2/model.js';
import { saveModel } from '../../src/models/pretrained.js';
import { gpt2StateDict, loadGPT } from '../../src/models/gpt2/weights.js';
import { loadCheckpoint } from '../../src/io/checkpoint.js';
import { Generator, fromArray, type Tensor } from '../../src/tensor/index.js';
import { Trainer, type TrainerOptions } from '../../src/train/index.js';
import type { MetricsRecord } from '../../src/train/metrics.js';

// A tiny GPT-2 with dropout on, so the resume has to restore the dropout generator too.
const cfg = { vocab_size: 11, n_positions: 8, n_embd: 16, n_layer: 1, n_head: 2, resid_pdrop: 0.1, embd_pdrop: 0.1, attn_pdrop: 0.1 };
const B = 4;
const T = 8;
// A learnable sequence: token t+1 = (3·t + 1) mod 11, random starting points.
const corpus = Int32Array.from({ length: 400 }, (_, i) => (i * 3 + 1) % 11);

interface Batch {
  x: Tensor;
  y: Tensor;
}

function window(rng: Generator): Batch {
  const x = new Int32Array(B * T);
  const y = new Int32Array(B * T);
  for (let b = 0; b < B; b++) {
    const s = rng.randint(0, corpus.length - T - 1);
    x.set(corpus.subarray(s, s + T), b * T);
    y.set(corpus.subarray(s + 1, s + T + 1), b * T);
  }
  return { x: fromArray(x, [B, T], 'int32'), y: fromArray(y, [B, T], 'int32') };
}

function options(model: GPT, modelGen: Generator, batchGen: Generator, outDir: string, maxIters: number): TrainerOptions<Batch> {
  return {
    model,
    lossFn: (b) => model.forward(b.x, { targets: b.y }).loss!,
    nextTrainBatch: () => window(batchGen),
    evalBatches: function* () {
      const g = new Generator(99);
      for (;;) yield window(g);
    },
    tokensPerBatch: B * T,
    maxIters,
    evalInterval: 6,
    evalIters: 2,
    learningRate: 3e-3,
    warmupIters: 2,
    lrDecayIters: 12,
    beta2: 0.99,
    logInterval: 1,
    outDir,
    rng: { batches: batchGen, dropout: modelGen },
    log: () => {},
    save: (dir, extra) => saveModel(dir, model, { config: model.config, ...extra }),
  };
}

test('GPT with dropout: 6 steps + resume + 6 steps equals 12 steps exactly; best/ loads as a GPT-2 directory', async () => {
  const dirA = mkdtempSync(join(tmpdir(), 'muse-gpt-a-'));
  const dirB = mkdtempSync(join(tmpdir(), 'muse-gpt-b-'));
  try {
    const genA = new Generator(1);
    const a = new GPT(cfg, { generator: genA });
    const summaryA = await new Trainer(options(a, genA, new Generator(2), dirA, 12)).train();

    const genB = new Generator(1);
    const b = new GPT(cfg, { generator: genB });
    await new Trainer(options(b, genB, new Generator(2), dirB, 6)).train();

    // Fresh process: the model is rebuilt with its own generator (seeded differently),
    // the weights and every generator state come from last/.
    const genC = new Generator(12345);
    const c = new GPT(cfg, { generator: genC });
    const ck = loadCheckpoint(join(dirB, 'last'), { optimizer: true });
    c.loadStateDict(gpt2StateDict(ck.tensors), false);
    const batchC = new Generator(777);
    const summaryC = await new Trainer({ ...options(c, genC, batchC, dirB, 12), resume: { trainerState: ck.trainerState, optimizerTensors: ck.optimizerTensors } }).train();

    const read = (d: string) => readFileSync(join(d, 'metrics.jsonl'), 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l) as MetricsRecord);
    const losses = (rs: MetricsRecord[]) => rs.filter((r) => r.event !== 'skip').map((r) => [r.event, r.step, r.trainLoss, r.valLoss ?? null]);
    assert.deepEqual(losses(read(dirB)), losses(read(dirA)));
    assert.equal(summaryC.valLoss, summaryA.valLoss);
    for (const [name, t] of a.stateDict()) assert.deepEqual(c.stateDict().get(name)!.data, t.data, name);
    // The loss fell, and the best checkpoint is a loadable GPT-2 directory.
    const first = read(dirA).find((r) => r.event === 'train')!.trainLoss!;
    assert.ok(summaryA.trainLoss! < first, `train loss ${summaryA.trainLoss} vs first ${first}`);
    const { model } = loadGPT(summaryA.checkpoint);
    assert.equal(model.config.n_embd, 16);
  } finally {
    rmSync(dirA, { recursive: true, force: true });
    rmSync(dirB, { recursive: true, force: true });
  }
});
