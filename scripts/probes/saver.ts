// Child of reliability-probes.ts: saves the bundled story model into OUT/last and OUT/best in a loop
// (as a training run's evaluations do), printing "saved N" after each save, until killed.
import { join } from 'node:path';
import { loadCheckpoint, saveCheckpoint, copyCheckpoint } from '../../src/io/checkpoint.js';

const out = process.argv[2]!;
const ck = loadCheckpoint(join(import.meta.dirname, '../../models/muse-story-en'));
for (let i = 0; ; i++) {
  saveCheckpoint(join(out, 'last'), { config: ck.config, tensors: ck.tensors, tokenizerJson: ck.tokenizerJson, generationConfig: ck.generationConfig, trainerState: { global_step: i } });
  if (i % 3 === 0) copyCheckpoint(join(out, 'last'), join(out, 'best'));
  process.stdout.write(`saved ${i}\n`);
}
