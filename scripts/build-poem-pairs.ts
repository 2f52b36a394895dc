/**
 * `npx tsx scripts/build-poem-pairs.ts [--heldout FILE] [--out FILE]`:
 * the poem task of `npm run bench -- lora-poem`. Every regulated poem (5x4, 7x4, 5x8, 7x8) of
 * the poet's held-out poems (`.muse-cache/poet-v2/heldout.jsonl`, written by
 * `scripts/build-poet-corpus.ts`: v1's validation poems, which no training
 * poem of the bundled poet shares a 5-character clause with) becomes one
 * (beginning → ending) pair: its first line with its comma → the other lines. Written to `examples/poem-pairs.jsonl` (committed, so the bench
 * needs no cache).
 */
import { readFileSync } from 'node:fs';
import { writeFileAtomic } from '../src/io/atomic.js';
import { poemForm, poemLines } from '../src/poetry/metrics.js';

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1] : dflt;
}

const heldout = arg('heldout', '.muse-cache/poet-v2/heldout.jsonl');
const out = arg('out', 'examples/poem-pairs.jsonl');
const pairs: string[] = [];
for (const line of readFileSync(heldout, 'utf8').split('\n')) {
  if (!line.trim()) continue;
  const text = (JSON.parse(line) as { text: string }).text;
  const form = poemForm(poemLines(text));
  if (!form) continue;
  // The first line ends at its first punctuation mark; it stays with the beginning, as a user would type it.
  const cut = text.search(/[，。！？；]/u) + 1;
  if (cut <= 0) continue;
  pairs.push(JSON.stringify({ beginning: text.slice(0, cut), ending: text.slice(cut), form }));
}
writeFileAtomic(out, pairs.join('\n') + '\n');
const byForm: Record<string, number> = {};
for (const p of pairs) {
  const f = (JSON.parse(p) as { form: string }).form;
  byForm[f] = (byForm[f] ?? 0) + 1;
}
console.log(JSON.stringify({ out, pairs: pairs.length, byForm }));
