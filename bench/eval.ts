/**
 * `npm run bench -- eval [--pairs N]`: seconds per metric for BLEU, chrF and
 * ROUGE-1/2/L on sentence pairs made from consecutive non-empty lines of
 * ../shared/data/tinyshakespeare.txt (hypothesis = line i, reference =
 * line i + 1; 100,000 pairs, cycling through the file). When the reference
 * tools are importable by python3 (sacrebleu, rouge_score), they run on the
 * same pairs in the same bench run and their time and score are printed
 * beside muse's; otherwise the figures measured by issue 7's author are
 * printed with `"measured": false`.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { corpusBleu, corpusChrf, corpusRouge } from '../src/eval/index.js';

const here = dirname(fileURLToPath(import.meta.url));

/** Issue 7's figures for the reference tools on 100,000 such pairs. */
const REFERENCE_SECONDS = { bleu: 3.2, chrf: 8.2, rouge: 2.2 } as const;

const PY_REFERENCE = `
import json, sys, time
hyps = open(sys.argv[1], encoding='utf-8').read().split('\\n')
refs = open(sys.argv[2], encoding='utf-8').read().split('\\n')
out = {}
try:
    from sacrebleu.metrics import BLEU, CHRF
    t = time.perf_counter(); c = time.process_time(); s = BLEU().corpus_score(hyps, [refs]).score; out['bleu'] = [time.perf_counter() - t, s, time.process_time() - c]
    t = time.perf_counter(); c = time.process_time(); s = CHRF().corpus_score(hyps, [refs]).score; out['chrf'] = [time.perf_counter() - t, s, time.process_time() - c]
except ImportError:
    pass
try:
    from rouge_score import rouge_scorer
    sc = rouge_scorer.RougeScorer(['rouge1', 'rouge2', 'rougeL'])
    t = time.perf_counter(); c = time.process_time()
    tot = {'rouge1': 0.0, 'rouge2': 0.0, 'rougeL': 0.0}
    for h, r in zip(hyps, refs):
        res = sc.score(r, h)
        for k in tot: tot[k] += res[k].fmeasure
    out['rouge'] = [time.perf_counter() - t, {k: v / len(hyps) for k, v in tot.items()}, time.process_time() - c]
except ImportError:
    pass
print(json.dumps(out))
`;

/** Wall and CPU seconds of `fn` (CPU time is the fairer figure on a shared machine). */
function time<T>(fn: () => T): [number, T, number] {
  const t0 = process.hrtime.bigint();
  const c0 = process.cpuUsage();
  const r = fn();
  const c = process.cpuUsage(c0);
  return [Number(process.hrtime.bigint() - t0) / 1e9, r, (c.user + c.system) / 1e6];
}

/** python3 that runs the reference tools (override with MUSE_BENCH_PYTHON). */
const PYTHON = process.env.MUSE_BENCH_PYTHON ?? 'python3';

function runReference(hyps: string[], refs: string[]): Record<string, [number, unknown, number]> | null {
  const probe = spawnSync(PYTHON, ['-c', 'import sacrebleu'], { encoding: 'utf8' });
  const probe2 = spawnSync(PYTHON, ['-c', 'import rouge_score'], { encoding: 'utf8' });
  if (probe.status !== 0 && probe2.status !== 0) return null;
  const dir = mkdtempSync(join(tmpdir(), 'muse-bench-eval-'));
  try {
    writeFileSync(join(dir, 'hyp.txt'), hyps.join('\n'));
    writeFileSync(join(dir, 'ref.txt'), refs.join('\n'));
    writeFileSync(join(dir, 'ref.py'), PY_REFERENCE);
    const res = spawnSync(PYTHON, [join(dir, 'ref.py'), join(dir, 'hyp.txt'), join(dir, 'ref.txt')], {
      encoding: 'utf8',
      maxBuffer: 1 << 24,
    });
    if (res.status !== 0) {
      console.error(`reference tools failed: ${res.stderr.slice(-500)}`);
      return null;
    }
    return JSON.parse(res.stdout) as Record<string, [number, unknown, number]>;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export default async function main(args: string[]): Promise<void> {
  const i = args.indexOf('--pairs');
  const nPairs = i >= 0 ? Number(args[i + 1]) : 100_000;
  const path = join(here, '..', '..', 'shared', 'data', 'tinyshakespeare.txt');
  if (!existsSync(path)) {
    console.log(JSON.stringify({ bench: 'eval', skipped: `corpus not found: ${path}` }));
    return;
  }
  // blank lines are dropped: sacreBLEU rejects empty references
  const lines = readFileSync(path, 'utf8').split('\n').filter((l) => l.trim() !== '');
  const hyps: string[] = [];
  const refs: string[] = [];
  for (let k = 0; k < nPairs; k++) {
    hyps.push(lines[k % (lines.length - 1)]);
    refs.push(lines[(k % (lines.length - 1)) + 1]);
  }

  const reference = runReference(hyps, refs);
  const [tBleu, bleu, cBleu] = time(() => corpusBleu(hyps, [refs]));
  const [tChrf, chrf, cChrf] = time(() => corpusChrf(hyps, [refs]));
  const [tRouge, rouge, cRouge] = time(() => corpusRouge(hyps, refs, { rougeTypes: ['rouge1', 'rouge2', 'rougeL'] }));
  const rougeF = Object.fromEntries(Object.entries(rouge.mean).map(([k, v]) => [k, v.fmeasure]));

  const ref = (metric: 'bleu' | 'chrf' | 'rouge') => {
    const m = reference?.[metric];
    if (m) return { tool: metric === 'rouge' ? 'rouge-score' : 'sacrebleu', seconds: m[0], cpuSeconds: m[2], score: m[1], measured: true };
    // the figures are for 100,000 pairs; scale linearly for --pairs
    const seconds = Number(((REFERENCE_SECONDS[metric] * nPairs) / 100_000).toFixed(3));
    return { tool: metric === 'rouge' ? 'rouge-score' : 'sacrebleu', seconds, measured: false };
  };
  const line = (metric: 'bleu' | 'chrf' | 'rouge', seconds: number, score: unknown, cpuSeconds: number) => {
    const r = ref(metric);
    // unmeasured: the figures are wall times of single-threaded Python on
    // an idle machine, where wall ≈ CPU; muse's CPU time is the comparable figure
    // on a shared machine
    const refCpu = 'cpuSeconds' in r && r.cpuSeconds !== undefined ? r.cpuSeconds : r.seconds;
    const cpu = { cpuSpeedup: Number((refCpu / cpuSeconds).toFixed(1)) };
    const same = r.measured ? { identicalScore: JSON.stringify(r.score) === JSON.stringify(score) } : {};
    console.log(
      JSON.stringify({
        bench: 'eval',
        metric,
        pairs: nPairs,
        seconds: Number(seconds.toFixed(3)),
        cpuSeconds: Number(cpuSeconds.toFixed(3)),
        score,
        reference: r,
        speedup: Number((r.seconds / seconds).toFixed(1)),
        ...cpu,
        ...same,
      }),
    );
  };
  line('bleu', tBleu, bleu.score, cBleu);
  line('chrf', tChrf, chrf.score, cChrf);
  line('rouge', tRouge, rougeF, cRouge);
}
