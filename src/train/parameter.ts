/**
 * What the optimizer and the clipping code need from a parameter: its flat
 * float32 storage, its shape and its accumulated gradient. The engine's
 * `Tensor` satisfies this structurally; keeping the training machinery typed
 * against this small shape lets it drive any model built from `Module`.
 */
export interface TrainableParameter {
  /** Parameter shape, e.g. `[nEmbd, 3·nEmbd]` for GPT-2's `c_attn.weight`. */
  readonly shape: readonly number[];
  /** Contiguous row-major values; must be a `Float32Array` to be trained. */
  readonly data: Float32Array | Int32Array;
  /** The gradient accumulated by `backward()` since the last `zeroGrad()`, or null when none reached it. */
  grad: { readonly data: Float32Array | Int32Array } | null;
}

/** A parameter with its Hugging Face dotted name, as `Module.namedParameters()` returns it. */
export type NamedParameter = [name: string, param: TrainableParameter];
