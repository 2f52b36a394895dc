/**
 * `muse eval`: scores a hypothesis file against reference files with BLEU,
 * chrF and ROUGE (sacreBLEU / rouge-score semantics), diversity measures,
 * bootstrap confidence intervals and paired significance tests, or a model's
 * perplexity on a text file. Parsing and printing only; the metrics live in
 * `src/eval/`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { ConfigError, FileFormatError } from '../../errors.js';
import { runPoemEval } from './eval-poem.js';
import { causalLMScorer } from '../../models/causal-lm-score.js';
import {
  BLEU_TOKENIZERS,
  type BleuOptions,
  type BleuScore,
  type ChrfOptions,
  type RougeOptions,
  type RougeResult,
  type RougeTokenizerName,
  type SmoothMethod,
  confidenceInterval,
  getBleuTokenizer,
  hasCjk,
  corpusBleu,
  corpusChrf,
  corpusRouge,
  distinctN,
  pairedBootstrap,
  perplexity,
  repetitionRate,
  selfBleu,
  sentenceBleu,
  sentenceChrf,
} from '../../eval/index.js';
import { emptyReferenceSegments } from '../../eval/references.js';

const METRICS = ['bleu', 'chrf', 'rouge', 'diversity'] as const;
type Metric = (typeof METRICS)[number];

interface EvalFlags {
  hyp?: string;
  ref: string[];
  metrics: string;
  tokenize: string;
  smooth: string;
  smoothValue?: string;
  effectiveOrder?: boolean;
  lowercase?: boolean;
  sentence?: boolean;
  useStemmer?: boolean;
  json?: boolean;
  chrfWordOrder: string;
  rougeTokenize?: string;
  confidence?: boolean;
  pairedBs?: string;
  bootstrapSamples: string;
  model?: string;
  text?: string;
  maxLength?: string;
  stride?: string;
  poem?: string;
  form?: string;
  promptLines?: string;
  corpus?: string[];
}

/** Lines of a UTF-8 text file, without the final newline (sacreBLEU reads files the same way). */
function readLines(path: string, what: string): string[] {
  if (!existsSync(path)) throw new FileFormatError(`${what} file ${path} does not exist`);
  const text = readFileSync(path, 'utf8');
  if (text.length === 0) throw new FileFormatError(`${what} file ${path} is empty; it needs one line per segment`);
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines.map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
}

function parseMetrics(spec: string): Metric[] {
  const out: Metric[] = [];
  for (const m of spec.split(',').map((s) => s.trim().toLowerCase()).filter(Boolean)) {
    if (!(METRICS as readonly string[]).includes(m)) throw new ConfigError(`unknown metric "${m}" in --metrics; use ${METRICS.join(', ')}`);
    out.push(m as Metric);
  }
  if (out.length === 0) throw new ConfigError('--metrics is empty; use e.g. --metrics bleu,chrf,rouge');
  return out;
}

function num(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n)) throw new ConfigError(`${flag} must be a number, got "${value}"`);
  return n;
}

function bleuJson(b: BleuScore): Record<string, unknown> {
  return { score: b.score, counts: b.counts, totals: b.totals, precisions: b.precisions, bp: b.bp, sysLen: b.sysLen, refLen: b.refLen, signature: b.signature };
}

function bleuLine(b: BleuScore): string {
  const ratio = b.refLen ? b.sysLen / b.refLen : 0;
  return `${b.precisions.map((p) => p.toFixed(1)).join('/')} (BP = ${b.bp.toFixed(3)} ratio = ${ratio.toFixed(3)} hyp_len = ${b.sysLen} ref_len = ${b.refLen})`;
}

function rougeRows(r: RougeResult): string[] {
  return Object.entries(r).map(
    ([type, s]) => `${type.padEnd(10)} P ${s.precision.toFixed(4)}  R ${s.recall.toFixed(4)}  F ${s.fmeasure.toFixed(4)}`,
  );
}

