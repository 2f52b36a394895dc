// muse serve --adapter NAME=DIR: two PEFT adapters over one tiny GPT-2 base, each served as its own
// model id with the base's weights shared; answers equal `muse generate --adapter` (applyAdapter), the base is unchanged.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { pretrain } from '../../src/models/gpt2/pretrain.js';
import { loadGPT2Dir } from '../../src/models/gpt2/family.js';
import { applyAdapter, injectLora, saveAdapter } from '../../src/lora/index.js';
import { loadRegistry } from '../../src/serve/model-registry.js';
import { parseAdapterSpec } from '../../src/serve/adapters.js';
import { createServer } from '../../src/serve/server.js';
import { generate } from '../../src/generate/index.js';
import { fromArray, noGrad, type Tensor } from '../../src/tensor/index.js';
import type { LoadedCausalLM } from '../../src/models/loaded.js';

const lines = ['the fox and the crow', 'a lion and a mouse', 'the wind and the sun', 'the ant and the dove'];

function logits(l: LoadedCausalLM, text: string): Float32Array {
  const ids = l.tokenizer.encode(text, { addSpecialTokens: false }).ids;
  const m = l.model as unknown as { forward(x: Tensor): { logits: Tensor } };
  return noGrad(() => m.forward(fromArray(Int32Array.from(ids), [1, ids.length], 'int32')).logits.data.slice() as Float32Array);
}

function greedy(l: LoadedCausalLM, prompt: string, n: number): string {
  const out = generate(l.model, [l.tokenizer.encode(prompt, { addSpecialTokens: false }).ids], { maxNewTokens: n, doSample: false }, { tokenizer: l.tokenizer });
  return l.tokenizer.decode(out.sequences[0], { skipSpecialTokens: true });
}

test('serve --adapter: two adapters over one shared base give generate --adapter\'s logits and greedy text; the base is unchanged', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'muse-serve-lora-'));
  try {
    const corpus = join(dir, 'c.jsonl');
    writeFileSync(corpus, Array.from({ length: 12 }, (_, i) => JSON.stringify({ text: lines[i % 4] })).join('\n') + '\n');
    await pretrain({
      recipe: {
        model: { model_type: 'gpt2', n_layer: 1, n_head: 2, n_embd: 16, n_positions: 32, resid_pdrop: 0, embd_pdrop: 0, attn_pdrop: 0 },
        tokenizer: { type: 'char' },
        data: { field: 'text', separator: 'eos', valFraction: 0.2, script: 'keep' },
        training: { batchSize: 4, blockSize: 16, maxIters: 4, learningRate: 0.01, evalInterval: 4, evalIters: 1, warmupIters: 1, seed: 5 },
      },
      corpus: [corpus], outDir: join(dir, 'base'), progress: false, log: () => {},
    });
    const baseDir = join(dir, 'base', 'best');
    // Two adapters with different nonzero B (and different targets).
    for (const [name, targets, seed] of [['a', 'all-linear', 1], ['b', ['c_attn'], 2]] as const) {
      const l = loadGPT2Dir(baseDir);
      const lm = injectLora(l.model, { r: 2, loraAlpha: 4, loraDropout: 0, useRslora: false, targetModules: targets });
      for (const e of lm.layers) {
        const b = e.lora.lora_B.weight.data as Float32Array;
        for (let i = 0; i < b.length; i++) b[i] = 0.5 * Math.sin(seed * 7.1 + i * 0.37);
      }
      saveAdapter(join(dir, name), lm);
    }
    const reg = await loadRegistry([baseDir], {}, [parseAdapterSpec(`story-a=${join(dir, 'a')}`), parseAdapterSpec(`story-b=${join(dir, 'b')}`)]);
    assert.deepEqual(reg.causalNames, ['base/best', 'story-a', 'story-b']);
    const info = reg.info();
    assert.deepEqual(info[1].adapter, { dir: join(dir, 'a'), baseModel: 'base/best' });
    assert.equal(info[0].adapter, undefined);

    const fresh = loadGPT2Dir(baseDir);
    const refs = { 'story-a': applyAdapter(loadGPT2Dir(baseDir), join(dir, 'a')), 'story-b': applyAdapter(loadGPT2Dir(baseDir), join(dir, 'b')) };
    const served = (n: string): LoadedCausalLM => reg.causalLM(n).loaded;
    const text = 'the fox and';
    // Shared: every weight the adapter does not adapt is the base's own array.
    const baseArrays = new Set(served('base/best').model.parameters().map((p) => p.data));
    const bParams = served('story-b').model.namedParameters();
    for (const [n, p] of bParams) assert.equal(baseArrays.has(p.data), !n.endsWith('attn.c_attn.weight'), n);
    assert.deepEqual(logits(served('base/best'), text), logits(fresh, text));
    const la = logits(served('story-a'), text);
    const lb = logits(served('story-b'), text);
    assert.deepEqual(la, logits(refs['story-a'], text));
    assert.deepEqual(lb, logits(refs['story-b'], text));
    assert.notDeepEqual(la, logits(fresh, text));
    assert.notDeepEqual(la, lb);

    const server = await createServer({ models: reg, db: join(dir, 'r.db'), runsDir: join(dir, 'runs'), threads: 1 });
    try {
      const url = await server.listen(0, '127.0.0.1');
      const post = (path: string, body: unknown): Promise<Record<string, unknown>> =>
        fetch(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }).then((r) => r.json() as Promise<Record<string, unknown>>);
      const ids = ((await (await fetch(`${url}/v1/models`)).json()) as { data: { id: string }[] }).data.map((m) => m.id);
      assert.deepEqual(ids, ['base/best', 'story-a', 'story-b']);
      const listed = ((await (await fetch(`${url}/api/models`)).json()) as { models: { name: string; adapter?: unknown }[] }).models;
      assert.deepEqual(listed.map((m) => [m.name, m.adapter !== undefined]), [['base/best', false], ['story-a', true], ['story-b', true]]);
      // Concurrent greedy requests to the three ids (batched per model, never across them).
      const names = ['base/best', 'story-a', 'story-b'] as const;
      const refOf = (n: (typeof names)[number]): LoadedCausalLM => (n === 'base/best' ? fresh : refs[n]);
      const completions = await Promise.all(names.map((model) => post('/v1/completions', { model, prompt: 'the ', max_tokens: 8, temperature: 0 })));
      const generated = await Promise.all(names.map((model) => post('/api/generate', { model, prompt: 'a lion', maxNewTokens: 8, doSample: false })));
      for (const [k, n] of names.entries()) {
        assert.equal((completions[k].choices as { text: string }[])[0].text, greedy(refOf(n), 'the ', 8), n);
        assert.equal(completions[k].model, n);
        const g = generated[k] as { outputs: { text: string }[] };
        assert.equal(g.outputs[0].text, greedy(refOf(n), 'a lion', 8), n);
      }
    } finally {
      await server.close(1000);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('--adapter NAME=DIR: a missing name or directory is named', () => {
  assert.throws(() => parseAdapterSpec('runs/x'), /give NAME=DIR/);
  assert.throws(() => parseAdapterSpec('=runs/x'), /give NAME=DIR/);
  assert.deepEqual(parseAdapterSpec('aesop=runs/a=b'), { name: 'aesop', dir: 'runs/a=b' });
});
