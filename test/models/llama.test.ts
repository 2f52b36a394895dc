import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, mkdtempSync, rmSync, writeFileSync, mkdirSync, copyFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Generator, fromArray, noGrad } from '../../src/tensor/index.js';
import { getBackend, setBackend } from '../../src/backend/index.js';
import { LlamaForCausalLM } from '../../src/models/llama/model.js';
import { loadLlama, saveLlama } from '../../src/models/llama/load.js';
import { llamaConfig, llamaParameterCount } from '../../src/models/llama/config.js';
import { ropeInvFreq } from '../../src/models/llama/rope.js';
import { generate, stream } from '../../src/generate/index.js';
import { CharTokenizer } from '../../src/tokenizers/index.js';
import { loadCausalLM } from '../../src/models/registry.js';
import { requireGPT } from '../../src/models/gpt2/family.js';
import { ConfigError, FileFormatError } from '../../src/errors.js';
import { readSafetensors, writeSafetensors, type StTensor } from '../../src/io/safetensors.js';

const here = dirname(fileURLToPath(import.meta.url));
const fixtures = join(here, '../fixtures/llama');
const variants = readdirSync(fixtures, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort();

interface Expected {
  prompt: number[];
  continuation: number[][];
  promptLogits: number[];
  continuationLogits: number[][];
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

function withBackend(name: 'js' | 'native', fn: () => void): boolean {
  const previous = getBackend().name;
  try {
    setBackend(name);
  } catch {
    return false;
  }
  try {
    fn();
  } finally {
    setBackend(previous);
  }
  return true;
}

test('the fixtures cover every variant the issue names', () => {
  for (const v of ['llama', 'llama-gqa-bias-bf16', 'llama3-rope', 'llama-linear-rope', 'llama-dynamic-rope', 'mistral-window', 'qwen2-bias-f16', 'qwen2-window', 'qwen3-qknorm-sharded']) {
    assert.ok(variants.includes(v), v);
  }
});

for (const backend of ['js', 'native'] as const) {
  test(`llama family logits equal the float64 PyTorch reference over a prompt and a cached continuation (${backend} backend)`, (t) => {
    const ran = withBackend(backend, () => {
      for (const v of variants) {
        const dir = join(fixtures, v);
        const exp = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as Expected;
        const { model } = loadLlama(dir);
        const V = model.vocabSize;
        // Training path (no cache), full prompt.
        const ids = Int32Array.from(exp.prompt);
        const P = ids.length;
        const train = noGrad(() => model.forward(fromArray(ids, [1, P], 'int32')).logits.data);
        assert.ok(maxAbsDiff(train, exp.promptLogits) < 1e-4, `${v}: training-path logits off by ${maxAbsDiff(train, exp.promptLogits)}`);
        // Cached path: prompt, then the continuation in two calls.
        const cache = model.newCache(1);
        const pl = model.forward(ids, 1, P, cache);
        assert.ok(maxAbsDiff(pl, exp.promptLogits) < 1e-4, `${v}: cached prompt logits off by ${maxAbsDiff(pl, exp.promptLogits)}`);
        exp.continuation.forEach((c, i) => {
          const got = model.forward(Int32Array.from(c), 1, c.length, cache);
          assert.equal(got.length, c.length * V);
          assert.ok(maxAbsDiff(got, exp.continuationLogits[i]) < 1e-4, `${v}: continuation ${i} off by ${maxAbsDiff(got, exp.continuationLogits[i])}`);
        });
        // lastOnly is the last row of the full logits.
        const last = model.forward(ids, 1, P, model.newCache(1), { lastOnly: true });
        assert.ok(maxAbsDiff(last, exp.promptLogits.slice((P - 1) * V)) < 1e-4, `${v}: lastOnly`);
      }
    });
    if (!ran) t.skip(`${backend} backend unavailable`);
  });
}

test('a left-padded batch row equals the same prompt alone (attention mask + position ids), incl. sliding window and GQA', () => {
  for (const v of ['mistral-window', 'qwen3-qknorm-sharded', 'llama-gqa-bias-bf16']) {
    const { model } = loadLlama(join(fixtures, v));
    const V = model.vocabSize;
    const a = [5, 9, 2, 30, 7, 1, 4];
    const b = [8, 3, 6];
    const T = a.length;
    const pad = T - b.length;
    const ids = Int32Array.from([...a, ...new Array<number>(pad).fill(0), ...b]);
    const mask = Int32Array.from([...new Array<number>(T).fill(1), ...new Array<number>(pad).fill(0), ...new Array<number>(b.length).fill(1)]);
    const pos = Int32Array.from([...a.map((_, i) => i), ...new Array<number>(pad).fill(1), ...b.map((_, i) => i)]);
    const batched = model.forward(ids, 2, T, model.newCache(2), { attentionMask: mask, positionIds: pos, lastOnly: true });
    const alone = model.forward(Int32Array.from(b), 1, b.length, model.newCache(1), { lastOnly: true });
    assert.ok(maxAbsDiff(batched.subarray(V), alone) < 1e-4, `${v}: padded row`);
    const aAlone = model.forward(Int32Array.from(a), 1, T, model.newCache(1), { lastOnly: true });
    assert.ok(maxAbsDiff(batched.subarray(0, V), aAlone) < 1e-4, `${v}: full row`);
  }
});

test('generate: greedy, beam search (cache reorder) and sampling run on a llama model', () => {
  const { model } = loadLlama(join(fixtures, 'qwen3-qknorm-sharded'));
  const greedy = generate(model, [[3, 17, 5]], { maxNewTokens: 6, doSample: false, padTokenId: 0 });
  assert.equal(greedy.sequences[0].length, 6);
  // Greedy by hand with the cache.
  const cache = model.newCache(1);
  let logits = model.forward(Int32Array.from([3, 17, 5]), 1, 3, cache, { lastOnly: true });
  const want: number[] = [];
  for (let i = 0; i < 6; i++) {
    let best = 0;
    for (let j = 1; j < logits.length; j++) if (logits[j] > logits[best]) best = j;
    want.push(best);
    logits = model.forward(Int32Array.from([best]), 1, 1, cache, { lastOnly: true });
  }
  assert.deepEqual(greedy.sequences[0], want);
  const beams = generate(model, [[3, 17, 5], [9]], { maxNewTokens: 5, numBeams: 3, numReturnSequences: 2, doSample: false, padTokenId: 0 });
  assert.equal(beams.sequences.length, 4);
  const sampled = generate(model, [[3, 17, 5]], { maxNewTokens: 5, doSample: true, temperature: 0.8, topK: 10, padTokenId: 0 }, { generator: new Generator(1) });
  assert.equal(sampled.sequences[0].length, 5);
});

test('save → load round-trips the weights and config; a tied head saves no lm_head', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'muse-llama-'));
  try {
    for (const tie of [true, false]) {
      const model = new LlamaForCausalLM({ model_type: 'llama', vocab_size: 20, hidden_size: 8, intermediate_size: 16, num_hidden_layers: 1, num_attention_heads: 2, num_key_value_heads: 1, tie_word_embeddings: tie }, { seed: 3 });
      const dir = join(tmp, `m${tie}`);
      saveLlama(dir, model);
      const cfg = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
      assert.deepEqual(cfg.architectures, ['LlamaForCausalLM']);
      const back = loadLlama(dir).model;
      assert.deepEqual(back.namedParameters().map(([n]) => n), model.namedParameters().map(([n]) => n));
      assert.equal(back.namedParameters().some(([n]) => n === 'lm_head.weight'), !tie);
      const ids = Int32Array.from([1, 2, 3]);
      assert.ok(maxAbsDiff(back.forward(ids, 1, 3, back.newCache(1)), model.forward(ids, 1, 3, model.newCache(1))) === 0);
      assert.equal(model.numParameters(), llamaParameterCount(model.config));
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});

test('parameter counts match the model for every fixture variant', () => {
  for (const v of variants) {
    const { model } = loadLlama(join(fixtures, v));
    assert.equal(model.numParameters(), llamaParameterCount(model.config), v);
  }
});

test('config errors name config.json and the field; unsupported things are named', () => {
  assert.throws(() => llamaConfig({ model_type: 'llama', num_attention_heads: 6, num_key_value_heads: 4, hidden_size: 24 }), (e: Error) => e instanceof ConfigError && /config\.json: num_key_value_heads/.test(e.message));
  assert.throws(() => llamaConfig({ model_type: 'llama', rope_scaling: { rope_type: 'yarn', factor: 4 } } as never), /rope_scaling\.rope_type "yarn" is not supported/);
  assert.throws(() => llamaConfig({ model_type: 'llama', hidden_act: 'gelu' } as never), /hidden_act "gelu"/);
  assert.throws(() => llamaConfig({ model_type: 'gemma' } as never), /model_type "gemma"/);
  assert.throws(() => llamaConfig({ model_type: 'llama', rope_scaling: { rope_type: 'llama3', factor: 8 } }), /rope_scaling\.low_freq_factor/);
  const tmp = mkdtempSync(join(tmpdir(), 'muse-llama-'));
  try {
    const dir = join(tmp, 'broken');
    mkdirSync(dir);
    const src = join(fixtures, 'llama');
    copyFileSync(join(src, 'model.safetensors'), join(dir, 'model.safetensors'));
    const cfg = JSON.parse(readFileSync(join(src, 'config.json'), 'utf8')) as Record<string, unknown>;
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...cfg, rope_scaling: { type: 'longrope', factor: 2 } }));
    assert.throws(() => loadLlama(dir), (e: Error) => e.message.includes(join(dir, 'config.json')) && /longrope/.test(e.message));
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...cfg, tie_word_embeddings: false, num_hidden_layers: 3 }));
    assert.throws(() => loadLlama(dir), (e: Error) => e instanceof FileFormatError && /model\.layers\.2\./.test(e.message));
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});

