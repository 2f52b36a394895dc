import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { fromArray } from '../../src/tensor/index.js';
import { BertForMaskedLM } from '../../src/models/bert/model.js';
import { bertConfig, bertParameterCount } from '../../src/models/bert/config.js';
import { loadBert } from '../../src/models/bert/weights.js';
import { saveModel, modelTensors } from '../../src/models/pretrained.js';
import { fillMask, joinCjk } from '../../src/models/bert/fill-mask.js';
import { loadMaskedLMDir } from '../../src/models/bert/family.js';
import { pretrain } from '../../src/models/gpt2/pretrain.js';
import { hasLineLengths, charWordPieceTokenizer, mlmExamples } from '../../src/models/bert/pretrain.js';
import type { TrainRecipe } from '../../src/pipelines/recipe.js';
import { ConfigError } from '../../src/errors.js';

const here = dirname(fileURLToPath(import.meta.url));
const fixtures = join(here, '../fixtures/bert');

const tinyCfg = { vocab_size: 30, hidden_size: 8, num_hidden_layers: 2, num_attention_heads: 2, intermediate_size: 16, max_position_embeddings: 16, hidden_dropout_prob: 0 };
const ids = fromArray(Int32Array.from([2, 7, 4, 9, 11, 3, 2, 12, 13, 4, 3, 0]), [2, 6], 'int32');
const mask = fromArray(Int32Array.from([1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0]), [2, 6], 'int32');
const labels = fromArray(Int32Array.from([-100, -100, 8, -100, 20, -100, -100, 5, -100, 14, -100, -100]), [2, 6], 'int32');

test('BertConfig: HF defaults and named errors', () => {
  const c = bertConfig({});
  assert.equal(c.hidden_act, 'gelu');
  assert.equal(c.layer_norm_eps, 1e-12);
  assert.throws(() => bertConfig({ hidden_size: 10, num_attention_heads: 4 }), (e: unknown) => e instanceof ConfigError && /divisible/.test(e.message));
  assert.throws(() => bertConfig({ position_embedding_type: 'relative_key' as 'absolute' }), ConfigError);
  // bert-base-uncased BertForMaskedLM: 109,514,298 parameters (transformers' num_parameters(), tied decoder once).
  assert.equal(bertParameterCount(c), 109514298);
  assert.equal(new BertForMaskedLM(tinyCfg).numParameters(), bertParameterCount(bertConfig(tinyCfg)));
});

test("logitsFor 'labelled' gives the same loss as 'all' (head applied to the labelled rows only)", () => {
  const m = new BertForMaskedLM(tinyCfg, { seed: 5 }).eval();
  const all = m.forward(ids, { attentionMask: mask, labels }).loss!.item();
  const some = m.forward(ids, { attentionMask: mask, labels, logitsFor: 'labelled' });
  assert.deepEqual(some.logits.shape, [4, 30]);
  assert.ok(Math.abs(all - some.loss!.item()) < 1e-5);
});

test('gradients of the masked-LM loss match central finite differences (embeddings, attention, FFN, head, tied decoder)', () => {
  const m = new BertForMaskedLM({ ...tinyCfg, initializer_range: 0.3 }, { seed: 9 });
  m.train();
  const loss = () => m.forward(ids, { attentionMask: mask, labels, logitsFor: 'labelled' }).loss!;
  m.zeroGrad();
  loss().backward();
  const sd = m.stateDict();
  const probes: [string, number][] = [
    ['bert.embeddings.word_embeddings.weight', 8 * 8 + 3], // row of a label id: reaches the loss through the tied decoder too
    ['bert.embeddings.position_embeddings.weight', 2 * 8 + 1],
    ['bert.embeddings.token_type_embeddings.weight', 5],
    ['bert.encoder.layer.0.attention.self.query.weight', 17],
    ['bert.encoder.layer.0.attention.self.key.bias', 3],
    ['bert.encoder.layer.1.attention.output.LayerNorm.weight', 6],
    ['bert.encoder.layer.1.intermediate.dense.weight', 40],
    ['bert.encoder.layer.1.output.dense.bias', 2],
    ['cls.predictions.transform.dense.weight', 9],
    ['cls.predictions.bias', 20],
  ];
  const eps = 1e-2;
  for (const [name, i] of probes) {
    const p = sd.get(name)!;
    const g = p.grad!.data[i];
    const d = p.data as Float32Array;
    const x0 = d[i];
    d[i] = x0 + eps;
    const lp = loss().item();
    d[i] = x0 - eps;
    const lm = loss().item();
    d[i] = x0;
    const num = (lp - lm) / (2 * eps);
    assert.ok(Math.abs(num - g) < 2e-3 + 2e-2 * Math.abs(num), `${name}[${i}]: autograd ${g}, finite differences ${num}`);
  }
});