async function runPerplexity(flags: EvalFlags): Promise<void> {
  if (!flags.model || !flags.text) throw new ConfigError('perplexity needs both --model DIR and --text FILE');
  // Loaded lazily: scoring text files needs no tensor code.
  const { loadCausalLM } = await import('../../models/registry.js');
  const loaded = loadCausalLM(flags.model, { task: 'score perplexity' });
  loaded.model.train(false);
  if (!existsSync(flags.text)) throw new FileFormatError(`text file ${flags.text} does not exist`);
  const ids = loaded.tokenizer.encode(readFileSync(flags.text, 'utf8')).ids;
  const maxLength = num(flags.maxLength, '--max-length') ?? loaded.model.maxPositions;
  if (maxLength > loaded.model.maxPositions) {
    throw new ConfigError(`--max-length ${maxLength} exceeds the model's context of ${loaded.model.maxPositions} tokens (n_positions); pass --max-length ${loaded.model.maxPositions} or less`);
  }
  const stride = num(flags.stride, '--stride') ?? Math.max(1, Math.floor(maxLength / 2));
  // Any causal LM through its CausalLM interface (models/causal-lm-score.ts).
  const res = await perplexity(
    causalLMScorer(loaded.model),
    ids,
    { maxLength, stride },
  );
  if (flags.json) console.log(JSON.stringify({ perplexity: { ...res, maxLength, stride, model: flags.model } }));
  else console.log(`perplexity ${res.perplexity.toFixed(4)}  (mean NLL ${res.meanNll.toFixed(4)} nats over ${res.tokens} tokens, ${res.windows} windows, max length ${maxLength}, stride ${stride})`);
}

