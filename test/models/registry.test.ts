import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  familyFor,
  knownModelTypes,
  loadCausalLM,
  loadModel,
  readConfigFor,
  registeredFamilies,
  UnknownModelTypeError,
  type ModelFamily,
} from '../../src/models/registry.js';
import type { LoadedModelAny } from '../../src/models/loaded.js';
import { CharTokenizer, type Tokenizer } from '../../src/tokenizers/index.js';
import { CountVectorizer } from '../../src/features/index.js';
import { fromArray, noGrad, type Tensor } from '../../src/tensor/index.js';
import type { Module } from '../../src/nn/module.js';
import type { GPT } from '../../src/models/gpt2/model.js';
import type { LlamaForCausalLM } from '../../src/models/llama/model.js';
import type { BertForMaskedLM } from '../../src/models/bert/model.js';
import type { Seq2SeqTransformer } from '../../src/models/seq2seq/model.js';
import type { SentenceVAE } from '../../src/models/vae/sentence-vae.js';
import type { Autoencoder } from '../../src/models/vae/autoencoder.js';
import { ConfigError } from '../../src/errors.js';

const TEXT = ['to be or not to be', 'that is the question'];
const charTok = (special: string[]): CharTokenizer => CharTokenizer.train(TEXT, { specialTokens: special, unkToken: special.includes('[UNK]') ? '[UNK]' : '<unk>' });
const ids = (n: number, v: number): number[] => Array.from({ length: n }, (_, i) => (i * 7 + 3) % v);
const causalLogits = (m: Module): Float32Array => {
  const lm = m as GPT | LlamaForCausalLM;
  return lm.forward(Int32Array.from(ids(6, lm.vocabSize)), 1, 6, lm.newCache(1));
};
const tensorData = (t: Tensor): Float32Array => t.data as Float32Array;

/**
 * One tiny model per family: what `save` needs besides the model, and a
 * deterministic output of the model to compare after the round trip. A family
 * registered without an entry here fails the coverage test below.
 */
interface Case {
  config: Record<string, unknown>;
  parts: (model: Module) => Record<string, unknown>;
  output: (model: Module) => Float32Array;
}

const causalTok = charTok(['<|endoftext|>']);
const bertTok = charTok(['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]']);
const vaeTok = charTok(['<pad>', '<s>', '</s>']);
const vectorizer = new CountVectorizer({ analyzer: 'char' }).fit(TEXT);

const cases: Record<string, Case> = {
  gpt2: {
    config: { model_type: 'gpt2', vocab_size: causalTok.vocabSize, n_positions: 16, n_embd: 16, n_layer: 2, n_head: 2 },
    parts: () => ({ tokenizer: causalTok, generationConfig: { maxNewTokens: 7 }, script: 'simplified' }),
    output: causalLogits,
  },
  llama: {
    config: {
      model_type: 'qwen2', vocab_size: causalTok.vocabSize, hidden_size: 16, intermediate_size: 24, num_hidden_layers: 2,
      num_attention_heads: 4, num_key_value_heads: 2, max_position_embeddings: 32, tie_word_embeddings: false,
    },
    parts: () => ({ tokenizer: causalTok, generationConfig: { maxNewTokens: 7 }, script: 'keep' }),
    output: causalLogits,
  },
  bert: {
    config: { model_type: 'bert', vocab_size: bertTok.vocabSize, hidden_size: 16, num_hidden_layers: 2, num_attention_heads: 2, intermediate_size: 32, max_position_embeddings: 32 },
    parts: () => ({ tokenizer: bertTok, script: 'keep' }),
    output: (m) => noGrad(() => tensorData((m as BertForMaskedLM).forward(fromArray(Int32Array.from(ids(6, bertTok.vocabSize)), [1, 6], 'int32')).logits)),
  },
  seq2seq: {
    config: {
      model_type: 'muse-seq2seq', vocab_size: causalTok.vocabSize, d_model: 16, encoder_layers: 1, decoder_layers: 1,
      encoder_attention_heads: 2, decoder_attention_heads: 2, encoder_ffn_dim: 32, decoder_ffn_dim: 32, max_position_embeddings: 32,
    },
    parts: () => ({ tokenizer: causalTok, generationConfig: { maxNewTokens: 5 }, script: 'keep' }),
    output: (m) =>
      noGrad(() =>
        tensorData(
          (m as Seq2SeqTransformer).forward({
            inputIds: fromArray(Int32Array.from(ids(5, causalTok.vocabSize)), [1, 5], 'int32'),
            decoderInputIds: fromArray(Int32Array.from(ids(4, causalTok.vocabSize)), [1, 4], 'int32'),
          }).logits,
        ),
      ),
  },
  'sentence-vae': {
    config: {
      model_type: 'muse-sentence-vae', vocab_size: vaeTok.vocabSize, n_embd: 8, hidden_size: 16, latent_size: 4, max_length: 8,
      pad_token_id: 0, bos_token_id: 1, eos_token_id: 2, unk_token_id: vaeTok.tokenToId('<unk>')!,
    },
    parts: () => ({ tokenizer: vaeTok, script: 'keep', charsPerLine: 7 }),
    output: (m) => noGrad(() => tensorData((m as SentenceVAE).encode(fromArray(Int32Array.from([1, 5, 6, 7, 2]), [1, 5], 'int32')).mu)),
  },
  'vector-autoencoder': {
    config: { model_type: 'muse-autoencoder', input_size: vectorizer.featureNames().length, hidden_sizes: [8], latent_size: 3, activation: 'tanh' },
    parts: () => ({ vectorizer, norm: 'l2', script: 'traditional' }),
    output: (m) => noGrad(() => tensorData((m as Autoencoder).encode(fromArray(Float32Array.from({ length: vectorizer.featureNames().length }, (_, i) => (i % 3) / 3), [1, vectorizer.featureNames().length])))),
  },
};

