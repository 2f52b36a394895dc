import type { AdamWParams, Backend } from '../backend/backend.js';
import { getBackend } from '../backend/index.js';
import { ConfigError, FileFormatError, ShapeError } from '../errors.js';
import type { StTensor } from '../io/safetensors.js';
import type { NamedParameter, TrainableParameter } from './parameter.js';

/**
 * Decides which parameters are exempt from weight decay.
 * @param name the Hugging Face dotted name, e.g. `transformer.h.0.ln_1.weight`
 * @param param the parameter (its `shape` is what most rules look at)
 * @returns true to train this parameter without weight decay
 */
export type NoDecayRule = (name: string, param: TrainableParameter) => boolean;

// The module that owns a weight is the name segment before `.weight`; these are
// the Hugging Face names of embedding tables (GPT-2 `wte`/`wpe`, BERT
// `word_embeddings`/`position_embeddings`/`token_type_embeddings`, BART/T5
// `shared`/`embed_tokens`/`embed_positions`, plain `embedding`/`embeddings`).
const EMBEDDING_OWNER = /^(wte|wpe|shared|embed_[a-z_]+|[a-z_]*embeddings?)$/i;

/**
 * The default rule, as issue 4 asks: no weight decay on biases, LayerNorm
 * weights (every tensor of rank < 2) and embedding tables (recognised by the
 * Hugging Face name of their module, see `EMBEDDING_OWNER`); decay on every
 * other matrix. With GPT-2's tied `lm_head.weight`, the shared tensor is listed
 * once as `transformer.wte.weight` and is therefore not decayed.
 */
export const defaultNoDecay: NoDecayRule = (name, param) => {
  if (param.shape.length < 2) return true;
  const parts = name.split('.');
  const owner = parts.length >= 2 ? parts[parts.length - 2] : parts[0];
  return EMBEDDING_OWNER.test(owner);
};

/**
 * nanoGPT's actual rule (`GPT.configure_optimizers`): decay every tensor of
 * rank ≥ 2, embeddings included; no decay on rank < 2 (biases, LayerNorm).
 * Use it to reproduce nanoGPT runs exactly.
 */
export const nanoGptNoDecay: NoDecayRule = (_name, param) => param.shape.length < 2;

/** Hyperparameters of {@link AdamW}; defaults are PyTorch's `torch.optim.AdamW`. */
export interface AdamWOptions {
  /** β₁, the first-moment decay (default 0.9). */
  beta1?: number;
  /** β₂, the second-moment decay (default 0.999; nanoGPT's char presets use 0.99). */
  beta2?: number;
  /** ε added to the denominator (default 1e-8). */
  eps?: number;
  /** Decoupled weight decay λ for the decayed group (default 0.01, PyTorch's; nanoGPT uses 0.1). */
  weightDecay?: number;
  /** Which parameters get no decay (default {@link defaultNoDecay}). */
  noDecay?: NoDecayRule;
  /** Kernel set to run the update on (default: `getBackend()` at each step). */
  backend?: Backend;
}

interface ParamState {
  name: string;
  param: TrainableParameter;
  decay: boolean;
  expAvg: Float32Array;
  expAvgSq: Float32Array;
  step: number;
}

/**
 * AdamW (Loshchilov & Hutter 2019, "Decoupled Weight Decay Regularization",
 * Algorithm 2) with PyTorch `torch.optim.AdamW` semantics, per parameter with
 * a gradient, at step t (1-based, counted per parameter):
 *
 * ```
 * p  ← p − lr·λ·p                      (decoupled decay; λ = 0 in the no-decay group)
 * g  ← gradScale · ∇p
 * m  ← β₁·m + (1−β₁)·g
 * v  ← β₂·v + (1−β₂)·g²
 * p  ← p − lr/(1−β₁ᵗ) · m / (√v/√(1−β₂ᵗ) + ε)
 * ```
 *
 * Two parameter groups, as nanoGPT's `configure_optimizers` builds them: the
 * decayed group and the no-decay group (chosen by `noDecay`). A parameter whose
 * `grad` is null is skipped entirely (no decay, no moment update, its step
 * count stays), as PyTorch does. The update itself is one fused backend kernel
 * per parameter (`Backend.adamw`).
 */
