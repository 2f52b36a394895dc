/**
 * `npm run bench -- fill-mask [--model DIR] [--corpus FILE] [--poems N]`:
 * top-1 / top-5 accuracy of a BERT masked LM at restoring masked characters
 * of held-out poems. The held-out poems are the validation documents of the
 * model's own recipe (`muse_recipe.json`: same filter, script, shuffle seed
 * and valFraction), so none of them was trained on. Two settings:
 * 15% of the characters of each poem masked at once (BERT's rate), and one
 * character per poem (what `muse fill-mask` is asked). Punctuation is never
 * masked. Beside each figure: the unigram baseline (always the most frequent
 * character). Default model: models/muse-bert-zh; corpus: ../shared/data/tang-poems.jsonl.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadMaskedLMDir } from '../src/models/bert/family.js';
import { readMlmCorpus, mlmExamples } from '../src/models/bert/pretrain.js';
import { maskedTokenAccuracy } from '../src/models/bert/mlm-eval.js';
import type { TrainRecipe } from '../src/pipelines/recipe.js';

const here = dirname(fileURLToPath(import.meta.url));

export default async function main(args: string[]): Promise<void> {
  const flag = (name: string, dflt: string): string => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 && args[i + 1] !== undefined ? args[i + 1] : dflt;
  };
  const modelDir = flag('model', join(here, '../models/muse-bert-zh'));
  const corpus = flag('corpus', join(here, '../../shared/data/tang-poems.jsonl'));
  const maxPoems = Number(flag('poems', '2000'));
  if (!existsSync(corpus)) {
    console.error(`fill-mask bench: ${corpus} is absent (the held-out poems come from ../shared/data); skipping`);
    return;
  }
  const { recipe } = JSON.parse(readFileSync(join(modelDir, 'muse_recipe.json'), 'utf8')) as { recipe: TrainRecipe };
  const lm = loadMaskedLMDir(modelDir);
  const t0 = performance.now();
  const { val } = readMlmCorpus(recipe, [corpus]);
  const poems = val.slice(0, maxPoems);
  const examples = mlmExamples(poems, lm.tokenizer, recipe.training.blockSize);
  const isHan = (id: number): boolean => /^\p{Script=Han}$/u.test(lm.tokenizer.idToToken(id) ?? '');
  for (const setting of ['15%', 'one per poem'] as const) {
    const t = performance.now();
    const r = maskedTokenAccuracy(lm.model, lm.tokenizer, examples, { eligible: isHan, singleMask: setting !== '15%', seed: 0 });
    console.log(JSON.stringify({ bench: 'fill-mask', model: modelDir.replace(/.*\/models\//, 'models/'), setting, poems: poems.length, examples: examples.length, masked: r.masked, top1: r.top1, top5: r.top5, unigramTop1: r.unigramTop1, seconds: (performance.now() - t) / 1000 }));
  }
  console.error(`(${((performance.now() - t0) / 1000).toFixed(1)} s)`);
}
