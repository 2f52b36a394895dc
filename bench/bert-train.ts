/**
 * `npm run bench -- bert-train [--config configs/tang-poems-bert.json] [--corpus FILE] [--iters N] [--fused-only]`
 *
 * Times one masked-LM training step (forward, backward, clipping, AdamW) of a
 * BERT recipe on real length-grouped, dynamically masked batches of the
 * corpus, on the native backend, with the whole-step kernel
 * (`Backend.bertTrain`) and with the op-by-op autograd path, interleaved so
 * that both see the same machine. Prints JSON lines
 * `{"bench":"bert-train","path","iters","msPerIter","tokensPerSec","maskedPerSec","mfu","config"}`;
 * MFU counts 6 FLOPs per parameter-multiply per token for the encoder, the
 * head on the masked rows only, and attention, against the fp32 FMA peak of the same run.
 */
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { existsSync } from 'node:fs';
import { Generator, fromArray } from '../src/tensor/index.js';
import { BertForMaskedLM } from '../src/models/bert/model.js';
import { AdamW, clipGradNorm } from '../src/train/index.js';
import { getBackend, setBackend } from '../src/backend/index.js';
import { loadRecipe } from '../src/pipelines/recipe.js';
import { readMlmCorpus, charWordPieceTokenizer, mlmExamples, collatorFor } from '../src/models/bert/pretrain.js';
import { LengthGroupedSampler, type MlmExample } from '../src/models/bert/mlm-data.js';
import { fmaPeakGflops } from './_peak.js';

const here = dirname(fileURLToPath(import.meta.url));

function arg(args: string[], name: string, dflt: string): string {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1] : dflt;
}

export default async function main(args: string[]): Promise<void> {
  setBackend('native');
  const be = getBackend();
  if (!be.bertTrain) throw new Error('bert-train bench: the native addon lacks bertTrain; run npm install');
  const configPath = arg(args, 'config', join(here, '../configs/tang-poems-bert.json'));
  const corpusPath = arg(args, 'corpus', join(here, '../../shared/data/tang-poems.jsonl'));
  if (!existsSync(corpusPath)) throw new Error(`bert-train bench: corpus ${corpusPath} not found; pass --corpus FILE`);
  const iters = Number(arg(args, 'iters', '20'));
  const fusedOnly = args.includes('--fused-only');
  const recipe = loadRecipe(configPath);
  const tr = recipe.training as typeof recipe.training & { mlmProbability?: number };
  const corpus = readMlmCorpus(recipe, [corpusPath]);
  const tok = charWordPieceTokenizer(corpus.train, recipe.tokenizer.minFrequency ?? 1);
  const ex: MlmExample[] = mlmExamples(corpus.train, tok, tr.blockSize);
  const model = new BertForMaskedLM({ ...(recipe.model as Record<string, unknown>), vocab_size: tok.vocabSize }, { seed: 1337 });
  model.train();
  const collator = collatorFor(tok, { vocabSize: model.config.vocab_size, mlmProbability: tr.mlmProbability });
  const B = tr.batchSize;
  const sampler = new LengthGroupedSampler(ex.map((e) => e.ids.length), 8 * B);
  const opt = new AdamW(model.namedParameters(), { beta1: tr.beta1, beta2: tr.beta2, weightDecay: tr.weightDecay });
  const peak = fmaPeakGflops();
  if (peak) console.log(JSON.stringify({ bench: 'fma-peak', gflops: Number(peak.toFixed(1)) }));
  const cfg = model.config;
  const C = cfg.hidden_size;
  const encoderMacs = cfg.num_hidden_layers * (4 * C * C + 2 * C * cfg.intermediate_size);

  const stats = { fused: { ms: 0, tokens: 0, masked: 0, flops: 0, n: 0 }, autograd: { ms: 0, tokens: 0, masked: 0, flops: 0, n: 0 } };
  const gen = new Generator(7);
  const step = (path: 'fused' | 'autograd'): void => {
    const rows = [...sampler.sample(B, gen)].map((i) => ex[i]);
    const b = collator.collate(rows, gen);
    const s = [b.batchSize, b.seqLen];
    const ids = fromArray(b.inputIds, s, 'int32');
    const mask = fromArray(b.attentionMask, s, 'int32');
    const labels = fromArray(b.labels, s, 'int32');
    let masked = 0;
    for (const l of b.labels) if (l !== -100) masked++;
    const N = b.batchSize * b.seqLen;
    model.fusedTrain = path === 'fused';
    const t0 = performance.now();
    model.zeroGrad({ setToNone: false });
    model.forward(ids, { attentionMask: mask, labels, logitsFor: 'none' }).loss!.backward();
    clipGradNorm(model.parameters(), tr.gradClip ?? 1);
    opt.step(1e-4);
    const ms = performance.now() - t0;
    const st = stats[path];
    st.ms += ms;
    st.tokens += N;
    st.masked += masked;
    // 2 FLOPs per multiply-add, ×3 for forward + backward; attention: QKᵀ and AV.
    st.flops += 6 * (N * encoderMacs + masked * (C * C + C * cfg.vocab_size) + cfg.num_hidden_layers * 2 * N * b.seqLen * C);
    st.n++;
  };
  // Warm-up of both paths, then interleaved timed steps.
  step('fused');
  step('autograd');
  for (const k of ['fused', 'autograd'] as const) stats[k] = { ms: 0, tokens: 0, masked: 0, flops: 0, n: 0 };
  for (let i = 0; i < iters; i++) {
    step('fused');
    if (i % 4 === 0 && !fusedOnly) step('autograd'); // the slow path, sampled
  }
  for (const [path, st] of Object.entries(stats)) {
    if (st.n === 0) continue;
    const sec = st.ms / 1000;
    console.log(JSON.stringify({
      bench: 'bert-train', path, iters: st.n, msPerIter: Number((st.ms / st.n).toFixed(1)),
      tokensPerSec: Math.round(st.tokens / sec), maskedPerSec: Math.round(st.masked / sec),
      mfu: peak ? Number(((st.flops / sec / 1e9 / peak) * 100).toFixed(1)) : null,
      config: { batch: B, blockSize: tr.blockSize, layers: cfg.num_hidden_layers, hidden: C, vocab: cfg.vocab_size, mlmProbability: tr.mlmProbability },
    }));
  }
}
