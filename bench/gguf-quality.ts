/**
 * Quality of quantization: perplexity of muse's bundled models (trained by
 * muse) on their own held-out validation tokens — the tail of the token
 * stream their recipes held out, rebuilt from the recipe, corpus and
 * tokenizer — after `muse quantize` to each GGUF type.
 *
 *     npm run bench -- gguf-quality [--models muse-story-en,muse-poet-zh] [--types f32,f16,bf16,q8_0,q4_0,q4_k_m]
 *                                   [--tokens 8192] [--data ../shared/data] [--dtypes float32,auto]
 *
 * dtype float32 decodes the file's weights to float32 (the quantization
 * error alone); auto keeps them as stored and runs the stored-weight
 * kernels (what `muse generate` does with a .gguf). One JSON line per
 * measurement: `{"bench":"gguf-quality","model","type","dtype","fileMB",
 * "valTokens","perplexity","vsF32"}` (`vsF32`: relative change from F32).
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { convertToGguf, parseGgufFileType } from '../src/gguf/convert.js';
import type { GgufFileType } from '../src/gguf/mix.js';
import { loadCausalLM } from '../src/models/registry.js';
import { causalLMScorer } from '../src/models/causal-lm-score.js';
import { tokenizeCorpus } from '../src/models/gpt2/pretrain.js';
import { loadRecipe } from '../src/pipelines/recipe.js';
import { perplexity } from '../src/eval/index.js';
import type { CausalLM } from '../src/models/causal-lm.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

const MODELS: Record<string, { config: string; corpus: string[] }> = {
  'muse-story-en': { config: 'configs/muse-story-en.json', corpus: ['tinyshakespeare.txt', 'aesop-fables.jsonl'] },
  'muse-poet-zh': { config: 'configs/muse-poet-zh.json', corpus: ['tang-poems.jsonl', 'song-ci.jsonl'] },
};

function flag(args: string[], name: string): string | undefined {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
}

async function score(model: CausalLM, ids: ArrayLike<number>): Promise<number> {
  const maxLength = model.maxPositions;
  const res = await perplexity(
    causalLMScorer(model),
    ids,
    { maxLength, stride: Math.max(1, Math.floor(maxLength / 2)) },
  );
  return res.perplexity;
}

export default async function main(args: string[]): Promise<void> {
  const models = (flag(args, 'models') ?? Object.keys(MODELS).join(',')).split(',');
  const types = (flag(args, 'types') ?? 'f32,f16,bf16,q8_0,q4_0,q4_k_m').split(',').map(parseGgufFileType);
  const dtypes = (flag(args, 'dtypes') ?? 'float32').split(',') as Array<'float32' | 'auto'>;
  const nTokens = Number(flag(args, 'tokens') ?? 8192);
  const data = flag(args, 'data') ?? [join(root, '..', 'shared', 'data'), '/work/shared/data'].find((d) => existsSync(d))!;
  const tmp = mkdtempSync(join(tmpdir(), 'muse-gguf-quality-'));
  try {
    for (const name of models) {
      const m = MODELS[name];
      if (!m) throw new Error(`unknown model ${name}; known: ${Object.keys(MODELS).join(', ')}`);
      const dir = join(root, 'models', name);
      const base = loadCausalLM(dir, { dtype: 'float32' });
      const { val } = tokenizeCorpus(loadRecipe(join(root, m.config)), m.corpus.map((f) => join(data, f)), base.tokenizer);
      const ids = Array.from(val.subarray(0, Math.min(nTokens, val.length)));
      let f32: number | undefined;
      for (const type of types) {
        const path = join(tmp, `${name}-${type}.gguf`);
        const r = convertToGguf(dir, path, type);
        for (const dtype of dtypes) {
          const loaded = loadCausalLM(path, { dtype });
          const ppl = await score(loaded.model, ids);
          if (type === 'f32' && dtype === 'float32') f32 = ppl;
          console.log(JSON.stringify({
            bench: 'gguf-quality', model: name, type, dtype, fileMB: Number((r.bytes / 1e6).toFixed(2)), valTokens: ids.length,
            perplexity: Number(ppl.toFixed(4)), vsF32: f32 === undefined ? null : Number((ppl / f32 - 1).toFixed(5)),
          }));
        }
      }
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
