import { Tensor } from '../tensor/tensor.js';
import { ShapeError } from '../errors.js';

/**
 * The base of every layer and model, after PyTorch's `nn.Module`: named
 * parameters with Hugging Face dotted names (`transformer.h.0.attn.c_attn.weight`),
 * child modules, a training flag that dropout reads, and state dicts.
 *
 * Parameters are registered in construction order; `namedParameters()` walks
 * them depth-first in that order, so the order (and therefore optimizer state
 * layout and checkpoint order) is deterministic. A tensor registered twice
 * (tied weights, e.g. GPT-2's `lm_head.weight` = `transformer.wte.weight`) is
 * listed once, under the first name.
 */
export class Module {
  /** True in training mode (dropout active); see {@link Module.train}. */
  training = true;
  private readonly ownParams = new Map<string, Tensor>();
  private readonly children = new Map<string, Module>();

  /**
   * Register a trainable parameter under `name` (no dots); sets `requiresGrad`.
   * @returns the same tensor, for `this.weight = this.registerParameter(...)`
   */
  registerParameter(name: string, t: Tensor): Tensor {
    t.requiresGrad = true;
    this.ownParams.set(name, t);
    return t;
  }

  /** Register a child module under `name` (a number for list entries, e.g. `h.0`). */
  registerModule<M extends Module>(name: string, m: M): M {
    this.children.set(name, m);
    return m;
  }

  /**
   * Unregister the child module `name` (e.g. an adapter being unloaded).
   * @returns whether there was one
   */
  removeModule(name: string): boolean {
    return this.children.delete(name);
  }

  /** Every parameter with its dotted name, depth-first in registration order, tied tensors once. */
  namedParameters(prefix = ''): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    const seen = new Set<Tensor>();
    this.walk(prefix, (name, t) => {
      if (!seen.has(t)) {
        seen.add(t);
        out.push([name, t]);
      }
    });
    return out;
  }

  /** The parameters of {@link Module.namedParameters}, without names. */
  parameters(): Tensor[] {
    return this.namedParameters().map(([, t]) => t);
  }

  /** Total number of scalar parameters (tied tensors counted once). */
  numParameters(): number {
    return this.parameters().reduce((s, t) => s + t.size, 0);
  }

  /** Child modules by name, in registration order. */
  namedChildren(): [string, Module][] {
    return [...this.children.entries()];
  }

  /** Set training mode on this module and every descendant. */
  train(mode = true): this {
    this.training = mode;
    for (const c of this.children.values()) c.train(mode);
    return this;
  }

  /** Evaluation mode (`train(false)`): dropout off. */
  eval(): this {
    return this.train(false);
  }

  /**
   * Clear every parameter's gradient, as PyTorch's `zero_grad(set_to_none)`:
   * by default drop it (`grad = null`, the memory is freed); with
   * `setToNone: false` fill the existing gradient buffers with zeros and keep
   * them, so the next backward accumulates into them instead of allocating
   * (a parameter without a gradient keeps none).
   */
  zeroGrad(opts: { setToNone?: boolean } = {}): void {
    const setToNone = opts.setToNone ?? true;
    for (const p of this.parameters()) {
      if (setToNone || p.grad === null) p.grad = null;
      else if (p.grad.data instanceof Float32Array) p.grad.data.fill(0);
      else p.grad = null;
    }
  }

  /**
   * Every parameter under every name it is registered under (tied tensors
   * appear under each name, as PyTorch's `state_dict()` does).
   */
  stateDict(): Map<string, Tensor> {
    const out = new Map<string, Tensor>();
    this.walk('', (name, t) => out.set(name, t));
    return out;
  }

  /**
   * Copy values from `sd` into the parameters with the same names.
   * @param strict when true (default) a missing or unexpected name throws
   * @param opts.adopt take over `sd`'s arrays as the parameters' storage
   *   instead of copying them (a loader whose tensors nobody else holds: the
   *   model then holds its weights once); only when dtype and length match
   * @returns the names that were missing from `sd` and the names in `sd` the model does not have
   * @throws ShapeError when a tensor's shape differs from the parameter's (names both shapes)
   * @throws ShapeError in strict mode when names are missing or unexpected (lists them)
   */
  loadStateDict(sd: Map<string, Tensor>, strict = true, opts: { adopt?: boolean } = {}): { missing: string[]; unexpected: string[] } {
    const own = this.stateDict();
    const missing: string[] = [];
    for (const [name, p] of own) {
      const src = sd.get(name);
      if (!src) {
        missing.push(name);
        continue;
      }
      if (src.shape.length !== p.shape.length || src.shape.some((d, i) => d !== p.shape[i])) {
        throw new ShapeError(
          `loadStateDict: tensor "${name}" has shape [${src.shape.join(', ')}] but the model expects [${p.shape.join(', ')}]; the checkpoint does not match this config`,
        );
      }
      if (opts.adopt && src.data.constructor === p.data.constructor && src.data.length === p.data.length) p.data = src.data;
      else p.data.set(src.data);
    }
    const unexpected = [...sd.keys()].filter((k) => !own.has(k));
    if (strict && (missing.length || unexpected.length)) {
      throw new ShapeError(
        `loadStateDict: ${missing.length ? `missing tensors: ${missing.join(', ')}` : ''}${missing.length && unexpected.length ? '; ' : ''}${unexpected.length ? `unexpected tensors: ${unexpected.join(', ')}` : ''}`,
      );
    }
    return { missing, unexpected };
  }

  private walk(prefix: string, fn: (name: string, t: Tensor) => void): void {
    for (const [n, t] of this.ownParams) fn(prefix ? `${prefix}.${n}` : n, t);
    for (const [n, c] of this.children) c.walk(prefix ? `${prefix}.${n}` : n, fn);
  }
}
