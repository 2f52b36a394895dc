/**
 * Half-precision Hugging Face Llama directories: with `dtype: 'auto'` an F16
 * checkpoint loads as a StoredLlamaLM whose matrices stay F16 (views into the
 * file), giving the float32 model's logits within half-precision error; with
 * `dtype: 'float32'` (the default) it loads as the trainable LlamaForCausalLM;
 * a stored model refuses to be saved, naming --dtype float32.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { getBackend } from '../../src/backend/index.js';
import { LlamaForCausalLM } from '../../src/models/llama/model.js';
import { saveLlama } from '../../src/models/llama/load.js';
import { saveLlamaDir } from '../../src/models/llama/family.js';
import { loadCausalLM } from '../../src/models/registry.js';
import { readSafetensors, writeSafetensors } from '../../src/io/safetensors.js';
import { nativeDecoderAvailable } from '../../src/models/stored/decoder.js';
import { StoredLlamaLM } from '../../src/models/stored/llama.js';
import { CharTokenizer } from '../../src/tokenizers/index.js';
import { ConfigError } from '../../src/errors.js';

const skip = nativeDecoderAvailable() && getBackend().name === 'native' ? false : 'native addon not built';

test('an F16 llama directory stays half precision with dtype auto', { skip }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'muse-hf-stored-'));
  try {
    const m = new LlamaForCausalLM({ model_type: 'qwen2', vocab_size: 40, hidden_size: 64, intermediate_size: 96, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, max_position_embeddings: 32 }, { seed: 5 });
    const tok = CharTokenizer.train(['abcdefghij klmnop'], { specialTokens: ['<|endoftext|>'] });
    saveLlama(dir, m, { tokenizerJson: tok.toJSON() });
    const path = join(dir, 'model.safetensors');
    const { tensors, metadata } = readSafetensors(path);
    writeSafetensors(path, tensors, metadata, { floatDtype: 'F16' });

    const f32 = loadCausalLM(dir);
    assert.ok(f32.model instanceof LlamaForCausalLM);
    const half = loadCausalLM(dir, { dtype: 'auto', kvCacheDtype: 'float16' });
    assert.ok(half.model instanceof StoredLlamaLM);
    const ids = Int32Array.from([3, 7, 1, 9, 4]);
    const a = f32.model.forward(ids, 1, 5, f32.model.newCache(1), { lastOnly: true });
    const b = half.model.forward(ids, 1, 5, half.model.newCache(1), { lastOnly: true });
    let err = 0;
    let scale = 0;
    for (let i = 0; i < a.length; i++) {
      err = Math.max(err, Math.abs(a[i] - b[i]));
      scale = Math.max(scale, Math.abs(a[i]));
    }
    assert.ok(err < 1e-2 * scale + 1e-4, `max |Δlogit| ${err} vs scale ${scale}`);
    assert.throws(() => saveLlamaDir(join(dir, 'copy'), half as never), (e: unknown) => e instanceof ConfigError && /--dtype float32/.test((e as Error).message));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
