import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { loadGPT } from '../../src/models/gpt2/weights.js';
import { loadCausalLM } from '../../src/models/registry.js';
import { readSafetensors, writeSafetensors } from '../../src/io/safetensors.js';
import { FileFormatError } from '../../src/errors.js';
import { ROOT } from './helpers.js';

const MODEL = join(ROOT, 'models', 'muse-story-en');

/** A copy of the bundled English model with its config changed by `edit`. */
function variant(edit: (cfg: Record<string, unknown>) => void): string {
  const dir = mkdtempSync(join(tmpdir(), 'muse-garbage-'));
  cpSync(MODEL, dir, { recursive: true });
  const cfg = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
  edit(cfg);
  writeFileSync(join(dir, 'config.json'), JSON.stringify(cfg));
  return dir;
}

const refused = (dir: string, pattern: RegExp): void => {
  try {
    assert.throws(() => loadGPT(dir), (e: unknown) => e instanceof FileFormatError && pattern.test(e.message) && e.message.includes(join(dir, 'config.json')) || (e instanceof FileFormatError && pattern.test(e.message) && e.message.includes(dir)));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
};

test('absurd or wrongly typed config fields are refused naming config.json and the field', () => {
  refused(variant((c) => (c.n_positions = 1e9)), /config\.json: n_positions is 1000000000, more than muse supports/);
  refused(variant((c) => (c.n_embd = '256')), /config\.json: n_embd must be a positive integer, got the string "256"; write the number without quotes/);
  refused(variant((c) => (c.layer_norm_epsilon = -1)), /config\.json: layer_norm_epsilon must be a small positive number/);
  refused(variant((c) => (c.n_layer = 2)), /tensors the config does not use .*layers 2, 3 beyond .*config\.json's n_layer 2/);
});

test('a checkpoint whose wte is stored as I32 is refused; a stored head that differs from wte is reported when dropped', () => {
  const dir = variant((c) => delete c.tie_word_embeddings);
  try {
    const { tensors } = readSafetensors(join(dir, 'model.safetensors'));
    const wte = tensors.get('transformer.wte.weight')!;
    tensors.set('transformer.wte.weight', { dtype: 'I32', shape: wte.shape, data: Int32Array.from(wte.data, (x) => Math.round(x * 100)) });
    writeSafetensors(join(dir, 'model.safetensors'), tensors);
    assert.throws(() => loadGPT(dir), /model\.safetensors: tensor transformer\.wte\.weight is stored as I32/);
    tensors.set('transformer.wte.weight', wte);
    tensors.set('lm_head.weight', { dtype: 'F32', shape: wte.shape, data: Float32Array.from(wte.data, (x) => x + 1) });
    writeSafetensors(join(dir, 'model.safetensors'), tensors);
    const warnings: string[] = [];
    loadGPT(dir, { onWarning: (m) => warnings.push(m) });
    assert.match(warnings.join('\n'), /lm_head\.weight differs from wte .* stored head weights are discarded/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a tokenizer larger than the model vocabulary is refused at load, naming both files', () => {
  const dir = variant((c) => (c.vocab_size = 40));
  try {
    const { tensors } = readSafetensors(join(dir, 'model.safetensors'));
    const wte = tensors.get('transformer.wte.weight')!;
    tensors.set('transformer.wte.weight', { dtype: 'F32', shape: [40, wte.shape[1]], data: (wte.data as Float32Array).slice(0, 40 * wte.shape[1]) });
    writeSafetensors(join(dir, 'model.safetensors'), tensors);
    assert.throws(() => loadCausalLM(dir), /the tokenizer has 69 tokens but .*config\.json says vocab_size 40/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('tokenizer.json: duplicate ids are refused; missing entries and an added token beyond the vocabulary are reported', async () => {
  const { tokenizerFromJSON, CharTokenizer } = await import('../../src/tokenizers/index.js');
  const json = CharTokenizer.train(['abcdefghij'], { specialTokens: ['<|endoftext|>'], unkToken: '<unk>' }).toJSON() as unknown as { model: { vocab: Record<string, number> }; added_tokens: { id: number }[] };
  const dup = structuredClone(json);
  dup.model.vocab['b'] = dup.model.vocab['a']!;
  assert.throws(() => tokenizerFromJSON(dup, { source: 'x/tokenizer.json' }), /x\/tokenizer\.json: model\.vocab gives the id \d+ to both "a" and "b"/);
  const holes = structuredClone(json);
  for (const c of 'cdefg') delete holes.model.vocab[c];
  const warnings: string[] = [];
  tokenizerFromJSON(holes, { source: 'x/tokenizer.json', onWarning: (m) => warnings.push(m) });
  assert.match(warnings.join('\n'), /x\/tokenizer\.json: 5 ids below \d+ belong to no token/);
  const beyond = structuredClone(json);
  beyond.added_tokens[0].id = 500;
  warnings.length = 0;
  tokenizerFromJSON(beyond, { onWarning: (m) => warnings.push(m) });
  assert.match(warnings.join('\n'), /ids below 500 belong to no token/);
});
