/**
 * The stored-weight decoder (native/src/lm_decode.cc) on GPT-2: with F32
 * weights its logits equal the GPT model's own cached forward within 1e-4
 * (prompt, then a cached continuation, batch of 2 with padding); with F16
 * weights, Q8_0 weights and a float16 KV cache it stays close.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GPT } from '../../src/models/gpt2/model.js';
import { DecodeCache, NativeDecoder, nativeDecoderAvailable } from '../../src/models/stored/decoder.js';
import { gpt2DecoderSpec } from '../../src/models/stored/gpt2.js';
import type { GgmlType } from '../../src/quant/formats.js';
import { assertClose } from '../backend/native-util.js';

const skip = nativeDecoderAvailable() ? false : 'native addon not built (node scripts/build-native.mjs)';

function tinyGpt(): GPT {
  const m = new GPT({ vocab_size: 67, n_positions: 48, n_embd: 64, n_layer: 2, n_head: 4, resid_pdrop: 0, embd_pdrop: 0, attn_pdrop: 0 }, { seed: 7 });
  // Non-zero biases and LayerNorm affine, so every term is exercised.
  let s = 1;
  for (const [, p] of m.namedParameters()) {
    const d = p.data as Float32Array;
    if (p.shape.length === 1) for (let i = 0; i < d.length; i++) d[i] += 0.05 * Math.sin(s++ * 0.7);
  }
  m.eval();
  return m;
}

function run(forward: (ids: Int32Array, t: number, mask: Int32Array) => Float32Array): Float32Array[] {
  // Row 1 is left-padded by two positions.
  const prompt = Int32Array.from([5, 9, 13, 2, 44, 60, 0, 0, 8, 31, 3, 12]);
  const mask1 = Int32Array.from([1, 1, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1]);
  const out = [forward(prompt, 6, mask1)];
  const mask2 = Int32Array.from([1, 1, 1, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 1]);
  out.push(forward(Int32Array.from([17, 23]), 1, mask2));
  return out;
}

function reference(model: GPT): Float32Array[] {
  model.fastDecode = false;
  const cache = model.newCache(2);
  return run((ids, t, mask) => model.forward(ids, 2, t, cache, { attentionMask: mask, positionIds: positions(t, cache.length, mask) }));
}

/** Positions that skip padding (as generation computes them): the count of real tokens before each. */
function positions(t: number, past: number, mask: Int32Array): Int32Array {
  const tk = past + t;
  const pos = new Int32Array(2 * t);
  for (let b = 0; b < 2; b++) {
    for (let j = past; j < tk; j++) {
      let seen = 0;
      for (let i = 0; i < j; i++) seen += mask[b * tk + i];
      pos[b * t + (j - past)] = seen;
    }
  }
  return pos;
}

function native(model: GPT, type: GgmlType, kv: 'float32' | 'float16' = 'float32'): Float32Array[] {
  const dec = new NativeDecoder(gpt2DecoderSpec(model, { type, embedType: 'F32' }));
  const cache: DecodeCache = dec.newCache(2, model.maxPositions, kv);
  return run((ids, t, mask) => dec.forward(ids, 2, t, cache, { attentionMask: mask, positionIds: positions(t, cache.length, mask) }));
}

test('GPT-2 on the stored-weight decoder equals the autograd path (F32, 1e-4)', { skip }, () => {
  const model = tinyGpt();
  const want = reference(model);
  const got = native(model, 'F32');
  for (let i = 0; i < want.length; i++) assertClose(got[i], want[i], 1e-4, `step ${i}`);
});

test('GPT-2 on the stored-weight decoder: F16 and Q8_0 weights, float16 KV cache', { skip }, () => {
  const model = tinyGpt();
  const want = reference(model);
  for (const [type, kv, tol] of [['F16', 'float32', 2e-3], ['F32', 'float16', 2e-3], ['Q8_0', 'float32', 3e-2]] as const) {
    const got = native(model, type, kv);
    for (let i = 0; i < want.length; i++) assertClose(got[i], want[i], tol, `${type} kv=${kv} step ${i}`);
  }
});

test('the decoder names a weight whose shape does not fit', { skip }, () => {
  const model = tinyGpt();
  const spec = gpt2DecoderSpec(model, { type: 'F32' });
  spec.layers[1].o = spec.layers[1].up;
  assert.throws(() => new NativeDecoder(spec), /layers\[1\]\.o is 256×64, expected 64×64/);
});
