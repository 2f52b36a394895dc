import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,

} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, FileFormatError } from '../../src/errors.js';
import { copyCheckpoint, loadCheckpoint, missingConfigError, readJsonFile, recoverCheckpoint, saveCheckpoint, type CheckpointToSave } from '../../src/io/checkpoint.js';
import { readSafetensors, writeSafetensors, type StTensor } from '../../src/io/safetensors.js';

const HF = '/work/shared/hf-checkpoints';

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'muse-ck-'));
}

function f32(shape: number[], fill: number): StTensor {
  return { dtype: 'F32', shape, data: new Float32Array(shape.reduce((a, b) => a * b, 1)).fill(fill) };
}

function version(v: number, withOptimizer = true): CheckpointToSave {
  return {
    config: { n_layer: 1, model_type: 'gpt2', version: v, task_specific_params: { b: 1, a: 2 } },
    tensors: new Map([['transformer.wte.weight', f32([4, 2], v)], ['transformer.ln_f.bias', f32([2], 0)]]),
    tokenizerJson: { version: '1.0', model: { type: 'BPE', vocab: { a: 0 } } },
    generationConfig: { eos_token_id: 50256, bos_token_id: 50256 },
    trainerState: { global_step: v },
    ...(withOptimizer ? { optimizerTensors: new Map([['transformer.wte.weight.exp_avg', f32([4, 2], v / 10)]]) } : {}),
  };
}

/** The sibling names are part of the documented protocol (docs/checkpoints.md). */
function sib(root: string, name: string, kind: 'staging' | 'ready' | 'previous'): string {
  return join(root, `.${name}.muse-${kind}`);
}

