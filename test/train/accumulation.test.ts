import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GPT } from '../../src/models/gpt2/model.js';
import { fromArray, type Tensor } from '../../src/tensor/index.js';
import { Trainer } from '../../src/train/trainer.js';
import { countTargetTokens } from '../../src/train/target-tokens.js';

// Gradient accumulation over micro-batches with unequal target-token counts (padded fine-tuning,
// masked LM) must equal one batch holding all of them: the loss is the mean over all target tokens.
const cfg = { vocab_size: 23, n_positions: 12, n_embd: 16, n_layer: 1, n_head: 2, resid_pdrop: 0, embd_pdrop: 0, attn_pdrop: 0 };
const T = 10;

interface Batch {
  x: Tensor;
  y: Tensor;
}

/** Rows of a batch; row r has `targets[r]` labelled positions (the rest −100), as a padded fine-tuning batch. */
function rows(first: number, targets: number[]): { ids: Int32Array; labels: Int32Array } {
  const ids = new Int32Array(targets.length * T);
  const labels = new Int32Array(targets.length * T).fill(-100);
  targets.forEach((n, r) => {
    for (let t = 0; t < T; t++) ids[r * T + t] = ((first + r) * 7 + t * 3) % cfg.vocab_size;
    for (let t = T - n; t < T; t++) labels[r * T + t] = ((first + r) * 5 + t) % cfg.vocab_size;
  });
  return { ids, labels };
}

const batchOf = (r: { ids: Int32Array; labels: Int32Array }): Batch => ({ x: fromArray(r.ids, [r.ids.length / T, T], 'int32'), y: fromArray(r.labels, [r.ids.length / T, T], 'int32') });

async function oneStep(fused: boolean, micro: Batch[], weighted: boolean): Promise<{ loss: number; weights: Float32Array[] }> {
  const dir = mkdtempSync(join(tmpdir(), 'muse-accum-'));
  try {
    const model = new GPT(cfg, { seed: 4 });
    model.fusedTrain = fused;
    let i = 0;
    let loss = Number.NaN;
    const trainer = new Trainer<Batch>({
      model,
      lossFn: (b) => model.forward(b.x, { targets: b.y }).loss!,
      nextTrainBatch: () => micro[i++ % micro.length],
      ...(weighted ? { tokensInBatch: (b: Batch) => countTargetTokens(b.y) } : {}),
      evalBatches: () => [micro[0]],
      gradientAccumulationSteps: micro.length,
      maxIters: 1,
      evalInterval: 100,
      evalIters: 1,
      learningRate: 1e-2,
      decayLr: false,
      gradClip: 0,
      logInterval: 1,
      json: true,
      progress: false,
      outDir: dir,
      log: (l) => {
        const r = JSON.parse(l) as { event?: string; trainLoss?: number };
        if (r.event === 'train') loss = r.trainLoss!;
      },
      save: () => {},
    });
    await trainer.train();
    return { loss, weights: model.parameters().map((p) => Float32Array.from(p.data as Float32Array)) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

for (const fused of [false, true]) {
  test(`accumulating micro-batches of 1 and 9 target tokens equals one combined batch (${fused ? 'fused' : 'autograd'} path)`, async () => {
    const a = rows(0, [1]);
    const b = rows(1, [9]);
    const all = { ids: new Int32Array([...a.ids, ...b.ids]), labels: new Int32Array([...a.labels, ...b.labels]) };
    const combined = await oneStep(fused, [batchOf(all)], false);
    const accumulated = await oneStep(fused, [batchOf(a), batchOf(b)], true);
    assert.ok(Math.abs(accumulated.loss - combined.loss) < 1e-5, `loss ${accumulated.loss} vs ${combined.loss}`);
    let maxDiff = 0;
    combined.weights.forEach((w, k) => w.forEach((v, j) => (maxDiff = Math.max(maxDiff, Math.abs(v - accumulated.weights[k][j])))));
    assert.ok(maxDiff < 1e-5, `weights differ by ${maxDiff}`);
    // Equal weighting (the old behaviour) is not the combined batch here.
    const equal = await oneStep(fused, [batchOf(a), batchOf(b)], false);
    assert.ok(Math.abs(equal.loss - combined.loss) > 1e-3, `equal-weight loss ${equal.loss} should differ from ${combined.loss}`);
  });
}

test('countTargetTokens counts labels other than −100', () => {
  assert.equal(countTargetTokens(fromArray(new Int32Array([-100, 3, -100, 0, 5]), [5], 'int32')), 3);
});
