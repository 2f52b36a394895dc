/**
 * Chinese verse: character prosody (平/仄, 中华新韵 rhyme groups from
 * pinyin-pro readings), the standard tonal patterns of regulated verse, and
 * metrics of generated poems. See docs/generate.md (rhyme, tones) and
 * docs/eval.md (poem metrics).
 */
export { charProsody, rhymes, xinyunGroupOfSyllable, XINYUN_GROUPS, type CharProsody, type XinyunGroup } from './prosody.js';
export {
  tonePatterns,
  bestPattern,
  lineMismatches,
  fitsSlot,
  isFreePosition,
  type TonePattern,
  type ToneSlot,
  type PatternMatch,
} from './patterns.js';
export { poemMetrics, poemLines, poemForm, linesRhyme, type PoemMetrics, type PoemMetricsOptions } from './metrics.js';
