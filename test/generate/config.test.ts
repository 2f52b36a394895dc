/**
 * GenerationConfig: validation names the option before any work, HF
 * defaults, and the generation_config.json mapping (checked against a file
 * transformers itself wrote, when /work/shared is present).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, FileFormatError } from '../../src/errors.js';
import {
  generate,
  generationConfigFromHF,
  readGenerationConfig,
  resolveGenerationConfig,
  toHF,
  validateGenerationConfig,
  writeGenerationConfig,
  type GenerationConfig,
} from '../../src/generate/index.js';
import type { CausalLM } from '../../src/models/causal-lm.js';

function throwsNaming(cfg: unknown, option: string): void {
  assert.throws(
    () => validateGenerationConfig(cfg as GenerationConfig),
    (err: unknown) => err instanceof ConfigError && err.message.includes(option),
    `expected a ConfigError naming ${option} for ${JSON.stringify(cfg)}`,
  );
}

test('invalid values are rejected with the option named', () => {
  throwsNaming({ temperature: -0.5 }, 'temperature');
  throwsNaming({ temperature: NaN }, 'temperature');
  throwsNaming({ topP: 1.5 }, 'topP');
  throwsNaming({ topP: -0.1 }, 'topP');
  throwsNaming({ topK: -1 }, 'topK');
  throwsNaming({ topK: 2.5 }, 'topK');
  throwsNaming({ minP: 1.2 }, 'minP');
  throwsNaming({ typicalP: 0 }, 'typicalP');
  throwsNaming({ repetitionPenalty: 0 }, 'repetitionPenalty');
  throwsNaming({ numBeams: 0 }, 'numBeams');
  throwsNaming({ maxNewTokens: 0 }, 'maxNewTokens');
  throwsNaming({ minNewTokens: -1 }, 'minNewTokens');
  throwsNaming({ noRepeatNgramSize: -2 }, 'noRepeatNgramSize');
  throwsNaming({ earlyStopping: 'sometimes' }, 'earlyStopping');
  throwsNaming({ eosTokenId: -1 }, 'eosTokenId');
  throwsNaming({ eosTokenId: [] }, 'eosTokenId');
  throwsNaming({ badWordsIds: [[]] }, 'badWordsIds');
  throwsNaming({ stopStrings: [''] }, 'stopStrings');
  throwsNaming({ seed: -3 }, 'seed');
  throwsNaming({ form: '6x4' }, 'form');
  throwsNaming({ acrostic: '' }, 'acrostic');
  throwsNaming({ acrostic: '一二三四五', form: '5x4' }, 'acrostic');
  throwsNaming({ doSample: 'yes' }, 'doSample');
  throwsNaming({ numBeams: 2, numReturnSequences: 3 }, 'numReturnSequences');
  throwsNaming({ numReturnSequences: 2 }, 'numReturnSequences');
  throwsNaming({ top_k: 5 }, 'topK'); // unknown key, with a suggestion
  throwsNaming({ temprature: 0.7 }, 'temperature');
});

test('boundary values HF accepts are accepted; temperature 0 is allowed (greedy)', () => {
  for (const cfg of [
    { temperature: 0 },
    { topP: 0 },
    { topP: 1 },
    { topK: 0 },
    { minP: 0 },
    { typicalP: 1 },
    { earlyStopping: 'never' as const },
    { numBeams: 4, numReturnSequences: 4 },
    { doSample: true, numReturnSequences: 3 },
    { eosTokenId: [1, 2] },
    { stopStrings: '\n\n' },
  ]) {
    validateGenerationConfig(cfg);
  }
});

test('HF defaults are filled in', () => {
  const r = resolveGenerationConfig({});
  assert.equal(r.maxLength, 20);
  assert.equal(r.topK, 50);
  assert.equal(r.temperature, 1);
  assert.equal(r.topP, 1);
  assert.equal(r.typicalP, 1);
  assert.equal(r.numBeams, 1);
  assert.equal(r.lengthPenalty, 1);
  assert.equal(r.earlyStopping, false);
  assert.equal(r.doSample, false);
  assert.deepEqual(r.eosTokenId, []);
  assert.deepEqual(resolveGenerationConfig({}, { eosTokenId: 7 }).eosTokenId, [7]);
  assert.deepEqual(resolveGenerationConfig({ eosTokenId: 3 }, { eosTokenId: 7 }).eosTokenId, [3]);
});

test('generation_config.json: snake_case in, snake_case out, unknown HF keys ignored', () => {
  const json = {
    _from_model_config: true,
    transformers_version: '4.36.2',
    max_new_tokens: 200,
    do_sample: true,
    temperature: 0.8,
    top_k: 200,
    top_p: 0.95,
    repetition_penalty: 1.1,
    no_repeat_ngram_size: 3,
    num_beams: 1,
    early_stopping: 'never',
    eos_token_id: [0, 1],
    pad_token_id: null,
    bad_words_ids: [[5], [6, 7]],
    stop_strings: ['\n\n'],
    output_scores: false,
  };
  const cfg = generationConfigFromHF(json);
  assert.deepEqual(cfg, {
    maxNewTokens: 200,
    doSample: true,
    temperature: 0.8,
    topK: 200,
    topP: 0.95,
    repetitionPenalty: 1.1,
    noRepeatNgramSize: 3,
    numBeams: 1,
    earlyStopping: 'never',
    eosTokenId: [0, 1],
    badWordsIds: [[5], [6, 7]],
    stopStrings: ['\n\n'],
  });
  const back = toHF(cfg);
  assert.deepEqual(generationConfigFromHF(back), cfg);
  assert.equal(back.top_k, 200);
  assert.equal(back.max_new_tokens, 200);
  assert.throws(() => generationConfigFromHF({ top_p: 2 }), (e: unknown) => e instanceof ConfigError && /top_p/.test((e as Error).message));
  // functions are not serialised
  assert.deepEqual(toHF({ prefixAllowedTokensFn: () => null, seed: 3 }), { seed: 3 });
});

test('reads the generation_config.json transformers wrote for a real checkpoint', (t) => {
  const path = '/work/shared/hf-checkpoints/lmbuddy-fake-gpt2/generation_config.json';
  if (!existsSync(path)) {
    t.skip('/work/shared/hf-checkpoints not present');
    return;
  }
  assert.deepEqual(readGenerationConfig(path), { bosTokenId: 50256, eosTokenId: 50256 });
});

test('writeGenerationConfig / readGenerationConfig round trip; bad JSON is a FileFormatError', () => {
  const dir = mkdtempSync(join(tmpdir(), 'muse-gencfg-'));
  try {
    const path = join(dir, 'generation_config.json');
    writeGenerationConfig(path, { maxNewTokens: 64, topK: 10, acrostic: '春夏', form: '5x4' });
    assert.deepEqual(JSON.parse(readFileSync(path, 'utf8')), { max_new_tokens: 64, top_k: 10, acrostic: '春夏', form: '5x4' });
    assert.deepEqual(readGenerationConfig(path), { maxNewTokens: 64, topK: 10, acrostic: '春夏', form: '5x4' });
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '{"top_k": 5,');
    // The one JSON-file reader (src/io/json.ts) names the file and the position of the error.
    assert.throws(() => readGenerationConfig(bad), (e: unknown) => e instanceof FileFormatError && /bad\.json: invalid JSON at line 1, column 13/.test((e as Error).message));
    assert.throws(() => readGenerationConfig(join(dir, 'missing.json')), (e: unknown) => e instanceof FileFormatError && /missing\.json: file not found/.test((e as Error).message));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('generate() rejects bad input before calling the model', () => {
  let calls = 0;
  const model: CausalLM = {
    vocabSize: 10,
    maxPositions: 16,
    newCache: () => {
      calls++;
      return { length: 0, batch: 1, reorder: () => {}, clear: () => {} };
    },
    forward: () => {
      calls++;
      return new Float32Array(10);
    },
  };
  const bad: [GenerationConfig, string][] = [
    [{ temperature: -1 }, 'temperature'],
    [{ eosTokenId: 10 }, 'eosTokenId'],
    [{ badWordsIds: [[3, 12]] }, 'badWordsIds'],
    [{ stopStrings: ['x'] }, 'tokenizer'],
    [{ acrostic: '春' }, 'tokenizer'],
    [{ numBeams: 0 }, 'numBeams'],
  ];
  for (const [cfg, word] of bad) {
    assert.throws(() => generate(model, [[1, 2]], cfg), (e: unknown) => e instanceof ConfigError && (e as Error).message.includes(word));
  }
  assert.throws(() => generate(model, [[1, 99]], {}), (e: unknown) => e instanceof ConfigError && /inputIds\[0\]\[1\]/.test((e as Error).message));
  assert.throws(() => generate(model, [[]], {}), (e: unknown) => e instanceof ConfigError && /bosTokenId/.test((e as Error).message));
  assert.equal(calls, 0);
});
