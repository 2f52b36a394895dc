/**
 * The GPT-2 training fast path: the language-model loss and its gradient for
 * every parameter, computed layer by layer straight on backend kernels into
 * buffers kept from one step to the next (llm.c's `gpt2_forward` /
 * `gpt2_backward` organisation), and handed to autograd as ONE node whose
 * parents are the model's parameters. The Trainer, clipping and AdamW see an
 * ordinary loss tensor and ordinary `.grad`s.
 *
 * Why: on small models the op-by-op autograd path spends more time allocating,
 * zero-filling and recording than computing. Here a step allocates only the
 * gradient buffers it returns and the logits.
 *
 * Same arithmetic as the op-by-op path (same kernels); checked against it in
 * test/models/gpt-fused-train.test.ts on both backends.
 *
 * When the backend has the whole step as a kernel ({@link Backend.gptTrain}:
 * the native one, data-parallel over the batch), that runs instead of the
 * composition below; same node, same masks, same results within float
 * rounding of the weight-gradient sums.
 */
import { Tensor, fromArray, type Generator } from '../../tensor/index.js';
import { record, isGradEnabled } from '../../tensor/autograd.js';
import { getBackend } from '../../backend/index.js';
import { kernelGradBuffers, staleActivationsError } from '../kernel-grads.js';
import type { Backend, F32, GptTrainKernels, GptTrainWorkspace, I32 } from '../../backend/backend.js';
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

/** Activations of one block saved for backward, `[N = batch·seqLen, …]`. */
interface BlockActs {
  xin: F32; // [N, C] residual stream entering the block
  h1: F32; mean1: F32; rstd1: F32; // ln_1
  qkv: F32; // [N, 3C]
  qkvh: F32; // [3, B, H, T, D]
  yh: F32; lse: F32; // attention out [B, H, T, D], log-sum-exp [B, H, T]
  ym: F32; // merged heads [N, C]
  xmid: F32; // [N, C] after the attention residual
  h2: F32; mean2: F32; rstd2: F32; // ln_2
  fc: F32; // [N, 4C] before GELU
  g: F32; // [N, 4C] after GELU
  maskAttn: F32 | null; // resid dropout masks [N, C] (0 or 1/(1−p)), when active
  maskMlp: F32 | null;
}

/** Buffers for one (batch, seqLen) shape, reused across steps. */
class Workspace {
  readonly acts: BlockActs[] = [];
  readonly xout: F32;
  readonly hf: F32; readonly meanf: F32; readonly rstdf: F32;
  readonly losses: F32; readonly lseCE: F32; readonly rowScale: F32;
  readonly tmpC: F32; readonly tmpC2: F32; readonly tmp4C: F32; readonly tmp3C: F32; readonly tmpHeads: F32; readonly dqkvh: F32;
  readonly dpos: F32;
  readonly dlogits: F32;
  /** Residual-stream gradients: two buffers used in turn, and the mid-block one. */
  readonly dresA: F32; readonly dresB: F32; readonly dxmid: F32;
  maskEmbd: F32 | null = null;

  constructor(readonly B: number, readonly T: number, cfg: GPTConfig) {
    const N = B * T;
    const C = cfg.n_embd;
    const H = cfg.n_head;
    const f = (n: number): F32 => new Float32Array(n);
    for (let l = 0; l < cfg.n_layer; l++) {
      this.acts.push({
        xin: f(N * C), h1: f(N * C), mean1: f(N), rstd1: f(N), qkv: f(N * 3 * C), qkvh: f(N * 3 * C),
        yh: f(N * C), lse: f(B * H * T), ym: f(N * C), xmid: f(N * C), h2: f(N * C), mean2: f(N), rstd2: f(N),
        fc: f(N * 4 * C), g: f(N * 4 * C), maskAttn: null, maskMlp: null,
      });
    }
    this.xout = f(N * C);
    this.hf = f(N * C); this.meanf = f(N); this.rstdf = f(N);
    this.losses = f(N); this.lseCE = f(N); this.rowScale = f(N);
    this.tmpC = f(N * C); this.tmpC2 = f(N * C); this.tmp4C = f(N * 4 * C); this.tmp3C = f(N * 3 * C);
    this.tmpHeads = f(N * C); this.dqkvh = f(N * 3 * C);
    this.dpos = f(T * C);
    this.dlogits = f(N * cfg.vocab_size);
    this.dresA = f(N * C); this.dresB = f(N * C); this.dxmid = f(N * C);
  }
}