test('every registered family has a round-trip case, and model types are unique', () => {
  const names = registeredFamilies().map((f) => f.name);
  assert.deepEqual([...names].sort(), Object.keys(cases).sort(), 'add a case to test/models/registry.test.ts for a new family');
  const types = knownModelTypes();
  assert.equal(new Set(types).size, types.length);
});

for (const family of registeredFamilies()) {
  test(`${family.name}: build → save → loadModel gives the same outputs, kind and settings`, () => {
    const c = cases[family.name];
    assert.ok(c, `no case for family ${family.name}`);
    const dir = mkdtempSync(join(tmpdir(), `muse-registry-${family.name}-`));
    try {
      const config = readConfigFor(c.config, 'test config');
      const model = family.build(config, { seed: 3 });
      model.eval();
      const before = c.output(model);
      const parts = { model, ...c.parts(model) };
      (family).save(dir, parts as never);
      const loaded = loadModel(dir);
      assert.equal(loaded.family, family.name);
      assert.equal(loaded.kind, family.kind);
      assert.equal(loaded.modelType, c.config['model_type']);
      assert.deepEqual(Array.from(c.output(loaded.model)), Array.from(before));
      for (const [k, v] of Object.entries(c.parts(model))) {
        const got = (loaded as unknown as Record<string, unknown>)[k];
        if (k === 'tokenizer') assert.equal((got as Tokenizer).vocabSize, (v as Tokenizer).vocabSize);
        else if (k === 'vectorizer') assert.deepEqual((got as CountVectorizer).toJSON(), (v as CountVectorizer).toJSON());
        else if (k === 'generationConfig') assert.equal((got as { maxNewTokens?: number }).maxNewTokens, (v as { maxNewTokens?: number }).maxNewTokens);
        else assert.deepEqual(got, v, k);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test('an unknown model_type is one error naming config.json and every known type', () => {
  const dir = mkdtempSync(join(tmpdir(), 'muse-registry-unknown-'));
  try {
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ model_type: 't5' }));
    assert.throws(
      () => loadModel(dir),
      (e: unknown) =>
        e instanceof UnknownModelTypeError &&
        e.message.includes(join(dir, 'config.json')) &&
        e.message.includes('"t5"') &&
        knownModelTypes().every((t) => e.message.includes(t)),
    );
    assert.throws(() => familyFor(undefined), /no model_type is not one muse loads; known model types: /);
    // A run directory points at its checkpoints; a missing directory is named.
    mkdirSync(join(dir, 'run', 'best'), { recursive: true });
    writeFileSync(join(dir, 'run', 'best', 'config.json'), '{}');
    assert.throws(() => loadModel(join(dir, 'run')), /training run, whose models are in best\/ and last\//);
    assert.throws(() => loadModel(join(dir, 'nope')), /does not exist/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('config errors name the file and the field; a model of another kind is refused by task', () => {
  assert.throws(() => readConfigFor({ model_type: 'gpt2', n_embd: 30, n_head: 4 }, '/m/config.json'), (e: unknown) => e instanceof ConfigError && /^\/m\/config\.json: .*n_embd/.test(e.message));
  const dir = mkdtempSync(join(tmpdir(), 'muse-registry-kind-'));
  try {
    const c = cases['vector-autoencoder'];
    const fam = familyFor('muse-autoencoder');
    fam.save(dir, { model: fam.build(c.config), ...c.parts(null as never) } as never);
    assert.throws(() => loadCausalLM(dir), (e: unknown) => e instanceof ConfigError && /cannot generate text/.test(e.message) && /gpt2/.test(e.message));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
