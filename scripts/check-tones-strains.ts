/**
 * Check muse's tone classes (src/poetry/prosody.ts: 平/仄 from pinyin-pro's
 * Mandarin readings, 中华新韵 rules) against the independent annotations of
 * npm `chinese-poetry` 2.0.1: `dist/strains/json/poet.{tang,song}.*.json`
 * mark every character of a Tang or Song poem 平, 仄, or ○/？ (either /
 * unknown), aligned with the text in `dist/quantangshi/`.
 *
 *   npx tsx scripts/check-tones-strains.ts [--max-files N]
 *
 * Needs the package unpacked by scripts/build-poet-corpus.ts (.muse-cache/).
 * Prints one JSON object: over the characters both sides define (the
 * annotation says 平 or 仄, and muse's readings are all level or all oblique),
 * the agreement rate; how many characters muse finds polyphonic across the
 * two classes (they fit either slot); and the agreement per annotation class.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { toSimplified } from '../src/data/corpus.js';
import { charProsody } from '../src/poetry/prosody.js';

const args = process.argv.slice(2);
const maxFiles = args.includes('--max-files') ? Number(args[args.indexOf('--max-files') + 1]) : Infinity;
const dist = resolve(import.meta.dirname, '..', '.muse-cache', 'chinese-poetry-2.0.1', 'package', 'dist');

interface Poem { id: string; paragraphs: string[] }
interface Strain { id: string; strains: string[] }

const counts = { poems: 0, misaligned: 0, chars: 0, both: 0, unknownToMuse: 0, annotatedEither: 0, compared: 0, agree: 0, ping: { n: 0, agree: 0 }, ze: { n: 0, agree: 0 } };
for (const era of ['tang', 'song']) {
  const files = readdirSync(join(dist, 'strains', 'json')).filter((f) => f.startsWith(`poet.${era}.`)).sort().slice(0, maxFiles);
  for (const f of files) {
    const strains = JSON.parse(readFileSync(join(dist, 'strains', 'json', f), 'utf8')) as Strain[];
    const poems = new Map((JSON.parse(readFileSync(join(dist, 'quantangshi', f), 'utf8')) as Poem[]).map((p) => [p.id, p]));
    for (const s of strains) {
      const p = poems.get(s.id);
      if (!p) continue;
      counts.poems++;
      const text = [...toSimplified(p.paragraphs.join(''))];
      const marks = [...s.strains.join('')];
      if (text.length !== marks.length) {
        counts.misaligned++;
        continue;
      }
      text.forEach((ch, i) => {
        const m = marks[i];
        if (!/\p{Script=Han}/u.test(ch)) return;
        counts.chars++;
        if (m !== '平' && m !== '仄') {
          counts.annotatedEither++;
          return;
        }
        const t = charProsody(ch);
        if (!t || (!t.ping && !t.ze)) {
          counts.unknownToMuse++;
          return;
        }
        if (t.ping && t.ze) {
          counts.both++;
          return;
        }
        const ours = t.ping ? '平' : '仄';
        counts.compared++;
        const bucket = m === '平' ? counts.ping : counts.ze;
        bucket.n++;
        if (ours === m) {
          counts.agree++;
          bucket.agree++;
        }
      });
    }
  }
}
process.stdout.write(
  JSON.stringify(
    {
      ...counts,
      agreement: counts.agree / counts.compared,
      agreementOnAnnotatedPing: counts.ping.agree / counts.ping.n,
      agreementOnAnnotatedZe: counts.ze.agree / counts.ze.n,
      polyphonicShare: counts.both / counts.chars,
    },
    null,
    2,
  ) + '\n',
);
