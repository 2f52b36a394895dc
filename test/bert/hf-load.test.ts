import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, existsSync, mkdtempSync, rmSync, cpSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { fromArray, noGrad } from '../../src/tensor/index.js';
import { loadBert } from '../../src/models/bert/weights.js';
import { loadModelWeights } from '../../src/models/registry.js';
import type { GPT } from '../../src/models/gpt2/model.js';
import type { BertForMaskedLM } from '../../src/models/bert/model.js';
import { loadGPT } from '../../src/models/gpt2/weights.js';
import { readSafetensors, writeSafetensors, type StTensor } from '../../src/io/safetensors.js';
import { loadTokenizer } from '../../src/tokenizers/index.js';
import { FileFormatError, ShapeError } from '../../src/errors.js';

// Reference logits come from test/fixtures/bert/make_fixtures.py: an independent
// float64 PyTorch implementation of GPT2LMHeadModel and BertForMaskedLM.
const here = dirname(fileURLToPath(import.meta.url));
const fixtures = join(here, '../fixtures/bert');
const shared = join(here, '../../../shared/hf-checkpoints');
const sharedVocab = join(here, '../../../shared/vocab');

interface Ref {
  dir: string;
  inputIds: number[][];
  attentionMask?: number[][];
  tokenTypeIds?: number[][];
  columns?: number[];
  logits: number[];
  vocabSize: number;
}
const ref = JSON.parse(readFileSync(join(fixtures, 'reference.json'), 'utf8')) as { local: Ref[]; shared: Ref[] };

function ints(rows: number[][]) {
  return fromArray(Int32Array.from(rows.flat()), [rows.length, rows[0].length], 'int32');
}

