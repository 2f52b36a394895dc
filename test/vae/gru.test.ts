/**
 * muse's GRU against torch.nn.GRU (fixture from
 * test/fixtures/vae/gen_gru_fixture.py): forward outputs, final state, and
 * the gradients of a weighted sum of the outputs w.r.t. input, h0 and every
 * parameter; plus the padding mask.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as T from '../../src/tensor/index.js';
import { GRU } from '../../src/models/vae/gru.js';
import { assertClose } from '../tensor/gradcheck.js';

const fx = JSON.parse(readFileSync(new URL('../fixtures/vae/gru.json', import.meta.url), 'utf8')) as {
  B: number; T: number; I: number; H: number;
  params: Record<string, number[]>;
  x: number[]; h0: number[]; r: number[]; output: number[]; hN: number[];
  grad: Record<string, number[]>;
};

test('GRU matches torch.nn.GRU: outputs, final state and gradients', () => {
  const { B, T: L, I, H } = fx;
  const gru = new GRU(I, H, { gen: new T.Generator(0), init: false });
  const sd = new Map<string, T.Tensor>();
  for (const [name, p] of gru.namedParameters()) sd.set(name, T.fromArray(fx.params[name], p.shape));
  gru.loadStateDict(sd);
  const x = T.fromArray(fx.x, [B, L, I]);
  const h0 = T.fromArray(fx.h0, [B, H]);
  x.requiresGrad = true;
  h0.requiresGrad = true;
  const { output, hN } = gru.forward(x, h0);
  assertClose(output.data, fx.output, 1e-5, 1e-4, 'output');
  assertClose(hN.data, fx.hN, 1e-5, 1e-4, 'hN');
  output.mul(T.fromArray(fx.r, [B, L, H])).sum().backward();
  assertClose(x.grad!.data, fx.grad['x'], 1e-5, 1e-4, 'dx');
  assertClose(h0.grad!.data, fx.grad['h0'], 1e-5, 1e-4, 'dh0');
  for (const [name, p] of gru.namedParameters()) assertClose(p.grad!.data, fx.grad[name], 1e-5, 1e-4, `d ${name}`);
});

test('GRU mask: a row padded after step k ends with the state of step k', () => {
  const gru = new GRU(2, 3, { gen: new T.Generator(1) });
  const x = T.randn([2, 4, 2], new T.Generator(2));
  const mask = T.tensor([[1, 1, 1, 1], [1, 1, 0, 0]]);
  const { hN } = gru.forward(x, undefined, mask);
  const short = gru.forward(T.narrow(x, 1, 0, 2), undefined).hN;
  assertClose(T.narrow(hN, 0, 1, 1).data, T.narrow(short, 0, 1, 1).data, 1e-6, 1e-6, 'masked row');
});