test('transformers 5 rope_parameters are read as rope_theta + rope_scaling', () => {
  const c = llamaConfig({ model_type: 'llama', rope_parameters: { rope_type: 'llama3', rope_theta: 500000, factor: 32, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 8192 } });
  assert.equal(c.rope_theta, 500000);
  assert.equal(c.rope_scaling?.rope_type, 'llama3');
  assert.equal(c.rope_scaling?.factor, 32);
  const d = llamaConfig({ model_type: 'qwen3', rope_parameters: { rope_type: 'default', rope_theta: 1000000 } });
  assert.equal(d.rope_theta, 1000000);
  assert.equal(d.rope_scaling, null);
  assert.throws(() => llamaConfig({ model_type: 'llama', rope_parameters: { rope_type: 'yarn', rope_theta: 1e4, factor: 4 } }), /rope_scaling\.rope_type "yarn"/);
});

test('rope inverse frequencies: linear divides, llama3 keeps high, smooths medium and divides low frequencies', () => {
  const base = llamaConfig({ model_type: 'llama', hidden_size: 16, num_attention_heads: 2 });
  const f0 = ropeInvFreq(base);
  const lin = ropeInvFreq(llamaConfig({ ...base, rope_scaling: { rope_type: 'linear', factor: 4 } }));
  f0.forEach((f, i) => assert.ok(Math.abs(lin[i] - f / 4) < 1e-15));
  const l3 = ropeInvFreq(llamaConfig({ ...base, rope_scaling: { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 64 } }));
  assert.equal(l3[0], f0[0]); // wavelength 2π < 16: kept
  assert.ok(Math.abs(l3[3] - f0[3] / 8) < 1e-18); // longest wavelength: divided
  // dynamic: unchanged up to max_position_embeddings
  const dyn = llamaConfig({ ...base, max_position_embeddings: 8, rope_scaling: { rope_type: 'dynamic', factor: 2 } });
  assert.deepEqual(Array.from(ropeInvFreq(dyn, 7)), Array.from(f0));
  assert.ok(ropeInvFreq(dyn, 12)[1] < f0[1]);
});