const workspaces = new WeakMap<object, Workspace>();

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
 * with this config: tanh GELU and a 4× MLP (dropout is supported).
 */
export function fusedTrainSupported(cfg: GPTConfig): boolean {
  return (
    cfg.activation_function !== 'gelu' && (cfg.n_inner ?? 4 * cfg.n_embd) === 4 * cfg.n_embd
  );
}

/** `out[N, n] = bias` broadcast over rows. */
function fillBias(be: Backend, bias: F32, out: F32, N: number, n: number): void {
  be.copyStrided(bias, 0, [0, 1], [N, n], out);
}

/** `out = x[N, K] · W[K, n] + bias` (HF Conv1D). */
function conv1d(be: Backend, x: F32, W: F32, bias: F32, out: F32, N: number, K: number, n: number): void {
  fillBias(be, bias, out, N, n);
  be.gemm({ a: x, b: W, c: out, batch: 1, m: N, n, k: K, transA: false, transB: false, alpha: 1, beta: 1, aOffset: 0, bOffset: 0, cOffset: 0, aBatchStride: 0, bBatchStride: 0, cBatchStride: 0 });
}

/** Gradients of a Conv1D: `dW = xᵀ·dy`, `db = Σ_rows dy`, `dx = dy·Wᵀ` (dx overwritten). */
function conv1dBackward(be: Backend, x: F32, W: F32, dy: F32, dW: F32, db: F32, dx: F32, N: number, K: number, n: number): void {
  be.gemm({ a: x, b: dy, c: dW, batch: 1, m: K, n, k: N, transA: true, transB: false, alpha: 1, beta: 0, aOffset: 0, bOffset: 0, cOffset: 0, aBatchStride: 0, bBatchStride: 0, cBatchStride: 0 });
  be.reduce('sum', dy, db, 1, N, n);
  be.gemm({ a: dy, b: W, c: dx, batch: 1, m: N, n: K, k: n, transA: false, transB: true, alpha: 1, beta: 0, aOffset: 0, bOffset: 0, cOffset: 0, aBatchStride: 0, bBatchStride: 0, cBatchStride: 0 });
}

function addInto(be: Backend, a: F32, b: F32, out: F32, n: number): void {
  be.binary('add', a, [1], b, [1], out, [n]);
}

function mulInto(be: Backend, a: F32, b: F32, out: F32, n: number): void {
  be.binary('mul', a, [1], b, [1], out, [n]);
}

/**
 * An inverted-dropout mask (0 with probability p, else 1/(1−p)), drawn
 * element by element from `gen` exactly as `dropout()` in tensor/ops-nn draws it.
 */
function dropoutMask(prev: F32 | null, n: number, p: number, gen: Generator): F32 {
  const mask = prev && prev.length === n ? prev : new Float32Array(n);
  gen.fillDropoutMask(mask, p);
  return mask;
}

/**
 * Mean next-token cross-entropy of a GPT-2 over `inputIds` `[batch, seqLen]`
 * with `targets` `[batch, seqLen]` (-100 = ignored), positions `0…seqLen−1`,
 * dropout off — what `GPT.forward(ids, { targets })` computes — as a scalar
 * tensor whose backward fills the `.grad` of every parameter in `params`
 * (under `noGrad` a plain scalar: evaluation).
 *
 * @param key object the reusable buffers are attached to (the model)
 * @returns `{ loss, logits }` with logits `[batch, seqLen, vocab]` (not differentiable)
 * @throws RangeError (from the kernels) when an id is outside the vocabulary
 */
