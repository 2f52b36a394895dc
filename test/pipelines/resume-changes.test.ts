import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadRecipe } from '../../src/pipelines/recipe.js';
import { resumeChanges } from '../../src/pipelines/runs.js';

const recipePath = join(dirname(fileURLToPath(import.meta.url)), '../../configs/shakespeare-char-baby.json');

test('resume: overrides of the first command that are not repeated, and another corpus, are named', () => {
  const last = mkdtempSync(join(tmpdir(), 'muse-last-'));
  try {
    assert.deepEqual(resumeChanges(last, loadRecipe(recipePath), ['a.txt']), []); // no note: nothing to say
    const first = loadRecipe(recipePath, { maxIters: '20000', lrDecayIters: '20000' });
    writeFileSync(join(last, 'muse_recipe.json'), JSON.stringify({ recipe: first, command: 'muse train --config x.json --corpus a.txt --out runs/x --maxIters 20000 --lrDecayIters 20000' }));
    assert.deepEqual(resumeChanges(last, first, ['a.txt']), []);
    const plain = loadRecipe(recipePath);
    assert.deepEqual(resumeChanges(last, plain, ['b.txt']), [
      `training.lrDecayIters 20000 → ${plain.training.lrDecayIters}`,
      `training.maxIters 20000 → ${plain.training.maxIters}`,
      '--corpus a.txt → b.txt',
    ]);
    writeFileSync(join(last, 'muse_recipe.json'), '{broken');
    assert.deepEqual(resumeChanges(last, plain, ['b.txt']), []);
  } finally {
    rmSync(last, { recursive: true, force: true });
  }
});
