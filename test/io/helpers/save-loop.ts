// Child process for the crash test in checkpoint.test.ts: saves versions 1, 2, 3…
// of a checkpoint forever, printing "saved N" after each, until killed.
import { saveCheckpoint } from '../../../src/io/checkpoint.js';

const dir = process.argv[2];
const size = Number(process.argv[3] ?? 1 << 20);
for (let v = 1; ; v++) {
  saveCheckpoint(dir, {
    config: { model_type: 'gpt2', version: v },
    tensors: new Map([['w', { dtype: 'F32', shape: [size], data: new Float32Array(size).fill(v) }]]),
    trainerState: { step: v },
    optimizerTensors: new Map([['w.exp_avg', { dtype: 'F32', shape: [size], data: new Float32Array(size).fill(v) }]]),
    extraFiles: { 'version.txt': String(v) },
  });
  process.stdout.write(`saved ${v}\n`);
}
