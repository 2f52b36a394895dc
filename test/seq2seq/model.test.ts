import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Tensor, fromArray, noGrad } from '../../src/tensor/index.js';
import { Seq2SeqTransformer, shiftTokensRight, sinusoidalPositionalEncoding } from '../../src/models/seq2seq/model.js';
import { seq2seqConfig, seq2seqParameterCount, type Seq2SeqConfig } from '../../src/models/seq2seq/config.js';
import { getBackend, setBackend } from '../../src/backend/index.js';
import { ConfigError } from '../../src/errors.js';

const here = dirname(fileURLToPath(import.meta.url));

interface FixtureCase {
  config: Partial<Seq2SeqConfig>;
  params: Record<string, { shape: number[]; data: number[] }>;
  input_ids: number[][];
  attention_mask: number[][];
  decoder_input_ids: number[][];
  labels: number[][];
  encoder_output: number[];
  logits: number[];
  loss: number;
  grads: Record<string, number[]>;
}
const fixture = JSON.parse(readFileSync(join(here, '../fixtures/seq2seq/seq2seq-fixture.json'), 'utf8')) as { cases: Record<string, FixtureCase> };

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

const int2d = (rows: number[][]) => fromArray(Int32Array.from(rows.flat()), [rows.length, rows[0].length], 'int32');

function loadCase(c: FixtureCase): Seq2SeqTransformer {
  const model = new Seq2SeqTransformer(c.config, { init: false });
  const sd = new Map<string, Tensor>();
  for (const [name, p] of Object.entries(c.params)) sd.set(name, fromArray(Float32Array.from(p.data), p.shape));
  model.loadStateDict(sd, true); // strict: every name must match the reference's
  return model;
}

test('sinusoidal positional encoding equals the formula of Vaswani et al. §3.5 computed by hand', () => {
  const pe = sinusoidalPositionalEncoding(3, 4);
  // d = 4: frequencies 1/10000^(0/4) = 1 and 1/10000^(2/4) = 0.01
  const hand = [
    [0, 1, 0, 1],
    [Math.sin(1), Math.cos(1), Math.sin(0.01), Math.cos(0.01)],
    [Math.sin(2), Math.cos(2), Math.sin(0.02), Math.cos(0.02)],
  ].flat();
  assert.ok(maxAbsDiff(pe, hand) < 1e-7);
  assert.throws(() => sinusoidalPositionalEncoding(2, 3), /even dModel/);
});

test('shiftTokensRight matches HF shift_tokens_right (the fixture\'s decoder inputs)', () => {
  for (const c of Object.values(fixture.cases)) {
    const cfg = seq2seqConfig(c.config);
    const dec = shiftTokensRight(int2d(c.labels), cfg.decoder_start_token_id, cfg.pad_token_id);
    assert.deepEqual(Array.from(dec.data), c.decoder_input_ids.flat());
  }
});

for (const backend of ['js', 'native'] as const) {
  for (const [name, c] of Object.entries(fixture.cases)) {
    test(`encoder output, logits, loss and gradients equal PyTorch nn.Transformer*Layer (${name}, ${backend})`, (t) => {
      const previous = getBackend().name;
      try {
        setBackend(backend);
      } catch {
        t.skip(`${backend} backend unavailable`);
        return;
      }
      try {
        const model = loadCase(c);
        const ids = int2d(c.input_ids);
        const mask = int2d(c.attention_mask);
        const out = model.forward({ inputIds: ids, attentionMask: mask, labels: int2d(c.labels) });
        assert.ok(maxAbsDiff(out.logits.data, c.logits) < 1e-4, `logits off by ${maxAbsDiff(out.logits.data, c.logits)}`);
        assert.ok(Math.abs(out.loss!.item() - c.loss) < 1e-5, `loss ${out.loss!.item()} vs ${c.loss}`);
        out.loss!.backward();
        const params = new Map(model.namedParameters());
        assert.deepEqual([...params.keys()].sort(), Object.keys(c.grads).sort());
        for (const [pname, g] of Object.entries(c.grads)) {
          const d = maxAbsDiff(params.get(pname)!.grad!.data, g);
          assert.ok(d < 1e-4, `grad of ${pname} off by ${d}`);
        }
        // Encoder output at real (unpadded) source positions.
        const enc = noGrad(() => model.encode(ids, mask)).data;
        const C = model.config.d_model;
        const S = c.input_ids[0].length;
        c.attention_mask.forEach((row, b) =>
          row.forEach((m, s) => {
            if (!m) return;
            const at = (b * S + s) * C;
            const d = maxAbsDiff(enc.subarray(at, at + C), c.encoder_output.slice(at, at + C));
            assert.ok(d < 1e-4, `encoder output [${b}, ${s}] off by ${d}`);
          }),
        );
      } finally {
        setBackend(previous);
      }
    });
  }
}

