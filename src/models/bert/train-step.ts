/**
 * The BERT masked-LM training fast path: when the backend has the whole step
 * as a kernel ({@link Backend.bertTrain}, the native one, data-parallel over
 * the batch), the loss of `BertForMaskedLM.forward(ids, { labels, logitsFor:
 * 'labelled' })` and every parameter's gradient come from two kernel calls,
 * handed to autograd as ONE node whose parents are the model's parameters
 * (as `gpt2/train-step.ts` does for GPT-2). The Trainer, clipping and AdamW
 * see an ordinary loss tensor and ordinary `.grad`s.
 *
 * The hidden-dropout masks are drawn here from the model's generator in the
 * op-by-op path's order, so both paths give the same results within float
 * rounding of the weight-gradient sums; checked in
 * test/bert/bert-native-train.test.ts.
 */
import { Tensor, fromArray, type Generator } from '../../tensor/index.js';
import { record, isGradEnabled } from '../../tensor/autograd.js';
import { kernelGradBuffers, staleActivationsError } from '../kernel-grads.js';
import type { F32, I32 } from '../../backend/backend.js';
import type { BertTrainKernels, BertTrainWorkspace } from './kernels.js';
import type { BertConfig } from './config.js';

/** Every trainable tensor of a tied BertForMaskedLM in the kernel order (see {@link BertTrainShape}). */
export interface FusedBertParams {
  /** `[word, position, tokenType, embLN.w, embLN.b, 16 per layer…, transform.dense.w, .b, transform.LN.w, .b, bias]` */
  tensors: Tensor[];
  /** Hidden dropout in training mode: its rate and the generator the model's Dropout modules draw from. */
  dropout: { p: number; gen: Generator } | null;
}

interface KernelWorkspace {
  ws: BertTrainWorkspace;
  masks: F32 | null;
  /** The labelled rows' logits `[count, vocab]` of the latest forward (the backward reads them), reused. */
  logits: F32;
  /** Forwards run on this workspace: a backward must belong to the latest. */
  forwards: number;
}
const workspaces = new WeakMap<object, KernelWorkspace>();

/** The kernel's name of `hidden_act`. */
function kernelAct(act: BertConfig['hidden_act']): 'gelu_erf' | 'gelu_tanh' | 'relu' {
  return act === 'gelu' ? 'gelu_erf' : act === 'relu' ? 'relu' : 'gelu_tanh';
}

/**
 * Mean masked-LM cross-entropy over the labelled positions and the logits of
 * those positions, `[count, vocab]` — what `BertForMaskedLM.forward` returns
 * with `logitsFor: 'labelled'` — as a scalar loss whose backward fills the
 * `.grad` of every tensor in `params` (under `noGrad` a plain scalar).
 *
 * @param key object the reusable workspace is attached to (the model)
 * @param inputIds int32 `[batch, seqLen]`; positions are 0…seqLen−1
 * @param tokenTypeIds int32 `[batch, seqLen]` or null (zeros)
 * @param attentionMask int32 `[batch, seqLen]` (1 = real token) or null
 * @param labels int32 `[batch, seqLen]`, −100 = not predicted
 * @param returnLogits false: `logits` is an empty `[0, vocab]` tensor (no copy)
 * @throws RangeError (from the kernel) for an id, label or token type outside its range
 * @throws MuseError `STALE_ACTIVATIONS` when backward() follows another forward of the same model
 */
