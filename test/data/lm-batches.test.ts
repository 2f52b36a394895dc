import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError } from '../../src/errors.js';
import { countSequentialBatches, getBatch, sequentialBatches } from '../../src/data/lm-batches.js';

/** A scripted random source that records its calls. */
function scripted(values: number[]): { randint(low: number, high: number): number; calls: [number, number][] } {
  const calls: [number, number][] = [];
  let k = 0;
  return {
    calls,
    randint(low: number, high: number) {
      calls.push([low, high]);
      return values[k++ % values.length];
    },
  };
}

test("getBatch follows nanoGPT's get_batch: ix = randint(len - block), x = d[i:i+b], y = d[i+1:i+1+b]", () => {
  const data = Int32Array.from({ length: 20 }, (_, i) => 100 + i);
  const rng = scripted([0, 15, 5]);
  const { inputIds, labels, batchSize, seqLen } = getBatch(data, 4, 3, rng);
  // torch.randint(len(data) - block_size, (batch_size,)) draws from [0, 16)
  assert.deepEqual(rng.calls, [[0, 16], [0, 16], [0, 16]]);
  assert.equal(batchSize, 3);
  assert.equal(seqLen, 4);
  assert.deepEqual([...inputIds], [100, 101, 102, 103, 115, 116, 117, 118, 105, 106, 107, 108]);
  assert.deepEqual([...labels], [101, 102, 103, 104, 116, 117, 118, 119, 106, 107, 108, 109]);
});

test('getBatch with the largest offset reaches the last token and no further', () => {
  const data = Int32Array.from({ length: 10 }, (_, i) => i);
  const { inputIds, labels } = getBatch(data, 3, 1, { randint: (_low: number, high: number) => high - 1 });
  assert.deepEqual([...inputIds], [6, 7, 8]);
  assert.deepEqual([...labels], [7, 8, 9]);
  assert.throws(() => getBatch(data, 10, 1, { randint: () => 0 }), (e: unknown) => e instanceof ConfigError && /10 tokens, fewer than blockSize \+ 1 = 11/.test(e.message));
  assert.throws(() => getBatch(data, 0, 1, { randint: () => 0 }), ConfigError);
});

test('sequential batches cover every target exactly once, in order', () => {
  for (const [n, block, batch] of [[101, 8, 3], [17, 4, 2], [9, 8, 5], [2, 8, 1], [33, 8, 4]] as const) {
    const data = Int32Array.from({ length: n }, (_, i) => i * 3 + 1);
    const batches = [...sequentialBatches(data, block, batch)];
    const inputs = batches.flatMap((b) => [...b.inputIds]);
    const targets = batches.flatMap((b) => [...b.labels]);
    assert.deepEqual(targets, [...data.subarray(1)], `n=${n}`);
    assert.deepEqual(inputs, [...data.subarray(0, n - 1)], `n=${n}`);
    for (const b of batches) {
      assert.ok(b.batchSize <= batch && b.seqLen <= block);
      assert.equal(b.inputIds.length, b.batchSize * b.seqLen);
    }
    assert.equal(batches.length, countSequentialBatches(n, block, batch), `n=${n}`);
  }
  assert.deepEqual([...sequentialBatches(Int32Array.of(5), 4, 2)], []);
});
