import { buildAnalyzer } from '../../features/analyzer.js';
import { Command } from 'commander';
import { encodeTexts, loadVectorAutoencoder, nearestNeighbors, readDocuments, trainVectorAutoencoder } from '../../models/vae/index.js';
import { writeFileAtomic } from '../../io/atomic.js';
import { ConfigError } from '../../errors.js';
import type { AnalyzerKind, Norm } from '../../features/index.js';

function int(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new ConfigError(`--${name} must be a positive integer, got ${v}`);
  return n;
}

function num(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new ConfigError(`--${name} must be a number ≥ 0, got ${v}`);
  return n;
}

interface TrainFlags {
  corpus: string[];
  field?: string;
  script?: 'simplified' | 'traditional' | 'keep';
  out: string;
  vectorizer: 'count' | 'tfidf';
  analyzer: AnalyzerKind;
  ngram: string;
  minDf?: string;
  maxDf?: string;
  maxFeatures?: string;
  norm: string;
  hidden: string;
  latent: string;
  vae?: boolean;
  beta?: string;
  maxIters: string;
  batchSize: string;
  lr: string;
  seed: string;
  json?: boolean;
  progress: boolean;
}

/** Registers `muse ae train|encode|neighbors`. */
export function register(program: Command): void {
  const ae = program.command('ae').description('vectorize → normalize → autoencode: train an MLP autoencoder (or VAE) on CountVectorizer/TfidfVectorizer rows, encode texts, list latent-space neighbours');

  ae.command('train')
    .description('fit the vectorizer and train the autoencoder (documents: .jsonl records or .txt lines)')
    .requiredOption('--corpus <files...>', 'corpus files (.jsonl: one document per record; .txt: one per line)')
    .option('--field <name>', 'JSONL field holding the text', 'text')
    .option('--script <s>', 'Chinese script normalisation: simplified | traditional | keep', 'keep')
    .requiredOption('--out <dir>', 'output directory (best/, last/, metrics.jsonl, loss.svg)')
    .option('--vectorizer <type>', 'tfidf | count', 'tfidf')
    .option('--analyzer <a>', 'word | char | char_wb (use char for unsegmented Chinese)', 'word')
    .option('--ngram <min,max>', 'n-gram range', '1,1')
    .option('--min-df <n>', 'ignore features in fewer documents (integer count, or a fraction)')
    .option('--max-df <n>', 'ignore features in more documents (integer count, or a fraction)')
    .option('--max-features <n>', 'keep the most frequent features')
    .option('--norm <n>', 'row norm: l2 | l1 | max | none', 'l2')
    .option('--hidden <sizes>', 'hidden widths, comma-separated', '256')
    .option('--latent <n>', 'code size', '16')
    .option('--vae', 'train a VAE (ELBO = squared error + beta·KL) instead of a plain autoencoder')
    .option('--beta <b>', 'VAE: KL weight', '1')
    .option('--max-iters <n>', 'optimizer steps', '500')
    .option('--batch-size <n>', 'rows per step', '32')
    .option('--lr <x>', 'peak learning rate (cosine decay to a tenth)', '0.001')
    .option('--seed <n>', 'random seed', '1337')
    .option('--json', 'print JSON records, ending with one summary line')
    .option('--no-progress', 'no progress bar')
    .action(async (o: TrainFlags) => {
      const ngram = o.ngram.split(',').map(Number);
      if (ngram.length !== 2) throw new ConfigError(`--ngram must be min,max (e.g. 1,2), got ${o.ngram}`);
      const docs = o.corpus.flatMap((f) => readDocuments(f, { field: o.field, script: o.script }));
      const norm = o.norm === 'none' ? null : (o.norm as Norm);
      // scikit-learn's word analyzer keeps tokens of 2+ word characters, so single-character words
      // (unsegmented Chinese: 我 爱 你) give an all-zero row. That is right for the vectorizer; say so.
      if (o.analyzer === 'word' && docs.length > 0) {
        const analyze = buildAnalyzer({ analyzer: 'word', ngramRange: [ngram[0], ngram[1]] });
        const empty = docs.filter((d) => analyze(d).length === 0).length;
        if (empty / docs.length >= 0.2) {
          process.stderr.write(
            `muse: warning: ${empty} of ${docs.length} documents give no features with the word analyzer (it keeps words of 2+ characters, as scikit-learn does, so single characters such as 我 爱 你 are dropped); ` +
              'for Chinese or other unsegmented text pass --analyzer char (e.g. with --ngram 1,2)\n',
          );
        }
      }
      const summary = await trainVectorAutoencoder({
        documents: docs,
        vectorizer: { type: o.vectorizer, analyzer: o.analyzer, ngramRange: [ngram[0], ngram[1]], minDf: num('min-df', o.minDf), maxDf: num('max-df', o.maxDf), maxFeatures: int('max-features', o.maxFeatures), norm },
        model: { hiddenSizes: o.hidden.split(',').map((h) => int('hidden', h)!), latentSize: int('latent', o.latent) },
        variational: o.vae ? { beta: num('beta', o.beta) } : undefined,
        training: { maxIters: int('max-iters', o.maxIters), batchSize: int('batch-size', o.batchSize), learningRate: num('lr', o.lr), seed: Number(o.seed) },
        outDir: o.out,
        script: o.script,
        json: o.json,
        progress: o.progress,
        log: o.json ? (line) => process.stdout.write(line + '\n') : undefined,
        extraFiles: { 'muse_command.txt': ['muse', 'ae', ...process.argv.slice(3)].join(' ') + '\n' },
      });
      const line = { documents: docs.length, features: summary.features, parameters: summary.parameters, step: summary.step, valLoss: summary.valLoss, bestValLoss: summary.bestValLoss, checkpoint: summary.checkpoint };
      process.stdout.write(opts(o.json, line, `done: ${docs.length} documents × ${summary.features} features, ${summary.parameters} parameters, val loss ${summary.valLoss?.toFixed(6)} (best ${summary.bestValLoss?.toFixed(6)})\nmodel: ${summary.checkpoint}`));
    });

  ae.command('encode')
    .description('latent vectors of texts (arguments or --corpus), one JSON line {text, z} each')
    .requiredOption('--model <dir>', 'directory from muse ae train (its best/ or last/)')
    .option('--corpus <files...>', 'documents to encode')
    .option('--field <name>', 'JSONL field holding the text', 'text')
    .option('--out <file>', 'write the JSON lines to this file instead of stdout')
    .argument('[texts...]')
    .action((texts: string[], o: { model: string; corpus?: string[]; field: string; out?: string }) => {
      const m = loadVectorAutoencoder(o.model);
      const docs = [...texts, ...(o.corpus ?? []).flatMap((f) => readDocuments(f, { field: o.field }))];
      if (docs.length === 0) throw new ConfigError('nothing to encode: pass texts as arguments or --corpus FILE');
      const z = encodeTexts(m, docs);
      const lines = docs.map((text, i) => JSON.stringify({ text, z: z[i].map((v) => Number(v.toPrecision(6))) })).join('\n') + '\n';
      if (o.out) {
        writeFileAtomic(o.out, lines);
        process.stderr.write(`wrote ${docs.length} vectors of ${z[0].length} dimensions to ${o.out}\n`);
      } else process.stdout.write(lines);
    });

  ae.command('neighbors')
    .description('the documents of --corpus closest to a query in latent space (cosine similarity)')
    .requiredOption('--model <dir>', 'directory from muse ae train')
    .requiredOption('--corpus <files...>', 'candidate documents')
    .option('--field <name>', 'JSONL field holding the text', 'text')
    .option('--k <n>', 'how many', '5')
    .option('--json', 'one JSON line per neighbour')
    .argument('<query>')
    .action((query: string, o: { model: string; corpus: string[]; field: string; k: string; json?: boolean }) => {
      const m = loadVectorAutoencoder(o.model);
      const docs = o.corpus.flatMap((f) => readDocuments(f, { field: o.field }));
      for (const nb of nearestNeighbors(m, query, docs, int('k', o.k))) {
        process.stdout.write(o.json ? JSON.stringify(nb) + '\n' : `${nb.similarity.toFixed(4)}  ${nb.text.replace(/\s+/g, ' ').slice(0, 120)}\n`);
      }
    });
}

function opts(json: boolean | undefined, line: object, text: string): string {
  return (json ? JSON.stringify(line) : text) + '\n';
}
