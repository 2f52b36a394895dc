/**
 * Pieces shared by the autograd nodes of the whole-step training kernels
 * (`gpt2/train-step.ts`, `bert/train-step.ts`): where the kernel's backward
 * writes the gradients, and the error for a backward whose saved
 * activations a later forward overwrote.
 */
import type { Tensor } from '../tensor/index.js';
import { MuseError } from '../errors.js';

/**
 * The buffers a kernel backward fills, one per parent, in the parents' order.
 * When every parent already holds a float32 gradient buffer of its size (a
 * Trainer zeroes them in place, PyTorch's `zero_grad(set_to_none=False)`),
 * those buffers with `accumulate: true`, so the kernel adds into them and the
 * node allocates nothing (it then returns nulls); otherwise fresh zeroed
 * buffers with `accumulate: false`, which the node returns.
 */
export function kernelGradBuffers(parents: readonly Tensor[]): { grads: Float32Array[]; accumulate: boolean } {
  const existing = parents.map((p) => (p.grad && p.grad.data instanceof Float32Array && p.grad.data.length === p.size ? p.grad.data : null));
  if (existing.every((g) => g !== null)) return { grads: existing, accumulate: true };
  return { grads: parents.map((p) => new Float32Array(p.size)), accumulate: false };
}

/**
 * The error of a backward() after another training forward of the same model:
 * the kernel's saved activations now belong to that forward.
 * @param model the class named in the message, e.g. `GPT`
 */
export function staleActivationsError(model: string): MuseError {
  return new MuseError(
    'STALE_ACTIVATIONS',
    `${model}: backward() of a training loss after another forward of the same model in training mode: its saved activations were overwritten. Call backward() before the next forward (or set model.fusedTrain = false).`,
  );
}