export function fusedLMLoss(
  key: object,
  cfg: GPTConfig,
  params: FusedGPTParams,
  inputIds: Tensor,
  targets: Tensor,
): { loss: Tensor; logits: Tensor } {
  const be = getBackend();
  const [B, T] = inputIds.shape as [number, number];
  const N = B * T;
  const C = cfg.n_embd;
  const H = cfg.n_head;
  const D = C / H;
  const V = cfg.vocab_size;
  const L = cfg.n_layer;
  const eps = cfg.layer_norm_epsilon;
  let ws = workspaces.get(key);
  if (!ws || ws.B !== B || ws.T !== T) {
    ws = new Workspace(B, T, cfg);
    workspaces.set(key, ws);
  }
  const d = (t: Tensor): F32 => t.data as F32;
  const ids = (inputIds.data as I32).slice();
  const tg = (targets.data as I32).slice();
  for (let i = 0; i < N; i++) {
    if (ids[i]! < 0 || ids[i]! >= V) throw new RangeError(`GPT.forward: token id ${ids[i]} is outside the vocabulary [0, ${V})`);
  }
  if (be.gptTrain) return kernelLMLoss(be.gptTrain, key, cfg, params, ids, tg, B, T);

  // Embeddings: x0 = wte[ids] + wpe[t].
  const x0 = ws.acts[0]!.xin;
  be.embedding(d(params.wte), ids, ws.tmpC, N, C);
  be.binary('add', ws.tmpC, [T * C, C, 1], d(params.wpe), [0, C, 1], x0, [B, T, C]);
  const drop = params.dropout;
  ws.maskEmbd = drop && drop.embd > 0 ? dropoutMask(ws.maskEmbd, N * C, drop.embd, drop.gen) : null;
  if (ws.maskEmbd) mulInto(be, x0, ws.maskEmbd, x0, N * C);

  const attnShape = { batch: B, heads: H, tq: T, tk: T, headDim: D, scale: 1 / Math.sqrt(D), causal: true, keyPaddingMask: null };
  for (let l = 0; l < L; l++) {
    const a = ws.acts[l]!;
    const p = params.blocks[l]!;
    const xnext = l + 1 < L ? ws.acts[l + 1]!.xin : ws.xout;
    be.layerNorm(a.xin, d(p.ln1w), d(p.ln1b), a.h1, a.mean1, a.rstd1, N, C, eps);
    conv1d(be, a.h1, d(p.attnW), d(p.attnB), a.qkv, N, C, 3 * C);
    // [B, T, 3, H, D] → [3, B, H, T, D]
    be.copyStrided(a.qkv, 0, [C, T * 3 * C, D, 3 * C, 1], [3, B, H, T, D], a.qkvh);
    const n = N * C;
    be.attention({ ...attnShape, q: a.qkvh.subarray(0, n), k: a.qkvh.subarray(n, 2 * n), v: a.qkvh.subarray(2 * n, 3 * n), out: a.yh, lse: a.lse });
    // [B, H, T, D] → [B, T, H, D]
    be.copyStrided(a.yh, 0, [H * T * D, D, T * D, 1], [B, T, H, D], a.ym);
    conv1d(be, a.ym, d(p.projW), d(p.projB), ws.tmpC, N, C, C);
    a.maskAttn = drop && drop.resid > 0 ? dropoutMask(a.maskAttn, n, drop.resid, drop.gen) : null;
    if (a.maskAttn) mulInto(be, ws.tmpC, a.maskAttn, ws.tmpC, n);
    addInto(be, a.xin, ws.tmpC, a.xmid, n);
    be.layerNorm(a.xmid, d(p.ln2w), d(p.ln2b), a.h2, a.mean2, a.rstd2, N, C, eps);
    conv1d(be, a.h2, d(p.fcW), d(p.fcB), a.fc, N, C, 4 * C);
    be.unary('gelu_tanh', a.fc, a.g, N * 4 * C);
    conv1d(be, a.g, d(p.fc2W), d(p.fc2B), ws.tmpC, N, 4 * C, C);
    a.maskMlp = drop && drop.resid > 0 ? dropoutMask(a.maskMlp, n, drop.resid, drop.gen) : null;
    if (a.maskMlp) mulInto(be, ws.tmpC, a.maskMlp, ws.tmpC, n);
    addInto(be, a.xmid, ws.tmpC, xnext, n);
  }
  be.layerNorm(ws.xout, d(params.lnfW), d(params.lnfB), ws.hf, ws.meanf, ws.rstdf, N, C, eps);
  const logits = new Float32Array(N * V);
  be.gemm({ a: ws.hf, b: d(params.wte), c: logits, batch: 1, m: N, n: V, k: C, transA: false, transB: true, alpha: 1, beta: 0, aOffset: 0, bOffset: 0, cOffset: 0, aBatchStride: 0, bBatchStride: 0, cBatchStride: 0 });
  const count = be.crossEntropy(logits, tg, ws.losses, ws.lseCE, N, V, -100, 0);
  let total = 0;
  for (let i = 0; i < N; i++) total += ws.losses[i]!;
  // All targets ignored: PyTorch's mean over zero rows is NaN.
  const lossValue = count > 0 ? total / count : NaN;
  const loss = fromArray(new Float32Array([lossValue]), []);
  const logitsT = fromArray(logits, [B, T, V]);

  const parents = parentsOf(params);
  const w = ws;
  // Under noGrad (evaluation) nothing is recorded: a plain loss value.
  if (isGradEnabled()) record(loss, parents, (gLoss) => backward(be, cfg, params, w, logits, ids, tg, count, gLoss[0]!, B, T));
  return { loss, logits: logitsT };
}

