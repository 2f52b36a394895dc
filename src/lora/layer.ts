/**
 * LoRA (Hu et al. 2021, "LoRA: Low-Rank Adaptation of Large Language
 * Models") on one frozen linear layer, as Hugging Face PEFT's `lora.Linear`
 * computes it:
 *
 *     y = base(x) + scaling · B(A(dropout(x)))
 *
 * with `lora_A.weight` A `[r, in]` (Kaiming-uniform, a = √5, as
 * `nn.Linear` initialises: U(−1/√in, 1/√in)), `lora_B.weight` B `[out, r]`
 * (zeros, so a fresh adapter leaves the model unchanged) and
 * `scaling = lora_alpha / r` (or `lora_alpha / √r` with rsLoRA, Kalajievski
 * 2023). The base keeps its storage: a float32 tensor whose gradient is off,
 * or a stored half/quantized {@link QuantizedWeight} (QLoRA-style, Dettmers
 * et al. 2023), multiplied in place by {@link storedLinear}.
 */
import { Tensor, Generator, linear, fromArray, matmul, noGrad } from '../tensor/index.js';
import { needsGrad, record } from '../tensor/autograd.js';
import { gemm } from '../tensor/ops-linalg.js';
import { allocF32 } from '../tensor/pool.js';
import { Module } from '../nn/module.js';
import { ConfigError, ShapeError } from '../errors.js';
import { dequantizeRow, rowBytes } from '../quant/formats.js';
import { quantLinear } from '../quant/linear.js';
import type { QuantizedWeight } from '../quant/weight.js';

/** The hyperparameters of one adapter (PEFT `LoraConfig` names, camelCased). */
export interface LoraHyperparameters {
  /** Rank r (PEFT `r`, default 8). */
  r: number;
  /** α (PEFT `lora_alpha`, default 8). */
  loraAlpha: number;
  /** Dropout probability on the adapter's input (PEFT `lora_dropout`, default 0). */
  loraDropout: number;
  /** Scale by α/√r instead of α/r (PEFT `use_rslora`). */
  useRslora: boolean;
}

/**
 * The scaling of the adapter's output: α/r, or α/√r with rsLoRA.
 * @throws ConfigError when r is not a positive integer
 */
export function loraScaling(h: Pick<LoraHyperparameters, 'r' | 'loraAlpha' | 'useRslora'>): number {
  if (!Number.isInteger(h.r) || h.r < 1) throw new ConfigError(`LoRA rank r must be a positive integer, got ${h.r} (typical: 8 or 16)`);
  return h.useRslora ? h.loraAlpha / Math.sqrt(h.r) : h.loraAlpha / h.r;
}

/** A module holding one `weight` parameter, so names read `lora_A.weight` as in PEFT's files. */
export class LoraWeight extends Module {
  readonly weight: Tensor;
  constructor(weight: Tensor) {
    super();
    this.weight = this.registerParameter('weight', weight);
  }
}

/**
 * `y = x · Wᵀ (+ bias)` for a stored weight W `[out, in]` (any ggml type),
 * differentiable in `x` only (the weight is frozen): the backward pass
 * computes `dx = dy · W` with W dequantized into a transient float32 buffer
 * (one layer's weight at a time) and one GEMM. Forward follows
 * the quantized kernel contract of `src/quant/linear.ts`.
 * @param x `[..., in]` float32
 * @param w the stored weight `[out, in]`
 * @param bias `[out]` or null (frozen)
 * @returns `[..., out]`
 * @throws ShapeError when the last axis of x is not `w.cols`
 */
