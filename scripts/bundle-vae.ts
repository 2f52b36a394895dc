/**
 * Export a `muse vae train` run as a bundled sentence VAE with its model card:
 *
 *   npx tsx scripts/bundle-vae.ts RUN_DIR models/NAME --corpus tang-poems.jsonl
 *
 * Copies RUN_DIR/best's inference files (weights in float16), rebuilds the
 * run's held-out lines from its recipe and the corpus (deterministic split),
 * measures the shipped weights on them (−ELBO, reconstruction, KL, active
 * units), decodes 100 prior samples (greedy and temperature 0.8) and checks
 * their form, and writes models/NAME/README.md with those figures, samples,
 * interpolations and reconstructions.
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../src/io/atomic.js';
import { readSafetensors, writeSafetensors } from '../src/io/safetensors.js';
import {
  evaluateSentenceVAE,
  interpolateLines,
  isWellFormedLine,
  loadSentenceVAE,
  prepareSentenceData,
  reconstructLine,
  sampleLines,
  type SentenceVAERecipe,
  type VAEMetricsRecord,
} from '../src/models/vae/index.js';

const [runDir, outDir, ...rest] = process.argv.slice(2);
if (!runDir || !outDir) {
  console.error('usage: tsx scripts/bundle-vae.ts RUN_DIR models/NAME --corpus FILE');
  process.exit(2);
}
const corpusIdx = rest.indexOf('--corpus');
const corpus = corpusIdx >= 0 ? rest[corpusIdx + 1] : undefined;
const best = join(runDir, 'best');
mkdirSync(outDir, { recursive: true });
for (const f of ['config.json', 'model.safetensors', 'tokenizer.json', 'muse_recipe.json', 'vae_metrics.jsonl']) copyFileSync(join(best, f), join(outDir, f));
for (const f of ['metrics.jsonl', 'loss.svg']) if (existsSync(join(runDir, f))) copyFileSync(join(runDir, f), join(outDir, f));
const weights = join(outDir, 'model.safetensors');
const { tensors, metadata } = readSafetensors(weights);
writeSafetensors(weights, tensors, metadata, { floatDtype: 'F16' });
const cfgPath = join(outDir, 'config.json');
const cfg = JSON.parse(readFileSync(cfgPath, 'utf8')) as Record<string, unknown>;
const withDtype: Record<string, unknown> = { ...cfg, torch_dtype: 'float16' };
writeFileAtomic(cfgPath, JSON.stringify(withDtype, Object.keys(withDtype).sort(), 2) + '\n');

const note = JSON.parse(readFileSync(join(best, 'muse_recipe.json'), 'utf8')) as { recipe: SentenceVAERecipe; command: string };
const state = JSON.parse(readFileSync(join(best, 'trainer_state.json'), 'utf8')) as { global_step: number; elapsed_ms: number };
const history = readFileSync(join(runDir, 'vae_metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as VAEMetricsRecord);
const vae = loadSentenceVAE(outDir);
const c = vae.model.config;

let heldOut: ReturnType<typeof evaluateSentenceVAE> | null = null;
if (corpus && existsSync(corpus)) heldOut = evaluateSentenceVAE(vae.model, prepareSentenceData(note.recipe, [corpus]).val, 0);

const sampleStats = [0, 0.8].map((temperature) => {
  const t0 = performance.now();
  const lines = sampleLines(vae, 100, { seed: 1, temperature });
  const ms = performance.now() - t0;
  return { temperature, lines, ok: lines.filter((l) => isWellFormedLine(l, vae.charsPerLine)).length, distinct: new Set(lines).size, ms };
});
const pairs: [string, string][] = [
  ['白日依山尽，', '黄河入海流。'],
  ['春眠不觉晓，', '花落知多少。'],
  ['床前明月光，', '低头思故乡。'],
  ['大漠孤烟直，', '长河落日圆。'],
];
const interps = pairs.map(([a, b]) => ({ a, b, path: interpolateLines(vae, a, b, 6) }));
const recons = ['床前明月光，', '欲穷千里目，', '明月松间照，', '清泉石上流。', '野火烧不尽，', '举头望明月，'].map((l) => ({ input: l, output: reconstructLine(vae, l) }));

const last = history[history.length - 1];
const bytes = statSync(weights).size;
const fmt = (x: number) => x.toFixed(2);
const card = `# muse-vae-zh

A sentence VAE (Bowman et al. 2016) over 5-character lines of Tang poetry
(simplified script): \`muse vae sample\` draws new lines from the prior,
\`muse vae interpolate\` walks between two lines in latent space.
Trained by muse itself (\`muse vae train\`) on one core of a shared 2-core x86-64 machine.

| | |
| --- | --- |
| architecture | GRU encoder (${c.hidden_size}) → μ, log σ² (${c.latent_size} dims) → z; GRU decoder (${c.hidden_size}) with h₀ = tanh(W z) and z concatenated to every input embedding (${c.n_embd}) |
| parameters | ${vae.model.numParameters().toLocaleString('en')} (${(bytes / 1048576).toFixed(1)} MiB of float16 safetensors, trained in float32) |
| tokenizer | character-level, ${c.vocab_size.toLocaleString('en')} entries (\`<pad>\`, \`<s>\`, \`</s>\`, \`<unk>\` and the characters seen ≥ ${note.recipe.data.minFrequency ?? 1} times) |
| data | \`tang-poems.jsonl\` (57,603 Tang poems, npm \`chinese-poetry\`, MIT) → OpenCC simplified → every unique run of 5 Han characters closed by ，。？！ (313,919 lines); lines with rarer characters dropped; ${note.recipe.data.valLines ?? 2000} held out |
| training | ${state.global_step} steps of ${note.recipe.training.batchSize} lines in ${(state.elapsed_ms / 60000).toFixed(1)} min; AdamW, lr ${note.recipe.training.learningRate} cosine to ${note.recipe.training.minLr}; KL annealing ${JSON.stringify(note.recipe.vae.klSchedule)}, word dropout ${note.recipe.vae.wordDropout}, free bits ${note.recipe.vae.freeBits} nats/dim |

## Figures

On the ${heldOut?.lines ?? 'held-out'} held-out lines, with these float16 weights (one sample of z per line):

| −ELBO (nats/line) | reconstruction | KL | active units (Cov_x E_q[z] > 0.01) |
| --- | --- | --- | --- |
| ${heldOut ? fmt(heldOut.negElbo) : 'n/a'} | ${heldOut ? fmt(heldOut.recon) : 'n/a'} | ${heldOut ? fmt(heldOut.kl) : 'n/a'} | ${heldOut ? `${heldOut.activeUnits} / ${heldOut.latentSize}` : 'n/a'} |

(Last evaluation during training, float32, step ${last.step}: −ELBO ${fmt(last.negElbo)} = ${fmt(last.recon)} + ${fmt(last.kl)}, ${last.activeUnits} active units; the whole curve is \`vae_metrics.jsonl\`.)

Prior samples (z ~ N(0, I), seed 1), well-formed = 5 Han characters followed by ，。？ or ！:

| decoding | well-formed | distinct | time per line |
| --- | --- | --- | --- |
${sampleStats.map((s) => `| ${s.temperature === 0 ? 'greedy' : `temperature ${s.temperature}`} | ${s.ok} / 100 | ${s.distinct} | ${(s.ms / 100).toFixed(1)} ms |`).join('\n')}

![loss curve](loss.svg)

## Samples (unedited)

Greedy, the first 20 of the 100: ${sampleStats[0].lines.slice(0, 20).join(' ')}

Temperature 0.8, the first 20: ${sampleStats[1].lines.slice(0, 20).join(' ')}

## Interpolations (greedy, posterior means, 6 steps)

${interps.map((i) => `- ${i.a} → ${i.b}: ${i.path.map((p) => p.line).join(' → ')}`).join('\n')}

## Reconstructions (greedy from μ)

${recons.map((r) => `- ${r.input} → ${r.output}`).join('\n')}

A KL of a few nats per line cannot carry five characters out of ${c.vocab_size.toLocaleString('en')}: the code holds the gist (imagery, tone, rhyme position), and reconstructions are lines in the manner of the input, not copies.

## Recipe

[\`configs/vae-poem-zh.json\`](../../configs/vae-poem-zh.json); the command was

\`\`\`bash
${note.command}
\`\`\`

with \`OMP_NUM_THREADS=1\`, then \`npx tsx scripts/bundle-vae.ts RUN_DIR models/muse-vae-zh --corpus tang-poems.jsonl\` (this card).

## Limits

- Only 5-character lines; other lengths are out of distribution (the decoder stops at 6 tokens).
- Characters outside the ${c.vocab_size.toLocaleString('en')}-entry vocabulary become \`<unk>\` when encoding.
- Lines are judged by form only; meaning and tonal rules (平仄) are not modelled.

## Use

\`\`\`bash
muse vae sample --n 10
muse vae interpolate "白日依山尽，" "黄河入海流。" --steps 6
muse vae reconstruct "床前明月光，"
\`\`\`
`;
writeFileAtomic(join(outDir, 'README.md'), card);
console.log(card);
console.log(JSON.stringify({ heldOut, samples: sampleStats.map((s) => ({ temperature: s.temperature, wellFormed: s.ok, distinct: s.distinct })) }));
