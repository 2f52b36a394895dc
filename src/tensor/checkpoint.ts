/**
 * Activation checkpointing (Chen et al. 2016, "Training Deep Nets with
 * Sublinear Memory Cost"; PyTorch `torch.utils.checkpoint` with
 * `use_reentrant=True`, `preserve_rng_state=True`): a block's forward runs
 * without recording the graph, so only its input is kept; its backward runs
 * the forward again with recording on and back-propagates through that.
 * Memory per block falls from every intermediate to one input, for one more
 * forward pass of the block.
 */
import { Tensor } from './tensor.js';
import { enableGrad, needsGrad, noGrad, record, runBackward } from './autograd.js';
import { captureRandomStates } from './random.js';

/**
 * `fn(x)`, keeping for the backward pass only `x`: the forward is recomputed
 * when the gradient arrives. Dropout masks are replayed exactly (the
 * generators `fn` drew from are rewound to their states before the first
 * forward, then put back). Gradients of the parameters `fn` uses are
 * accumulated into their `.grad` during that recomputation.
 * @param fn a pure function of `x` and leaf parameters (no in-place changes of
 *   state that a second call would see: a KV cache, running statistics)
 * @param x the block's input, e.g. `[batch, seqLen, hidden]`
 * @param params the trainable tensors `fn` reads; the output requires grad
 *   when `x` or any of them does
 * @returns `fn(x)`, shaped as `fn` returns it
 */
export function checkpoint(fn: (x: Tensor) => Tensor, x: Tensor, params: readonly Tensor[]): Tensor {
  if (!needsGrad(x, ...params)) return fn(x);
  const { result: y, states } = captureRandomStates(() => noGrad(() => fn(x)));
  return record(y, [x], (g) => {
    const resume = [...states.keys()].map((gen) => [gen, gen.getState()] as const);
    for (const [gen, s] of states) gen.setState(s);
    try {
      const xd = x.detach();
      xd.requiresGrad = x.requiresGrad;
      const again = enableGrad(() => fn(xd));
      runBackward(again, new Tensor(g, again.shape));
      return [xd.grad ? (xd.grad.data as Float32Array) : null];
    } finally {
      for (const [gen, s] of resume) gen.setState(s);
    }
  });
}
