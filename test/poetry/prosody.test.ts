/**
 * Character prosody, tonal patterns and poem metrics, against independent
 * references: the 中华新韵 group table (中华诗词学会 2005) for the finals,
 * the four textbook patterns of 王力《诗词格律》 written out by hand, and
 * classical poems whose rhymes and patterns are known.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { charProsody, rhymes, xinyunGroupOfSyllable } from '../../src/poetry/prosody.js';
import { bestPattern, lineMismatches, tonePatterns } from '../../src/poetry/patterns.js';
import { poemForm, poemLines, poemMetrics } from '../../src/poetry/metrics.js';

test('中华新韵 groups from pinyin finals, spelling rules included', () => {
  const cases: Record<string, string> = {
    guang: '唐', shuang: '唐', xiang: '唐', zhi: '支', si: '支', ri: '支', ji: '齐', er: '齐', ju: '齐', yu: '齐', lü: '齐', lv: '齐',
    ye: '皆', yue: '皆', xue: '皆', lüe: '皆', jie: '皆', wo: '波', ge: '波', po: '波', ya: '麻', hua: '麻', wai: '开', wei: '微', gui: '微',
    you: '尤', liu: '尤', yao: '豪', yuan: '寒', yan: '寒', yun: '文', wen: '文', qun: '文', yong: '庚', weng: '庚', ming: '庚', wu: '姑', lu: '姑',
  };
  for (const [syl, group] of Object.entries(cases)) assert.equal(xinyunGroupOfSyllable(syl), group, syl);
  assert.equal(xinyunGroupOfSyllable('m'), undefined);
});

test('tone class and groups of a character come from all its readings', () => {
  assert.deepEqual({ ...charProsody('光'), readings: undefined }, { ping: true, ze: false, groups: ['唐'], readings: undefined });
  assert.equal(charProsody('月')!.ze, true);
  assert.equal(charProsody('月')!.ping, false);
  const xing = charProsody('行')!; // xíng / háng / hàng / héng
  assert.ok(xing.ping && xing.ze);
  assert.deepEqual(new Set(xing.groups), new Set(['庚', '唐']));
  assert.equal(charProsody('，'), undefined);
  assert.ok(rhymes('霜', '乡') && rhymes('行', '光') && !rhymes('月', '光'));
});

test('the four patterns of each form are the textbook ones', () => {
  const names = (f: '5x4' | '7x4') => Object.fromEntries(tonePatterns(f).map((p) => [p.name, p.lines.join('，')]));
  assert.deepEqual(names('5x4'), {
    仄起首句不入韵: '仄仄平平仄，平平仄仄平，平平平仄仄，仄仄仄平平',
    仄起首句入韵: '仄仄仄平平，平平仄仄平，平平平仄仄，仄仄仄平平',
    平起首句不入韵: '平平平仄仄，仄仄仄平平，仄仄平平仄，平平仄仄平',
    平起首句入韵: '平平仄仄平，仄仄仄平平，仄仄平平仄，平平仄仄平',
  });
  assert.deepEqual(names('7x4'), {
    平起首句入韵: '平平仄仄仄平平，仄仄平平仄仄平，仄仄平平平仄仄，平平仄仄仄平平',
    平起首句不入韵: '平平仄仄平平仄，仄仄平平仄仄平，仄仄平平平仄仄，平平仄仄仄平平',
    仄起首句入韵: '仄仄平平仄仄平，平平仄仄仄平平，平平仄仄平平仄，仄仄平平仄仄平',
    仄起首句不入韵: '仄仄平平平仄仄，平平仄仄仄平平，平平仄仄平平仄，仄仄平平仄仄平',
  });
  // 五律 仄起首句不入韵: the quatrain twice
  assert.deepEqual(tonePatterns('5x8')[0].lines, ['仄仄平平仄', '平平仄仄平', '平平平仄仄', '仄仄仄平平', '仄仄平平仄', '平平仄仄平', '平平平仄仄', '仄仄仄平平']);
});

test('登鹳雀楼 is 仄起首句不入韵 with 一三五不论; strict finds the broken first position', () => {
  const lines = ['白日依山尽', '黄河入海流', '欲穷千里目', '更上一层楼'];
  const m = bestPattern(lines, '5x4', 'loose');
  assert.equal(m.pattern.name, '仄起首句不入韵');
  assert.deepEqual(m.onPattern, [true, true, true, true]);
  // 白 is bái (平) in Mandarin, on a 仄 slot
  assert.equal(lineMismatches('白日依山尽', '仄仄平平仄', 'strict'), 1);
});

test('poem metrics: form, rhyme, tones, repeats, distinct-n and the copy check', () => {
  const poems = [
    '床前明月光，疑是地上霜。举头望明月，低头思故乡。',
    '白日依山尽，黄河入海流。欲穷千里目，更上一层楼。',
    '春眠不觉晓，处处闻啼鸟。夜来风雨声，花落知多少。',
    '这不是一首诗',
  ];
  assert.deepEqual(poemLines(poems[0]), ['床前明月光', '疑是地上霜', '举头望明月', '低头思故乡']);
  assert.equal(poemForm(poemLines(poems[0])), '5x4');
  const m = poemMetrics(poems, { corpus: ['床前明月光，疑是地上霜。', '春眠不觉晓，处处闻啼鸟。'] });
  assert.equal(m.poems, 4);
  assert.equal(m.validForm, 3);
  assert.equal(m.rhymeRate, 1); // 霜/乡 唐, 流/楼 尤, 鸟/少 豪
  assert.equal(m.copy!.lines, 13);
  assert.equal(m.copy!.verbatimLines, 4);
  assert.equal(m.copy!.longestCopiedNgram, 10);
  assert.equal(m.copy!.longestCopiedExample, '床前明月光疑是地上霜');
  // 床前明月光…: 明, 月 and 头 repeat (3 of 20 characters); 春眠…: 处 (1 of 20)
  assert.ok(Math.abs(m.repeatedChars - (3 / 20 + 0 + 1 / 20 + 0) / 4) < 1e-12);
  assert.ok(m.distinct1 > 0.8 && m.distinct1 < 1 && m.distinct2 > 0.9);
  const bad = poemMetrics(['床前明月光，疑是地上霜。举头望明月，低头思故人。']);
  assert.equal(bad.rhymeRate, 0);
});
