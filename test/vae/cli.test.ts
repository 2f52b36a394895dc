/**
 * The `muse vae` and `muse ae` commands end to end (from source): the
 * bundled sentence VAE samples and interpolates with no --model; a tiny
 * autoencoder trains, and its neighbours come back as JSON.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isWellFormedLine } from '../../src/models/vae/index.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

function muse(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [join(root, 'bin', 'muse.js'), ...args], { encoding: 'utf8', env: { ...process.env, MUSE_FROM_SOURCE: '1', OMP_NUM_THREADS: '1' } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const bundled = existsSync(join(root, 'models', 'muse-vae-zh', 'model.safetensors'));

test('muse vae sample --json uses the bundled model: one JSON string per line, well-formed 5-character lines', { skip: !bundled && 'models/muse-vae-zh is not bundled' }, () => {
  const r = muse(['vae', 'sample', '--n', '8', '--json', '--seed', '3']);
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as string);
  assert.equal(lines.length, 8);
  assert.ok(lines.filter((l) => isWellFormedLine(l)).length >= 7, `samples: ${lines.join(' ')}`);
  const again = muse(['vae', 'sample', '--n', '8', '--json', '--seed', '3']);
  assert.equal(again.stdout, r.stdout, 'same seed, same lines');
});

test('muse vae interpolate --steps 4 --json: both ends included, t from 0 to 1; traditional input accepted', { skip: !bundled && 'models/muse-vae-zh is not bundled' }, () => {
  const r = muse(['vae', 'interpolate', '白日依山盡，', '黃河入海流。', '--steps', '4', '--json']);
  assert.equal(r.status, 0, r.stderr);
  const pts = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { t: number; line: string });
  assert.deepEqual(pts.map((p) => Number(p.t.toFixed(3))), [0, 0.333, 0.667, 1]);
  assert.ok(pts.every((p) => typeof p.line === 'string' && p.line.length > 0));
  const bad = muse(['vae', 'interpolate', 'a', 'b', '--steps', '1']);
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /--steps must be an integer ≥ 2/);
});

test('muse ae train → neighbors --json on a tiny corpus', () => {
  const dir = mkdtempSync(join(tmpdir(), 'muse-ae-cli-'));
  try {
    const lines: string[] = [];
    for (let i = 0; i < 30; i++) lines.push(i % 2 ? `the fox ate grapes near the vine ${i % 5}` : `the hare raced the tortoise slowly ${i % 5}`);
    writeFileSync(join(dir, 'docs.txt'), lines.join('\n') + '\n');
    const t = muse(['ae', 'train', '--corpus', join(dir, 'docs.txt'), '--out', join(dir, 'run'), '--max-iters', '60', '--latent', '2', '--hidden', '8', '--lr', '0.01', '--json', '--no-progress']);
    assert.equal(t.status, 0, t.stderr);
    const summary = JSON.parse(t.stdout.trim().split('\n').at(-1)!) as { documents: number; features: number };
    assert.equal(summary.documents, 30);
    const n = muse(['ae', 'neighbors', '--model', join(dir, 'run', 'best'), '--corpus', join(dir, 'docs.txt'), '--k', '3', '--json', 'a fox and some grapes']);
    assert.equal(n.status, 0, n.stderr);
    const nb = n.stdout.trim().split('\n').map((l) => JSON.parse(l) as { text: string; similarity: number });
    assert.equal(nb.length, 3);
    assert.ok(nb.every((x) => x.text.includes('fox')), JSON.stringify(nb));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('VAE recipe overrides: a schedule field the file leaves out may be set bare; a typo is named', async () => {
  const { loadVAERecipe } = await import('../../src/models/vae/index.js');
  const cfg = new URL('../../configs/vae-poem-zh.json', import.meta.url).pathname;
  const r = loadVAERecipe(cfg, { maxIters: '40', warmupIters: '5', lrDecayIters: '40' });
  assert.equal(r.training.maxIters, 40);
  assert.equal(r.training.lrDecayIters, 40);
  assert.throws(() => loadVAERecipe(cfg, { 'training.maxIter': '40' }), /has no field "maxIter"/);
});
