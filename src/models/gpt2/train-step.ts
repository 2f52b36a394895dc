/**
 * The GPT-2 training step on the native backend: the language-model loss and
 * the gradient of every parameter computed by the backend's whole-step
 * kernel ({@link Backend.gptTrain}: `native/src/train_step.cc`, data-parallel
 * over the batch, llm.c's `gpt2_forward`/`gpt2_backward` organisation), handed
 * to autograd as ONE node whose parents are the model's parameters. The
 * Trainer, clipping and AdamW see an ordinary loss tensor and ordinary `.grad`s.
 *
 * A backend without that kernel (the js one) trains GPT-2 op by op through
 * autograd (`model.ts`); the two agree within float rounding of the
 * weight-gradient sums (test/models/gpt-train-step.test.ts).
 */
import { Tensor, fromArray, type Generator } from '../../tensor/index.js';
import { record, isGradEnabled } from '../../tensor/autograd.js';
import type { Backend, F32, I32 } from '../../backend/backend.js';
import { kernelGradBuffers, staleActivationsError } from '../kernel-grads.js';
import type { GptTrainKernels, GptTrainWorkspace } from './kernels.js';
import type { GPTConfig } from './config.js';

/** The parameters of one block, in the order the fused path lists them. */
export interface FusedBlockParams {
  ln1w: Tensor; ln1b: Tensor; attnW: Tensor; attnB: Tensor; projW: Tensor; projB: Tensor;
  ln2w: Tensor; ln2b: Tensor; fcW: Tensor; fcB: Tensor; fc2W: Tensor; fc2B: Tensor;
}

/** Every trainable tensor of a GPT, tied `wte` once, and its dropout. */
export interface FusedGPTParams {
  /**
   * Active dropout (training mode): rates and the generator the model's
   * Dropout modules draw from, so masks are drawn in the op-by-op path's
   * order (embeddings, then per block after attn.c_proj and after mlp.c_proj).
   */
  dropout: { embd: number; resid: number; gen: Generator } | null;
  wte: Tensor;
  wpe: Tensor;
  blocks: FusedBlockParams[];
  lnfW: Tensor;
  lnfB: Tensor;
}

/** The backend-owned workspace of the whole-step kernel, and the dropout masks it reads. */
interface KernelWorkspace {
  ws: GptTrainWorkspace;
  losses: F32;
  masks: F32 | null;
  /** Forwards run on this workspace: a backward must belong to the latest. */
  forwards: number;
}
const kernelWorkspaces = new WeakMap<object, KernelWorkspace>();

/**
 * Whether {@link fusedLMLoss} can stand in for the op-by-op forward of a model
 * with this config on backend `be`: the backend has the whole-step kernel,
 * GELU is the tanh approximation and the MLP is 4× wide (dropout is supported).
 */
export function fusedTrainSupported(cfg: GPTConfig, be: Backend): boolean {
  return be.gptTrain !== undefined && cfg.activation_function !== 'gelu' && (cfg.n_inner ?? 4 * cfg.n_embd) === 4 * cfg.n_embd;
}

/**
 * Mean next-token cross-entropy of a GPT-2 over `inputIds` `[batch, seqLen]`
 * with `targets` `[batch, seqLen]` (-100 = ignored), positions `0…seqLen−1`,
 * dropout off — what `GPT.forward(ids, { targets })` computes — as a scalar
 * tensor whose backward fills the `.grad` of every parameter in `params`
 * (under `noGrad` a plain scalar: evaluation).
 *
 * @param kernels the backend's whole-step kernel ({@link fusedTrainSupported} said it exists)
 * @param key object the reusable buffers are attached to (the model)
 * @returns `{ loss, logits }` with logits `[batch, seqLen, vocab]` (not differentiable)
 * @throws RangeError (from the kernels) when an id is outside the vocabulary
 */
export function fusedLMLoss(
  kernels: GptTrainKernels,
  key: object,
  cfg: GPTConfig,
  params: FusedGPTParams,
  inputIds: Tensor,
  targets: Tensor,
): { loss: Tensor; logits: Tensor } {
  const [B, T] = inputIds.shape as [number, number];
  const N = B * T;
  const V = cfg.vocab_size;
  const ids = (inputIds.data as I32).slice();
  const tg = (targets.data as I32).slice();
  for (let i = 0; i < N; i++) {
    if (ids[i] < 0 || ids[i] >= V) throw new RangeError(`GPT.forward: token id ${ids[i]} is outside the vocabulary [0, ${V})`);
  }
  return kernelLMLoss(kernels, key, cfg, params, ids, tg, B, T);
}

