/**
 * The Porter stemmer (Porter, "An algorithm for suffix stripping", Program
 * 14(3), 1980) with the three variants NLTK offers: `NLTK_EXTENSIONS` (NLTK's
 * default, and what rouge-score uses through `nltk.stem.porter.PorterStemmer()`),
 * `MARTIN_EXTENSIONS` (Martin Porter's published revisions) and
 * `ORIGINAL_ALGORITHM` (the 1980 paper). Written from the paper and NLTK's
 * documented deviations so that stems agree with NLTK 3.8's
 * `PorterStemmer.stem()` for lowercase input.
 */

/** Which variant of the algorithm to run. */
export type PorterMode = 'NLTK_EXTENSIONS' | 'MARTIN_EXTENSIONS' | 'ORIGINAL_ALGORITHM';

type Condition = ((stem: string) => boolean) | null;
type Rule = [suffix: string, replacement: string, condition: Condition];

const VOWELS = new Set(['a', 'e', 'i', 'o', 'u']);

/** NLTK_EXTENSIONS' irregular forms: word → stem, bypassing the rules. */
const IRREGULAR: Record<string, string[]> = {
  sky: ['sky', 'skies'],
  die: ['dying'],
  lie: ['lying'],
  tie: ['tying'],
  news: ['news'],
  inning: ['innings', 'inning'],
  outing: ['outings', 'outing'],
  canning: ['cannings', 'canning'],
  howe: ['howe'],
  proceed: ['proceed'],
  exceed: ['exceed'],
  succeed: ['succeed'],
};

/** A Porter stemmer; stateless apart from its mode and an optional memo of computed stems. */
export class PorterStemmer {
  readonly mode: PorterMode;
  private readonly pool = new Map<string, string>();
  private readonly memo = new Map<string, string>();

  constructor(mode: PorterMode = 'NLTK_EXTENSIONS') {
    this.mode = mode;
    if (mode === 'NLTK_EXTENSIONS') {
      for (const [stem, words] of Object.entries(IRREGULAR)) for (const w of words) this.pool.set(w, stem);
    }
  }

  /** The stem of `word` (lowercased first, as NLTK does by default). */
  stem(word: string): string {
    let s = this.memo.get(word);
    if (s === undefined) {
      s = this.stemUncached(word);
      if (this.memo.size > 1 << 18) this.memo.clear();
      this.memo.set(word, s);
    }
    return s;
  }

  private stemUncached(word: string): string {
    let stem = word.toLowerCase();
    if (this.mode === 'NLTK_EXTENSIONS' && this.pool.has(word)) return this.pool.get(stem)!;
    if (this.mode !== 'ORIGINAL_ALGORITHM' && word.length <= 2) return stem;
    stem = this.step1a(stem);
    stem = this.step1b(stem);
    stem = this.step1c(stem);
    stem = this.step2(stem);
    stem = this.step3(stem);
    stem = this.step4(stem);
    stem = this.step5a(stem);
    stem = this.step5b(stem);
    return stem;
  }

  /** A consonant is a letter other than a, e, i, o, u, and other than y preceded by a consonant. */
  private isConsonant(word: string, i: number): boolean {
    const ch = word[i];
    if (VOWELS.has(ch)) return false;
    if (ch === 'y') return i === 0 ? true : !this.isConsonant(word, i - 1);
    return true;
  }

  /** m in [C](VC)^m[V]: the number of vowel→consonant transitions. */
  private measure(stem: string): number {
    let m = 0;
    let prevVowel = false;
    for (let i = 0; i < stem.length; i++) {
      const consonant = this.isConsonant(stem, i);
      if (consonant && prevVowel) m++;
      prevVowel = !consonant;
    }
    return m;
  }

  private hasPositiveMeasure = (stem: string): boolean => this.measure(stem) > 0;

  private containsVowel(stem: string): boolean {
    for (let i = 0; i < stem.length; i++) if (!this.isConsonant(stem, i)) return true;
    return false;
  }

  /** *d: ends with a double consonant. */
  private endsDoubleConsonant(word: string): boolean {
    const n = word.length;
    return n >= 2 && word[n - 1] === word[n - 2] && this.isConsonant(word, n - 1);
  }

  /** *o: ends consonant-vowel-consonant, the last not w, x or y (NLTK also accepts a two-letter vowel-consonant word). */
  private endsCvc(word: string): boolean {
    const n = word.length;
    return (
      (n >= 3 &&
        this.isConsonant(word, n - 3) &&
        !this.isConsonant(word, n - 2) &&
        this.isConsonant(word, n - 1) &&
        !['w', 'x', 'y'].includes(word[n - 1])) ||
      (this.mode === 'NLTK_EXTENSIONS' && n === 2 && !this.isConsonant(word, 0) && this.isConsonant(word, 1))
    );
  }

  /**
   * The first rule whose suffix the word has decides: replace it when the
   * condition holds, otherwise leave the word alone. `*d` stands for "ends
   * in a double consonant" and removes both letters before the replacement.
   */
  private applyRules(word: string, rules: Rule[]): string {
    for (const [suffix, replacement, condition] of rules) {
      if (suffix === '*d' && this.endsDoubleConsonant(word)) {
        const stem = word.slice(0, -2);
        return condition === null || condition(stem) ? stem + replacement : word;
      }
      if (word.endsWith(suffix)) {
        const stem = suffix === '' ? word : word.slice(0, -suffix.length);
        return condition === null || condition(stem) ? stem + replacement : word;
      }
    }
    return word;
  }

