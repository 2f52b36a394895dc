/**
 * Kept fuzz tests: mutated valid inputs for the parsers and readers that take
 * files or requests from outside. Bounded (a fixed number of cases, seeded),
 * seconds each. Every outcome must be a result or a MuseError with a message:
 * never another exception, a hang or unbounded memory.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { MuseError } from '../../src/errors.js';
import { decodeSafetensors, encodeSafetensors, type StTensor } from '../../src/io/safetensors.js';
import { ByteLevelBPETokenizer, CharTokenizer, tokenizerFromJSON } from '../../src/tokenizers/index.js';
import { WordPieceTokenizer } from '../../src/tokenizers/wordpiece.js';
import { loadRecipe } from '../../src/pipelines/recipe.js';
import { gptConfig } from '../../src/models/gpt2/config.js';
import { generationConfigFromHF, validateGenerationConfig } from '../../src/generate/config.js';
import { ROOT } from './helpers.js';
import { mulberry32 as rng } from '../../src/data/split.js';


/** Run `fn`; a MuseError (with a message) or a result passes, anything else fails naming the case. */
function outcome(what: string, fn: () => unknown): 'ok' | 'refused' {
  try {
    fn();
    return 'ok';
  } catch (err) {
    if (err instanceof MuseError && err.message.length > 10) return 'refused';
    throw new Error(`${what}: threw ${(err as Error)?.constructor?.name}: ${(err as Error)?.message}`, { cause: err });
  }
}

const heapBefore = (): number => process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers;

function mutateBytes(src: Uint8Array, r: () => number): Uint8Array {
  const b = Uint8Array.from(src);
  const kind = Math.floor(r() * 6);
  const at = Math.floor(r() * b.length);
  if (kind === 0) for (let i = 0; i < 1 + r() * 8; i++) b[Math.floor(r() * b.length)] = Math.floor(r() * 256);
  else if (kind === 1) return b.subarray(0, at);
  else if (kind === 2) b[Math.floor(r() * 8)] = Math.floor(r() * 256); // the header length
  else if (kind === 3) {
    // a digit of the JSON header (shapes, offsets) changed
    const header = Math.min(b.length, 8 + (b[0] | (b[1] << 8)));
    for (let i = 8; i < header; i++) if (b[i] >= 0x30 && b[i] <= 0x39 && r() < 0.2) b[i] = 0x30 + Math.floor(r() * 10);
  } else if (kind === 4) return new Uint8Array([...b.subarray(0, at), ...Array.from({ length: 1 + Math.floor(r() * 16) }, () => Math.floor(r() * 256)), ...b.subarray(at)]);
  else b[at] = b[at] ^ (1 << Math.floor(r() * 8));
  return b;
}

test('fuzz: mutated safetensors files decode or are refused with a FileFormatError', () => {
  const tensors = new Map<string, StTensor>([
    ['a.weight', { dtype: 'F32', shape: [3, 4], data: Float32Array.from({ length: 12 }, (_, i) => i / 7) }],
    ['b', { dtype: 'I32', shape: [5], data: Int32Array.from([1, -2, 3, 4, 5]) }],
  ]);
  const valid = encodeSafetensors(tensors, { format: 'pt' });
  const r = rng(17);
  const before = heapBefore();
  const seen = { ok: 0, refused: 0 };
  for (let i = 0; i < 400; i++) {
    const bytes = mutateBytes(valid, r);
    seen[outcome(`safetensors case ${i}`, () => decodeSafetensors(bytes, 'fuzz.safetensors'))]++;
  }
  assert.ok(seen.refused > 100, JSON.stringify(seen));
  assert.ok(heapBefore() - before < 200e6, 'memory stayed bounded');
});

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** Replace, delete or retype one random node of a JSON value. */
function mutateJson(v: Json, r: () => number, depth = 0): Json {
  const weird: Json[] = [null, -1, 0, 1e9, 2 ** 31, -0.5, 'x', '', [], {}, true, '<unk>', [1, 2, 3], { a: 1 }, 1e300];
  if (depth > 0 && r() < 0.15) return weird[Math.floor(r() * weird.length)]!;
  if (Array.isArray(v)) {
    if (v.length === 0) return r() < 0.5 ? [weird[Math.floor(r() * weird.length)]!] : v;
    const out = [...v];
    const i = Math.floor(r() * out.length);
    if (r() < 0.2) out.splice(i, 1);
    else if (r() < 0.2) out.push(out[i]); // a duplicate
    else out[i] = mutateJson(out[i], r, depth + 1);
    return out;
  }
  if (v !== null && typeof v === 'object') {
    const keys = Object.keys(v);
    if (keys.length === 0) return v;
    const out = { ...v };
    const k = keys[Math.floor(r() * keys.length)];
    if (r() < 0.2) delete out[k];
    else out[k] = mutateJson(out[k], r, depth + 1);
    return out;
  }
  return weird[Math.floor(r() * weird.length)]!;
}