export function kernelMLMLoss(
  kernels: BertTrainKernels, key: object, cfg: BertConfig, params: FusedBertParams,
  inputIds: Tensor, tokenTypeIds: Tensor | null, attentionMask: Tensor | null, labels: Tensor, returnLogits = true,
): { loss: Tensor; logits: Tensor } {
  const [B, T] = inputIds.shape as [number, number];
  const N = B * T;
  const C = cfg.hidden_size;
  const V = cfg.vocab_size;
  const L = cfg.num_hidden_layers;
  const shape = {
    batch: B, t: T, nLayer: L, nHead: cfg.num_attention_heads, hidden: C, intermediate: cfg.intermediate_size, vocab: V,
    nPositions: cfg.max_position_embeddings, typeVocab: cfg.type_vocab_size, eps: cfg.layer_norm_eps, act: kernelAct(cfg.hidden_act),
  };
  let kw = workspaces.get(key);
  const s = kw?.ws.shape;
  // One workspace per model, reused by every batch whose batch·seqLen fits
  // (length-grouped batches change seqLen from one step to the next).
  if (!kw || !s || s.batch * s.t < N || s.nLayer !== L || s.hidden !== C || s.vocab !== V || s.nHead !== shape.nHead ||
      s.intermediate !== shape.intermediate || s.nPositions !== shape.nPositions || s.typeVocab !== shape.typeVocab ||
      s.eps !== shape.eps || s.act !== shape.act) {
    const cap = s && s.batch * s.t > N ? { batch: s.batch, t: s.t } : { batch: B, t: T };
    kw = { ws: kernels.workspace({ ...shape, batch: Math.max(cap.batch, B), t: Math.max(cap.t, T) }), masks: null, logits: new Float32Array(0), forwards: 0 };
    workspaces.set(key, kw);
  }
  const drop = params.dropout;
  let masks: F32 | null = null;
  if (drop && drop.p > 0) {
    const n = (1 + 2 * L) * N * C;
    if (!kw.masks || kw.masks.length < n) kw.masks = new Float32Array(n);
    masks = kw.masks.subarray(0, n);
    // One mask after another, in the op-by-op path's order.
    for (let i = 0; i < 1 + 2 * L; i++) drop.gen.fillDropoutMask(masks.subarray(i * N * C, (i + 1) * N * C), drop.p);
  }
  const ids = (inputIds.data as I32).slice();
  const types = tokenTypeIds ? (tokenTypeIds.data as I32).slice() : null;
  const mask = attentionMask ? (attentionMask.data as I32).slice() : null;
  const lab = (labels.data as I32).slice();
  let count = 0;
  for (let i = 0; i < N; i++) if (lab[i] !== -100) count++;
  const weights = params.tensors.map((t) => t.data as F32);
  // Kept between steps: a fresh [count, vocab] array per step (30 MB for the
  // bundled recipe) costs page faults and garbage collection.
  if (kw.logits.length < count * V) kw.logits = new Float32Array(count * V);
  const logits = kw.logits.subarray(0, count * V);
  const losses = new Float32Array(count);
  const ws = kw.ws;
  kernels.forward({ workspace: ws, batch: B, t: T, weights, ids, tokenTypes: types, attentionMask: mask, labels: lab, masks, logits, losses });
  const forwardNo = ++kw.forwards;
  const owner = kw;
  let total = 0;
  for (let i = 0; i < count; i++) total += losses[i];
  // No labelled position: PyTorch's mean over zero rows is NaN.
  const loss = fromArray(new Float32Array([count > 0 ? total / count : NaN]), []);
  const logitsT = returnLogits ? fromArray(logits.slice(), [count, V]) : fromArray(new Float32Array(0), [0, V]);
  if (isGradEnabled()) {
    const parents = params.tensors;
    record(loss, parents, (gLoss) => {
      if (owner.forwards !== forwardNo || workspaces.get(key) !== owner) throw staleActivationsError('BertForMaskedLM');
      const { grads, accumulate } = kernelGradBuffers(parents);
      const gScale = count > 0 ? gLoss[0] / count : 0;
      kernels.backward({ workspace: ws, weights, grads, ids, tokenTypes: types, attentionMask: mask, labels: lab, masks, logits, gScale, accumulate });
      return accumulate ? parents.map(() => null) : grads;
    });
  }
  return { loss, logits: logitsT };
}
