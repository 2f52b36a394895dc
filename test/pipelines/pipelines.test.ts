import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { spawnSync } from 'node:child_process';
import { pretrain } from '../../src/models/gpt2/pretrain.js';
import { finetune } from '../../src/models/gpt2/finetune.js';
import { loadGPT2Dir } from '../../src/models/gpt2/family.js';
import { defaultModelFor } from '../../src/models/bundled.js';
import { isChinese, toScript } from '../../src/data/script.js';
import { loadRecipe, type TrainRecipe } from '../../src/pipelines/recipe.js';
import { generate } from '../../src/generate/index.js';

const root = join(import.meta.dirname, '../..');

function tinyRecipe(over: Partial<TrainRecipe['training']> = {}): TrainRecipe {
  return {
    model: { model_type: 'gpt2', n_layer: 1, n_head: 2, n_embd: 16, n_positions: 32, resid_pdrop: 0, embd_pdrop: 0, attn_pdrop: 0 },
    tokenizer: { type: 'char' },
    data: { field: 'text', separator: 'eos', valFraction: 0.2, script: 'simplified' },
    training: { batchSize: 4, blockSize: 16, maxIters: 40, learningRate: 0.01, evalInterval: 20, evalIters: 2, warmupIters: 2, seed: 5, ...over },
  };
}

const poems = [
  '床前明月光，疑是地上霜。舉頭望明月，低頭思故鄉。',
  '白日依山尽，黄河入海流。欲穷千里目，更上一层楼。',
  '春眠不觉晓，处处闻啼鸟。夜来风雨声，花落知多少。',
  '千山鸟飞绝，万径人踪灭。孤舟蓑笠翁，独钓寒江雪。',
];

