import { createRequire } from 'node:module';

/**
 * Chinese script normalisation with OpenCC (the `opencc-js` port of Open
 * Chinese Convert). The converters are built on first use, since the
 * dictionaries cost ~250 ms to build and most corpora are not Chinese.
 *
 * OpenCC's locale presets, as `opencc-js` names them:
 * - `cn`: Simplified Chinese as used in mainland China;
 * - `t`: OpenCC's standard Traditional Chinese (traditional character forms
 *   without regional variants — what classical corpora such as the
 *   `chinese-poetry` Tang poems use, e.g. 牀, 裏);
 * - `tw` / `hk`: Traditional Chinese with Taiwan / Hong Kong character
 *   variants (`twp` adds Taiwan phrases, e.g. 软件 → 軟體).
 */
type OpenCCModule = typeof import('opencc-js');
type Converter = (text: string) => string;

/** The traditional variants {@link toTraditional} can produce. */
export type TraditionalVariant = 't' | 'tw' | 'twp' | 'hk';

let openccModule: OpenCCModule | undefined;
const converters = new Map<string, Converter>();

function converter(from: string, to: string): Converter {
  const key = `${from}>${to}`;
  const cached = converters.get(key);
  if (cached) return cached;
  // require (not import) keeps these functions synchronous and loads the dictionaries only when needed
  openccModule ??= createRequire(import.meta.url)('opencc-js') as OpenCCModule;
  const built: Converter = openccModule.Converter({ from, to });
  converters.set(key, built);
  return built;
}

/**
 * Convert Traditional Chinese to Simplified (OpenCC `t2s`: `from: 't', to:
 * 'cn'`, the converter OpenCC recommends for generic traditional text),
 * e.g. 舉頭望明月 → 举头望明月. Text in other scripts passes through unchanged.
 */
export function toSimplified(text: string): string {
  return converter('t', 'cn')(text);
}

/**
 * Convert Simplified Chinese to Traditional (OpenCC `s2t` by default, which
 * matches classical corpora; pass `'tw'`/`'twp'`/`'hk'` for regional forms),
 * e.g. 举头望明月 → 舉頭望明月.
 */
export function toTraditional(text: string, variant: TraditionalVariant = 't'): string {
  return converter('cn', variant)(text);
}

/**
 * The Han ideographs as the body of a regular-expression character class
 * (use with the `u` flag): CJK Unified Ideographs, Extension A, the
 * compatibility block and the supplementary planes (Extensions B–G).
 */
export const HAN_RANGES = '\\u3400-\\u4dbf\\u4e00-\\u9fff\\uf900-\\ufaff\\u{20000}-\\u{2ffff}';

const HAN_TEST = new RegExp(`[${HAN_RANGES}]`, 'u');

/** True when `text` contains a Han ideograph (see {@link HAN_RANGES}). */
export function isChinese(text: string): boolean {
  return HAN_TEST.test(text);
}

/** A Chinese script to convert to: `keep` leaves text unchanged. */
export type ScriptChoice = 'simplified' | 'traditional' | 'keep';

/** Convert text to `script` (OpenCC; a traditional prompt works with a simplified model). */
export function toScript(text: string, script: ScriptChoice): string {
  if (script === 'simplified') return toSimplified(text);
  if (script === 'traditional') return toTraditional(text);
  return text;
}
