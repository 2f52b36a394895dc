import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fromArray } from '../../src/tensor/index.js';
import { getBackend, setBackend } from '../../src/backend/index.js';
import { loadBert } from '../../src/models/bert/weights.js';
import { AdamW, clipGradNorm } from '../../src/train/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const fixtures = join(here, '../fixtures/bert');

interface Step { inputIds: number[][]; attentionMask: number[][]; labels: number[][]; lr: number; loss: number; gradNorm: number }
interface Trajectory { beta1: number; beta2: number; eps: number; weightDecay: number; maxNorm: number; steps: Step[]; finalParams: Record<string, number[]> }

const ref = JSON.parse(readFileSync(join(fixtures, 'train-trajectory.json'), 'utf8')) as Trajectory;
const int2d = (rows: number[][]) => fromArray(Int32Array.from(rows.flat()), [rows.length, rows[0].length], 'int32');

/**
 * Thirty masked-LM training steps of tiny-bert replayed through muse's BertForMaskedLM,
 * AdamW (default no-decay groups) and global-norm clipping, against the same steps run by
 * PyTorch in float64 (make_train_trajectory.py): loss, gradient norm and final weights.
 * The tolerances are ~40× the float32 deviation measured (5e-7 loss, 2e-7 weights) and
 * ~50× below the effect of decaying the embeddings too (nanoGPT's groups: 1.3e-3 loss).
 */
for (const backend of ['js', 'native'] as const) {
  test(`masked-LM training follows PyTorch's trajectory step for step (${backend} backend)`, (t) => {
    const before = getBackend().name;
    try {
      setBackend(backend);
    } catch {
      return t.skip('the native addon is not built');
    }
    try {
      const { model } = loadBert(join(fixtures, 'tiny-bert'));
      // The PyTorch run has dropout off (tiny-bert's config keeps HF's 0.1): eval mode still records gradients.
      model.eval();
      const opt = new AdamW(model.namedParameters(), { beta1: ref.beta1, beta2: ref.beta2, eps: ref.eps, weightDecay: ref.weightDecay });
      ref.steps.forEach((s, i) => {
        model.zeroGrad();
        const loss = model.forward(int2d(s.inputIds), { attentionMask: int2d(s.attentionMask), labels: int2d(s.labels), logitsFor: 'labelled' }).loss!;
        loss.backward();
        const clip = clipGradNorm(model.parameters(), ref.maxNorm);
        assert.ok(Math.abs(loss.item() - s.loss) < 2e-5 * Math.max(1, s.loss), `step ${i}: loss ${loss.item()}, PyTorch ${s.loss}`);
        assert.ok(Math.abs(clip.norm - s.gradNorm) < 1e-4 * Math.max(1, s.gradNorm), `step ${i}: gradient norm ${clip.norm}, PyTorch ${s.gradNorm}`);
        opt.step(s.lr, clip.scale);
      });
      const sd = model.stateDict();
      for (const [name, want] of Object.entries(ref.finalParams)) {
        const got = sd.get(name)!.data;
        want.forEach((w, i) => assert.ok(Math.abs(got[i] - w) < 2e-5, `${name}[${i}] after ${ref.steps.length} steps: ${got[i]}, PyTorch ${w}`));
      }
    } finally {
      setBackend(before);
    }
  });
}
