import type { Tensor } from './tensor.js';
import { MuseError, ShapeError } from '../errors.js';
import { shapeStr } from './shape.js';
import { allocZeroF32, releaseF32, withPool } from './pool.js';

/**
 * One recorded op of the autograd tape: the inputs it read, how many outputs
 * it produced (split has several), and a closure that maps the gradients of
 * those outputs to the gradients of the inputs.
 *
 * Contract for `backward`: it receives one gradient per output (null for an
 * output that received none; at least one is non-null) and returns one entry
 * per parent: null (no gradient), one of the very buffers it received
 * (pass-through, e.g. reshape, add of equal shapes) or a freshly allocated
 * buffer. It must never return a tensor's own `data`.
 *
 * After backward the node is released: closure and parents are dropped and
 * `released` is set, so the tensors it produced can tell that their graph is gone.
 */
export interface GradNode {
  parents: ParentRef[];
  backward: (grads: (Float32Array | null)[]) => GradValue[];
  readonly nOut: number;
  released: boolean;
}

/**
 * A gradient that is zero except for one block per outer row: `g` (shape
 * `[outer, len, inner]`) sits at axis offset `start` of a `[outer, total, inner]`
 * tensor. Returned by narrow's backward so that several narrows of one tensor
 * (q, k, v out of a fused projection) add their blocks into one buffer
 * instead of each materialising a zero-padded full-size gradient.
 */
export class BlockGrad {
  constructor(
    readonly g: Float32Array,
    readonly outer: number,
    readonly len: number,
    readonly total: number,
    readonly start: number,
    readonly inner: number,
  ) {}

  /** Write the block into a zeroed dense `[outer, total, inner]` buffer (one memcpy per outer row). */
  placeInto(dst: Float32Array): void {
    const block = this.len * this.inner;
    for (let o = 0; o < this.outer; o++) {
      dst.set(this.g.subarray(o * block, (o + 1) * block), (o * this.total + this.start) * this.inner);
    }
  }

  /** Add the block into a dense `[outer, total, inner]` buffer. */
  addTo(dst: Float32Array): void {
    const block = this.len * this.inner;
    const g = this.g;
    for (let o = 0; o < this.outer; o++) {
      const d0 = (o * this.total + this.start) * this.inner;
      const s0 = o * block;
      for (let i = 0; i < block; i++) dst[d0 + i] += g[s0 + i];
    }
  }
}

/**
 * What a node holds of an input that is itself an op's output: its place in
 * the graph, not the tensor. Holding the tensor would keep its data alive
 * until the backward pass even when no backward closure needs it (PyTorch's
 * graph, too, links `grad_fn`s and keeps only the tensors ops save), so an
 * intermediate result lives only as long as an op saved it.
 */
export interface GraphRef {
  readonly _node: GradNode;
  readonly _outIndex: number;
  readonly requiresGrad: true;
  readonly grad: null;
}

/** An input of a node: a leaf tensor (which receives `.grad`), or a {@link GraphRef} to an op's output. */
export type ParentRef = Tensor | GraphRef;

function parentRef(t: Tensor): ParentRef {
  const node = t._node;
  return node ? { _node: node, _outIndex: t._outIndex, requiresGrad: true, grad: null } : t;
}

/** What a backward closure returns per parent. */
export type GradValue = Float32Array | BlockGrad | null;

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