export function storedLinear(x: Tensor, w: QuantizedWeight, bias: Tensor | null): Tensor {
  const K = w.cols;
  const N = w.rows;
  if (x.shape[x.shape.length - 1] !== K) throw new ShapeError(`storedLinear: input [${x.shape.join(', ')}] must end in ${K} (the weight is [${N}, ${K}])`);
  const M = x.size / K;
  const out = quantLinear(w, x.data as Float32Array, M, { bias: bias ? (bias.data as Float32Array) : null });
  const res = new Tensor(out, [...x.shape.slice(0, -1), N]);
  if (needsGrad(x)) {
    record(res, [x], (g) => {
      // dx = dy · W: W dequantized into one transient float32 [out, in] buffer, then one GEMM on the backend.
      const rb = rowBytes(w.type, K);
      const wf = new Float32Array(N * K);
      for (let n = 0; n < N; n++) dequantizeRow(w.type, w.bytes.subarray(n * rb, (n + 1) * rb), K, wf.subarray(n * K, (n + 1) * K));
      return [noGrad(() => matmul(fromArray(g, [M, N]), fromArray(wf, [N, K])).data as Float32Array)];
    });
  }
  return res;
}

/**
 * The adapter's first half with its dropout fused in: `dropout(x, p)·Aᵀ`,
 * `x` `[..., in]`, `A` `[r, in]` → `[..., r]` — the same numbers as
 * `linear(dropout(x, p, true, gen), A)` (one mask drawn from `gen`, kept
 * values scaled by 1/(1−p)). The mask is kept as one byte per element and the
 * dropped input is rebuilt in the backward pass, so the layer holds on to `x`
 * (which the layer's other adapters share) instead of two float32 arrays of
 * its size (mask and dropped copy): for a 0.5 B model at 4 × 256 tokens that
 * is about 40 MB per decoder layer.
 * @throws ShapeError when the last axis of `x` is not A's `in`
 */
export function dropoutLinear(x: Tensor, p: number, gen: Generator, A: Tensor): Tensor {
  const [r, inF] = A.shape as [number, number];
  if (x.shape[x.shape.length - 1] !== inF) throw new ShapeError(`dropoutLinear: input [${x.shape.join(', ')}] must end in ${inF} (A is [${r}, ${inF}])`);
  const n = x.size;
  const rows = n / inF;
  const xd = x.data as Float32Array;
  const keep = 1 / (1 - p);
  const xin = allocF32(n);
  gen.fillDropoutMask(xin, p);
  const kept = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const m = xin[i];
    kept[i] = m !== 0 ? 1 : 0;
    xin[i] = xd[i] * m;
  }
  const out = allocF32(rows * r);
  gemm({ a: xin, b: A.data as Float32Array, c: out, m: rows, n: r, k: inF, transA: false, transB: true });
  const res = new Tensor(out, [...x.shape.slice(0, -1), r]);
  if (needsGrad(x, A)) {
    const xGrad = x.requiresGrad;
    const aGrad = A.requiresGrad;
    const ad = A.data as Float32Array;
    record(res, [x, A], (g) => {
      let dx: Float32Array | null = null;
      let dA: Float32Array | null = null;
      if (aGrad) {
        const again = allocF32(n);
        for (let i = 0; i < n; i++) again[i] = kept[i] ? xd[i] * keep : 0;
        dA = allocF32(r * inF);
        gemm({ a: g, b: again, c: dA, m: r, n: inF, k: rows, transA: true, transB: false });
      }
      if (xGrad) {
        dx = allocF32(n);
        gemm({ a: g, b: ad, c: dx, m: rows, n: inF, k: r, transA: false, transB: false });
        for (let i = 0; i < n; i++) dx[i] = kept[i] ? dx[i] * keep : 0;
      }
      return [dx, dA];
    });
  }
  return res;
}

/** What {@link LoraLinear} needs from the frozen layer it wraps. */
export interface LoraBase {
  /** The frozen forward pass `[..., in]` → `[..., out]`. */
  forward(x: Tensor): Tensor;
}

/**
 * Kaiming-uniform with a = √5 over fan-in `inFeatures` (what `nn.Linear` and
 * PEFT's `reset_lora_parameters` draw for `lora_A`): U(−1/√in, 1/√in).
 * @returns `[r, inFeatures]` float32
 */