/** Logits of the model in `dir` for the reference inputs, restricted to `r.columns` when given. */
function logitsFor(dir: string, r: Ref): number[] {
  const loaded = loadModelWeights(dir);
  const full = noGrad(() =>
    loaded.modelType === 'gpt2'
      ? ((loaded.model as GPT).forward(ints(r.inputIds)).logits.data as Float32Array)
      : ((loaded.model as BertForMaskedLM).forward(ints(r.inputIds), {
          attentionMask: r.attentionMask ? ints(r.attentionMask) : null,
          tokenTypeIds: r.tokenTypeIds ? ints(r.tokenTypeIds) : null,
        }).logits.data as Float32Array),
  );
  if (!r.columns) return [...full];
  const out: number[] = [];
  for (let row = 0; row < full.length / r.vocabSize; row++) for (const c of r.columns) out.push(full[row * r.vocabSize + c]);
  return out;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

for (const r of ref.local) {
  test(`${r.dir}: logits equal the PyTorch reference within 1e-4`, () => {
    const got = logitsFor(join(fixtures, r.dir), r);
    const spread = Math.max(...r.logits) - Math.min(...r.logits);
    assert.ok(spread > 1, `reference logits vary (spread ${spread})`);
    assert.ok(maxAbsDiff(got, r.logits) < 1e-4, `max |Δ| ${maxAbsDiff(got, r.logits)}`);
  });
}

test('tiny-gpt2: the saved lm_head.weight copy and the causal-mask buffer are resolved, not reported', () => {
  const { report } = loadGPT(join(fixtures, 'tiny-gpt2'));
  assert.deepEqual(report.unexpected, []);
});

for (const r of ref.shared) {
  test(`real transformers checkpoint ${r.dir}: logits equal the PyTorch reference within 1e-4`, (t) => {
    if (!existsSync(join(shared, r.dir))) return t.skip('../shared/hf-checkpoints is absent');
    assert.ok(maxAbsDiff(logitsFor(join(shared, r.dir), r), r.logits) < 1e-4);
  });
}

test('real checkpoints: a bare GPT2Model loads with its vocab.json + merges.txt tokenizer; BertLMHeadModel loads with bert-base-uncased vocab.txt', (t) => {
  if (!existsSync(shared)) return t.skip('../shared/hf-checkpoints is absent');
  const gpt = loadModelWeights(join(shared, 'lmbuddy-tiny-gpt2'));
  assert.equal(gpt.modelType, 'gpt2');
  assert.deepEqual(gpt.report.unexpected, []);
  assert.equal(loadTokenizer(join(shared, 'lmbuddy-tiny-gpt2')).vocabSize, 21);
  const bert = loadModelWeights(join(shared, 'lmbuddy-bert-tiniest'));
  assert.equal(bert.modelType, 'bert');
  assert.deepEqual(bert.report, { missing: [], unexpected: [] });
  const tok = loadTokenizer(join(sharedVocab, 'bert-base-uncased'));
  assert.deepEqual(tok.encode('Hello [MASK]').ids, [101, 7592, 103, 102]);
});

/** Copy tiny-bert to a temp dir with its tensors rewritten by `edit`. */
function editedBert(edit: (t: Map<string, StTensor>) => void): string {
  const dir = mkdtempSync(join(tmpdir(), 'muse-bert-'));
  cpSync(join(fixtures, 'tiny-bert'), dir, { recursive: true });
  const { tensors } = readSafetensors(join(dir, 'model.safetensors'));
  edit(tensors);
  writeSafetensors(join(dir, 'model.safetensors'), tensors, { format: 'pt' });
  return dir;
}

const bertRef = ref.local.find((r) => r.dir === 'tiny-bert')!;

test('BERT variants transformers writes load to the same logits: bare BertModel names, TF gamma/beta, decoder.bias instead of bias, a decoder.weight copy', () => {
  const dirs = [
    editedBert((t) => {
      for (const [k, v] of [...t]) if (k.startsWith('bert.')) {
        t.delete(k);
        t.set(k.slice(5), v);
      }
    }),
    editedBert((t) => {
      for (const [k, v] of [...t]) if (k.endsWith('LayerNorm.weight') || k.endsWith('LayerNorm.bias')) {
        t.delete(k);
        t.set(k.replace(/weight$/, 'gamma').replace(/bias$/, 'beta'), v);
      }
    }),
    editedBert((t) => {
      t.set('cls.predictions.decoder.bias', t.get('cls.predictions.bias')!);
      t.delete('cls.predictions.bias');
      t.set('cls.predictions.decoder.weight', t.get('bert.embeddings.word_embeddings.weight')!);
      t.set('bert.embeddings.position_ids', { dtype: 'I32', shape: [1, 32], data: Int32Array.from({ length: 32 }, (_, i) => i) });
    }),
  ];
  try {
    for (const d of dirs) {
      assert.ok(maxAbsDiff(logitsFor(d, bertRef), bertRef.logits) < 1e-4, d);
      assert.deepEqual(loadBert(d).report, { missing: [], unexpected: [] });
    }
  } finally {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  }
});

test('BertForPreTraining extras (pooler, NSP head) are reported as unexpected by name', () => {
  const d = editedBert((t) => {
    t.set('bert.pooler.dense.weight', { dtype: 'F32', shape: [16, 16], data: new Float32Array(256) });
    t.set('cls.seq_relationship.weight', { dtype: 'F32', shape: [2, 16], data: new Float32Array(32) });
  });
  try {
    assert.deepEqual(loadBert(d).report.unexpected.sort(), ['bert.pooler.dense.weight', 'cls.seq_relationship.weight']);
  } finally {
    rmSync(d, { recursive: true, force: true });
  }
});

test('missing tensors are named; a bare BertModel without the MLM head is refused for fill-mask but loads with requireHead false', () => {
  const noLayer = editedBert((t) => t.delete('bert.encoder.layer.1.output.dense.weight'));
  const noHead = editedBert((t) => {
    for (const k of [...t.keys()]) if (k.startsWith('cls.')) t.delete(k);
  });
  try {
    assert.throws(() => loadBert(noLayer), (e: unknown) => e instanceof FileFormatError && /bert\.encoder\.layer\.1\.output\.dense\.weight/.test(e.message));
    assert.throws(() => loadBert(noHead), (e: unknown) => e instanceof FileFormatError && /cls\.predictions\.bias/.test(e.message) && /masked-LM head/.test(e.message));
    const { report } = loadBert(noHead, { requireHead: false });
    assert.ok(report.missing.includes('cls.predictions.transform.dense.weight'));
  } finally {
    rmSync(noLayer, { recursive: true, force: true });
    rmSync(noHead, { recursive: true, force: true });
  }
});

test('a tensor of the wrong shape is rejected with its name and both shapes', () => {
  const d = editedBert((t) => t.set('bert.encoder.layer.0.intermediate.dense.weight', { dtype: 'F32', shape: [16, 32], data: new Float32Array(512) }));
  try {
    assert.throws(() => loadBert(d), (e: unknown) => e instanceof ShapeError && /intermediate\.dense\.weight/.test(e.message) && /\[16, 32\]/.test(e.message) && /\[32, 16\]/.test(e.message));
  } finally {
    rmSync(d, { recursive: true, force: true });
  }
});

test('loadModelWeights (the registry) names an unsupported model_type and a directory without config.json', () => {
  const d = mkdtempSync(join(tmpdir(), 'muse-hf-'));
  try {
    assert.throws(() => loadModelWeights(d), (e: unknown) => e instanceof FileFormatError && /config\.json/.test(e.message));
    cpSync(join(fixtures, 'tiny-bert'), d, { recursive: true });
    const cfg = JSON.parse(readFileSync(join(d, 'config.json'), 'utf8')) as Record<string, unknown>;
    writeFileSync(join(d, 'config.json'), JSON.stringify({ ...cfg, model_type: 't5' }));
    assert.throws(() => loadModelWeights(d), (e: unknown) => e instanceof FileFormatError && /"t5"/.test(e.message));
  } finally {
    rmSync(d, { recursive: true, force: true });
  }
});

