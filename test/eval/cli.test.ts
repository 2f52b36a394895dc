import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { close } from './fixtures.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

function muse(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [join(root, 'bin', 'muse.js'), 'eval', ...args], {
    encoding: 'utf8',
    env: { ...process.env, MUSE_FROM_SOURCE: '1' },
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('muse eval --json: sacreBLEU README example, two references, all metrics in one object', () => {
  const dir = mkdtempSync(join(tmpdir(), 'muse-eval-'));
  try {
    writeFileSync(join(dir, 'hyp.txt'), "The dog bit the man.\nIt wasn't surprising.\nThe man had just bitten him.\n");
    writeFileSync(join(dir, 'r1.txt'), 'The dog bit the man.\nIt was not unexpected.\nThe man bit him first.\n');
    writeFileSync(join(dir, 'r2.txt'), 'The dog had bit the man.\nNo one was surprised.\nThe man had bitten the dog.\n');
    writeFileSync(join(dir, 'short.txt'), 'one line\n');
    writeFileSync(join(dir, 'empty.txt'), '');
    const r = muse(['--hyp', join(dir, 'hyp.txt'), '--ref', join(dir, 'r1.txt'), '--ref', join(dir, 'r2.txt'), '--json']);
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout) as {
      bleu: { score: number; counts: number[]; signature: string; sysLen: number; refLen: number };
      chrf: { score: number; signature: string };
      rouge: Record<string, { fmeasure: number }>;
    };
    close(out.bleu.score, 48.530827, 'BLEU', 1e-6);
    assert.deepEqual(out.bleu.counts, [14, 7, 5, 3]);
    assert.equal(out.bleu.sysLen, 17);
    assert.match(out.bleu.signature, /^nrefs:2\|case:mixed\|eff:no\|tok:13a\|smooth:exp\|version:/);
    assert.match(out.chrf.signature, /^nrefs:2\|/);
    assert.deepEqual(Object.keys(out.rouge), ['rouge1', 'rouge2', 'rougeL', 'rougeLsum']);

    const bad = muse(['--hyp', join(dir, 'hyp.txt'), '--ref', join(dir, 'short.txt')]);
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /line counts differ: .*hyp\.txt has 3 lines but .*short\.txt has 1/);
    const empty = muse(['--hyp', join(dir, 'empty.txt'), '--ref', join(dir, 'r1.txt')]);
    assert.equal(empty.status, 1);
    assert.match(empty.stderr, /empty\.txt is empty/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
