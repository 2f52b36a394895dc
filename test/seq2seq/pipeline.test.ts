import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { noGrad } from '../../src/tensor/index.js';
import { CharTokenizer } from '../../src/tokenizers/index.js';
import { Seq2SeqTransformer } from '../../src/models/seq2seq/model.js';
import { saveModel } from '../../src/models/pretrained.js';
import { collateSeq2Seq, copyBaseline, finetuneSeq2Seq, pairsToSeq2SeqExamples } from '../../src/models/seq2seq/finetune.js';
import { generateEndings, loadSeq2SeqDir } from '../../src/models/seq2seq/load.js';
import { Generator } from '../../src/tensor/index.js';

/** A toy task with a learnable rule: the ending is the beginning reversed. */
function reversalPairs(n: number, seed: number): { beginning: string; ending: string }[] {
  const g = new Generator(seed);
  return Array.from({ length: n }, () => {
    const len = 3 + g.randint(0, 3);
    const s = Array.from({ length: len }, () => 'abcdef'[g.randint(0, 6)]).join('');
    return { beginning: s, ending: [...s].reverse().join('') };
  });
}

const tokenizer = CharTokenizer.train(['abcdef'], { specialTokens: ['<|endoftext|>'] });
const tiny = { d_model: 32, encoder_layers: 1, decoder_layers: 1, encoder_attention_heads: 2, decoder_attention_heads: 2, encoder_ffn_dim: 64, decoder_ffn_dim: 64, max_position_embeddings: 16, dropout: 0 };

test('examples: source = beginning + EOS, target = ending + EOS, padded with mask 0 / −100', () => {
  const ex = pairsToSeq2SeqExamples([{ beginning: 'ab', ending: 'cde' }, { beginning: 'f', ending: 'abcdef' }], tokenizer, { eosId: 0, maxSourceLength: 8, maxTargetLength: 4 });
  const id = (c: string) => tokenizer.encode(c, { addSpecialTokens: false }).ids[0];
  assert.deepEqual(ex[0].inputIds, [id('a'), id('b'), 0]);
  assert.deepEqual(ex[0].labels, [id('c'), id('d'), id('e'), 0]);
  assert.deepEqual(ex[1].labels, [id('a'), id('b'), id('c'), id('d')], 'cut at maxTargetLength, without EOS');
  const b = collateSeq2Seq(ex, 0);
  assert.deepEqual(b.inputIds.shape, [2, 3]);
  assert.deepEqual(Array.from(b.attentionMask.data), [1, 1, 1, 1, 1, 0]);
  assert.deepEqual(Array.from(b.labels.data).slice(4), ex[1].labels);
});