async function run(flags: EvalFlags): Promise<void> {
  if (flags.poem) {
    runPoemEval({ poem: flags.poem, form: flags.form, promptLines: flags.promptLines, corpus: flags.corpus, json: flags.json });
    return;
  }
  if (flags.model || flags.text) return runPerplexity(flags);
  if (!flags.hyp) throw new ConfigError('give --hyp FILE (and --ref FILE), or --model DIR --text FILE for perplexity');
  const metrics = parseMetrics(flags.metrics);
  const hyps = readLines(flags.hyp, 'hypothesis');
  const needsRefs = metrics.some((m) => m !== 'diversity');
  if (needsRefs && flags.ref.length === 0) throw new ConfigError('--ref FILE is required for bleu, chrf and rouge (repeat --ref for several references)');
  const refs = flags.ref.map((path) => {
    const lines = readLines(path, 'reference');
    if (lines.length !== hyps.length) {
      throw new ConfigError(`line counts differ: ${flags.hyp} has ${hyps.length} lines but ${path} has ${lines.length}; each reference file needs one line per hypothesis`);
    }
    return lines;
  });
  if (!(BLEU_TOKENIZERS as readonly string[]).includes(flags.tokenize)) {
    throw new ConfigError(`unknown --tokenize "${flags.tokenize}"; use ${BLEU_TOKENIZERS.join(', ')}`);
  }
  // sacreBLEU's 13a splits on spaces and punctuation only: an unsegmented Chinese
  // line is one "word", and BLEU is ~0. sacreBLEU keeps 13a unless told; so do we, but say so.
  if (flags.tokenize === '13a' && flags.metrics.split(',').includes('bleu') && (hyps.some(hasCjk) || refs.some((r) => r.some(hasCjk)))) {
    process.stderr.write('muse: warning: the text is Chinese/Japanese but BLEU uses the 13a tokenizer, which does not split CJK characters (scores near 0); pass --tokenize zh (as sacreBLEU -tok zh)\n');
  }
  const bleuOpts: BleuOptions = {
    tokenize: flags.tokenize as BleuOptions['tokenize'],
    smoothMethod: flags.smooth as SmoothMethod,
    smoothValue: num(flags.smoothValue, '--smooth-value'),
    lowercase: flags.lowercase ?? false,
    ...(flags.effectiveOrder ? { effectiveOrder: true } : {}),
  };
  // A segment whose references are all empty is scored 0 (as sacreBLEU 2.x scores it), not refused: say which.
  if (needsRefs) {
    const empty = emptyReferenceSegments(refs);
    if (empty.length) {
      process.stderr.write(
        `muse: warning: ${empty.length === 1 ? 'line' : 'lines'} ${empty.slice(0, 10).join(', ')}${empty.length > 10 ? ', …' : ''} of ${flags.ref.join(', ')} ${empty.length === 1 ? 'is' : 'are'} empty: ` +
          `${empty.length === 1 ? 'that segment is' : 'those segments are'} scored against an empty reference (0), as sacreBLEU does; fix the reference file if a line is missing\n`,
      );
    }
  }
  const chrfOpts: ChrfOptions = { wordOrder: num(flags.chrfWordOrder, '--chrf-word-order'), lowercase: flags.lowercase ?? false };
  const rougeTok = (flags.rougeTokenize ?? (flags.tokenize === 'zh' ? 'zh' : 'auto')) as RougeTokenizerName;
  const rougeOpts: RougeOptions = { useStemmer: flags.useStemmer ?? false, tokenize: rougeTok, rougeTypes: ['rouge1', 'rouge2', 'rougeL', 'rougeLsum'] };
  const nSamples = num(flags.bootstrapSamples, '--bootstrap-samples') ?? 1000;

  if (flags.sentence) {
    for (let i = 0; i < hyps.length; i++) {
      const r = refs.map((s) => s[i]);
      const obj: Record<string, unknown> = {};
      const cells: string[] = [`${String(i + 1).padStart(5)}`];
      if (metrics.includes('bleu')) {
        const b = sentenceBleu(hyps[i], r, bleuOpts);
        obj.bleu = bleuJson(b);
        cells.push(`BLEU ${b.score.toFixed(2).padStart(6)}`);
      }
      if (metrics.includes('chrf')) {
        const c = sentenceChrf(hyps[i], r, chrfOpts);
        obj.chrf = { score: c.score, signature: c.signature };
        cells.push(`${c.name} ${c.score.toFixed(2).padStart(6)}`);
      }
      if (metrics.includes('rouge')) {
        const ro = corpusRouge([hyps[i]], r.map((x) => [x]), rougeOpts).mean;
        obj.rouge = ro;
        cells.push(`R1 ${ro.rouge1.fmeasure.toFixed(4)} R2 ${ro.rouge2.fmeasure.toFixed(4)} RL ${ro.rougeL.fmeasure.toFixed(4)}`);
      }
      console.log(flags.json ? JSON.stringify(obj) : cells.join('  '));
    }
    return;
  }

  const out: Record<string, unknown> = {};
  const table: string[] = [];
  if (metrics.includes('bleu')) {
    const b = corpusBleu(hyps, refs, bleuOpts);
    // Without effective order, a corpus with no 4-grams scores 0 however well it matches.
    if (!bleuOpts.effectiveOrder) {
      const N = b.totals.length;
      const missing = b.totals.findIndex((t) => t === 0);
      if (missing >= 0) {
        process.stderr.write(`muse: warning: no hypothesis has ${missing + 1} tokens or more, so there are no ${missing + 1}-grams and BLEU is 0 whatever the match; pass --effective-order (sacreBLEU's, as sentence BLEU uses) or score longer segments\n`);
      } else {
        // Counted in BLEU's own tokens (zh splits every Chinese character), not whitespace words.
        const tok = getBleuTokenizer(bleuOpts.tokenize ?? '13a');
        const short = hyps.filter((h) => tok(h.trim()).length < N).length;
        if (short > hyps.length / 2) process.stderr.write(`muse: warning: ${short} of ${hyps.length} hypotheses are shorter than BLEU's ${N}-gram order; their higher orders count as misses — consider --effective-order\n`);
      }
    }
    const entry: Record<string, unknown> = bleuJson(b);
    table.push(`BLEU       ${b.score.toFixed(2).padStart(6)}  ${bleuLine(b)}`, `           ${b.signature}`);
    if (flags.confidence) {
      const ci = confidenceInterval(hyps, refs, { metric: 'bleu', options: bleuOpts }, { nSamples });
      entry.confidence = { mean: ci.mean, ci: ci.ci, signature: ci.signature };
      table.push(`           μ = ${ci.mean.toFixed(2)} ± ${ci.ci.toFixed(2)} (95% bootstrap, ${nSamples} resamples)`);
    }
    out.bleu = entry;
  }
  if (metrics.includes('chrf')) {
    const c = corpusChrf(hyps, refs, chrfOpts);
    const entry: Record<string, unknown> = { score: c.score, signature: c.signature };
    table.push(`${c.name.padEnd(10)} ${c.score.toFixed(2).padStart(6)}`, `           ${c.signature}`);
    if (flags.confidence) {
      const ci = confidenceInterval(hyps, refs, { metric: 'chrf', options: chrfOpts }, { nSamples });
      entry.confidence = { mean: ci.mean, ci: ci.ci, signature: ci.signature };
      table.push(`           μ = ${ci.mean.toFixed(2)} ± ${ci.ci.toFixed(2)} (95% bootstrap, ${nSamples} resamples)`);
    }
    out.chrf = entry;
  }
  if (metrics.includes('rouge')) {
    const r = corpusRouge(hyps, refs, rougeOpts).mean;
    out.rouge = r;
    table.push(...rougeRows(r).map((row) => `${row}   (mean over ${hyps.length} segment${hyps.length === 1 ? '' : 's'}; tokenize ${rougeTok}${flags.useStemmer ? ', stemmed' : ''})`));
  }
  if (metrics.includes('diversity')) {
    const div = {
      distinct1: distinctN(hyps, 1, { tokenize: bleuOpts.tokenize }),
      distinct2: distinctN(hyps, 2, { tokenize: bleuOpts.tokenize }),
      repetition4: repetitionRate(hyps, 4, { tokenize: bleuOpts.tokenize }),
      selfBleu: hyps.filter((h) => h !== '').length >= 2 ? selfBleu(hyps, { tokenize: bleuOpts.tokenize }) : null,
    };
    out.diversity = div;
    table.push(
      `distinct-1 ${div.distinct1.toFixed(4)}   distinct-2 ${div.distinct2.toFixed(4)}   seq-rep-4 ${div.repetition4.toFixed(4)}   self-BLEU ${div.selfBleu === null ? 'n/a' : div.selfBleu.toFixed(2)}`,
    );
  }
  if (flags.pairedBs) {
    const baseline = readLines(flags.pairedBs, 'baseline');
    if (baseline.length !== hyps.length) {
      throw new ConfigError(`line counts differ: baseline ${flags.pairedBs} has ${baseline.length} lines but ${flags.hyp} has ${hyps.length}`);
    }
    const tests: Record<string, unknown> = {};
    for (const m of metrics.filter((x): x is 'bleu' | 'chrf' => x === 'bleu' || x === 'chrf')) {
      const res = pairedBootstrap(baseline, hyps, refs, m === 'bleu' ? { metric: 'bleu', options: bleuOpts } : { metric: 'chrf', options: chrfOpts }, { nSamples });
      tests[m] = res;
      table.push(
        `paired-bs ${m.padEnd(5)} baseline ${res.baseline.score.toFixed(2)} (μ = ${res.baseline.mean.toFixed(2)} ± ${res.baseline.ci.toFixed(2)})  system ${res.system.score.toFixed(2)} (μ = ${res.system.mean.toFixed(2)} ± ${res.system.ci.toFixed(2)})  p = ${res.system.pValue.toFixed(4)}${res.system.pValue < 0.05 ? ' *' : ''}`,
      );
    }
    out.pairedBootstrap = tests;
  }
  console.log(flags.json ? JSON.stringify(out) : table.join('\n'));
}