test('save then load round-trips every part in Hugging Face layout', () => {
  const root = tmp();
  try {
    const dir = join(root, 'a', 'ckpt');
    saveCheckpoint(dir, { ...version(3), extraFiles: { 'README.md': '# hi\n', 'logs/m.jsonl': Uint8Array.of(123, 125, 10) } });
    assert.deepEqual(readdirSync(dir).sort(), [
      'README.md', 'config.json', 'generation_config.json', 'logs', 'model.safetensors',
      'optimizer.safetensors', 'tokenizer.json', 'trainer_state.json',
    ]);
    assert.deepEqual(readdirSync(join(root, 'a')), ['ckpt'], 'no temp siblings left');
    // transformers' to_json_string: indent 2, keys sorted at every level, trailing newline
    assert.equal(
      readFileSync(join(dir, 'config.json'), 'utf8'),
      '{\n  "model_type": "gpt2",\n  "n_layer": 1,\n  "task_specific_params": {\n    "a": 2,\n    "b": 1\n  },\n  "version": 3\n}\n',
    );
    assert.deepEqual(readSafetensors(join(dir, 'model.safetensors')).metadata, { format: 'pt' });
    assert.equal(readFileSync(join(dir, 'logs/m.jsonl'), 'utf8'), '{}\n');
    const ck = loadCheckpoint(dir);
    assert.equal(ck.config['version'], 3);
    assert.deepEqual([...ck.tensors.get('transformer.wte.weight')!.data], new Array(8).fill(3));
    assert.deepEqual(ck.tokenizerJson, version(3).tokenizerJson);
    assert.deepEqual(ck.generationConfig, { bos_token_id: 50256, eos_token_id: 50256 });
    assert.deepEqual(ck.trainerState, { global_step: 3 });
    assert.equal(ck.optimizerTensors, undefined, 'optimizer only on request');
    const withOpt = loadCheckpoint(dir, { optimizer: true });
    assert.ok(Math.abs(withOpt.optimizerTensors!.get('transformer.wte.weight.exp_avg')!.data[0] - 0.3) < 1e-7);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

const hfDirs = existsSync(HF) ? readdirSync(HF) : [];
test('loads the real Hugging Face checkpoints', { skip: hfDirs.length === 0 && `${HF} not found` }, () => {
  const gpt2 = loadCheckpoint(join(HF, 'lmbuddy-fake-gpt2'));
  assert.equal(gpt2.config['model_type'], 'gpt2');
  assert.equal(gpt2.config['n_embd'], 2);
  assert.deepEqual(gpt2.generationConfig, { _from_model_config: true, bos_token_id: 50256, eos_token_id: 50256, transformers_version: '4.36.2' });
  assert.deepEqual(gpt2.tensors.get('transformer.wte.weight')!.shape, [50257, 2]);
  const bert = loadCheckpoint(join(HF, 'lmbuddy-bert-tiniest'));
  assert.equal(bert.config['model_type'], 'bert');
  assert.equal(bert.tensors.size, 26);
  const tiny = loadCheckpoint(join(HF, 'lmbuddy-tiny-gpt2'));
  assert.equal(tiny.generationConfig, undefined);
  assert.equal(tiny.tokenizerJson, undefined);
  assert.deepEqual(tiny.tensors.get('wte.weight')!.shape, [21, 2]);
});

test('a saved checkpoint of a real HF model keeps its tensors and config exactly', { skip: hfDirs.length === 0 }, () => {
  const root = tmp();
  try {
    const src = loadCheckpoint(join(HF, 'lmbuddy-tiny-gpt2'));
    saveCheckpoint(join(root, 'out'), { config: src.config, tensors: src.tensors });
    // same tensors, same file bytes as the Rust library wrote
    assert.deepEqual(readFileSync(join(root, 'out/model.safetensors')), readFileSync(join(HF, 'lmbuddy-tiny-gpt2/model.safetensors')));
    assert.deepEqual(readJsonFile(join(root, 'out/config.json')), readJsonFile(join(HF, 'lmbuddy-tiny-gpt2/config.json')));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('errors: missing directory, file, config.json, model.safetensors, corrupt JSON', () => {
  const root = tmp();
  try {
    const is = (re: RegExp) => (e: unknown) => e instanceof FileFormatError && re.test(e.message);
    assert.throws(() => loadCheckpoint(join(root, 'nope')), is(/nope: checkpoint directory not found; .*holds config\.json and model\.safetensors/));
    writeFileSync(join(root, 'f'), 'x');
    assert.throws(() => loadCheckpoint(join(root, 'f')), is(/is a file, not a checkpoint directory/));
    mkdirSync(join(root, 'empty'));
    assert.throws(() => loadCheckpoint(join(root, 'empty')), is(/empty: no config\.json; a checkpoint directory/));
    mkdirSync(join(root, 'pt'));
    writeFileSync(join(root, 'pt/config.json'), '{}');
    writeFileSync(join(root, 'pt/pytorch_model.bin'), 'x');
    assert.throws(() => loadCheckpoint(join(root, 'pt')), is(/pt: no model\.safetensors; it has pytorch_model\.bin.*safe_serialization=True/));
    saveCheckpoint(join(root, 'bad'), version(1));
    writeFileSync(join(root, 'bad/config.json'), '{\n  "n_layer": 1,\n  "n_head": ,\n}\n');
    assert.throws(() => loadCheckpoint(join(root, 'bad')), is(/bad\/config\.json: invalid JSON at line 3, column 13/));
    writeFileSync(join(root, 'bad/config.json'), '[1]');
    assert.throws(() => loadCheckpoint(join(root, 'bad')), is(/config\.json: expected a JSON object, found an array/));
    writeFileSync(join(root, 'bad/config.json'), '{}');
    writeFileSync(join(root, 'bad/generation_config.json'), '{"a": tru}');
    assert.throws(() => loadCheckpoint(join(root, 'bad')), is(/generation_config\.json: invalid JSON at line 1, column 7/));
    assert.throws(() => readJsonFile(join(root, 'none.json')), is(/none\.json: file not found/));
    assert.throws(() => saveCheckpoint(join(root, 'x'), { ...version(1), extraFiles: { '../evil': 'x' } }), ConfigError);
    assert.throws(() => saveCheckpoint(join(root, 'x'), { ...version(1), extraFiles: { 'config.json': 'x' } }), ConfigError);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('saving over a checkpoint replaces muse files, drops stale ones, keeps the user\'s', () => {
  const root = tmp();
  try {
    const dir = join(root, 'ck');
    saveCheckpoint(dir, version(1));
    writeFileSync(join(dir, 'README.md'), 'mine');
    mkdirSync(join(dir, 'checkpoints/step-5'), { recursive: true });
    writeFileSync(join(dir, 'checkpoints/step-5/config.json'), '{"step":5}');
    writeFileSync(join(dir, 'metrics.jsonl'), 'old\n');
    saveCheckpoint(dir, { ...version(2, false), extraFiles: { 'metrics.jsonl': 'new\n' } });
    const ck = loadCheckpoint(dir, { optimizer: true });
    assert.equal(ck.config['version'], 2);
    assert.equal(ck.optimizerTensors, undefined, 'stale optimizer.safetensors from version 1 is gone');
    assert.ok(!existsSync(join(dir, 'optimizer.safetensors')));
    assert.equal(readFileSync(join(dir, 'README.md'), 'utf8'), 'mine');
    assert.equal(readFileSync(join(dir, 'checkpoints/step-5/config.json'), 'utf8'), '{"step":5}');
    assert.equal(readFileSync(join(dir, 'metrics.jsonl'), 'utf8'), 'new\n');
    saveCheckpoint(dir, version(3), { keepOtherFiles: false });
    assert.ok(!existsSync(join(dir, 'README.md')));
    assert.deepEqual(readdirSync(root), ['ck']);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('an invalid tensor fails before touching the old checkpoint', () => {
  const root = tmp();
  try {
    const dir = join(root, 'ck');
    saveCheckpoint(dir, version(1));
    const bad = { ...version(2), tensors: new Map([['w', { dtype: 'F32' as const, shape: [3], data: new Float32Array(2) }]]) };
    assert.throws(() => saveCheckpoint(dir, bad));
    assert.equal(loadCheckpoint(dir).config['version'], 1);
    assert.deepEqual(readdirSync(root), ['ck']);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('recovers from a crash at every step of the save protocol', () => {
  const root = tmp();
  try {
    const dir = join(root, 'ck');
    const setUp = (): void => {
      rmSync(root, { recursive: true, force: true });
      mkdirSync(root);
      saveCheckpoint(join(root, 'v1'), version(1));
      saveCheckpoint(join(root, 'v2'), version(2));
    };
    const expectOnly = (v: number): void => {
      assert.equal(loadCheckpoint(dir).config['version'], v);
      saveCheckpoint(dir, version(9));
      assert.equal(loadCheckpoint(dir).config['version'], 9);
      assert.deepEqual(readdirSync(root).filter((n) => n.startsWith('.ck')), []);
    };
    // crash while writing staging: old dir intact, half-written staging
    setUp();
    renameSync(join(root, 'v1'), dir);
    renameSync(join(root, 'v2'), sib(root, 'ck', 'staging'));
    rmSync(join(sib(root, 'ck', 'staging'), 'model.safetensors'));
    expectOnly(1);
    // crash after staging → ready, before the swap: load reads the old dir (a whole version)
    setUp();
    renameSync(join(root, 'v1'), dir);
    renameSync(join(root, 'v2'), sib(root, 'ck', 'ready'));
    assert.equal(loadCheckpoint(dir).config['version'], 1);
    assert.deepEqual(recoverCheckpoint(dir), [`completed interrupted save into ${dir}`, `removed previous version ${sib(root, 'ck', 'previous')}`]);
    assert.equal(loadCheckpoint(dir).config['version'], 2);
    // crash between dir → previous and ready → dir: load reads ready, without modifying anything
    setUp();
    renameSync(join(root, 'v1'), sib(root, 'ck', 'previous'));
    renameSync(join(root, 'v2'), sib(root, 'ck', 'ready'));
    const listing = readdirSync(root).sort();
    assert.equal(loadCheckpoint(dir).config['version'], 2);
    assert.deepEqual(readdirSync(root).sort(), listing, 'load does not touch the disk');
    expectOnly(2);
    // crash before deleting previous
    setUp();
    renameSync(join(root, 'v2'), dir);
    renameSync(join(root, 'v1'), sib(root, 'ck', 'previous'));
    expectOnly(2);
    // only previous left (e.g. someone deleted the dir by hand mid-swap): restored
    setUp();
    renameSync(join(root, 'v1'), sib(root, 'ck', 'previous'));
    assert.equal(loadCheckpoint(dir).config['version'], 1);
    recoverCheckpoint(dir);
    assert.ok(statSync(dir).isDirectory());
    expectOnly(1);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('a process killed at random moments mid-save never leaves a mixed checkpoint', async () => {
  const root = tmp();
  const dir = join(root, 'ck');
  const helper = new URL('./helpers/save-loop.ts', import.meta.url).pathname;
  try {
    const seen = new Set<number>();
    for (let round = 0; round < 2; round++) {
      const child = spawn(process.execPath, ['--import', 'tsx', helper, dir, String(1 << 18)], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      await new Promise<void>((resolveWait) => {
        child.stdout.on('data', (chunk: Buffer) => {
          out += chunk.toString();
          // after the first finished save, kill at a random moment of a later one
          if (out.includes('saved 1\n') && !child.killed) setTimeout(() => child.kill('SIGKILL'), Math.random() * 40);
        });
        child.on('exit', () => resolveWait());
      });
      const ck = loadCheckpoint(dir, { optimizer: true });
      const v = ck.config['version'] as number;
      seen.add(v);
      assert.ok(v >= 1);
      assert.ok(ck.tensors.get('w')!.data.every((x) => x === v), 'weights from the same version as config.json');
      assert.ok(ck.optimizerTensors!.get('w.exp_avg')!.data.every((x) => x === v), 'optimizer from the same version');
      assert.deepEqual(ck.trainerState, { step: v });
      const onDisk = existsSync(dir) ? readFileSync(join(dir, 'version.txt'), 'utf8') : undefined;
      if (onDisk !== undefined) assert.ok(Number(onDisk) <= v + 1);
      saveCheckpoint(dir, version(0)); // recovers, then replaces
      assert.deepEqual(readdirSync(root), ['ck']);
      rmSync(dir, { recursive: true });
    }
    assert.ok(seen.size >= 1);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('loads sharded weights through model.safetensors.index.json', () => {
  const root = tmp();
  try {
    const dir = join(root, 'sharded');
    saveCheckpoint(dir, version(1));
    rmSync(join(dir, 'model.safetensors'));
    writeSafetensors(join(dir, 'model-00001-of-00002.safetensors'), new Map([['a', f32([2], 1)]]), { format: 'pt' });
    writeSafetensors(join(dir, 'model-00002-of-00002.safetensors'), new Map([['b', f32([3], 2)]]), { format: 'pt' });
    writeFileSync(
      join(dir, 'model.safetensors.index.json'),
      JSON.stringify({ metadata: { total_size: 20 }, weight_map: { a: 'model-00001-of-00002.safetensors', b: 'model-00002-of-00002.safetensors' } }),
    );
    const ck = loadCheckpoint(dir);
    assert.deepEqual([...ck.tensors.keys()].sort(), ['a', 'b']);
    assert.deepEqual([...ck.tensors.get('b')!.data], [2, 2, 2]);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});


test('a model file with NaN/Inf weights is refused by name (a diverged run)', () => {
  const root = tmp();
  try {
    const dir = join(root, 'diverged');
    mkdirSync(dir);
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ model_type: 'gpt2' }));
    const bad = f32([4, 2], 0.5);
    (bad.data as Float32Array)[3] = Number.NaN;
    (bad.data as Float32Array)[5] = Number.POSITIVE_INFINITY;
    writeSafetensors(join(dir, 'model.safetensors'), new Map([['transformer.ln_f.bias', f32([2], 0)], ['transformer.wte.weight', bad]]));
    assert.throws(() => loadCheckpoint(dir), (err: unknown) => err instanceof FileFormatError && /tensor transformer\.wte\.weight holds 2 non-finite values/.test(err.message) && /earlier checkpoint/.test(err.message));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('copyCheckpoint: last/ as hard links to best/, replaced whole, and later saves of either leave the other intact', () => {
  const root = tmp();
  try {
    const best = join(root, 'best');
    const last = join(root, 'last');
    saveCheckpoint(last, version(1));
    saveCheckpoint(best, { ...version(2), extraFiles: { 'logs/m.jsonl': 'x\n' } });
    copyCheckpoint(best, last);
    assert.deepEqual(readdirSync(last).sort(), readdirSync(best).sort());
    assert.equal(loadCheckpoint(last).config.version, 2);
    assert.equal(readFileSync(join(last, 'logs', 'm.jsonl'), 'utf8'), 'x\n');
    assert.equal(statSync(join(last, 'model.safetensors')).ino, statSync(join(best, 'model.safetensors')).ino, 'hard link');
    assert.deepEqual(readdirSync(root).sort(), ['best', 'last'], 'no temp siblings left');
    // A later save of last/ must not change best/ (files are replaced, never written in place).
    saveCheckpoint(last, version(3));
    assert.equal(loadCheckpoint(best).config.version, 2);
    assert.equal(readSafetensors(join(best, 'model.safetensors')).tensors.get('transformer.wte.weight')!.data[0], 2);
    assert.equal(loadCheckpoint(last).config.version, 3);
    assert.throws(() => copyCheckpoint(join(root, 'nope'), last), FileFormatError);
    assert.equal(loadCheckpoint(last).config.version, 3, 'a failed copy keeps the old version');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('a run folder passed as a model directory: the error names its best/', () => {
  const run = mkdtempSync(join(tmpdir(), 'muse-run-'));
  try {
    assert.match(missingConfigError(run).message, /no config\.json; a model directory needs config\.json/);
    mkdirSync(join(run, 'best'));
    writeFileSync(join(run, 'best', 'config.json'), '{}');
    const e = missingConfigError(run);
    assert.ok(e instanceof FileFormatError);
    assert.match(e.message, new RegExp(`it is a training run.*pass ${join(run, 'best').replace(/[/\\]/g, '.')}`));
  } finally {
    rmSync(run, { recursive: true, force: true });
  }
});