/** Run `fn` with gradient recording on (PyTorch `torch.enable_grad()`), e.g. a recomputation inside a backward pass. */
export function enableGrad<T>(fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = true;
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

/** Attach a single-output node to `out` (call only when {@link needsGrad} said so). */
export function record(out: Tensor, parents: Tensor[], backward: (grad: Float32Array) => GradValue[]): Tensor {
  out._setNode({ parents: parents.map(parentRef), backward: (gs) => backward(gs[0] as Float32Array), nOut: 1, released: false }, 0);
  return out;
}

/** Attach one node producing all of `outs` (e.g. split): its backward sees every output's gradient at once. */
export function recordMulti(outs: Tensor[], parents: Tensor[], backward: GradNode['backward']): void {
  const node: GradNode = { parents: parents.map(parentRef), backward, nOut: outs.length, released: false };
  outs.forEach((t, i) => t._setNode(node, i));
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

interface Entry {
  g: Float32Array;
  owned: boolean;
}

const NO_GRADS: GradValue[] = [];

/**
 * Reverse-mode sweep from `root`: nodes are processed in reverse topological
 * order, each once all gradients of its outputs are summed. Gradients of a
 * tensor used several times are summed; leaves with `requiresGrad` get
 * (accumulate into) `.grad`. Every visited node is released afterwards
 * (closures, saved tensors and intermediate gradients become garbage), so a
 * graph cannot be walked twice (PyTorch's default `retain_graph=False`).
 *
 * Gradient buffers are tracked as owned (freshly allocated by a backward, safe
 * to add into) or shared (a caller's gradient or one passed through by
 * several parents), so accumulation never writes into someone else's buffer.
 *
 * @throws MuseError when root does not require grad or its graph was already released
 * @throws ShapeError when `grad` does not match root's shape, or root is not a scalar and no grad is given
 */
export function runBackward(root: Tensor, grad?: Tensor): void {
  if (!root.requiresGrad) {
    throw new MuseError('NO_GRAD', 'backward: this tensor does not require grad (no input had requiresGrad, or it was computed under noGrad)');
  }
  if (root._node?.released) throw releasedError();
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

  const deliverLeaf = (t: Tensor, g: Float32Array, owned: boolean): void => {
    if (t.grad === null) t.grad = t._makeGrad(owned ? g : g.slice());
    else addInto(t.grad.data as Float32Array, g);
  };
  const rootNode = root._node;
  if (!rootNode) {
    deliverLeaf(root, seed, seedOwned);
    return;
  }

  // Iterative post-order DFS over nodes (deep graphs must not overflow the stack).
  const order: GradNode[] = [];
  const visited = new Set<GradNode>([rootNode]);
  const stack: [GradNode, number][] = [[rootNode, 0]];
  while (stack.length) {
    const top = stack[stack.length - 1];
    const node = top[0];
    if (top[1] < node.parents.length) {
      const p = node.parents[top[1]++]._node;
      if (!p) continue;
      if (p.released) throw releasedError();
      if (!visited.has(p)) {
        visited.add(p);
        stack.push([p, 0]);
      }
    } else {
      order.push(node);
      stack.pop();
    }
  }

  const grads = new Map<GradNode, (Entry | null)[]>();
  // The gradient buffer already collected for `t` (made dense and owned), or null.
  const currentGrad = (t: ParentRef): Float32Array | null => {
    const node = t._node;
    if (!node) return t.grad ? (t.grad.data as Float32Array) : null;
    const e = grads.get(node)?.[t._outIndex];
    if (!e) return null;
    if (!e.owned) {
      e.g = e.g.slice();
      e.owned = true;
    }
    return e.g;
  };
  const deliver = (t: ParentRef, g: Float32Array, owned: boolean): void => {
    const node = t._node;
    if (!node) {
      deliverLeaf(t as Tensor, g, owned);
      return;
    }
    let slots = grads.get(node);
    if (!slots) {
      slots = new Array<Entry | null>(node.nOut).fill(null);
      grads.set(node, slots);
    }
    const i = t._outIndex;
    const prev = slots[i];
    if (!prev) slots[i] = { g, owned };
    else if (prev.owned) {
      addInto(prev.g, g);
      if (owned) releaseF32(g);
    }
    else if (owned) {
      addInto(g, prev.g);
      slots[i] = { g, owned: true };
    } else {
      const sum = prev.g.slice();
      addInto(sum, g);
      slots[i] = { g: sum, owned: true };
    }
  };

  deliver(root, seed, seedOwned);
  withPool(() => sweep(order, grads, deliver, currentGrad));
}

function sweep(
  order: GradNode[],
  grads: Map<GradNode, (Entry | null)[]>,
  deliver: (t: ParentRef, g: Float32Array, owned: boolean) => void,
  currentGrad: (t: ParentRef) => Float32Array | null,
): void {
  for (let i = order.length - 1; i >= 0; i--) {
    const node = order[i];
    const slots = grads.get(node);
    grads.delete(node);
    const parents = node.parents;
    const backward = node.backward;
    node.parents = [];
    node.backward = () => NO_GRADS;
    node.released = true;
    if (!slots) continue;
    const res = backward(slots.map((e) => (e ? e.g : null)));
    for (let j = 0; j < parents.length; j++) {
      const gj = res[j];
      const p = parents[j];
      if (!gj || !p.requiresGrad) continue;
      if (gj instanceof BlockGrad) {
        const dst = currentGrad(p);
        if (dst) gj.addTo(dst);
        else {
          const dense = allocZeroF32(gj.outer * gj.total * gj.inner);
          gj.placeInto(dense);
          deliver(p, dense, true);
        }
        continue;
      }
      let shared = false;
      for (const e of slots) if (e && e.g === gj && !e.owned) shared = true;
      for (let k = 0; k < res.length && !shared; k++) if (k !== j && res[k] === gj) shared = true;
      deliver(p, gj, !shared);
    }
    // Owned incoming gradients that were not passed on are dead now: recycle them.
    for (const e of slots) if (e && e.owned && !res.includes(e.g)) releaseF32(e.g);
  }
}