/** Registers `muse eval`. */
export function register(program: Command): void {
  program
    .command('eval')
    .description('score generated text: BLEU and chrF (sacreBLEU-exact), ROUGE (rouge-score-exact, CJK-aware), diversity, significance; or a model\'s perplexity')
    .option('--hyp <file>', 'hypotheses, one per line')
    .option('--ref <file>', 'references, one per line (repeat for several references)', (v: string, acc: string[]) => [...acc, v], [] as string[])
    .option('--metrics <list>', `comma-separated: ${METRICS.join(', ')}`, 'bleu,chrf,rouge')
    .addOption(new Option('--tokenize <name>', 'BLEU tokenizer (zh also selects the CJK ROUGE tokenizer)').choices([...BLEU_TOKENIZERS]).default('13a'))
    .addOption(new Option('--smooth <method>', 'BLEU smoothing').choices(['exp', 'floor', 'add-k', 'none']).default('exp'))
    .option('--smooth-value <v>', 'value for floor (default 0.1) and add-k (default 1)')
    .option('--lowercase', 'case-insensitive BLEU and chrF')
    .option('--effective-order', 'BLEU: ignore n-gram orders a segment is too short to have (sacreBLEU --effective-order; on for --sentence)')
    .option('--sentence', 'score each line separately (one result per line)')
    .option('--use-stemmer', 'Porter-stem ROUGE tokens (as rouge-score use_stemmer=True)')
    .option('--json', 'print JSON instead of a table')
    .option('--chrf-word-order <n>', 'chrF word n-gram order (2 = chrF++)', '0')
    .addOption(new Option('--rouge-tokenize <name>', 'ROUGE tokenizer: rouge-score\'s default, zh (CJK characters as tokens), auto (zh when the text has CJK)').choices(['default', 'zh', 'auto']))
    .option('--confidence', '95% bootstrap confidence intervals for BLEU and chrF (as sacreBLEU --confidence)')
    .option('--paired-bs <baseline>', 'paired bootstrap test of --hyp against this baseline file (as sacreBLEU --paired-bs)')
    .option('--bootstrap-samples <n>', 'resamples for --confidence / --paired-bs', '1000')
    .option('--model <dir>', 'perplexity: model directory (HF GPT-2 layout)')
    .option('--text <file>', 'perplexity: text file to score')
    .option('--max-length <n>', 'perplexity: window length (default: the model\'s context size)')
    .option('--stride <n>', 'perplexity: window stride (default: half the window)')
    .option('--poem <file>', 'poem metrics of generated poems, one per line: form, rhyme, tonal pattern, repeats, distinct-1/2, copy check')
    .option('--form <form>', 'poem metrics: only poems of this form are valid (5x4, 7x4, 5x8, 7x8)')
    .option('--prompt-lines <n>', 'poem metrics: lines given in the prompt, left out of the tonal rate and the copy check')
    .option('--corpus <files...>', 'poem metrics: training corpus (.jsonl/.txt) for the copy check')
    .addHelpText(
      'after',
      '\nExamples:\n  muse eval --hyp out.txt --ref ref.txt\n  muse eval --hyp out.txt --ref ref1.txt --ref ref2.txt --metrics bleu,chrf --json\n  muse eval --hyp zh.txt --ref zh-ref.txt --tokenize zh\n  muse eval --hyp new.txt --ref ref.txt --paired-bs old.txt\n  muse eval --model runs/story/best --text valid.txt --stride 512\n  muse eval --poem poems.txt --form 5x4 --prompt-lines 1 --corpus ../shared/data/tang-poems.jsonl',
    )
    .action(async (flags: EvalFlags) => run(flags));
}