/** The parents of the loss node, in the order the backward returns gradients. */
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
  for (let i = 0; i < N; i++) total += losses[i]!;
  // All targets ignored: PyTorch's mean over zero rows is NaN.
  const loss = fromArray(new Float32Array([count > 0 ? total / count : NaN]), []);
  const logitsT = fromArray(logits, [B, T, V]);
  if (isGradEnabled()) {
    const parents = parentsOf(params);
    record(loss, parents, (gLoss) => {
      if (owner.forwards !== forwardNo || kernelWorkspaces.get(key) !== owner) throw staleActivationsError('GPT');
      const { grads, accumulate } = kernelGradBuffers(parents);
      // The kernel lists ln_f right after the embeddings; the node lists it last.
      const kernelOrder = [grads[0]!, grads[1]!, grads[grads.length - 2]!, grads[grads.length - 1]!, ...grads.slice(2, -2)];
      const gScale = count > 0 ? gLoss[0]! / count : 0;
      kernels.backward({ workspace: ws, weights, grads: kernelOrder, ids, targets: tg, masks, maskEmbd, maskResid, logits, gScale, accumulate });
      return accumulate ? parents.map(() => null) : grads;
    });
  }
  return { loss, logits: logitsT };
}

/** Gradients of every parameter, in the `parents` order of {@link fusedLMLoss}. */
function backward(
  be: Backend, cfg: GPTConfig, params: FusedGPTParams, ws: Workspace, logits: F32, ids: I32, tg: I32,
  count: number, gLoss: number, B: number, T: number,
): Float32Array[] {
  const N = B * T;
  const C = cfg.n_embd;
  const H = cfg.n_head;
  const D = C / H;
  const V = cfg.vocab_size;
  const L = cfg.n_layer;
  const d = (t: Tensor): F32 => t.data as F32;
  const f = (t: Tensor): F32 => new Float32Array(t.size);
  const dwte = f(params.wte);
  const dwpe = f(params.wpe);
  const dlnfW = f(params.lnfW);
  const dlnfB = f(params.lnfB);

  ws.rowScale.fill(count > 0 ? gLoss / count : 0);
  const dlogits = ws.dlogits;
  be.crossEntropyBackward(logits, tg, ws.lseCE, ws.rowScale, dlogits, N, V, -100, 0);
  // Tied lm_head: dwte = dlogitsᵀ·hf, dhf = dlogits·wte.
  be.gemm({ a: dlogits, b: ws.hf, c: dwte, batch: 1, m: V, n: C, k: N, transA: true, transB: false, alpha: 1, beta: 0, aOffset: 0, bOffset: 0, cOffset: 0, aBatchStride: 0, bBatchStride: 0, cBatchStride: 0 });
  const dhf = ws.tmpC2;
  be.gemm({ a: dlogits, b: d(params.wte), c: dhf, batch: 1, m: N, n: C, k: V, transA: false, transB: false, alpha: 1, beta: 0, aOffset: 0, bOffset: 0, cOffset: 0, aBatchStride: 0, bBatchStride: 0, cBatchStride: 0 });
  // dres: gradient of the residual stream, carried down through the blocks.
  let dres: F32 = ws.dresA;
  be.layerNormBackward(dhf, ws.xout, d(params.lnfW), ws.meanf, ws.rstdf, dres, dlnfW, dlnfB, N, C);

  const blockGrads: Float32Array[][] = [];
  const n = N * C;
  const dxTmp = ws.tmpC;
  for (let l = L - 1; l >= 0; l--) {
    const a = ws.acts[l]!;
    const p = params.blocks[l]!;
    const g = [p.ln1w, p.ln1b, p.attnW, p.attnB, p.projW, p.projB, p.ln2w, p.ln2b, p.fcW, p.fcB, p.fc2W, p.fc2B].map(f);
    const [dln1w, dln1b, dattnW, dattnB, dprojW, dprojB, dln2w, dln2b, dfcW, dfcB, dfc2W, dfc2B] = g as [F32, F32, F32, F32, F32, F32, F32, F32, F32, F32, F32, F32];
    // MLP: xnext = xmid + c_proj(gelu(c_fc(ln_2(xmid)))).
    const dg = ws.tmp4C;
    let dmlp: F32 = dres;
    if (a.maskMlp) {
      mulInto(be, dres, a.maskMlp, ws.tmpHeads, n);
      dmlp = ws.tmpHeads;
    }
    conv1dBackward(be, a.g, d(p.fc2W), dmlp, dfc2W, dfc2B, dg, N, 4 * C, C);
    be.unaryBackward('gelu_tanh', a.fc, a.g, dg, dg, N * 4 * C);
    conv1dBackward(be, a.h2, d(p.fcW), dg, dfcW, dfcB, dxTmp, N, C, 4 * C);
    const dln2 = ws.tmpC2;
    be.layerNormBackward(dxTmp, a.xmid, d(p.ln2w), a.mean2, a.rstd2, dln2, dln2w, dln2b, N, C);
    const dxmid = ws.dxmid;
    addInto(be, dres, dln2, dxmid, n);
    // Attention: xmid = xin + c_proj(merge(attn(split(c_attn(ln_1(xin)))))).
    let dattn: F32 = dxmid;
    if (a.maskAttn) {
      mulInto(be, dxmid, a.maskAttn, ws.tmpHeads, n);
      dattn = ws.tmpHeads;
    }
    conv1dBackward(be, a.ym, d(p.projW), dattn, dprojW, dprojB, dxTmp, N, C, C);
    // dym [B, T, H, D] → [B, H, T, D]
    be.copyStrided(dxTmp, 0, [T * C, D, C, 1], [B, H, T, D], ws.tmpHeads);
    be.attentionBackward({
      batch: B, heads: H, tq: T, tk: T, headDim: D, scale: 1 / Math.sqrt(D), causal: true, keyPaddingMask: null,
      q: a.qkvh.subarray(0, n), k: a.qkvh.subarray(n, 2 * n), v: a.qkvh.subarray(2 * n, 3 * n), out: a.yh, lse: a.lse,
      dOut: ws.tmpHeads, dq: ws.dqkvh.subarray(0, n), dk: ws.dqkvh.subarray(n, 2 * n), dv: ws.dqkvh.subarray(2 * n, 3 * n),
    });
    // [3, B, H, T, D] → [B, T, 3, H, D]
    be.copyStrided(ws.dqkvh, 0, [H * T * D, D, B * H * T * D, T * D, 1], [B, T, 3, H, D], ws.tmp3C);
    conv1dBackward(be, a.h1, d(p.attnW), ws.tmp3C, dattnW, dattnB, dxTmp, N, C, 3 * C);
    be.layerNormBackward(dxTmp, a.xin, d(p.ln1w), a.mean1, a.rstd1, ws.tmpC2, dln1w, dln1b, N, C);
    const dxin = dres === ws.dresA ? ws.dresB : ws.dresA;
    addInto(be, dxmid, ws.tmpC2, dxin, n);
    dres = dxin;
    blockGrads[l] = g;
  }
  // Embeddings.
  if (ws.maskEmbd) mulInto(be, dres, ws.maskEmbd, dres, N * C);
  be.embeddingBackward(dres, ids, dwte, N, C);
  be.reduce('sum', dres, ws.dpos, 1, B, T * C);
  dwpe.set(ws.dpos);
  const out: Float32Array[] = [dwte, dwpe];
  for (const g of blockGrads) out.push(...g);
  out.push(dlnfW, dlnfB);
  return out;
}
