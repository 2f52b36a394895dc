import { Generator, Tensor, linear, narrow, rand, sigmoid, split, stack, tanh, zeros } from '../../tensor/index.js';
import { Module } from '../../nn/module.js';
import { ShapeError } from '../../errors.js';

/**
 * PyTorch's uniform initialiser `U(−k, k)` with `k = 1/√hiddenSize`, as
 * `nn.GRU.reset_parameters` draws every weight and bias.
 */
function uniformInit(shape: number[], k: number, gen: Generator, init: boolean): Tensor {
  if (!init) return zeros(shape);
  return rand(shape, gen).mul(2 * k).sub(k).detach();
}

/** Options of {@link GRU}. */
export interface GRUOptions {
  gen: Generator;
  /** false = start from zeros because a checkpoint will be loaded (default true). */
  init?: boolean;
}

/**
 * A single-layer, unidirectional GRU (Cho et al. 2014) written with the
 * tensor ops, with PyTorch `nn.GRU`'s parameter names, layouts, gate order
 * (r, z, n) and equations, so its weights load from a `torch.nn.GRU`
 * `state_dict` (layer 0):
 *
 * ```
 * r  = σ(W_ir x + b_ir + W_hr h + b_hr)
 * z  = σ(W_iz x + b_iz + W_hz h + b_hz)
 * n  = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))
 * h' = (1 − z) ⊙ n + z ⊙ h
 * ```
 *
 * `weight_ih_l0` `[3·hidden, input]`, `weight_hh_l0` `[3·hidden, hidden]`,
 * `bias_ih_l0` / `bias_hh_l0` `[3·hidden]`. The input projection of the whole
 * sequence is one GEMM; only the recurrent product runs per step.
 */
export class GRU extends Module {
  readonly weightIh: Tensor;
  readonly weightHh: Tensor;
  readonly biasIh: Tensor;
  readonly biasHh: Tensor;

  constructor(readonly inputSize: number, readonly hiddenSize: number, opts: GRUOptions) {
    super();
    const k = 1 / Math.sqrt(hiddenSize);
    const init = opts.init ?? true;
    this.weightIh = this.registerParameter('weight_ih_l0', uniformInit([3 * hiddenSize, inputSize], k, opts.gen, init));
    this.weightHh = this.registerParameter('weight_hh_l0', uniformInit([3 * hiddenSize, hiddenSize], k, opts.gen, init));
    this.biasIh = this.registerParameter('bias_ih_l0', uniformInit([3 * hiddenSize], k, opts.gen, init));
    this.biasHh = this.registerParameter('bias_hh_l0', uniformInit([3 * hiddenSize], k, opts.gen, init));
  }

  /** The input half of the gates for every step: `x` `[batch, seqLen, input]` → `[batch, seqLen, 3·hidden]`. */
  projectInput(x: Tensor): Tensor {
    if (x.shape[x.shape.length - 1] !== this.inputSize) {
      throw new ShapeError(`GRU: input has ${x.shape[x.shape.length - 1]} features per step, the layer expects ${this.inputSize}`);
    }
    return linear(x, this.weightIh, this.biasIh);
  }

  /**
   * One step from a projected input.
   * @param gi `[batch, 3·hidden]` (a row of {@link GRU.projectInput})
   * @param h `[batch, hidden]`
   * @returns h' `[batch, hidden]`
   */
  cell(gi: Tensor, h: Tensor): Tensor {
    const H = this.hiddenSize;
    const gh = linear(h, this.weightHh, this.biasHh);
    const [ir, iz, inn] = split(gi, H, -1) as [Tensor, Tensor, Tensor];
    const [hr, hz, hn] = split(gh, H, -1) as [Tensor, Tensor, Tensor];
    const r = sigmoid(ir.add(hr));
    const z = sigmoid(iz.add(hz));
    const n = tanh(inn.add(r.mul(hn)));
    // (1 − z)·n + z·h, written with one product fewer
    return n.add(z.mul(h.sub(n)));
  }

  /**
   * Run the whole sequence.
   * @param x `[batch, seqLen, input]`
   * @param h0 `[batch, hidden]` (default zeros, as PyTorch)
   * @param mask optional `[batch, seqLen]` float 0/1: where 0 the state is carried over unchanged
   *   (padding after the end of a shorter row), so `hN` is each row's state after its last real step
   * @returns `output` `[batch, seqLen, hidden]` (every step's state) and `hN` `[batch, hidden]`
   * @throws ShapeError when the shapes do not fit
   */
  forward(x: Tensor, h0?: Tensor, mask?: Tensor): { output: Tensor; hN: Tensor } {
    if (x.ndim !== 3) throw new ShapeError(`GRU: input must be [batch, seqLen, ${this.inputSize}], got [${x.shape.join(', ')}]`);
    const [B, T] = x.shape as [number, number, number];
    let h = h0 ?? zeros([B, this.hiddenSize]);
    if (h.shape[0] !== B || h.shape[1] !== this.hiddenSize) {
      throw new ShapeError(`GRU: h0 must be [${B}, ${this.hiddenSize}], got [${h.shape.join(', ')}]`);
    }
    if (mask && (mask.shape[0] !== B || mask.shape[1] !== T)) {
      throw new ShapeError(`GRU: mask must be [${B}, ${T}], got [${mask.shape.join(', ')}]`);
    }
    const gi = this.projectInput(x);
    const outs: Tensor[] = [];
    for (let t = 0; t < T; t++) {
      const git = narrow(gi, 1, t, 1).reshape([B, 3 * this.hiddenSize]);
      let next = this.cell(git, h);
      if (mask) {
        const m = narrow(mask, 1, t, 1); // [B, 1]
        next = h.add(m.mul(next.sub(h)));
      }
      h = next;
      outs.push(h);
    }
    return { output: stack(outs, 1), hN: h };
  }
}
