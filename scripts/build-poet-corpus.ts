/**
 * Build the corpus of muse-poet-zh v2 from npm `chinese-poetry` 2.0.1 (MIT).
 *
 *   npx tsx scripts/build-poet-corpus.ts [--shared ../shared/data] [--out .muse-cache/poet-v2]
 *
 * 1. `npm pack chinese-poetry@2.0.1` into `.muse-cache/` (ignored by git; the
 *    package is never a dependency) and unpack it there.
 * 2. Rebuild v1's validation text exactly as `muse train --config
 *    configs/muse-poet-zh-v1.json --corpus tang-poems.jsonl song-ci.jsonl`
 *    did: documents normalised to simplified characters, shuffled (seed
 *    1337), each followed by `<|endoftext|>`, the last 2% of the token stream
 *    validating. The documents that reach into that tail (the first one only
 *    partly) are written to `heldout.jsonl`, in stream order.
 * 3. Read the package's Tang shi, Song shi, Song ci, 五代词 (花间集, 南唐二主词),
 *    诗经, 楚辞 and 纳兰性德's poems; join each poem's lines; normalise to
 *    simplified characters (OpenCC t2s, src/data/script.ts); remove editors'
 *    notes (（一作…）, 〖1〗, […]); drop poems with
 *    fewer than 4 Han characters; drop exact duplicates (same Han characters)
 *    and every poem that shares a clause of 5 or more Han characters with a
 *    held-out poem, so no training text overlaps the held-out set.
 * 4. Write `train.jsonl` ({"text","source"}), its Tang shi + ci part
 *    `tang-ci.jsonl` (Tang shi, Song ci, 五代词), `heldout.jsonl` ({"text"}) and
 *    `stats.json` (counts per source, what was dropped, SHA-256 of the files).
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { readCorpus, toSimplified } from '../src/data/corpus.js';
import { CharTokenizer } from '../src/tokenizers/index.js';
import { Generator } from '../src/tensor/index.js';
import { writeFileAtomic } from '../src/io/atomic.js';

const args = process.argv.slice(2);
const opt = (name: string, dflt: string): string => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] ? args[i + 1] : dflt;
};
const root = resolve(import.meta.dirname, '..');
const shared = resolve(opt('--shared', join(root, '..', 'shared', 'data')));
const outDir = resolve(opt('--out', join(root, '.muse-cache', 'poet-v2')));
const cache = join(root, '.muse-cache');
const PKG = 'chinese-poetry@2.0.1';

function fetchPackage(): string {
  mkdirSync(cache, { recursive: true });
  const tgz = join(cache, 'chinese-poetry-2.0.1.tgz');
  if (!existsSync(tgz)) execFileSync('npm', ['pack', PKG, '--silent'], { cwd: cache, stdio: ['ignore', 'ignore', 'inherit'] });
  const dir = join(cache, 'chinese-poetry-2.0.1');
  if (!existsSync(join(dir, 'package', 'package.json'))) {
    mkdirSync(dir, { recursive: true });
    execFileSync('tar', ['xzf', tgz, '-C', dir]);
  }
  return join(dir, 'package', 'dist');
}

const sha256 = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex');
const HAN = /\p{Script=Han}/gu;
const hanKey = (t: string): string => (t.match(HAN) ?? []).join('');
/** Clauses of ≥ 5 Han characters (split at punctuation), as Han-only keys. */
function clauses(t: string): string[] {
  return t.split(/[，。！？；：、,.!?;:\s「」『』“”（）()]+/u).map(hanKey).filter((c) => c.length >= 5);
}

/**
 * Editors' notes inside a poem's text — variant readings `（一作「陂」）`,
 * footnote marks `〖1〗`, bracketed emendations — are not verse: removed.
 */
function stripNotes(text: string): string {
  let t = text;
  for (let prev = ''; prev !== t; ) {
    prev = t;
    t = t.replace(/（[^（）]*）|\([^()]*\)|〖[^〖〗]*〗|\[[^\[\]]*\]|【[^【】]*】/gu, '');
  }
  return t.trim();
}

/** v1's held-out documents, in stream order, rebuilt from its recipe and corpus. */
function v1HeldOut(): { docs: string[]; firstDocOffset: number; valTokens: number } {
  const recipe = JSON.parse(readFileSync(join(root, 'configs', 'muse-poet-zh-v1.json'), 'utf8'));
  const d = recipe.data;
  let docs: string[] = [];
  for (const f of ['tang-poems.jsonl', 'song-ci.jsonl']) docs.push(...readCorpus(join(shared, f), { field: d.field, script: d.script }));
  const gen = new Generator(recipe.training.seed);
  docs = [...docs];
  for (let i = docs.length - 1; i > 0; i--) {
    const j = gen.randint(0, i + 1);
    [docs[i], docs[j]] = [docs[j], docs[i]];
  }
  const tok = CharTokenizer.train(docs, { minFrequency: recipe.tokenizer.minFrequency, specialTokens: ['<|endoftext|>'], unkToken: '<unk>' });
  const lens = docs.map((doc) => tok.encodeIds(doc, { addSpecialTokens: false }).length + 1);
  const total = lens.reduce((a, b) => a + b, 0);
  const nVal = Math.floor(total * d.valFraction);
  let k = docs.length;
  let acc = 0;
  while (acc < nVal) acc += lens[--k];
  return { docs: docs.slice(k), firstDocOffset: acc - nVal, valTokens: nVal };
}