test('pretrain on a tiny JSONL corpus: loss falls, best/ is a loadable HF directory, script normalised, resume continues', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'muse-pretrain-'));
  try {
    const corpus = join(dir, 'poems.jsonl');
    writeFileSync(corpus, Array.from({ length: 30 }, (_, i) => JSON.stringify({ text: poems[i % poems.length] })).join('\n') + '\n');
    const out = join(dir, 'run');
    const logs: string[] = [];
    const summary = await pretrain({ recipe: tinyRecipe(), corpus: [corpus], outDir: out, progress: false, log: (l) => logs.push(l) });
    assert.equal(summary.step, 40);
    assert.ok(summary.valLoss! < Math.log(40), `val loss ${summary.valLoss} should beat uniform`);
    for (const f of ['config.json', 'model.safetensors', 'tokenizer.json', 'generation_config.json', 'muse_recipe.json'].slice(0, 4)) {
      assert.ok(existsSync(join(out, 'best', f)), f);
    }
    const loaded = loadGPT2Dir(join(out, 'best'));
    // Traditional 舉/頭/鄉 were normalised to simplified before the vocabulary was built.
    assert.ok(loaded.tokenizer.tokenToId('举') !== undefined);
    assert.equal(loaded.tokenizer.tokenToId('舉'), undefined);
    assert.equal(loaded.model.config.vocab_size, loaded.tokenizer.vocabSize);
    const g = generate(loaded.model, [loaded.tokenizer.encode('床前', { addSpecialTokens: false }).ids], { maxNewTokens: 5, doSample: false });
    assert.equal(g.sequences[0].length, 5);
    // Resume: 40 → 46 steps continues from last/.
    const resumed = await pretrain({ recipe: tinyRecipe({ maxIters: 46 }), corpus: [corpus], outDir: out, resume: true, progress: false, log: () => {} });
    assert.equal(resumed.step, 46);
    // Starting afresh into a run's directory is refused: the finished model is not silently replaced.
    await assert.rejects(
      pretrain({ recipe: tinyRecipe(), corpus: [corpus], outDir: out, progress: false, log: () => {} }),
      /already holds a run .*--resume.*--overwrite/,
    );
    // A shape override on resume is an error, not silently ignored.
    const wider = tinyRecipe({ maxIters: 50 });
    wider.model.n_embd = 32;
    await assert.rejects(
      pretrain({ recipe: wider, corpus: [corpus], outDir: out, resume: true, progress: false, log: () => {} }),
      /has n_embd 16 but the recipe or an override asks for 32/,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('finetune puts the loss on endings only and reports BLEU/ROUGE-L before and after', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'muse-finetune-'));
  try {
    const corpus = join(dir, 'poems.jsonl');
    writeFileSync(corpus, Array.from({ length: 20 }, (_, i) => JSON.stringify({ text: poems[i % poems.length] })).join('\n') + '\n');
    await pretrain({ recipe: tinyRecipe(), corpus: [corpus], outDir: join(dir, 'base'), progress: false, log: () => {} });
    const base = loadGPT2Dir(join(dir, 'base', 'best'));
    const pairs = Array.from({ length: 10 }, (_, i) => ({ beginning: poems[i % 4].slice(0, 6), ending: poems[i % 4].slice(6, 12) }));
    const report = await finetune({ base, pairs, outDir: join(dir, 'ft'), maxIters: 60, batchSize: 4, learningRate: 0.01, valFraction: 0.2, progress: false, log: () => {} });
    assert.equal(report.heldOut, 2);
    assert.equal(report.before.tokenize, 'zh');
    // The held-out beginnings occur in training with the same endings: fine-tuning must learn them.
    assert.ok(report.after.rougeL > report.before.rougeL, `ROUGE-L ${report.before.rougeL} → ${report.after.rougeL}`);
    assert.ok(existsSync(join(dir, 'ft', 'best', 'model.safetensors')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the default model follows the prompt language; traditional prompts are converted', () => {
  assert.ok(isChinese('床前明月光'));
  assert.ok(!isChinese('ROMEO: hello'));
  assert.match(defaultModelFor('床前明月光，'), /muse-poet-zh$/);
  assert.match(defaultModelFor('Once upon a time'), /muse-story-en$/);
  assert.equal(toScript('舉頭望明月', 'simplified'), '举头望明月');
  assert.equal(toScript('舉頭望明月', 'keep'), '舉頭望明月');
});

test('recipes: presets parse, overrides apply, bad overrides are named', () => {
  for (const name of ['shakespeare-char-baby', 'shakespeare-char', 'tang-poems-char', 'muse-poet-zh', 'muse-story-en']) {
    const r = loadRecipe(join(root, 'configs', `${name}.json`));
    assert.ok(r.training.maxIters > 0, name);
  }
  const r = loadRecipe(join(root, 'configs/shakespeare-char-baby.json'), { maxIters: '7', 'model.n_layer': '2' });
  assert.equal(r.training.maxIters, 7);
  assert.equal(r.model.n_layer, 2);
  assert.throws(() => loadRecipe(join(root, 'configs/shakespeare-char-baby.json'), { nonsense: '1' }), /nonsense: not a known field/);
  // A dotted typo in training is an error naming the field meant, not a silently stored setting.
  assert.throws(() => loadRecipe(join(root, 'configs/shakespeare-char-baby.json'), { 'training.maxIter': '2' }), /no field "maxIter"; did you mean training\.maxIters\?/);
  // A training field the file leaves out may still be set bare.
  const noDecayFile = loadRecipe(join(root, 'configs/tang-poems-char.json'), { earlyStoppingPatience: '3' });
  assert.equal(noDecayFile.training.earlyStoppingPatience, 3);
  assert.throws(() => loadRecipe(join(root, 'configs/nope.json')), /does not exist/);
});

test('CLI: muse train --json ends with the summary line; muse generate --json prints ids and logprobs', () => {
  const dir = mkdtempSync(join(tmpdir(), 'muse-cli-'));
  try {
    const corpus = join(dir, 'c.txt');
    writeFileSync(corpus, 'the cat sat on the mat. '.repeat(200));
    const recipe = join(dir, 'r.json');
    writeFileSync(recipe, JSON.stringify({ ...tinyRecipe({ maxIters: 4, evalInterval: 4 }), data: { valFraction: 0.2 } }));
    const env = { ...process.env, MUSE_FROM_SOURCE: '1' };
    const train = spawnSync(process.execPath, [join(root, 'bin/muse.js'), 'train', '--config', recipe, '--corpus', corpus, '--out', join(dir, 'run'), '--json'], { env, encoding: 'utf8' });
    assert.equal(train.status, 0, train.stderr);
    const last = JSON.parse(train.stdout.trim().split('\n').pop()!) as Record<string, unknown>;
    assert.deepEqual(Object.keys(last), ['step', 'trainLoss', 'valLoss', 'bestValLoss', 'tokensPerSec', 'checkpoint']);
    assert.equal(last.step, 4);
    const gen = spawnSync(process.execPath, [join(root, 'bin/muse.js'), 'generate', '--model', String(last.checkpoint), 'the cat', '--max-new-tokens', '6', '--seed', '1', '--json'], { env, encoding: 'utf8' });
    assert.equal(gen.status, 0, gen.stderr);
    const obj = JSON.parse(gen.stdout.trim()) as { text: string; ids: number[]; logprobs: number[] };
    assert.equal(obj.ids.length, 6);
    assert.equal(obj.logprobs.length, 6);
    assert.ok(obj.logprobs.every((p) => p <= 0));
    // --no-repeat-ngram-size reaches the decoder (commander files `--no-…` options under another key).
    const norep = spawnSync(process.execPath, [join(root, 'bin/muse.js'), 'generate', '--model', String(last.checkpoint), 'the', '--greedy', '--max-new-tokens', '8', '--no-repeat-ngram-size', '1', '--json'], { env, encoding: 'utf8' });
    assert.equal(norep.status, 0, norep.stderr);
    const tokenIds = (JSON.parse(norep.stdout.trim()) as { ids: number[] }).ids;
    assert.equal(new Set(tokenIds).size, tokenIds.length, `a 1-gram repeated: ${tokenIds}`);
    const bad = spawnSync(process.execPath, [join(root, 'bin/muse.js'), 'generate', '--model', String(last.checkpoint), 'x', '--temperature', '-1'], { env, encoding: 'utf8' });
    assert.notEqual(bad.status, 0);
    assert.match(bad.stderr, /temperature/);
    assert.equal(JSON.parse(readFileSync(join(String(last.checkpoint), 'config.json'), 'utf8')).model_type, 'gpt2');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('inferPoemForm: the form a prompt opens', async () => {
  const { inferPoemForm } = await import('../../src/pipelines/poem-form.js');
  assert.equal(inferPoemForm('床前明月光，'), '5x4');
  assert.equal(inferPoemForm('春眠不觉晓，处处闻啼鸟。'), '5x4');
  assert.equal(inferPoemForm('朝辞白帝彩云间，'), '7x4');
  assert.equal(inferPoemForm('床前明月光'), undefined);
  assert.equal(inferPoemForm('一天，小明发现了一只神秘的龙。'), undefined);
  assert.equal(inferPoemForm('Once upon a time,'), undefined);
  assert.equal(inferPoemForm('白日依山尽，黄河入海流。欲穷千里目，更上一层楼。'), undefined);
});
