/**
 * The sentence VAE's target figures: `npm run bench -- vae [MODEL_DIR] [--samples 100] [--lines 2000]`.
 *
 * Prints JSON lines: the ELBO terms and active units (Burda et al. 2016) on
 * `--lines` random 5-character Tang lines (from /work/shared, skipped when
 * absent), the share of well-formed lines among prior samples (greedy and
 * temperature 0.8), example samples, interpolations and reconstructions.
 * Default model: the bundled models/muse-vae-zh.
 */
import { existsSync } from 'node:fs';
import { Generator } from '../src/tensor/index.js';
import { readCorpus } from '../src/data/corpus.js';
import { evaluateSentenceVAE, extractPoemLines, interpolateLines, isWellFormedLine, loadSentenceVAE, reconstructLine, sampleLines } from '../src/models/vae/index.js';

const TANG = '/work/shared/data/tang-poems.jsonl';

export default async function main(args: string[]): Promise<void> {
  const flag = (name: string, dflt: number): number => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 ? Number(args[i + 1]) : dflt;
  };
  const dir = args.find((a, i) => !a.startsWith('--') && !args[i - 1]?.startsWith('--'));
  const vae = loadSentenceVAE(dir);
  const nSamples = flag('samples', 100);
  const out = (o: object) => process.stdout.write(JSON.stringify({ bench: 'vae', model: vae.dir, ...o }) + '\n');

  if (existsSync(TANG)) {
    const lines = extractPoemLines(readCorpus(TANG, { script: 'simplified' }), vae.charsPerLine);
    const g = new Generator(7);
    const unk = vae.model.config.unk_token_id;
    const pick: number[][] = [];
    const want = flag('lines', 2000);
    while (pick.length < want) {
      const ids = vae.tokenizer.encodeIds(lines[g.randint(0, lines.length)], { addSpecialTokens: false });
      if (!ids.includes(unk)) pick.push(ids);
    }
    const t0 = performance.now();
    out({ what: 'elbo', note: 'random corpus lines (mostly seen in training; the held-out figures are in vae_metrics.jsonl)', ...evaluateSentenceVAE(vae.model, pick, 0), ms: Math.round(performance.now() - t0) });
  } else {
    process.stderr.write(`bench vae: ${TANG} not found; skipping the ELBO/active-unit figures\n`);
  }

  for (const temperature of [0, 0.8]) {
    const t0 = performance.now();
    const s = sampleLines(vae, nSamples, { seed: 1, temperature });
    const ms = performance.now() - t0;
    const ok = s.filter((l) => isWellFormedLine(l, vae.charsPerLine)).length;
    out({ what: 'prior samples', temperature, n: s.length, wellFormed: ok, share: ok / s.length, distinct: new Set(s).size, msPerLine: ms / s.length, examples: s.slice(0, 12) });
  }
  const pairs: [string, string][] = [
    ['床前明月光，', '低头思故乡。'],
    ['白日依山尽，', '黄河入海流。'],
    ['春眠不觉晓，', '花落知多少。'],
  ];
  for (const [a, b] of pairs) out({ what: 'interpolation', a, b, path: interpolateLines(vae, a, b, 6).map((p) => p.line) });
  for (const l of ['床前明月光，', '欲穷千里目，', '清泉石上流。', '野火烧不尽，']) out({ what: 'reconstruction', input: l, output: reconstructLine(vae, l) });
}