function parentsOf(params: FusedGPTParams): Tensor[] {
  const parents: Tensor[] = [params.wte, params.wpe];
  for (const p of params.blocks) parents.push(p.ln1w, p.ln1b, p.attnW, p.attnB, p.projW, p.projB, p.ln2w, p.ln2b, p.fcW, p.fcB, p.fc2W, p.fc2B);
  parents.push(params.lnfW, params.lnfB);
  return parents;
}

/**
 * {@link fusedLMLoss} on the backend's whole-step kernel: masks drawn here in
 * the op-by-op order, one forward call now, one backward call from the
 * autograd node.
 */
function kernelLMLoss(
  kernels: GptTrainKernels, key: object, cfg: GPTConfig, params: FusedGPTParams, ids: I32, tg: I32, B: number, T: number,
): { loss: Tensor; logits: Tensor } {
  const N = B * T;
  const C = cfg.n_embd;
  const V = cfg.vocab_size;
  const L = cfg.n_layer;
  let kw = kernelWorkspaces.get(key);
  const s = kw?.ws.shape;
  // One workspace per model, reused by every batch whose batch·seqLen fits
  // (fine-tuning pads each batch to its own length); a larger batch gets a
  // larger one.
  if (!kw || !s || s.batch * s.t < N || s.nLayer !== L || s.nEmbd !== C || s.vocab !== V || s.nHead !== cfg.n_head || s.nPositions !== cfg.n_positions || s.eps !== cfg.layer_norm_epsilon) {
    const cap = s && s.batch * s.t > N ? s : { batch: B, t: T };
    kw = {
      ws: kernels.workspace({ batch: Math.max(cap.batch, B), t: Math.max(cap.t, T), nLayer: L, nHead: cfg.n_head, nEmbd: C, vocab: V, nPositions: cfg.n_positions, eps: cfg.layer_norm_epsilon }),
      losses: new Float32Array(N),
      masks: null,
      forwards: 0,
    };
    kernelWorkspaces.set(key, kw);
  }
  if (kw.losses.length < N) kw.losses = new Float32Array(N);
  const drop = params.dropout;
  const maskEmbd = !!drop && drop.embd > 0;
  const maskResid = !!drop && drop.resid > 0;
  const nMasks = (maskEmbd ? 1 : 0) + (maskResid ? 2 * L : 0);
  let masks: F32 | null = null;
  if (drop && nMasks > 0) {
    if (!kw.masks || kw.masks.length < nMasks * N * C) kw.masks = new Float32Array(nMasks * N * C);
    masks = kw.masks.subarray(0, nMasks * N * C);
    let at = 0;
    const next = (p: number): void => {
      drop.gen.fillDropoutMask(masks!.subarray(at, at + N * C), p);
      at += N * C;
    };
    if (maskEmbd) next(drop.embd);
    if (maskResid) for (let l = 0; l < 2 * L; l++) next(drop.resid);
  }
  const d = (t: Tensor): F32 => t.data as F32;
  const weights: F32[] = [d(params.wte), d(params.wpe), d(params.lnfW), d(params.lnfB)];
  for (const p of params.blocks) weights.push(...[p.ln1w, p.ln1b, p.attnW, p.attnB, p.projW, p.projB, p.ln2w, p.ln2b, p.fcW, p.fcB, p.fc2W, p.fc2B].map(d));
  const logits = new Float32Array(N * V);
  const ws = kw.ws;
  const losses = kw.losses;
  const count = kernels.forward({ workspace: ws, batch: B, t: T, weights, ids, targets: tg, masks, maskEmbd, maskResid, logits, losses });
  const forwardNo = ++kw.forwards;
  const owner = kw;
  let total = 0;
  for (let i = 0; i < N; i++) total += losses[i];
  // All targets ignored: PyTorch's mean over zero rows is NaN.
  const loss = fromArray(new Float32Array([count > 0 ? total / count : NaN]), []);
  const logitsT = fromArray(logits, [B, T, V]);
  if (isGradEnabled()) {
    const parents = parentsOf(params);
    record(loss, parents, (gLoss) => {
      if (owner.forwards !== forwardNo || kernelWorkspaces.get(key) !== owner) throw staleActivationsError('GPT');
      const { grads, accumulate } = kernelGradBuffers(parents);
      // The kernel lists ln_f right after the embeddings; the node lists it last.
      const kernelOrder = [grads[0], grads[1], grads[grads.length - 2], grads[grads.length - 1], ...grads.slice(2, -2)];
      const gScale = count > 0 ? gLoss[0] / count : 0;
      kernels.backward({ workspace: ws, weights, grads: kernelOrder, ids, targets: tg, masks, maskEmbd, maskResid, logits, gScale, accumulate });
      return accumulate ? parents.map(() => null) : grads;
    });
  }
  return { loss, logits: logitsT };
}