test('fuzz: mutated tokenizer.json files load (and encode) or are refused with a MuseError', () => {
  const text = ['the quick brown fox jumps over the lazy dog', '床前明月光，疑是地上霜。', "it's 12 o'clock"];
  const sources: Json[] = [
    CharTokenizer.train(text, { specialTokens: ['<|endoftext|>'], unkToken: '<unk>' }).toJSON() as unknown as Json,
    ByteLevelBPETokenizer.train(text, { vocabSize: 300, minFrequency: 1, specialTokens: ['<|endoftext|>'] }).toJSON() as unknown as Json,
    WordPieceTokenizer.train(text, { vocabSize: 120 }).toJSON() as unknown as Json,
    JSON.parse(readFileSync(join(ROOT, 'models', 'muse-story-en', 'tokenizer.json'), 'utf8')) as Json,
  ];
  const r = rng(5);
  const seen = { ok: 0, refused: 0 };
  for (let i = 0; i < 240; i++) {
    let doc: Json = sources[i % sources.length];
    for (let k = 0; k < 1 + Math.floor(r() * 3); k++) doc = mutateJson(doc, r);
    seen[outcome(`tokenizer case ${i}`, () => {
      const tok = tokenizerFromJSON(doc, { onWarning: () => {} });
      const ids = tok.encode(text[i % text.length], { addSpecialTokens: true }).ids;
      tok.decode(ids);
    })]++;
  }
  assert.ok(seen.ok > 20 && seen.refused > 20, JSON.stringify(seen));
});

test('fuzz: mutated recipes, model configs and generation configs are read or refused with a MuseError', () => {
  const dir = mkdtempSync(join(tmpdir(), 'muse-fuzz-'));
  try {
    const recipe = JSON.parse(readFileSync(join(ROOT, 'configs', 'shakespeare-char-baby.json'), 'utf8')) as Json;
    const model = JSON.parse(readFileSync(join(ROOT, 'models', 'muse-story-en', 'config.json'), 'utf8')) as Json;
    const gen = JSON.parse(readFileSync(join(ROOT, 'models', 'muse-story-en', 'generation_config.json'), 'utf8')) as Json;
    const r = rng(9);
    const seen = { ok: 0, refused: 0 };
    for (let i = 0; i < 150; i++) {
      const path = join(dir, `r${i}.json`);
      const text = JSON.stringify(mutateJson(recipe, r));
      // Some files are cut short or hold stray bytes too.
      writeFileSync(path, r() < 0.2 ? text.slice(0, Math.floor(r() * text.length)) : text);
      seen[outcome(`recipe case ${i}`, () => loadRecipe(path))]++;
      seen[outcome(`config case ${i}`, () => gptConfig(mutateJson(model, r) as Record<string, unknown>))]++;
      seen[outcome(`generation config case ${i}`, () => validateGenerationConfig(generationConfigFromHF(mutateJson(gen, r) as Record<string, unknown>)))]++;
    }
    assert.ok(seen.ok > 50 && seen.refused > 50, JSON.stringify(seen));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
