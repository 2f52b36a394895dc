/**
 * Export a `muse train` run as a bundled model with its model card:
 *
 *   npx tsx scripts/bundle-model.ts RUN_DIR models/NAME --title "…" --data "…" --prompt "…" [--prompt …] [--acrostic 春夏秋冬] [--dtype float16]
 *       [--constrained '{"rhyme":true,"tones":"loose"}'] [--run-note "…"] [--figures FILE.md] [--history FILE.md]
 *
 * For a BERT run (`model_type: "bert"`) the prompts are fill-mask texts
 * (`--prompt "床前明月[MASK]，疑是地上霜。"`) and the card shows their top-5
 * candidates; `--figures FILE` adds a Markdown file of measured figures (the
 * `npm run bench -- fill-mask` table) to the card.
 *
 * Copies the inference files of RUN_DIR/best (config, weights, tokenizer,
 * generation config, recipe, loss curve; not the optimizer state) into
 * models/NAME and writes models/NAME/README.md: data, recipe and the exact
 * command, parameters, training time, validation loss, the loss curve, and
 * unedited samples generated here with fixed seeds (with their timings).
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../src/io/atomic.js';
import { readSafetensors, writeSafetensors } from '../src/io/safetensors.js';
import { loadGPT2Dir } from '../src/models/gpt2/family.js';
import { toScript } from '../src/data/script.js';
import { generate } from '../src/generate/index.js';
import { gptParameterCount } from '../src/models/gpt2/config.js';
import { getBackend } from '../src/backend/index.js';
import { inferPoemForm } from '../src/pipelines/poem-form.js';
import { loadMaskedLMDir } from '../src/models/bert/family.js';
import { fillMask } from '../src/models/bert/fill-mask.js';
import { bertParameterCount } from '../src/models/bert/config.js';

const [runDir, outDir, ...rest] = process.argv.slice(2);
if (!runDir || !outDir) {
  console.error('usage: tsx scripts/bundle-model.ts RUN_DIR models/NAME --title T --data D --prompt P… [--acrostic A]');
  process.exit(2);
}
const flag = (name: string): string[] => rest.flatMap((w, i) => (w === `--${name}` && rest[i + 1] !== undefined ? [rest[i + 1]] : []));
const title = flag('title')[0] ?? outDir;
const dataNote = flag('data')[0] ?? '';
const prompts = flag('prompt');
const acrostics = flag('acrostic');
const forms = flag('form');
// GPT cards: extra sample options per prompt (e.g. '{"rhyme":true,"tones":"loose"}'), a note on how the
// command ran, a Markdown file of measured figures, and a Markdown file appended at the end (history)
const constrained = flag('constrained').map((j) => JSON.parse(j) as Record<string, unknown>);
const runNote = flag('run-note')[0] ?? 'run from the repository root with `OMP_NUM_THREADS=1` (two models were trained side by side, one core each).';
const gptFigures = flag('figures')[0];
const history = flag('history')[0];

const best = join(runDir, 'best');
mkdirSync(outDir, { recursive: true });
for (const f of ['config.json', 'model.safetensors', 'tokenizer.json', 'generation_config.json', 'muse_recipe.json', 'loss.svg', 'tokenizer_config.json', 'special_tokens_map.json']) {
  if (existsSync(join(best, f))) copyFileSync(join(best, f), join(outDir, f));
}
copyFileSync(join(runDir, 'metrics.jsonl'), join(outDir, 'metrics.jsonl'));
// Ship the weights in float16 (half the size; muse and transformers read it back as float32).
const half = flag('dtype')[0] === 'float16';
if (half) {
  const weights = join(outDir, 'model.safetensors');
  const { tensors, metadata } = readSafetensors(weights);
  writeSafetensors(weights, tensors, metadata, { floatDtype: 'F16' });
  const cfgPath = join(outDir, 'config.json');
  const cfgJson = JSON.parse(readFileSync(cfgPath, 'utf8')) as Record<string, unknown>;
  writeFileAtomic(cfgPath, JSON.stringify({ ...cfgJson, torch_dtype: 'float16' }, Object.keys({ ...cfgJson, torch_dtype: 0 }).sort(), 2) + '\n');
}

const state = JSON.parse(readFileSync(join(best, 'trainer_state.json'), 'utf8')) as { global_step: number; best_metric: number; elapsed_ms: number };
const recipeNote = JSON.parse(readFileSync(join(best, 'muse_recipe.json'), 'utf8')) as { recipe: unknown; command: string };
const metrics = readFileSync(join(runDir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, number | string>);
const evals = metrics.filter((m) => m.event === 'eval');
const lastEval = evals[evals.length - 1];
const trainRecords = metrics.filter((m) => m.event === 'train');
const tps = trainRecords.map((m) => Number(m.tokensPerSec)).filter(Number.isFinite);
const meanTps = tps.reduce((a, b) => a + b, 0) / Math.max(1, tps.length);

const modelType = (JSON.parse(readFileSync(join(outDir, 'config.json'), 'utf8')) as { model_type?: string }).model_type;
if (modelType === 'bert') {
  writeBertCard();
  process.exit(0);
}

/** The model card of a BERT masked LM: facts of the run, fill-mask samples, the figures file. */
function writeBertCard(): void {
  const lm = loadMaskedLMDir(outDir);
  const c = lm.model.config;
  const figures = flag('figures')[0];
  const samples = prompts.map((p) => {
    const cands = fillMask(lm, p, { topK: 5 });
    return `${p}  ${cands.map((list) => list.map((x) => `${x.token_str} ${x.score.toFixed(3)}`).join(' · ')).join('  |  ')}`;
  });
  const bytes = statSync(join(outDir, 'model.safetensors')).size;
  const bertCard = `# ${outDir.split('/').pop()}

${title}

Trained by muse itself (\`muse train\` with a \`model_type: "bert"\` recipe) on ${getBackend().name === 'native' ? 'the native backend' : 'the js backend'} of a 2-core x86-64 machine.

| | |
| --- | --- |
| architecture | BERT (\`BertForMaskedLM\`, HF names): ${c.num_hidden_layers} post-LayerNorm layers, ${c.num_attention_heads} heads, width ${c.hidden_size}, FFN ${c.intermediate_size}, ${c.hidden_act}, ${c.max_position_embeddings} positions, decoder ${c.tie_word_embeddings ? 'tied to the word embeddings' : 'untied'} |
| parameters | ${bertParameterCount(c).toLocaleString('en')} (${(bytes / 1048576).toFixed(1)} MiB of ${half ? 'float16' : 'float32'} safetensors${half ? ', trained in float32' : ''}) |
| tokenizer | WordPiece, ${lm.tokenizer.vocabSize.toLocaleString('en')} entries |
| data | ${dataNote} |
| training | ${state.global_step.toLocaleString('en')} iterations in ${(state.elapsed_ms / 60000).toFixed(1)} min (mean ${Math.round(meanTps).toLocaleString('en')} tokens/s) |
| validation loss | best ${state.best_metric.toFixed(4)} nats per masked token (last evaluation at step ${lastEval.step}: ${Number(lastEval.valLoss).toFixed(4)}) |

![loss curve](loss.svg)

## Recipe

The exact command was

\`\`\`bash
${recipeNote.command}
\`\`\`

\`muse_recipe.json\` holds the recipe it ran; \`metrics.jsonl\` is the full training log.
${figures ? '\n' + readFileSync(figures, 'utf8').trim() + '\n' : ''}
## Samples (unedited, \`muse fill-mask TEXT --top-k 5\`)

\`\`\`
${samples.join('\n')}
\`\`\`

## Use

\`\`\`bash
npm run muse -- fill-mask --model ${outDir} "${prompts[0] ?? '[MASK]'}"
\`\`\`

It is a Hugging Face BERT directory: \`BertForMaskedLM.from_pretrained("${outDir}")\` and
\`PreTrainedTokenizerFast(tokenizer_file="${outDir}/tokenizer.json")\` load it in transformers.
`;
  writeFileAtomic(join(outDir, 'README.md'), bertCard);
  console.log(bertCard);
}