  private step1a(word: string): string {
    if (this.mode === 'NLTK_EXTENSIONS' && word.endsWith('ies') && word.length === 4) return word.slice(0, -3) + 'ie';
    return this.applyRules(word, [
      ['sses', 'ss', null],
      ['ies', 'i', null],
      ['ss', 'ss', null],
      ['s', '', null],
    ]);
  }

  private step1b(word: string): string {
    if (this.mode === 'NLTK_EXTENSIONS' && word.endsWith('ied')) {
      return word.slice(0, -3) + (word.length === 4 ? 'ie' : 'i');
    }
    if (word.endsWith('eed')) {
      const stem = word.slice(0, -3);
      return this.measure(stem) > 0 ? stem + 'ee' : word;
    }
    let intermediate: string | null = null;
    for (const suffix of ['ed', 'ing']) {
      if (word.endsWith(suffix)) {
        const candidate = word.slice(0, -suffix.length);
        if (this.containsVowel(candidate)) {
          intermediate = candidate;
          break;
        }
      }
    }
    if (intermediate === null) return word;
    const last = intermediate[intermediate.length - 1];
    return this.applyRules(intermediate, [
      ['at', 'ate', null],
      ['bl', 'ble', null],
      ['iz', 'ize', null],
      ['*d', last, () => !['l', 's', 'z'].includes(last)],
      ['', 'e', (stem) => this.measure(stem) === 1 && this.endsCvc(stem)],
    ]);
  }

  private step1c(word: string): string {
    // NLTK: y→i only after a consonant that is not the whole stem
    // (happy→happi, enjoy stays); the paper: after any vowel in the stem.
    const condition =
      this.mode === 'NLTK_EXTENSIONS'
        ? (stem: string) => stem.length > 1 && this.isConsonant(stem, stem.length - 1)
        : (stem: string) => this.containsVowel(stem);
    return this.applyRules(word, [['y', 'i', condition]]);
  }

  private step2(word: string): string {
    const pos = this.hasPositiveMeasure;
    if (this.mode === 'NLTK_EXTENSIONS' && word.endsWith('alli') && pos(word.slice(0, -4))) {
      return this.step2(word.slice(0, -4) + 'al');
    }
    const rules: Rule[] = [
      ['ational', 'ate', pos],
      ['tional', 'tion', pos],
      ['enci', 'ence', pos],
      ['anci', 'ance', pos],
      ['izer', 'ize', pos],
      this.mode === 'ORIGINAL_ALGORITHM' ? ['abli', 'able', pos] : ['bli', 'ble', pos],
      ['alli', 'al', pos],
      ['entli', 'ent', pos],
      ['eli', 'e', pos],
      ['ousli', 'ous', pos],
      ['ization', 'ize', pos],
      ['ation', 'ate', pos],
      ['ator', 'ate', pos],
      ['alism', 'al', pos],
      ['iveness', 'ive', pos],
      ['fulness', 'ful', pos],
      ['ousness', 'ous', pos],
      ['aliti', 'al', pos],
      ['iviti', 'ive', pos],
      ['biliti', 'ble', pos],
    ];
    if (this.mode === 'NLTK_EXTENSIONS') {
      rules.push(['fulli', 'ful', pos]);
      // NLTK measures the stem including the "l" of "logi"
      rules.push(['logi', 'log', () => pos(word.slice(0, -3))]);
    }
    if (this.mode === 'MARTIN_EXTENSIONS') rules.push(['logi', 'log', pos]);
    return this.applyRules(word, rules);
  }

  private step3(word: string): string {
    const pos = this.hasPositiveMeasure;
    return this.applyRules(word, [
      ['icate', 'ic', pos],
      ['ative', '', pos],
      ['alize', 'al', pos],
      ['iciti', 'ic', pos],
      ['ical', 'ic', pos],
      ['ful', '', pos],
      ['ness', '', pos],
    ]);
  }

  private step4(word: string): string {
    const gt1 = (stem: string): boolean => this.measure(stem) > 1;
    return this.applyRules(word, [
      ['al', '', gt1],
      ['ance', '', gt1],
      ['ence', '', gt1],
      ['er', '', gt1],
      ['ic', '', gt1],
      ['able', '', gt1],
      ['ible', '', gt1],
      ['ant', '', gt1],
      ['ement', '', gt1],
      ['ment', '', gt1],
      ['ent', '', gt1],
      ['ion', '', (stem) => this.measure(stem) > 1 && (stem.endsWith('s') || stem.endsWith('t'))],
      ['ou', '', gt1],
      ['ism', '', gt1],
      ['ate', '', gt1],
      ['iti', '', gt1],
      ['ous', '', gt1],
      ['ive', '', gt1],
      ['ize', '', gt1],
    ]);
  }

  private step5a(word: string): string {
    if (word.endsWith('e')) {
      const stem = word.slice(0, -1);
      const m = this.measure(stem);
      if (m > 1) return stem;
      if (m === 1 && !this.endsCvc(stem)) return stem;
    }
    return word;
  }

  private step5b(word: string): string {
    return this.applyRules(word, [['ll', 'l', () => this.measure(word.slice(0, -1)) > 1]]);
  }
}
