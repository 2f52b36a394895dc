import { existsSync, readFileSync } from 'node:fs';
import { ConfigError, FileFormatError } from '../../errors.js';
import { readCorpus } from '../../data/corpus.js';
import { POEM_FORMS, type PoemForm } from '../../generate/index.js';
import { poemMetrics, type PoemMetrics } from '../../poetry/metrics.js';

/** The flags of `muse eval --poem`. */
export interface PoemEvalFlags {
  poem: string;
  form?: string;
  promptLines?: string;
  corpus?: string[];
  json?: boolean;
}

const pct = (x: number): string => (Number.isFinite(x) ? `${(100 * x).toFixed(1)}%` : 'n/a');

/**
 * `muse eval --poem FILE`: poem metrics of one poem per line (src/poetry/metrics.ts).
 * @throws FileFormatError for a missing or empty file; ConfigError for a bad --form or --prompt-lines
 */
export function runPoemEval(flags: PoemEvalFlags): PoemMetrics {
  if (!existsSync(flags.poem)) throw new FileFormatError(`poem file ${flags.poem} does not exist`);
  const poems = readFileSync(flags.poem, 'utf8').split('\n').map((l) => l.trim()).filter((l) => l.length > 0);
  if (poems.length === 0) throw new FileFormatError(`poem file ${flags.poem} has no poems; write one poem per line (e.g. 床前明月光，疑是地上霜。举头望明月，低头思故乡。)`);
  if (flags.form !== undefined && !POEM_FORMS.includes(flags.form as PoemForm)) {
    throw new ConfigError(`--form must be one of ${POEM_FORMS.join(', ')}, got "${flags.form}"`);
  }
  const promptLines = flags.promptLines === undefined ? 0 : Number(flags.promptLines);
  if (!Number.isInteger(promptLines) || promptLines < 0) throw new ConfigError(`--prompt-lines must be a non-negative integer, got "${flags.promptLines}"`);
  let corpus: string[] | undefined;
  if (flags.corpus && flags.corpus.length > 0) {
    corpus = [];
    // the generated poems are in simplified characters: so is the corpus they are checked against
    for (const f of flags.corpus) corpus = corpus.concat(readCorpus(f, { script: 'simplified' }));
  }
  const m = poemMetrics(poems, { form: flags.form as PoemForm | undefined, promptLines, corpus });
  if (flags.json) {
    process.stdout.write(JSON.stringify(m) + '\n');
    return m;
  }
  const lines = [
    `poems:              ${m.poems} (${m.validForm} of ${flags.form ?? 'a regulated form'}: ${pct(m.validForm / m.poems)})`,
    `rhyme:              ${pct(m.rhymeRate)} of valid poems rhyme on every even line (中华新韵); ${pct(m.rhymeLineRate)} of even lines rhyme with line 2`,
    `tonal pattern:      ${pct(m.tonesLoose)} of lines on pattern (loose, 一三五不论), ${pct(m.tonesStrict)} strict${promptLines ? ` (first ${promptLines} line(s) not counted)` : ''}`,
    `repeated chars:     ${pct(m.repeatedChars)} of a poem's characters repeat one before them (mean)`,
    `distinct-1 / -2:    ${m.distinct1.toFixed(3)} / ${m.distinct2.toFixed(3)} (characters / bigrams across poems)`,
  ];
  if (m.copy) {
    lines.push(
      `copy check:         ${pct(m.copy.novelLineRate)} of ${m.copy.lines} lines not verbatim in the corpus (${m.copy.verbatimLines} copied); ` +
        `longest copied n-gram ${m.copy.longestCopiedNgram} characters (${m.copy.longestCopiedExample || '—'}), mean per poem ${m.copy.meanLongestCopiedNgram.toFixed(1)}`,
    );
  }
  process.stdout.write(lines.join('\n') + '\n');
  return m;
}
