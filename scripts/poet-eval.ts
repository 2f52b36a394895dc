/**
 * Poem metrics of poet models on the first lines of held-out poems (the
 * figures of the muse-poet-zh card):
 *
 *   npx tsx scripts/poet-eval.ts --model NAME=DIR [--model …] [--n 200] [--out runs/poet-eval]
 *       [--conditions none,rhyme,tones,rhyme+tones] [--corpus .muse-cache/poet-v2/train.jsonl --copy-model NAME]
 *
 * Prompts: the first line (with its comma) of the first N held-out poems
 * (scripts/build-poet-corpus.ts) whose first line has 5 characters, and of the
 * first N whose first line has 7; each is finished as a 5x4 / 7x4 quatrain with
 * the model's generation_config.json and seed = the prompt's index, under each
 * condition: `none` (form only), `rhyme` (--rhyme), `tones` (--tones loose),
 * `rhyme+tones`. Writes OUT/NAME.CONDITION.FORM.txt (one poem per line) and
 * prints one JSON line per model × condition × form with the metrics of
 * src/poetry/metrics.ts (the prompt line left out of the tonal rate and the
 * copy check) and the generation time.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../src/io/atomic.js';
import { readCorpus } from '../src/data/corpus.js';
import { generate, type GenerationConfig, type PoemForm } from '../src/generate/index.js';
import { loadGPT2Dir as loadModelDir } from '../src/models/gpt2/family.js';
import { poemLines, poemMetrics } from '../src/poetry/metrics.js';

const args = process.argv.slice(2);
const all = (name: string): string[] => args.flatMap((w, i) => (w === `--${name}` && args[i + 1] !== undefined ? [args[i + 1]] : []));
const one = (name: string, dflt: string): string => all(name)[0] ?? dflt;
const n = Number(one('n', '200'));
const outDir = one('out', 'runs/poet-eval');
const heldout = one('heldout', '.muse-cache/poet-v2/heldout.jsonl');
const conditions = one('conditions', 'none,rhyme,tones,rhyme+tones').split(',');
const corpusFiles = all('corpus');
// the copy check (a scan of the whole corpus per n-gram length) runs for this model's unconstrained and rhyme+tones poems
const copyModel = one('copy-model', '');
const models = all('model').map((m) => {
  const [name, dir] = m.includes('=') ? m.split('=') : [m.split('/').pop()!, m];
  return { name: name, dir: dir };
});
mkdirSync(outDir, { recursive: true });

const prompts: Record<'5x4' | '7x4', string[]> = { '5x4': [], '7x4': [] };
for (const doc of readCorpus(heldout, { script: 'simplified' })) {
  const first = poemLines(doc.split(/[，。！？；]/u)[0] ?? '')[0] ?? '';
  // the first line exactly as written: Han characters closed by a comma
  if (!doc.startsWith(first + '，')) continue;
  const form = first.length === 5 ? '5x4' : first.length === 7 ? '7x4' : undefined;
  if (form && prompts[form].length < n) prompts[form].push(first + '，');
}
const corpus = corpusFiles.length ? corpusFiles.flatMap((f) => readCorpus(f, { script: 'simplified' })) : undefined;

const extraFor = (c: string): GenerationConfig => ({
  ...(c.includes('rhyme') ? { rhyme: true } : {}),
  ...(c.includes('tones') ? { tones: 'loose' as const } : {}),
});
for (const { name, dir } of models) {
  const loaded = loadModelDir(dir);
  for (const c of conditions) {
    for (const form of ['5x4', '7x4'] as PoemForm[]) {
      const list = prompts[form as '5x4' | '7x4'];
      const poems: string[] = [];
      const t0 = performance.now();
      list.forEach((p, i) => {
        const ids = loaded.tokenizer.encode(p, { addSpecialTokens: false }).ids;
        const out = generate(loaded.model, [ids], { ...loaded.generationConfig, form, seed: i, ...extraFor(c) }, { tokenizer: loaded.tokenizer, onWarning: () => {} });
        poems.push(p + loaded.tokenizer.decode(out.sequences[0], { skipSpecialTokens: true }).replace(/\n/g, ' '));
      });
      const ms = performance.now() - t0;
      writeFileAtomic(join(outDir, `${name}.${c}.${form}.txt`), poems.join('\n') + '\n');
      const copy = name === copyModel && (c === 'none' || c === 'rhyme+tones');
      const m = poemMetrics(poems, { form, promptLines: 1, corpus: copy ? corpus : undefined });
      process.stdout.write(JSON.stringify({ model: name, condition: c, form, msPerPoem: ms / poems.length, ...m }) + '\n');
    }
  }
}