export class AdamW {
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  private readonly backend: Backend | undefined;
  private readonly states: ParamState[];

  /**
   * @param params the named parameters to optimise (e.g. `model.namedParameters()`), in a stable order
   * @throws ConfigError on a hyperparameter out of range (β outside [0, 1), ε ≤ 0, λ < 0) or a duplicate name
   * @throws ShapeError when a parameter is not float32
   */
  constructor(params: Iterable<NamedParameter>, opts: AdamWOptions = {}) {
    this.beta1 = opts.beta1 ?? 0.9;
    this.beta2 = opts.beta2 ?? 0.999;
    this.eps = opts.eps ?? 1e-8;
    this.weightDecay = opts.weightDecay ?? 0.01;
    this.backend = opts.backend;
    for (const [k, v] of [['beta1', this.beta1], ['beta2', this.beta2]] as const) {
      if (!(v >= 0 && v < 1)) throw new ConfigError(`AdamW ${k} must be in [0, 1), got ${v} (typical: beta1 0.9, beta2 0.95–0.999)`);
    }
    if (!(this.eps > 0)) throw new ConfigError(`AdamW eps must be > 0, got ${this.eps} (typical: 1e-8)`);
    if (!(this.weightDecay >= 0) || !Number.isFinite(this.weightDecay)) {
      throw new ConfigError(`AdamW weightDecay must be a finite number ≥ 0, got ${this.weightDecay} (nanoGPT: 0.1)`);
    }
    const noDecay = opts.noDecay ?? defaultNoDecay;
    const seen = new Set<string>();
    this.states = [];
    for (const [name, param] of params) {
      if (seen.has(name)) throw new ConfigError(`AdamW: parameter name "${name}" appears twice; names must be unique`);
      seen.add(name);
      if (!(param.data instanceof Float32Array)) {
        throw new ShapeError(`AdamW: parameter "${name}" is int32; only float32 parameters can be trained`);
      }
      const n = param.data.length;
      this.states.push({ name, param, decay: !noDecay(name, param), expAvg: new Float32Array(n), expAvgSq: new Float32Array(n), step: 0 });
    }
  }

  /** Parameter names in each group (for logging: nanoGPT prints the two group sizes). */
  groups(): { decay: string[]; noDecay: string[] } {
    return {
      decay: this.states.filter((s) => s.decay).map((s) => s.name),
      noDecay: this.states.filter((s) => !s.decay).map((s) => s.name),
    };
  }

  /** The largest per-parameter step count (the number of updates taken). */
  get stepCount(): number {
    let m = 0;
    for (const s of this.states) m = Math.max(m, s.step);
    return m;
  }

  /**
   * One optimizer step over every parameter that has a gradient.
   * @param lr learning rate for this step (from the schedule)
   * @param gradScale factor applied to each gradient as it is read (global-norm
   *   clipping and `1 / accumulationSteps`; see `clipGradNorm`)
   * @throws ConfigError when `lr` or `gradScale` is negative or not finite
   * @throws ShapeError when a gradient's size differs from its parameter's
   */
  step(lr: number, gradScale = 1): void {
    if (!(lr >= 0) || !Number.isFinite(lr)) throw new ConfigError(`AdamW.step: learning rate must be a finite number ≥ 0, got ${lr}`);
    if (!(gradScale >= 0) || !Number.isFinite(gradScale)) {
      throw new ConfigError(`AdamW.step: gradScale must be a finite number ≥ 0, got ${gradScale}; skip the step when the gradient norm is not finite`);
    }
    const backend = this.backend ?? getBackend();
    const updates: AdamWParams[] = [];
    for (const s of this.states) {
      const g = s.param.grad;
      if (g === null) continue;
      if (!(g.data instanceof Float32Array) || g.data.length !== s.expAvg.length) {
        throw new ShapeError(`AdamW.step: the gradient of "${s.name}" has ${g.data.length} elements, the parameter ${s.expAvg.length}; gradients must be float32 and the parameter's size`);
      }
      s.step += 1;
      updates.push({
        param: s.param.data as Float32Array,
        grad: g.data,
        expAvg: s.expAvg,
        expAvgSq: s.expAvgSq,
        lr,
        beta1: this.beta1,
        beta2: this.beta2,
        eps: this.eps,
        weightDecay: s.decay ? this.weightDecay : 0,
        step: s.step,
        gradScale,
      });
    }
    // One call for every tensor where the backend can (one parallel region
    // instead of one small kernel per tensor); identical results either way.
    if (backend.adamwMany) backend.adamwMany(updates);
    else for (const u of updates) backend.adamw(u);
  }

