/**
 * stream(): text pieces as tokens arrive, UTF-8-safe through the tokenizers'
 * StreamDecoder (a Chinese character split over byte tokens appears whole,
 * once), validation before any work, and the event loop kept responsive.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError } from '../../src/errors.js';
import { stream } from '../../src/generate/index.js';
import type { CausalLM, LMCache } from '../../src/models/causal-lm.js';
import { byteTokenizer } from './test-tokenizers.js';

/** A model that emits a fixed script of token ids after the prompt, then EOS; optionally slow. */
class ScriptLM implements CausalLM {
  readonly maxPositions = 512;
  forwards = 0;
  constructor(
    readonly vocabSize: number,
    private readonly script: number[],
    private readonly eos: number,
    private readonly promptLength: number,
    private readonly msPerForward = 0,
  ) {}

  newCache(batch: number): LMCache {
    const c = { length: 0, batch, reorder: () => {}, clear: () => (c.length = 0) };
    return c;
  }

  forward(ids: Int32Array, batch: number, t: number, cache: LMCache): Float32Array {
    this.forwards++;
    const end = Date.now() + this.msPerForward;
    while (Date.now() < end) {
      /* simulate work */
    }
    (cache as { length: number }).length += t;
    const k = cache.length - this.promptLength;
    const out = new Float32Array(batch * this.vocabSize);
    for (let r = 0; r < batch; r++) out[r * this.vocabSize + (k < this.script.length ? this.script[k] : this.eos)] = 10;
    return out;
  }
}

test('stream yields whole characters even when byte-level tokens split them', async () => {
  const tok = byteTokenizer();
  const text = '春眠不覺曉，處處聞啼鳥。 the cat sat 🐈 on the mat';
  const script = tok.encode(text, { addSpecialTokens: false }).ids;
  assert.ok(script.length > [...text].length, 'the characters must be split over several tokens');
  const prompt = 'the dog';
  const promptLen = tok.encode(prompt, { addSpecialTokens: false }).ids.length;
  const model = new ScriptLM(tok.vocabSize, script, tok.eosTokenId as number, promptLen);
  const s = stream(model, tok, prompt, { maxNewTokens: 200 });
  const pieces: string[] = [];
  for await (const piece of s) pieces.push(piece);
  assert.equal(pieces.join(''), text);
  for (const p of pieces) assert.ok(!p.includes('\uFFFD'), `piece ${JSON.stringify(p)} holds a broken character`);
  assert.ok(pieces.includes('春') && pieces.includes('🐈'), JSON.stringify(pieces));
  assert.ok(s.output);
  assert.deepEqual(s.output?.finishReasons, ['eos']);
  assert.equal(s.output?.sequences[0].length, script.length + 1);
});

test('stream validates before any work and refuses beam search', () => {
  const tok = byteTokenizer();
  const model = new ScriptLM(tok.vocabSize, [], 0, 0);
  assert.throws(() => stream(model, tok, 'x', { numBeams: 2 }), ConfigError);
  assert.throws(() => stream(model, tok, 'x', { temperature: -1 }), (e: unknown) => e instanceof ConfigError && /temperature/.test((e as Error).message));
  assert.equal(model.forwards, 0);
});

test('a long stream lets other callbacks run', async () => {
  const tok = byteTokenizer();
  const script = tok.encode('the cat sat on the mat '.repeat(3), { addSpecialTokens: false }).ids;
  const model = new ScriptLM(tok.vocabSize, script, tok.eosTokenId as number, 1, 1);
  let ticks = 0;
  const timer = setInterval(() => ticks++, 1);
  let n = 0;
  for await (const piece of stream(model, tok, 't', { maxNewTokens: 100 })) n += piece.length;
  clearInterval(timer);
  assert.ok(n > 0);
  assert.ok(ticks > 0, 'the event loop never ran during the stream');
});
