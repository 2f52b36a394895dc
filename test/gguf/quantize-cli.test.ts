// `muse quantize` / `muse export --format gguf`: a model directory or a GGUF file in, GGUF out;
// re-quantizing an exported F32 GGUF gives the same tensors as quantizing the directory; the
// result loads back through the registry (`muse generate --model FILE.gguf`).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GgufFile, metaNumber, metaStrings } from '../../src/io/gguf.js';
import { convertToGguf, parseGgufFileType } from '../../src/gguf/convert.js';
import { loadCausalLM } from '../../src/models/registry.js';
import { ConfigError } from '../../src/errors.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const STORY = join(root, 'models', 'muse-story-en');

function muse(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [join(root, 'bin', 'muse.js'), ...args], { encoding: 'utf8', env: { ...process.env, MUSE_FROM_SOURCE: '1' } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('directory → F32 GGUF → Q8_0 GGUF equals directory → Q8_0 GGUF, tensor for tensor; metadata kept', () => {
  const dir = mkdtempSync(join(tmpdir(), 'muse-quant-'));
  try {
    const f32 = convertToGguf(STORY, join(dir, 'f32.gguf'), 'f32');
    assert.deepEqual(f32.types, { F32: 52 });
    const direct = convertToGguf(STORY, join(dir, 'direct.gguf'), 'q8_0');
    const requant = convertToGguf(join(dir, 'f32.gguf'), join(dir, 'requant.gguf'), 'q8_0');
    assert.deepEqual(requant.types, direct.types);
    const a = GgufFile.open(join(dir, 'direct.gguf'));
    const b = GgufFile.open(join(dir, 'requant.gguf'));
    try {
      assert.deepEqual(a.tensors.map((t) => [t.name, t.typeName]), b.tensors.map((t) => [t.name, t.typeName]));
      for (const t of a.tensors) assert.deepEqual(a.readTensorBytes(t), b.readTensorBytes(t.name), t.name);
      assert.equal(metaNumber(b.metadata, 'general.file_type'), 7, 'LLAMA_FTYPE_MOSTLY_Q8_0');
      assert.deepEqual(metaStrings(b.metadata, 'tokenizer.ggml.tokens'), metaStrings(a.metadata, 'tokenizer.ggml.tokens'));
    } finally {
      a.close();
      b.close();
    }
    // the quantized file generates through the registry like the directory
    const q = loadCausalLM(join(dir, 'requant.gguf'));
    assert.equal(q.family, 'gpt2');
    assert.ok(q.model.vocabSize >= loadCausalLM(STORY).model.vocabSize);
    assert.throws(() => parseGgufFileType('q3_k'), (e: Error) => e instanceof ConfigError && /q8_0, q4_0, q4_k_m/.test(e.message));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('muse quantize and muse export --format gguf on the command line', () => {
  const dir = mkdtempSync(join(tmpdir(), 'muse-quant-cli-'));
  try {
    const q = muse(['quantize', STORY, '--type', 'q4_k_m', '--out', join(dir, 's.gguf'), '--json']);
    assert.equal(q.status, 0, q.stderr);
    const r = JSON.parse(q.stdout) as { fileType: string; arch: string; types: Record<string, number> };
    assert.equal(r.fileType, 'q4_k_m');
    assert.equal(r.arch, 'gpt2');
    const e = muse(['export', STORY, '--format', 'gguf', '--out', join(dir, 'e.gguf')]);
    assert.equal(e.status, 0, e.stderr);
    assert.match(e.stdout, /wrote .*e\.gguf: gpt2, f32, 52 tensors/);
    const gen = muse(['generate', '--model', join(dir, 'e.gguf'), 'Once upon a time', '--max-new-tokens', '8', '--seed', '1']);
    assert.equal(gen.status, 0, gen.stderr);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a GGUF file of another architecture, or a corrupt one, is refused naming the problem', async () => {
  const { writeGguf } = await import('../../src/io/gguf-write.js');
  const { ggufValue } = await import('../../src/io/gguf.js');
  const { writeFileSync } = await import('node:fs');
  const dir = mkdtempSync(join(tmpdir(), 'muse-quant-arch-'));
  try {
    const phi = join(dir, 'phi.gguf');
    writeGguf(phi, { metadata: [['general.architecture', ggufValue.string('phi3')]], tensors: [] });
    assert.throws(() => loadCausalLM(phi), /GGUF architecture "phi3" is not one muse runs; muse reads gpt2, llama, qwen2, qwen3/);
    const cut = join(dir, 'cut.gguf');
    writeFileSync(cut, Buffer.from('GGUF\x03\x00\x00\x00', 'latin1'));
    assert.throws(() => loadCausalLM(cut), /cut\.gguf: not a valid GGUF file: .*truncated|shorter than a GGUF header/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a muse Llama directory (char tokenizer) → GGUF → muse: same logits, same tokenization', async () => {
  const { LlamaForCausalLM } = await import('../../src/models/llama/model.js');
  const { saveLlamaDir } = await import('../../src/models/llama/family.js');
  const { CharTokenizer } = await import('../../src/tokenizers/index.js');
  const dir = mkdtempSync(join(tmpdir(), 'muse-quant-llama-'));
  try {
    const tok = CharTokenizer.train(['To be, or not to be: that is the question.\n'], { specialTokens: ['<|endoftext|>'], unkToken: '<unk>' });
    const model = new LlamaForCausalLM(
      { model_type: 'llama', vocab_size: tok.vocabSize, hidden_size: 64, intermediate_size: 128, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, max_position_embeddings: 64, initializer_range: 0.2, tie_word_embeddings: false },
      { seed: 9 },
    );
    saveLlamaDir(join(dir, 'm'), { model, tokenizer: tok, generationConfig: { eosTokenId: 0 }, script: 'keep', info: { contextLength: 64, nLayer: 2, nHead: 4, vocabSize: tok.vocabSize } });
    const r = convertToGguf(join(dir, 'm'), join(dir, 'm.gguf'), 'f32');
    assert.equal(r.arch, 'llama');
    const back = loadCausalLM(join(dir, 'm.gguf'), { dtype: 'float32' });
    const ids = tok.encodeIds('to be or not', { addSpecialTokens: false });
    assert.deepEqual(back.tokenizer.encodeIds('to be or not', { addSpecialTokens: false }), ids);
    const V = tok.vocabSize;
    const want = model.forward(Int32Array.from(ids), 1, ids.length, model.newCache(1), { lastOnly: true });
    const got = back.model.forward(Int32Array.from(ids), 1, ids.length, back.model.newCache(1), { lastOnly: true });
    for (let i = 0; i < V; i++) assert.ok(Math.abs(got[i] - want[i]) < 1e-5, `logit ${i}: ${got[i]} vs ${want[i]}`);
    for (let i = V; i < back.model.vocabSize; i++) assert.equal(got[i], 0, 'byte-fallback rows are zero');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