  /**
   * The optimizer state as tensors for `optimizer.safetensors`: for each
   * parameter `state.<name>.exp_avg` and `state.<name>.exp_avg_sq` (F32, the
   * parameter's shape; PyTorch's state keys) and `state.<name>.step` (I32 `[1]`).
   * The arrays are copies: the map stays valid after further steps.
   */
  stateDict(): Map<string, StTensor> {
    const out = new Map<string, StTensor>();
    for (const s of this.states) {
      const shape = [...s.param.shape];
      out.set(`state.${s.name}.exp_avg`, { dtype: 'F32', shape, data: s.expAvg.slice() });
      out.set(`state.${s.name}.exp_avg_sq`, { dtype: 'F32', shape, data: s.expAvgSq.slice() });
      out.set(`state.${s.name}.step`, { dtype: 'I32', shape: [1], data: Int32Array.of(s.step) });
    }
    return out;
  }

  /**
   * Restore moments and step counts saved by {@link AdamW.stateDict}.
   * Hyperparameters are not part of the state: they come from the config.
   * @throws FileFormatError when a parameter's entries are missing, have the
   *   wrong dtype, or the map holds entries for parameters this optimizer does
   *   not have (the checkpoint belongs to another model)
   * @throws ShapeError when a moment's shape differs from its parameter's
   */
  loadStateDict(sd: Map<string, StTensor>): void {
    const known = new Set<string>();
    const loaded: { s: ParamState; m: Float32Array; v: Float32Array; step: number }[] = [];
    for (const s of this.states) {
      const keys = [`state.${s.name}.exp_avg`, `state.${s.name}.exp_avg_sq`, `state.${s.name}.step`];
      for (const k of keys) known.add(k);
      const [m, v, st] = keys.map((k) => sd.get(k));
      if (!m || !v || !st) {
        const missing = keys.filter((k) => !sd.has(k));
        throw new FileFormatError(`optimizer state is missing ${missing.join(', ')}; the checkpoint was saved for a different model or is incomplete (resume without optimizer state, or from a matching checkpoint)`);
      }
      for (const [k, t] of [[keys[0], m], [keys[1], v]] as const) {
        if (t.dtype !== 'F32' || !(t.data instanceof Float32Array)) throw new FileFormatError(`optimizer state ${k} has dtype ${t.dtype}; expected F32`);
        if (t.shape.length !== s.param.shape.length || t.shape.some((d, i) => d !== s.param.shape[i])) {
          throw new ShapeError(`optimizer state ${k} has shape [${t.shape.join(', ')}] but parameter "${s.name}" has shape [${s.param.shape.join(', ')}]; the checkpoint does not match this model`);
        }
      }
      if (st.data.length !== 1 || !Number.isInteger(st.data[0]) || st.data[0] < 0) {
        throw new FileFormatError(`optimizer state ${keys[2]} must hold one integer step count ≥ 0`);
      }
      loaded.push({ s, m: m.data as Float32Array, v: v.data as Float32Array, step: st.data[0] });
    }
    const unexpected = [...sd.keys()].filter((k) => !known.has(k));
    if (unexpected.length) {
      throw new FileFormatError(`optimizer state holds entries for parameters this model does not have: ${unexpected.slice(0, 5).join(', ')}${unexpected.length > 5 ? ` and ${unexpected.length - 5} more` : ''}; resume from a checkpoint of the same model`);
    }
    // Validate everything before touching any state, so a bad file leaves the optimizer as it was.
    for (const { s, m, v, step } of loaded) {
      s.expAvg.set(m);
      s.expAvgSq.set(v);
      s.step = step;
    }
  }
}