const loaded = loadGPT2Dir(outDir);
const cfg = loaded.model.config;
const sampleLines: string[] = [];
const sample = (prompt: string, extra: Record<string, unknown>, seed: number) => {
  const p = toScript(prompt, loaded.script);
  const ids = loaded.tokenizer.encode(p, { addSpecialTokens: false }).ids;
  const t0 = performance.now();
  const out = generate(loaded.model, [ids], { ...loaded.generationConfig, seed, ...extra }, { tokenizer: loaded.tokenizer, onWarning: () => {} });
  const ms = performance.now() - t0;
  const text = loaded.tokenizer.decode(out.sequences[0], { skipSpecialTokens: true });
  const n = out.sequences[0].length;
  sampleLines.push(
    `**${prompt || "(no prompt)"}** ${Object.keys(extra).length ? `(\`${JSON.stringify(extra)}\`, ` : '('}seed ${seed}; ${n} tokens in ${ms.toFixed(0)} ms)`,
    '',
    '```',
    p + text,
    '```',
    '',
  );
};
let seed = 1;
for (const p of prompts) {
  // As `muse generate` does: a prompt that opens a 5/7-character quatrain is finished in that form.
  const form = inferPoemForm(toScript(p, loaded.script));
  for (let k = 0; k < 2; k++) sample(p, form ? { form } : {}, seed++);
  for (const extra of constrained) for (let k = 0; k < 2; k++) sample(p, form ? { form, ...extra } : extra, seed++);
}
for (const a of acrostics) {
  sample('', { acrostic: a, form: '5x4' }, seed++);
  for (const extra of constrained) sample('', { acrostic: a, form: '5x4', ...extra }, seed++);
}
for (const f of forms) sample(prompts[0] ?? '', { form: f }, seed++);