test('a model saved by muse loads back with the same logits (HF names, tied decoder saved once)', () => {
  const m = new BertForMaskedLM(tinyCfg, { seed: 2 }).eval();
  const dir = mkdtempSync(join(tmpdir(), 'muse-bert-save-'));
  try {
    m.predictions.bias.data.fill(0.25);
    const before = m.logits(ids.data as Int32Array, 2, 6, mask.data as Int32Array);
    assert.ok(!modelTensors(m).has('cls.predictions.decoder.weight'));
    saveModel(dir, m, { config: m.config });
    const { model, report } = loadBert(dir);
    assert.deepEqual(report, { missing: [], unexpected: [] });
    assert.deepEqual(model.logits(ids.data as Int32Array, 2, 6, mask.data as Int32Array), before);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('fill-mask on the tiny checkpoint: scores are the softmax of the reference logits at the mask, HF output fields', () => {
  const ref = JSON.parse(readFileSync(join(fixtures, 'reference.json'), 'utf8')) as { local: { dir: string; logits: number[]; vocabSize: number }[] };
  const r = ref.local.find((x) => x.dir === 'tiny-bert')!;
  // Row 0 of the reference is [CLS] 床 前 明 [MASK] 光 知 [SEP] with all tokens real and token type 0.
  const row = r.logits.slice(4 * r.vocabSize, 5 * r.vocabSize);
  const max = Math.max(...row);
  const z = row.reduce((s, x) => s + Math.exp(x - max), 0);
  const expected = row.map((x, id) => ({ id, p: Math.exp(x - max) / z })).sort((a, b) => b.p - a.p).slice(0, 3);
  const lm = loadMaskedLMDir(join(fixtures, 'tiny-bert'));
  const [cands] = fillMask(lm, '床前明[MASK]光知', { topK: 3 });
  assert.equal(cands.length, 3);
  cands.forEach((c, k) => {
    assert.equal(c.token, expected[k].id);
    assert.ok(Math.abs(c.score - expected[k].p) < 1e-5);
    assert.equal(c.token_str, lm.tokenizer.idToToken(c.token));
    assert.equal(c.sequence, `床前明${lm.tokenizer.decode([c.token], { skipSpecialTokens: true })}光知`, 'a special token is dropped from the sequence, as HF decodes with skip_special_tokens');
  });
  const two = fillMask(lm, '床[MASK]明[MASK]', { topK: 2 });
  assert.equal(two.length, 2);
  assert.match(two[0][0].sequence, /^\[CLS\]床.+明\[MASK\] ?\[SEP\]$/u, 'several masks: specials kept, as HF');
  assert.throws(() => fillMask(lm, '床前明月光'), (e: unknown) => e instanceof ConfigError && /\[MASK\]/.test(e.message));
  assert.equal(joinCjk('床 前 明 月 光 ， 疑'), '床前明月光，疑');
  // Several masks: the same joining whatever a mask's neighbours are; English keeps its spaces.
  assert.equal(joinCjk('[CLS] [MASK] 前 明 月 光 ， 疑 是 地 上 霜 。 [SEP]'), '[CLS][MASK]前明月光，疑是地上霜。[SEP]');
  assert.equal(joinCjk('[CLS] 一 前 明 月 光 ， 疑 是 地 上 [MASK] 。 [SEP]'), '[CLS]一前明月光，疑是地上[MASK]。[SEP]');
  assert.equal(joinCjk('[CLS] 床 前 [MASK] [MASK] 光 [SEP]'), '[CLS]床前[MASK][MASK]光[SEP]');
  assert.equal(joinCjk('[CLS] [MASK] is the capital of france . [SEP]'), '[CLS] [MASK] is the capital of france . [SEP]');
});

test('hasLineLengths keeps regulated 5/7-character verse only', () => {
  assert.ok(hasLineLengths('床前明月光，疑是地上霜。举头望明月，低头思故乡。', [5, 7]));
  assert.ok(!hasLineLengths('汉皇重色思倾国，御宇多年求不得，杨家有女初长成。一二三四。', [5, 7]));
});

test('muse train dispatches model_type bert to MLM pretraining: loss falls, best/ reloads for fill-mask', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'muse-mlm-'));
  try {
    const poems = ['床前明月光，疑是地上霜。举头望明月，低头思故乡。', '春眠不觉晓，处处闻啼鸟。夜来风雨声，花落知多少。', '白日依山尽，黄河入海流。欲穷千里目，更上一层楼。'];
    const corpus = join(dir, 'poems.jsonl');
    writeFileSync(corpus, Array.from({ length: 40 }, (_, i) => JSON.stringify({ text: poems[i % 3] })).join('\n') + '\n');
    const recipe: TrainRecipe = {
      model: { model_type: 'bert', hidden_size: 32, num_hidden_layers: 1, num_attention_heads: 2, intermediate_size: 64, hidden_dropout_prob: 0 } as unknown as TrainRecipe['model'],
      tokenizer: { type: 'char', minFrequency: 1 },
      data: { field: 'text', valFraction: 0.1, lineLengths: [5, 7] } as TrainRecipe['data'],
      training: { batchSize: 8, blockSize: 16, maxIters: 150, learningRate: 0.01, warmupIters: 5, evalInterval: 75, evalIters: 2, seed: 1 },
    };
    const logs: string[] = [];
    const s = await pretrain({ recipe, corpus: [corpus], outDir: join(dir, 'run'), json: true, progress: false, log: (l) => logs.push(l) });
    const evals = logs.map((l) => JSON.parse(l) as { event: string; valLoss?: number }).filter((r) => r.event === 'eval');
    assert.ok(evals.length >= 2);
    assert.ok(s.bestValLoss! < Math.log(28) - 1, `val loss ${s.bestValLoss} should be well below uniform ln(28)`);
    const lm = loadMaskedLMDir(join(dir, 'run', 'best'));
    assert.deepEqual(lm.model.config.architectures, ['BertForMaskedLM']);
    const [c] = fillMask(lm, '床前明月光，疑是地上[MASK]。', { topK: 5 });
    assert.ok(c.some((x) => x.token_str === '霜'), JSON.stringify(c));
    // Examples are [CLS] … [SEP] pieces of ≤ blockSize tokens cut after 。
    const tok = charWordPieceTokenizer(poems);
    const ex = mlmExamples([poems[0]], tok, 16);
    assert.deepEqual(ex.map((e) => e.ids.length), [14, 14]);
    // Whole-word examples carry word ids aligned with the tokens: 举头 and 明月 are one word each, specials and punctuation −1.
    const [ww] = mlmExamples(['举头望明月，低头思故乡。'], tok, 16, true);
    const w = [...ww.wordIds!];
    assert.equal(w[0], -1);
    assert.equal(w[1], w[2]);
    assert.equal(w[4], w[5]);
    assert.notEqual(w[2], w[4]);
    assert.equal(w[6], -1);
    assert.equal(w[w.length - 1], -1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
