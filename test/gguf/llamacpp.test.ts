// llama.cpp as the reference: muse writes each tiny seeded model as GGUF (the very bytes llama.cpp
// read when the fixture was recorded — checked by SHA-256), loads it back, and must tokenize the
// prompts as llama.cpp did, give the same next-token probabilities, and choose the same greedy
// tokens along llama.cpp's greedy path wherever its choice was not a near-tie. Fixture generator:
// scripts/fixtures/llamacpp-oracle.ts (node-llama-cpp 3.21.1, never installed by npm ci).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeGguf } from '../../src/io/gguf-write.js';
import { hfToGguf } from '../../src/gguf/write.js';
import { loadCausalLM } from '../../src/models/registry.js';
import { BUNDLED_CASES, ORACLE_CASES, oracleModel, type OracleCase } from './oracle-models.js';
import { convertToGguf } from '../../src/gguf/convert.js';
import type { CausalLM } from '../../src/models/causal-lm.js';

interface Recorded extends OracleCase {
  sha256: string;
  prompts: { text: string; museTokens: number[]; llamaTokens: number[]; greedy: number[]; steps: Array<Array<[number, number]>> }[];
}

interface RecordedBundled {
  name: string;
  model: string;
  type: string;
  sha256: string;
  prompts: Recorded['prompts'];
}

const fixture = JSON.parse(readFileSync(new URL('../fixtures/gguf/llamacpp-oracle.json', import.meta.url), 'utf8')) as { cases: Recorded[]; bundled: RecordedBundled[] };

/** Next-token probability tolerance per file type: llama.cpp rounds activations to F16 / Q8 for those weights, muse does not. */
const PROB_TOL: Record<string, number> = { f32: 5e-3, f16: 6e-3, q8_0: 0.05, q4_0: 0.09, q4_k_m: 0.09 };
/** Below this top-1/top-2 gap in llama.cpp's distribution a step is a near-tie, where either choice is right. */
const TIE_GAP: Record<string, number> = { f32: 0.01, f16: 0.01, q8_0: 0.1, q4_0: 0.15, q4_k_m: 0.15 };

function softmax(logits: Float32Array): Float64Array {
  let m = -Infinity;
  for (const v of logits) m = Math.max(m, v);
  const p = new Float64Array(logits.length);
  let s = 0;
  for (let i = 0; i < logits.length; i++) s += p[i] = Math.exp(logits[i] - m);
  for (let i = 0; i < p.length; i++) p[i] /= s;
  return p;
}

function argmax(p: Float64Array): number {
  let best = 0;
  for (let i = 1; i < p.length; i++) if (p[i] > p[best]) best = i;
  return best;
}

/**
 * Teacher-forced along llama.cpp's greedy path with muse's KV cache: the prompt, then one token per
 * step; probabilities within PROB_TOL, and muse's argmax equal to llama.cpp's wherever llama.cpp's
 * top-1/top-2 gap is clear (at least two such steps per prompt).
 */
function compareWithLlamaCpp(name: string, type: string, model: CausalLM, tokenizer: { encodeIds(t: string, o?: { addSpecialTokens?: boolean }): number[] }, prompts: Recorded['prompts']): void {
  const V = model.vocabSize;
  for (const pr of prompts) {
    assert.deepEqual(tokenizer.encodeIds(pr.text, { addSpecialTokens: false }), pr.llamaTokens, `${name}: tokenization of ${JSON.stringify(pr.text)}`);
    const cache = model.newCache(1);
    let next = Int32Array.from(pr.museTokens);
    let compared = 0;
    for (let step = 0; step < pr.steps.length; step++) {
      const p = softmax(model.forward(next, 1, next.length, cache, { lastOnly: true }).slice(0, V));
      for (const [id, want] of pr.steps[step]) {
        assert.ok(Math.abs(p[id] - want) <= PROB_TOL[type], `${name} step ${step}: p(${id}) muse ${p[id]} llama.cpp ${want}`);
      }
      const top = pr.steps[step];
      if (top[0][1] - top[1][1] >= TIE_GAP[type]) {
        assert.equal(argmax(p), pr.greedy[step], `${name} greedy step ${step}`);
        compared++;
      }
      next = Int32Array.of(pr.greedy[step]);
    }
    assert.ok(compared >= 2, `${name}: only ${compared} of ${pr.steps.length} greedy steps were clear enough to compare`);
  }
}

for (const rec of fixture.cases) {
  test(`llama.cpp oracle: ${rec.name}`, () => {
    const c = ORACLE_CASES.find((x) => x.name === rec.name)!;
    const dir = mkdtempSync(join(tmpdir(), 'muse-oracle-'));
    try {
      const { hf } = oracleModel(c);
      const path = join(dir, `${c.name}.gguf`);
      writeGguf(path, hfToGguf(hf, c.type));
      assert.equal(createHash('sha256').update(readFileSync(path)).digest('hex'), rec.sha256, 'muse writes the bytes llama.cpp read');
      // through the registry, as `muse generate --model FILE.gguf` loads it
      const { model, tokenizer, family } = loadCausalLM(path);
      assert.equal(family, c.arch === 'gpt2' ? 'gpt2' : 'llama');
      compareWithLlamaCpp(c.name, c.type, model, tokenizer, rec.prompts);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

for (const rec of fixture.bundled) {
  test(`llama.cpp runs muse's exported ${rec.name} with muse's greedy tokens`, () => {
    const dir = mkdtempSync(join(tmpdir(), 'muse-oracle-'));
    try {
      const b = BUNDLED_CASES.find((x) => x.name === rec.name)!;
      const path = join(dir, `${b.name}.gguf`);
      const modelDir = fileURLToPath(new URL(`../../${b.model}`, import.meta.url));
      convertToGguf(modelDir, path, b.type);
      assert.equal(
        createHash('sha256').update(readFileSync(path)).digest('hex'),
        rec.sha256,
        `muse writes the bytes llama.cpp read; if ${b.model} was retrained, rerun scripts/fixtures/llamacpp-oracle.ts (see its header)`,
      );
      const { model, tokenizer } = loadCausalLM(path);
      compareWithLlamaCpp(b.name, b.type, model, tokenizer, rec.prompts);
      if (b.type === 'f32') {
        // the exported F32 file is the trained model itself: every step matches the directory model in muse too
        const orig = loadCausalLM(modelDir).model;
        for (const pr of rec.prompts) {
          const cache = orig.newCache(1);
          let next = Int32Array.from(pr.museTokens);
          const greedy: number[] = [];
          for (let step = 0; step < pr.greedy.length; step++) {
            greedy.push(argmax(softmax(orig.forward(next, 1, next.length, cache, { lastOnly: true }).slice(0, orig.vocabSize))));
            next = Int32Array.of(greedy[step]);
          }
          assert.deepEqual(greedy, pr.greedy, `${b.name}: muse's own greedy continuation of ${JSON.stringify(pr.text)} equals llama.cpp's`);
        }
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