test('a tiny training run: validation loss falls, the checkpoint reloads, the rule is learnt better than copying', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'muse-s2s-'));
  try {
    const pairs = reversalPairs(120, 4);
    const model = new Seq2SeqTransformer({ ...tiny, vocab_size: tokenizer.vocabSize, eos_token_id: 0, pad_token_id: 0, decoder_start_token_id: 0 }, { seed: 1 });
    const report = await finetuneSeq2Seq({ tokenizer, model, pairs, outDir: dir, valFraction: 0.2, maxIters: 150, batchSize: 16, learningRate: 3e-3, warmupIters: 10, evalInterval: 50, seed: 3 });
    const metrics = readFileSync(join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { val_loss?: number; valLoss?: number });
    const vals = metrics.map((m) => m.val_loss ?? m.valLoss).filter((v): v is number => typeof v === 'number');
    assert.ok(vals.length >= 2, 'validation losses logged');
    assert.ok(report.train.bestValLoss! < 0.5 * Math.log(tokenizer.vocabSize), `best val loss ${report.train.bestValLoss} vs uniform ${Math.log(tokenizer.vocabSize)}`);
    assert.ok(report.train.bestValLoss! < vals[0], `loss fell: first ${vals[0]}, best ${report.train.bestValLoss}`);
    const cfg = JSON.parse(readFileSync(join(dir, 'best', 'config.json'), 'utf8')) as { model_type: string };
    assert.equal(cfg.model_type, 'muse-seq2seq');
    assert.ok(report.after.rougeL > report.baseline.rougeL, `ROUGE-L ${report.after.rougeL} vs copy ${report.baseline.rougeL}`);
    const loaded = loadSeq2SeqDir(join(dir, 'best'));
    assert.equal(loaded.generationConfig.bosTokenId, 0);
    const [ending] = generateEndings(loaded, ['abc'], { doSample: false, maxNewTokens: 8 });
    assert.equal(typeof ending, 'string');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('save → loadSeq2SeqDir round-trips weights and logits exactly (tied and untied)', () => {
  for (const share of [true, false]) {
    const dir = mkdtempSync(join(tmpdir(), 'muse-s2s-rt-'));
    try {
      const m = new Seq2SeqTransformer({ ...tiny, vocab_size: tokenizer.vocabSize, share_embeddings: share, normalize_before: !share }, { seed: 5 }).eval();
      saveModel(dir, m, { config: m.config, tokenizerJson: tokenizer.toJSON() });
      const loaded = loadSeq2SeqDir(dir);
      assert.deepEqual(loaded.report.unexpected, []);
      const ex = collateSeq2Seq(pairsToSeq2SeqExamples([{ beginning: 'abc', ending: 'fed' }], tokenizer, { eosId: 0, maxSourceLength: 8, maxTargetLength: 8 }), 0);
      const a = noGrad(() => m.forward(ex).logits.data);
      const b = noGrad(() => loaded.model.forward(ex).logits.data);
      assert.deepEqual(Array.from(a), Array.from(b));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  assert.throws(() => loadSeq2SeqDir('/nonexistent/muse-model'), /no config\.json/);
});

test('copy baseline scores the beginning as the ending', () => {
  const s = copyBaseline([{ beginning: 'the fox ran', ending: 'the fox ran away' }]);
  // LCS 3 tokens: P = 3/3, R = 3/4, F = 6/7
  assert.ok(Math.abs(s.rougeL - 6 / 7) < 1e-9);
});

test('CLI: muse finetune --arch seq2seq --json, then muse generate on the seq2seq directory', () => {
  const dir = mkdtempSync(join(tmpdir(), 'muse-s2s-cli-'));
  try {
    const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
    const pairsFile = join(dir, 'pairs.jsonl');
    writeFileSync(pairsFile, reversalPairs(20, 9).map((p) => JSON.stringify(p)).join('\n') + '\n');
    writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(tokenizer.toJSON()));
    const env = { ...process.env, MUSE_FROM_SOURCE: '1' };
    const muse = (...args: string[]) => spawnSync(process.execPath, [join(root, 'bin/muse.js'), ...args], { env, encoding: 'utf8' });
    const ft = muse('finetune', '--arch', 'seq2seq', '--pairs', pairsFile, '--tokenizer', dir, '--d-model', '16', '--layers', '1', '--heads', '2', '--ffn-dim', '32', '--max-iters', '3', '--out', join(dir, 'run'), '--json');
    assert.equal(ft.status, 0, ft.stderr);
    const last = JSON.parse(ft.stdout.trim().split('\n').pop()!) as { arch: string; checkpoint: string; baseline: { rougeL: number }; heldOut: number };
    assert.equal(last.arch, 'seq2seq');
    assert.equal(last.heldOut, 2);
    const gen = muse('generate', '--model', last.checkpoint, 'abc', '--max-new-tokens', '4', '--greedy', '--json');
    assert.equal(gen.status, 0, gen.stderr);
    const obj = JSON.parse(gen.stdout.trim()) as { ids: number[]; logprobs: number[] };
    assert.ok(obj.ids.length >= 1 && obj.ids.length <= 4);
    const text = muse('generate', '--model', last.checkpoint, 'abc', '--max-new-tokens', '4', '--num-beams', '2');
    assert.equal(text.status, 0, text.stderr);
    assert.ok(text.stdout.startsWith('abc'), text.stdout);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