interface Source { name: string; files: string[]; lines: (rec: Record<string, unknown>) => unknown }

function packageSources(dist: string): Source[] {
  const list = (dir: string, re: RegExp) => readdirSync(join(dist, dir)).filter((f) => re.test(f)).sort((a, b) => a.localeCompare(b, 'en', { numeric: true })).map((f) => join(dist, dir, f));
  const paragraphs = (r: Record<string, unknown>) => r.paragraphs;
  return [
    { name: 'tang-shi', files: list('quantangshi', /^poet\.tang\.\d+\.json$/), lines: paragraphs },
    { name: 'song-shi', files: list('quantangshi', /^poet\.song\.\d+\.json$/), lines: paragraphs },
    { name: 'song-ci', files: list('songci', /^ci\.song\.\w+\.json$/), lines: paragraphs },
    { name: 'wudai-ci', files: [...list('wudaishici/huajianji', /juan\.json$/), join(dist, 'wudaishici', 'nantang', 'poetrys.json')], lines: paragraphs },
    { name: 'shijing', files: [join(dist, 'shijing', 'shijing.json')], lines: (r) => r.content },
    { name: 'chuci', files: [join(dist, 'chuci', 'chuci.json')], lines: (r) => r.content },
    { name: 'nalanxingde', files: [join(dist, 'nalanxingde', '纳兰性德诗集.json')], lines: (r) => r.para },
  ];
}

function main(): void {
  const dist = fetchPackage();
  mkdirSync(outDir, { recursive: true });
  const held = v1HeldOut();
  // compared both as v1 read them and with the notes removed as the training poems are
  const heldTexts = [...held.docs, ...held.docs.map(stripNotes)];
  const heldKeys = new Set(heldTexts.map(hanKey));
  const heldClauses = new Set(heldTexts.flatMap(clauses));
  const seen = new Set<string>();
  const stats: Record<string, { read: number; kept: number; short: number; duplicate: number; heldOutOverlap: number; chars: number }> = {};
  const out: string[] = [];
  for (const src of packageSources(dist)) {
    const s = (stats[src.name] = { read: 0, kept: 0, short: 0, duplicate: 0, heldOutOverlap: 0, chars: 0 });
    for (const file of src.files) {
      const recs = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>[];
      for (const rec of recs) {
        s.read++;
        const lines = src.lines(rec);
        if (!Array.isArray(lines)) { s.short++; continue; }
        const text = stripNotes(toSimplified(lines.filter((l) => typeof l === 'string').join('').trim()));
        const key = hanKey(text);
        if (key.length < 4) { s.short++; continue; }
        if (heldKeys.has(key) || clauses(text).some((c) => heldClauses.has(c))) { s.heldOutOverlap++; continue; }
        if (seen.has(key)) { s.duplicate++; continue; }
        seen.add(key);
        s.kept++;
        s.chars += text.length;
        out.push(JSON.stringify({ text, source: src.name }));
      }
    }
    process.stderr.write(`${src.name}: ${JSON.stringify(s)}\n`);
  }
  const trainPath = join(outDir, 'train.jsonl');
  const heldPath = join(outDir, 'heldout.jsonl');
  writeFileAtomic(trainPath, out.join('\n') + '\n');
  // The Tang shi + ci part (Tang shi, Song ci, 五代词): muse-poet-zh v2 counts it three times from step 500.
  const tangCiPath = join(outDir, 'tang-ci.jsonl');
  writeFileAtomic(tangCiPath, out.filter((l) => /"source":"(tang-shi|song-ci|wudai-ci)"/.test(l)).join('\n') + '\n');
  writeFileAtomic(heldPath, held.docs.map((text) => JSON.stringify({ text })).join('\n') + '\n');
  const summary = {
    package: PKG,
    tarballSha256: sha256(join(cache, 'chinese-poetry-2.0.1.tgz')),
    heldOut: { documents: held.docs.length, v1ValTokens: held.valTokens, firstDocumentTokensBeforeV1Split: held.firstDocOffset, chars: held.docs.reduce((a, t) => a + t.length, 0), clauses: heldClauses.size },
    train: { documents: out.length, chars: Object.values(stats).reduce((a, s) => a + s.chars, 0) },
    sources: stats,
    files: { 'train.jsonl': sha256(trainPath), 'tang-ci.jsonl': sha256(tangCiPath), 'heldout.jsonl': sha256(heldPath) },
  };
  writeFileAtomic(join(outDir, 'stats.json'), JSON.stringify(summary, null, 2) + '\n');
  process.stdout.write(JSON.stringify(summary, null, 2) + '\n');
}

main();
