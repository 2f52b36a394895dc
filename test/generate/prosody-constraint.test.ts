/**
 * Rhyme and tonal-pattern constraints on a random toy LM with a character
 * tokenizer: whatever the model prefers, the poem must rhyme and stay on a
 * pattern — checked with the poem metrics (src/poetry/metrics.ts), whose
 * patterns are tested against the textbook ones in test/poetry.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError } from '../../src/errors.js';
import { generate, type GenerationConfig } from '../../src/generate/index.js';
import { poemMetrics } from '../../src/poetry/metrics.js';
import { randomTables, ToyLM } from './fake-lm.js';
import { charTokenizer } from './test-tokenizers.js';

// level and oblique characters of several rhyme groups (唐 光霜乡香长江, 尤 流楼愁秋, 寒 山间还看, …)
const HAN = '床前明月光疑是地上霜举头望低思故乡白日依山尽黄河入海流欲穷千里目更一层楼春眠不觉晓处闻啼鸟夜来风雨声花落知多少香长江愁秋间还看红东中天年烟';
const tok = charTokenizer(`${HAN}，。\n`, { eos: true });
const lm = (): ToyLM => new ToyLM(randomTables(tok.vocabSize, 128, 7));
const quiet = { onWarning: (): void => {} };

function poem(prompt: string, cfg: GenerationConfig): string {
  const ids = prompt ? tok.encode(prompt, { addSpecialTokens: false }).ids : [];
  const out = generate(lm(), [ids], { maxNewTokens: 100, doSample: true, temperature: 1.5, topK: 0, ...cfg }, { ...quiet, tokenizer: tok });
  return prompt + tok.decode(out.sequences[0]);
}

test('rhyme + strict tones: every poem rhymes and every line is on one standard pattern', () => {
  for (const form of ['5x4', '7x4', '5x8', '7x8'] as const) {
    const poems = [1, 2, 3].map((seed) => poem('', { form, rhyme: true, tones: 'strict', seed }));
    const m = poemMetrics(poems, { form });
    assert.equal(m.validForm, 3, poems.join('\n'));
    assert.equal(m.rhymeRate, 1, poems.join('\n'));
    assert.equal(m.tonesStrict, 1, poems.join('\n'));
  }
});

test('rhyme alone: the even lines rhyme with a level-tone first line given in the prompt', () => {
  for (const seed of [1, 2, 3, 4]) {
    const p = poem('床前明月光，', { form: '5x4', rhyme: true, seed });
    const lines = p.split(/[，。]/u).filter(Boolean);
    assert.equal(poemMetrics([p]).rhymeRate, 1, p);
    assert.equal(poemMetrics([`${lines[0]}，${lines[1]}。${lines[2]}，${lines[0]}。`]).rhymeRate, 1, p); // 光 rhymes too
    assert.notEqual(lines[1].at(-1), lines[3].at(-1), p); // no rhyme character twice
  }
});

test('loose tones leave the 1st and 3rd characters free', () => {
  const poems = [1, 2, 3, 4].map((seed) => poem('', { form: '5x4', tones: 'loose', seed }));
  assert.equal(poemMetrics(poems).tonesLoose, 1, poems.join('\n'));
});

test('rhyme and tones need a form', () => {
  assert.throws(() => poem('', { rhyme: true }), (e: unknown) => e instanceof ConfigError && /needs a poem form/.test(e.message));
  assert.throws(() => poem('', { tones: 'loose' }), ConfigError);
  assert.throws(() => poem('', { form: '5x4', tones: 'medium' as 'loose' }), /tones/);
});