test('loadCausalLM serves a llama directory with its tokenizer: stream and poem-free generation end to end', async () => {
  const tmp = mkdtempSync(join(tmpdir(), 'muse-llama-'));
  try {
    const tok = CharTokenizer.train(['to be or not to be'], { specialTokens: ['<|endoftext|>'], unkToken: '<unk>' });
    const model = new LlamaForCausalLM({ model_type: 'qwen2', vocab_size: tok.vocabSize, hidden_size: 16, intermediate_size: 24, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, max_position_embeddings: 32, tie_word_embeddings: true, eos_token_id: tok.eosTokenId ?? null, bos_token_id: null }, { seed: 9 });
    const dir = join(tmp, 'qwen-char');
    saveLlama(dir, model, { tokenizerJson: tok.toJSON() });
    const loaded = loadCausalLM(dir);
    assert.ok(loaded.model instanceof LlamaForCausalLM);
    assert.throws(() => requireGPT(loaded, 'fine-tuning'), /fine-tuning supports GPT-2 models only; .* is a qwen2 model/);
    const s = stream(loaded.model, loaded.tokenizer, 'to be', { maxNewTokens: 8, doSample: false });
    let text = '';
    for await (const piece of s) text += piece;
    assert.ok(s.output!.sequences[0].length >= 1);
    assert.equal(typeof text, 'string');
    // A prompt longer than the context slides the window (maxPositions = max_position_embeddings).
    const long = generate(loaded.model, [new Array<number>(40).fill(1)], { maxNewTokens: 3, doSample: false, padTokenId: 0 });
    assert.ok(long.promptTokensDropped[0] >= 8);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});

test('poem constraints (form, acrostic) hold on a llama model with sampling and beam search', async () => {
  const { charTokenizer } = await import('../generate/test-tokenizers.js');
  const tok = charTokenizer('春夏秋冬床前明月光疑是地上霜舉頭望低思故鄉白日依山盡黃河入海流，。！？\nab ', { eos: true });
  const model = new LlamaForCausalLM({ model_type: 'qwen2', vocab_size: tok.vocabSize, hidden_size: 16, intermediate_size: 24, num_hidden_layers: 1, num_attention_heads: 2, num_key_value_heads: 1, max_position_embeddings: 128, tie_word_embeddings: true, initializer_range: 0.5 }, { seed: 4 });
  const H = '\\p{Script=Han}';
  const couplet = (n: number): string => `${H}{${n}}，${H}{${n}}。`;
  const quiet = { onWarning: (): void => {}, tokenizer: tok };
  const sampled = generate(model, [[]], { maxNewTokens: 60, form: '5x4', doSample: true, seed: 3 }, quiet);
  assert.match(tok.decode(sampled.sequences[0]), new RegExp(`^(?:${couplet(5)}){2}$`, 'u'));
  const beam = generate(model, [[]], { maxNewTokens: 60, form: '7x4', acrostic: '春夏秋冬', numBeams: 3 }, quiet);
  const text = tok.decode(beam.sequences[0]);
  assert.match(text, new RegExp(`^(?:${couplet(7)}){2}$`, 'u'));
  assert.deepEqual([...text.split(/[，。]/).filter(Boolean).map((l) => l[0])], ['春', '夏', '秋', '冬']);
});

test('a bare LlamaModel checkpoint (no model. prefix) with rotary buffers loads; extra tensors are reported; wrong shapes are named', () => {
  const src = join(fixtures, 'llama');
  const tmp = mkdtempSync(join(tmpdir(), 'muse-llama-'));
  try {
    const { tensors } = readSafetensors(join(src, 'model.safetensors'));
    const bare = new Map<string, StTensor>();
    for (const [n, t] of tensors) bare.set(n === 'lm_head.weight' ? n : n.replace(/^model\./, ''), t);
    bare.set('layers.0.self_attn.rotary_emb.inv_freq', { dtype: 'F32', shape: [2], data: new Float32Array(2) });
    bare.set('score.weight', { dtype: 'F32', shape: [1], data: new Float32Array(1) });
    const dir = join(tmp, 'bare');
    mkdirSync(dir);
    copyFileSync(join(src, 'config.json'), join(dir, 'config.json'));
    writeSafetensors(join(dir, 'model.safetensors'), bare);
    const { model, report } = loadLlama(dir);
    assert.deepEqual(report.unexpected, ['model.score.weight']);
    const exp = JSON.parse(readFileSync(join(src, 'expected.json'), 'utf8')) as Expected;
    const got = model.forward(Int32Array.from(exp.prompt), 1, exp.prompt.length, model.newCache(1));
    assert.ok(maxAbsDiff(got, exp.promptLogits) < 1e-4);
    bare.set('norm.weight', { dtype: 'F32', shape: [3], data: new Float32Array(3) });
    writeSafetensors(join(dir, 'model.safetensors'), bare);
    assert.throws(() => loadLlama(dir), /"model\.norm\.weight" has shape \[3\] but the model expects \[16\]/);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});
