import type { Tensor } from './tensor.js';
import { MuseError, ShapeError } from '../errors.js';
import { shapeStr } from './shape.js';

/**
 * One recorded op of the autograd tape: the inputs it read and a closure that
 * maps the gradient of its output to the gradients of those inputs.
 *
 * Contract for `backward`: it receives `grad` (same size as the output) and
 * returns one entry per parent: null (no gradient), the very `grad` buffer it
 * received (pass-through, e.g. reshape, add of equal shapes) or a freshly
 * allocated buffer. It must never return a tensor's own `data`.
 */
export interface GradNode {
  readonly parents: Tensor[];
  backward: (grad: Float32Array) => (Float32Array | null)[];
}

let gradEnabled = true;

/** Whether ops currently record the autograd tape (false inside {@link noGrad}). */
export function isGradEnabled(): boolean {
  return gradEnabled;
}

/**
 * Run `fn` with gradient recording off (PyTorch `torch.no_grad()`): ops inside
 * build no graph and their results have `requiresGrad = false`. Synchronous:
 * an async `fn` would only be covered up to its first await.
 * @returns whatever `fn` returns
 */
export function noGrad<T>(fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = false;
  try {
    return fn();
  } finally {
    gradEnabled = prev;
  }
}

/** True when an op over `inputs` must record a node. */
export function needsGrad(...inputs: (Tensor | null | undefined)[]): boolean {
  if (!gradEnabled) return false;
  for (const t of inputs) if (t && t.requiresGrad) return true;
  return false;
}

/** Attach a node to `out` (call only when {@link needsGrad} said so). */
export function record(out: Tensor, parents: Tensor[], backward: GradNode['backward']): Tensor {
  out._setNode({ parents, backward });
  return out;
}

function releasedError(): MuseError {
  return new MuseError(
    'GRAPH_RELEASED',
    'backward: part of this graph was already released by an earlier backward() (graphs are freed after use); recompute the forward pass, or detach() tensors you reuse across steps',
  );
}

function addInto(dst: Float32Array, src: Float32Array): void {
  const n = dst.length;
  for (let i = 0; i < n; i++) dst[i] += src[i];
}

/**
 * Reverse-mode sweep from `root` (a topological order of the recorded nodes,
 * processed outputs-first). Gradients of a tensor used several times are
 * summed; leaves with `requiresGrad` get (accumulate into) `.grad`. Afterwards
 * every visited node is released — closures, saved tensors and intermediate
 * gradients become garbage — so the graph cannot be walked twice (PyTorch's
 * default `retain_graph=False`).
 *
 * @throws MuseError when root does not require grad or was already backpropagated
 * @throws ShapeError when `grad` does not match root's shape, or root is not a scalar and no grad is given
 */
export function runBackward(root: Tensor, grad?: Tensor): void {
  if (!root.requiresGrad) {
    throw new MuseError('NO_GRAD', 'backward: this tensor does not require grad (no input had requiresGrad, or it was computed under noGrad)');
  }
  if (root._released) throw releasedError();
  let seed: Float32Array;
  let seedOwned: boolean;
  if (grad) {
    if (grad.size !== root.size || grad.shape.length !== root.shape.length || grad.shape.some((d, i) => d !== root.shape[i])) {
      throw new ShapeError(`backward: gradient shape ${shapeStr(grad.shape)} does not match the tensor's shape ${shapeStr(root.shape)}`);
    }
    seed = grad.data instanceof Float32Array ? grad.data : Float32Array.from(grad.data);
    seedOwned = false;
  } else {
    if (root.size !== 1) {
      throw new ShapeError(`backward: a gradient is needed for a non-scalar tensor of shape ${shapeStr(root.shape)} (pass backward(grad) or reduce to a scalar first)`);
    }
    seed = new Float32Array([1]);
    seedOwned = true;
  }

  // Iterative post-order DFS over non-leaf tensors (deep graphs must not overflow the stack).
  const order: Tensor[] = [];
  const visited = new Set<Tensor>();
  const rootNode = root._node;
  if (rootNode) {
    const stack: [Tensor, number][] = [[root, 0]];
    visited.add(root);
    while (stack.length) {
      const top = stack[stack.length - 1];
      const node = top[0]._node as GradNode;
      if (top[1] < node.parents.length) {
        const p = node.parents[top[1]++];
        if (p._released) throw releasedError();
        if (p._node && !visited.has(p)) {
          visited.add(p);
          stack.push([p, 0]);
        }
      } else {
        order.push(top[0]);
        stack.pop();
      }
    }
  }

  const grads = new Map<Tensor, { g: Float32Array; owned: boolean }>();
  const deliver = (t: Tensor, g: Float32Array, owned: boolean): void => {
    if (!t._node) {
      if (t._released) throw releasedError();
      // leaf
      if (t.grad === null) t.grad = t._makeGrad(owned ? g : g.slice());
      else addInto(t.grad.data as Float32Array, g);
      return;
    }
    const prev = grads.get(t);
    if (!prev) grads.set(t, { g, owned });
    else if (prev.owned) addInto(prev.g, g);
    else {
      const sum = prev.g.slice();
      addInto(sum, g);
      grads.set(t, { g: sum, owned: true });
    }
  };

  if (!rootNode) {
    deliver(root, seed, seedOwned);
    return;
  }
  grads.set(root, { g: seed, owned: seedOwned });
  for (let i = order.length - 1; i >= 0; i--) {
    const t = order[i];
    const node = t._node as GradNode;
    const entry = grads.get(t);
    grads.delete(t);
    t._setNode(null);
    if (!entry) continue;
    const res = node.backward(entry.g);
    for (let j = 0; j < node.parents.length; j++) {
      const gj = res[j];
      const p = node.parents[j];
      if (!gj || !p.requiresGrad) continue;
      let shared = gj === entry.g && !entry.owned;
      for (let k = 0; k < res.length && !shared; k++) if (k !== j && res[k] === gj) shared = true;
      deliver(p, gj, !shared);
    }
  }
}