const bytes = statSync(join(outDir, 'model.safetensors')).size;
const card = `# ${outDir.split('/').pop()}

${title}

Trained by muse itself (\`muse train\`) on ${getBackend().name === 'native' ? 'the native backend' : 'the js backend'} of a 2-core x86-64 machine.

| | |
| --- | --- |
| architecture | GPT-2 (\`model_type: gpt2\`): ${cfg.n_layer} layers, ${cfg.n_head} heads, width ${cfg.n_embd}, context ${cfg.n_positions}, tied lm_head |
| parameters | ${gptParameterCount(cfg).toLocaleString('en')} (${(bytes / 1048576).toFixed(1)} MiB of ${half ? 'float16' : 'float32'} safetensors${half ? ', trained in float32' : ''}) |
| tokenizer | character-level, ${loaded.tokenizer.vocabSize.toLocaleString('en')} entries (\`<|endoftext|>\`, \`<unk>\` and the characters of the corpus) |
| data | ${dataNote} |
| training | ${state.global_step} iterations in ${(state.elapsed_ms / 60000).toFixed(1)} min (mean ${Math.round(meanTps).toLocaleString('en')} tokens/s) |
| validation loss | best ${state.best_metric.toFixed(4)} nats/char (last evaluation at step ${lastEval.step}: ${Number(lastEval.valLoss).toFixed(4)}) |

![loss curve](loss.svg)

## Recipe

The recipe is [\`${'configs/' + (outDir.split('/').pop() ?? '') + '.json'}\`](../../configs/${outDir.split('/').pop()}.json); the exact command was

\`\`\`bash
${recipeNote.command}
\`\`\`

${runNote}
\`metrics.jsonl\` is the full training log.
${gptFigures ? '\n' + readFileSync(gptFigures, 'utf8').trim() + '\n' : ''}
## Samples (unedited)

Generated with this directory's \`generation_config.json\` (${JSON.stringify(loaded.generationConfig)}) and the seeds shown:

${sampleLines.join('\n')}
## Use

\`\`\`bash
npm run muse -- generate --model ${outDir} "${prompts[0] ?? ''}"
\`\`\`

It is a Hugging Face GPT-2 directory: \`GPT2LMHeadModel.from_pretrained("${outDir}")\` and
\`PreTrainedTokenizerFast(tokenizer_file="${outDir}/tokenizer.json")\` load it in transformers.
${history ? '\n' + readFileSync(history, 'utf8').trim() + '\n' : ''}`;
writeFileAtomic(join(outDir, 'README.md'), card);
console.log(card);