test('gradients of a tiny model (dropout off) agree with central finite differences', () => {
  const previous = getBackend().name;
  setBackend('js');
  try {
    const model = new Seq2SeqTransformer(
      { vocab_size: 7, d_model: 4, encoder_layers: 1, decoder_layers: 1, encoder_attention_heads: 2, decoder_attention_heads: 2, encoder_ffn_dim: 6, decoder_ffn_dim: 6, dropout: 0, max_position_embeddings: 8, label_smoothing: 0.1, activation_function: 'gelu' },
      { seed: 5 },
    );
    const inputs = {
      inputIds: int2d([[1, 2, 3], [4, 5, 0]]),
      attentionMask: int2d([[1, 1, 1], [1, 1, 0]]),
      labels: int2d([[3, 6, 0], [2, -100, -100]]),
    };
    const out = model.forward(inputs);
    out.loss!.backward();
    const eps = 1e-2;
    let checked = 0;
    for (const [name, p] of model.namedParameters()) {
      const d = p.data as Float32Array;
      // Three entries of every parameter (first, middle, last).
      for (const j of new Set([0, Math.floor(d.length / 2), d.length - 1])) {
        const orig = d[j];
        d[j] = orig + eps;
        const lp = noGrad(() => model.forward(inputs).loss!.item());
        d[j] = orig - eps;
        const lm = noGrad(() => model.forward(inputs).loss!.item());
        d[j] = orig;
        const numeric = (lp - lm) / (2 * eps);
        const analytic = p.grad!.data[j];
        assert.ok(Math.abs(analytic - numeric) <= 2e-3 + 2e-2 * Math.abs(numeric), `${name}[${j}]: analytic ${analytic} vs numeric ${numeric}`);
        checked++;
      }
    }
    assert.ok(checked > 40);
  } finally {
    setBackend(previous);
  }
});