export function kaimingUniformA(r: number, inFeatures: number, gen: Generator): Tensor {
  const bound = 1 / Math.sqrt(inFeatures);
  const d = new Float32Array(r * inFeatures);
  for (let i = 0; i < d.length; i++) d[i] = (2 * gen.random() - 1) * bound;
  return fromArray(d, [r, inFeatures]);
}

/**
 * A LoRA adapter attached to a frozen linear layer (PEFT `lora.Linear`).
 * Parameters: `lora_A.weight` `[r, in]`, `lora_B.weight` `[out, r]`.
 */
export class LoraLinear extends Module {
  readonly lora_A: LoraWeight;
  readonly lora_B: LoraWeight;
  /** α/r or α/√r. */
  readonly scaling: number;
  /** False while the adapter is switched off (the base alone runs). */
  enabled = true;

  /**
   * @param base the frozen layer (its forward is called as is)
   * @param inFeatures in
   * @param outFeatures out
   * @param h rank, α, dropout, rsLoRA
   * @param gen draws A's initial values and the dropout masks
   * @param owner the module whose `training` flag switches dropout (default this one)
   * @throws ConfigError for a bad rank or dropout
   */
  constructor(
    private base: LoraBase,
    readonly inFeatures: number,
    readonly outFeatures: number,
    readonly hyper: LoraHyperparameters,
    private readonly gen: Generator,
    private readonly owner: Module | null = null,
  ) {
    super();
    this.scaling = loraScaling(hyper);
    if (!(hyper.loraDropout >= 0 && hyper.loraDropout < 1)) throw new ConfigError(`lora_dropout must be in [0, 1), got ${hyper.loraDropout} (typical: 0.05)`);
    this.lora_A = this.registerModule('lora_A', new LoraWeight(kaimingUniformA(hyper.r, inFeatures, gen)));
    this.lora_B = this.registerModule('lora_B', new LoraWeight(fromArray(new Float32Array(outFeatures * hyper.r), [outFeatures, hyper.r])));
  }

  /**
   * `x` `[..., in]` → `[..., out]` = base(x) + scaling · dropout(x)·Aᵀ·Bᵀ.
   * @param baseOut base(x) when the caller already has it
   */
  forward(x: Tensor, baseOut?: Tensor): Tensor {
    const y = baseOut ?? this.base.forward(x);
    if (!this.enabled) return y;
    const training = this.owner ? this.owner.training : this.training;
    const p = this.hyper.loraDropout;
    const t = training && p > 0 ? dropoutLinear(x, p, this.gen, this.lora_A.weight) : linear(x, this.lora_A.weight, null, { weightLayout: 'outIn' });
    const h = linear(t, this.lora_B.weight, null, { weightLayout: 'outIn' });
    return y.add(h.mul(this.scaling));
  }

  /** Replaces the frozen forward (e.g. by a stored-weight one). */
  setBase(base: LoraBase): void {
    this.base = base;
  }

  /**
   * ΔW = scaling · B·A as `[out, in]` float32 (transpose it for a Conv1D
   * base stored `[in, out]`, PEFT's `fan_in_fan_out`).
   */
  deltaWeight(): Float32Array {
    const r = this.hyper.r;
    const A = this.lora_A.weight.data as Float32Array;
    const B = this.lora_B.weight.data as Float32Array;
    const out = new Float32Array(this.outFeatures * this.inFeatures);
    for (let o = 0; o < this.outFeatures; o++) {
      for (let j = 0; j < r; j++) {
        const b = B[o * r + j] * this.scaling;
        if (b === 0) continue;
        const ao = j * this.inFeatures;
        const oo = o * this.inFeatures;
        for (let i = 0; i < this.inFeatures; i++) out[oo + i] += b * A[ao + i];
      }
    }
    return out;
  }
}
