/**
 * Prosody of single Chinese characters: level/oblique tone (平/仄) and rhyme
 * group, derived from Mandarin readings given by `pinyin-pro` (every reading
 * of a polyphonic character counts).
 *
 * - Tone class: 阴平 (tone 1) and 阳平 (tone 2) are 平; 上 (3) and 去 (4) are
 *   仄 — the modern classification of 中华新韵 (中华诗词学会, 2005). Readings in
 *   the neutral tone are ignored. Classical 入声 characters that Mandarin reads
 *   in tones 1–2 (e.g. 白, 国) are therefore 平 here, as 中华新韵 rules.
 * - Rhyme group: the fourteen groups of 中华新韵 (十四韵), read off the pinyin
 *   final: 一麻 a ia ua · 二波 o e uo · 三皆 ie üe · 四开 ai uai · 五微 ei ui ·
 *   六豪 ao iao · 七尤 ou iu · 八寒 an ian uan üan · 九文 en in un ün ·
 *   十唐 ang iang uang · 十一庚 eng ing ong iong ueng · 十二齐 i er ü ·
 *   十三支 -i (after zh ch sh r z c s) · 十四姑 u.
 *
 * No pinyin table is written here: readings come from `pinyin-pro`; only the
 * spelling rules of Hanyu Pinyin (y/w, ü after j q x y) are applied to find
 * the final.
 */
import { createRequire } from 'node:module';

/** The fourteen rhyme groups of 中华新韵, in their traditional order. */
export const XINYUN_GROUPS = ['麻', '波', '皆', '开', '微', '豪', '尤', '寒', '文', '唐', '庚', '齐', '支', '姑'] as const;
/** A 中华新韵 rhyme group. */
export type XinyunGroup = (typeof XINYUN_GROUPS)[number];

/** Final (韵母, medial included, ü written ü) → 中华新韵 group. */
const FINAL_GROUP: Record<string, XinyunGroup> = {
  a: '麻', ia: '麻', ua: '麻',
  o: '波', e: '波', uo: '波', io: '波',
  ie: '皆', üe: '皆', ê: '皆',
  ai: '开', uai: '开',
  ei: '微', ui: '微', uei: '微',
  ao: '豪', iao: '豪',
  ou: '尤', iu: '尤', iou: '尤',
  an: '寒', ian: '寒', uan: '寒', üan: '寒',
  en: '文', in: '文', un: '文', uen: '文', ün: '文',
  ang: '唐', iang: '唐', uang: '唐',
  eng: '庚', ing: '庚', ong: '庚', iong: '庚', ueng: '庚',
  i: '齐', er: '齐', ü: '齐',
  u: '姑',
};

const APICAL = new Set(['zh', 'ch', 'sh', 'r', 'z', 'c', 's']);
const INITIAL = /^(zh|ch|sh|[bpmfdtnlgkhjqxrzcsyw])/;

/**
 * The 中华新韵 group of one toneless pinyin syllable (`guang` → 唐, `zhi` → 支,
 * `ju` → 齐, `ye` → 皆), or undefined for syllables without a final of the
 * table (interjections such as `m`, `ng`, `hm`).
 * @param syllable lowercase Hanyu Pinyin without tone (`v` or `ü` for ü)
 */
export function xinyunGroupOfSyllable(syllable: string): XinyunGroup | undefined {
  const s = syllable.toLowerCase().replace(/v/g, 'ü').replace(/[0-9]/g, '');
  if (s === 'er') return '齐';
  const m = INITIAL.exec(s);
  const initial = m ? m[1] : '';
  let rest = s.slice(initial.length);
  if (initial === 'y') rest = rest.startsWith('u') ? 'ü' + rest.slice(1) : rest.startsWith('i') ? rest : 'i' + rest;
  else if (initial === 'w') rest = rest.startsWith('u') ? rest : 'u' + rest;
  else if ((initial === 'j' || initial === 'q' || initial === 'x') && rest.startsWith('u')) rest = 'ü' + rest.slice(1);
  else if ((initial === 'l' || initial === 'n') && rest === 'ue') rest = 'üe';
  if (rest === 'i' && APICAL.has(initial)) return '支';
  return FINAL_GROUP[rest];
}

/** What {@link charProsody} knows of one character. */
export interface CharProsody {
  /** Some reading is in tone 1 or 2 (平). */
  ping: boolean;
  /** Some reading is in tone 3 or 4 (仄). */
  ze: boolean;
  /** The 中华新韵 groups of its readings (several for some polyphonic characters). */
  groups: XinyunGroup[];
  /** Its readings with tone numbers, as pinyin-pro gives them (`guang1`). */
  readings: string[];
}

type PinyinPro = typeof import('pinyin-pro');
let pinyinPro: PinyinPro | undefined;
const cache = new Map<string, CharProsody | null>();

/**
 * Tone class and rhyme groups of one Han character, from all its Mandarin
 * readings (pinyin-pro's `polyphonic`); cached.
 * @returns undefined when `ch` is not a Han character pinyin-pro can read
 */
export function charProsody(ch: string): CharProsody | undefined {
  const hit = cache.get(ch);
  if (hit !== undefined) return hit ?? undefined;
  let result: CharProsody | null = null;
  if (/^\p{Script=Han}$/u.test(ch)) {
    // require (not import) keeps this synchronous and loads the dictionary only when poems are checked
    pinyinPro ??= createRequire(import.meta.url)('pinyin-pro') as PinyinPro;
    const readings = (pinyinPro.polyphonic(ch, { type: 'array', toneType: 'num' })[0] ?? []).filter((r) => /^[a-zü]+[0-5]$/.test(r));
    if (readings.length > 0) {
      const groups = new Set<XinyunGroup>();
      let ping = false;
      let ze = false;
      for (const r of readings) {
        const tone = Number(r[r.length - 1]);
        if (tone === 1 || tone === 2) ping = true;
        else if (tone === 3 || tone === 4) ze = true;
        const g = xinyunGroupOfSyllable(r.slice(0, -1));
        if (g) groups.add(g);
      }
      result = { ping, ze, groups: [...groups], readings };
    }
  }
  cache.set(ch, result);
  return result ?? undefined;
}

/** True when the two characters share a rhyme group (any readings). */
export function rhymes(a: string, b: string): boolean {
  const ga = charProsody(a)?.groups ?? [];
  const gb = charProsody(b)?.groups ?? [];
  return ga.some((g) => gb.includes(g));
}