test('KV-cached decoding (bound source, beams reordered) equals a full teacher-forced recompute', () => {
  const model = new Seq2SeqTransformer(
    { vocab_size: 17, d_model: 16, encoder_layers: 2, decoder_layers: 2, encoder_attention_heads: 4, decoder_attention_heads: 4, encoder_ffn_dim: 32, decoder_ffn_dim: 32, dropout: 0.1, max_position_embeddings: 24, decoder_start_token_id: 1 },
    { seed: 9 },
  );
  const sources = [[3, 4, 5, 6, 7], [8, 9]];
  const targets = [[1, 12, 5, 5, 16, 2, 9], [1, 3, 3, 14, 2, 8, 11]];
  const lm = model.bindSource(sources);
  const V = 17;
  const full = (src: number[], tgt: number[]): Float32Array => {
    const logits = noGrad(() => model.eval().forward({ inputIds: int2d([src]), decoderInputIds: int2d([tgt]) }).logits.data as Float32Array);
    model.train();
    return logits;
  };
  model.train(); // the adapter must switch dropout off itself
  const cache = lm.newCache(2);
  // Prefill 3 target tokens per row, then one at a time.
  let logits = lm.forward(Int32Array.from([...targets[0].slice(0, 3), ...targets[1].slice(0, 3)]), 2, 3, cache, { lastOnly: true });
  for (let n = 3; n <= 7; n++) {
    for (let r = 0; r < 2; r++) {
      const ref = full(sources[r], targets[r].slice(0, n)).subarray((n - 1) * V, n * V);
      assert.ok(maxAbsDiff(logits.subarray(r * V, (r + 1) * V), ref) < 1e-5, `row ${r} step ${n}`);
    }
    if (n === 7) break;
    logits = lm.forward(Int32Array.from([targets[0][n], targets[1][n]]), 2, 1, cache, { lastOnly: true });
  }
  assert.equal(model.training, true);
  // Beam-style reorder: rows [1, 0, 1] keep their own sources.
  cache.reorder(Int32Array.from([1, 0, 1]));
  const next = lm.forward(Int32Array.from([4, 6, 10]), 3, 1, cache, { lastOnly: true });
  const expect = [
    full(sources[1], [...targets[1], 4]),
    full(sources[0], [...targets[0], 6]),
    full(sources[1], [...targets[1], 10]),
  ];
  expect.forEach((e, r) => assert.ok(maxAbsDiff(next.subarray(r * V, (r + 1) * V), e.subarray(7 * V, 8 * V)) < 1e-5, `reordered row ${r}`));
});

test('source padding does not change a row\'s encoding or logits', () => {
  const model = new Seq2SeqTransformer({ vocab_size: 11, d_model: 8, encoder_layers: 1, decoder_layers: 1, encoder_attention_heads: 2, decoder_attention_heads: 2, encoder_ffn_dim: 8, decoder_ffn_dim: 8, max_position_embeddings: 8 }, { seed: 2 }).eval();
  const padded = model.forward({ inputIds: int2d([[5, 6, 7], [3, 0, 0]]), attentionMask: int2d([[1, 1, 1], [1, 0, 0]]), decoderInputIds: int2d([[0, 4], [0, 9]]) }).logits.data;
  const alone = model.forward({ inputIds: int2d([[3]]), decoderInputIds: int2d([[0, 9]]) }).logits.data;
  assert.ok(maxAbsDiff(padded.subarray(22, 44), alone) < 1e-5);
});

test('config validation names the field; parameter count matches the model', () => {
  assert.throws(() => seq2seqConfig({ d_model: 10, encoder_attention_heads: 4 }), (e: unknown) => e instanceof ConfigError && /encoder_attention_heads/.test(e.message));
  assert.throws(() => seq2seqConfig({ dropout: 1 }), /dropout must be in \[0, 1\)/);
  assert.throws(() => seq2seqConfig({ vocab_size: 5, eos_token_id: 9 }), /eos_token_id/);
  for (const share of [true, false]) {
    for (const pre of [true, false]) {
      const m = new Seq2SeqTransformer({ vocab_size: 13, d_model: 8, encoder_layers: 2, decoder_layers: 1, encoder_attention_heads: 2, decoder_attention_heads: 2, encoder_ffn_dim: 12, decoder_ffn_dim: 20, share_embeddings: share, normalize_before: pre });
      assert.equal(m.numParameters(), seq2seqParameterCount(m.config));
    }
  }
});

test('a source or target longer than max_position_embeddings is rejected', () => {
  const model = new Seq2SeqTransformer({ vocab_size: 5, d_model: 8, encoder_layers: 1, decoder_layers: 1, encoder_attention_heads: 2, decoder_attention_heads: 2, encoder_ffn_dim: 8, decoder_ffn_dim: 8, max_position_embeddings: 4 });
  assert.throws(() => model.bindSource([[1, 2, 3, 4, 1]]), /max_position_embeddings is 4/);
  assert.throws(() => model.forward({ inputIds: int2d([[1, 2]]), decoderInputIds: int2d([[1, 2, 3, 4, 1]]) }), /target length 5 exceeds/);
  const lm = model.bindSource([[1]]);
  assert.throws(() => lm.newCache(2), /1 sources are bound/);
});
