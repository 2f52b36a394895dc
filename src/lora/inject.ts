/**
 * Attaching LoRA adapters to a model by PEFT's target-module names.
 *
 * PEFT's matching (`check_target_module_exists`): a module whose dotted path
 * equals a target or ends with `.` + target is adapted; `all-linear` adapts
 * every linear layer except the output head. Each adapted layer keeps its
 * name and its frozen weights; its adapter's parameters are registered under
 * it as `lora_A.weight` / `lora_B.weight`, so `model.namedParameters()` names
 * them `<path>.lora_A.weight` — PEFT's file names without the
 * `base_model.model.` prefix. Every other parameter gets `requiresGrad = false`
 * (the Trainer trains only what requires a gradient).
 */
import { Generator } from '../tensor/index.js';
import { Module } from '../nn/module.js';
import { Conv1D, Linear } from '../nn/layers.js';
import { LlamaLinear } from '../models/llama/linear.js';
import { ConfigError } from '../errors.js';
import { quantizeMatrix } from '../quant/quantize.js';
import type { GgmlType } from '../quant/formats.js';
import { LoraLinear, storedLinear, type LoraHyperparameters } from './layer.js';
import type { Tensor } from '../tensor/index.js';

/** PEFT's default `target_modules` per `model_type` (`TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING`). */
export const PEFT_DEFAULT_TARGETS: Readonly<Record<string, readonly string[]>> = {
  gpt2: ['c_attn'],
  llama: ['q_proj', 'v_proj'],
  mistral: ['q_proj', 'v_proj'],
  qwen2: ['q_proj', 'v_proj'],
  qwen3: ['q_proj', 'v_proj'],
  bert: ['query', 'value'],
};

/** Output heads that `all-linear` leaves alone (PEFT excludes the model's output embedding layer). */
const OUTPUT_HEADS = ['lm_head', 'cls.predictions.decoder'];

/**
 * PEFT's `target_modules`: a list of module names (exact or dotted suffix),
 * `'all-linear'`, or — when PEFT's config holds a string — a regular
 * expression that must match a module's whole dotted path
 * (`re.fullmatch`), e.g. `.*\.(q_proj|v_proj)` or the patterns Unsloth writes.
 */
export type TargetModules = readonly string[] | 'all-linear' | { regex: string };

/** A LoRA configuration (PEFT `LoraConfig` fields this engine supports). */
export interface LoraConfig extends LoraHyperparameters {
  /** Which linear layers get adapters. */
  targetModules: TargetModules;
}

/** One adapted layer. */
export interface LoraLayerEntry {
  /** Dotted module path, e.g. `transformer.h.0.attn.c_attn`. */
  path: string;
  /** The frozen layer (its forward now adds the adapter). */
  module: Linear | Conv1D | LlamaLinear;
  /** The adapter. */
  lora: LoraLinear;
  /** True for GPT-2's Conv1D (weight `[in, out]`; PEFT `fan_in_fan_out`). */
  fanInFanOut: boolean;
}

/** A model with adapters attached (what {@link injectLora} returns). */
export interface LoraModel<M extends Module = Module> {
  model: M;
  config: LoraConfig;
  layers: LoraLayerEntry[];
}

/** Every module with its dotted path, depth first (the root as `''`). */
export function namedModules(m: Module, prefix = ''): [string, Module][] {
  const out: [string, Module][] = [[prefix, m]];
  for (const [n, c] of m.namedChildren()) out.push(...namedModules(c, prefix ? `${prefix}.${n}` : n));
  return out;
}

function isLinear(m: Module): m is Linear | Conv1D | LlamaLinear {
  return m instanceof Linear || m instanceof Conv1D || m instanceof LlamaLinear;
}

/**
 * A PEFT `target_modules` regular expression as a JavaScript one that must
 * match the whole path (Python's `re.fullmatch`); Python's named groups
 * `(?P<name>…)` and back-references `(?P=name)` are rewritten.
 * @throws ConfigError when the expression does not compile
 */
export function targetModulesRegExp(regex: string): RegExp {
  const js = regex.replace(/\(\?P</g, '(?<').replace(/\(\?P=(\w+)\)/g, '\\k<$1>');
  try {
    return new RegExp(`^(?:${js})$`);
  } catch (e) {
    throw new ConfigError(`LoRA target_modules: the regular expression ${JSON.stringify(regex)} does not compile (${(e as Error).message}); give a list of module names instead`);
  }
}

/**
 * Whether `path` is adapted under PEFT's rules (`check_target_module_exists`):
 * a list matches a name exactly or as the last dotted parts, a regular
 * expression the whole path, `all-linear` every linear layer but the output head.
 * @param targets which layers to adapt
 */
export function matchesTarget(path: string, targets: TargetModules): boolean {
  if (targets === 'all-linear') return !OUTPUT_HEADS.some((h) => path === h || path.endsWith(`.${h}`));
  if ('regex' in targets) return targetModulesRegExp(targets.regex).test(path);
  return targets.some((t) => path === t || path.endsWith(`.${t}`));
}

/**
 * Parses `--target-modules`: `all-linear` or a comma-separated list.
 * @throws ConfigError for an empty list
 */
export function parseTargetModules(s: string): TargetModules {
  if (s.trim() === 'all-linear') return 'all-linear';
  const names = s.split(',').map((x) => x.trim()).filter(Boolean);
  if (names.length === 0) throw new ConfigError(`--target-modules: no module names in "${s}"; give e.g. q_proj,v_proj or all-linear`);
  return names;
}

/**
 * Attaches adapters to every matching linear layer of `model` and freezes
 * everything else (PEFT `get_peft_model`). Turns off the model's fused
 * training and one-call decode paths, which read the frozen weights directly.
 * @param model a GPT-2, BERT, Llama-family (or any `Linear`-built) model
 * @param config rank, α, dropout, rsLoRA, targets
 * @param opts.gen initialises A and draws dropout masks (default seed 0)
 * @returns the adapted layers
 * @throws ConfigError when no module matches (names the model's linear layers), or a target names no linear layer
 */
export function injectLora<M extends Module>(model: M, config: LoraConfig, opts: { gen?: Generator } = {}): LoraModel<M> {
  const gen = opts.gen ?? new Generator(0);
  const linears = namedModules(model).filter(([, m]) => isLinear(m)) as [string, Linear | Conv1D | LlamaLinear][];
  const chosen = linears.filter(([p]) => matchesTarget(p, config.targetModules));
  const leafNames = [...new Set(linears.map(([p]) => p.split('.').pop()!))];
  const tm = config.targetModules;
  if (tm !== 'all-linear' && 'regex' in tm && chosen.length === 0) {
    throw new ConfigError(`LoRA target_modules /${tm.regex}/ matches no linear layer of this model; its linear layers are at paths like ${linears.slice(0, 3).map(([p]) => p).join(', ')} (or use all-linear)`);
  }
  if (tm !== 'all-linear' && !('regex' in tm)) {
    const missing = tm.filter((t) => !chosen.some(([p]) => p === t || p.endsWith(`.${t}`)));
    if (missing.length) {
      throw new ConfigError(`LoRA target_modules ${missing.join(', ')} match no linear layer of this model; its linear layers are named ${leafNames.join(', ')} (or use all-linear)`);
    }
  }
  if (chosen.length === 0) throw new ConfigError(`LoRA: no linear layer to adapt; this model's linear layers are named ${leafNames.join(', ')}`);
  for (const p of model.parameters()) p.requiresGrad = false;
  const layers: LoraLayerEntry[] = [];
  for (const [path, module] of chosen) {
    const fanInFanOut = module instanceof Conv1D;
    const [inF, outF] = fanInFanOut ? (module.weight.shape as [number, number]) : ([module.weight.shape[1], module.weight.shape[0]] as [number, number]);
    const baseForward = module.forward.bind(module);
    const lora = new LoraLinear({ forward: baseForward }, inF, outF, config, gen, module);
    module.registerModule('lora_A', lora.lora_A);
    module.registerModule('lora_B', lora.lora_B);
    module.forward = (x: Tensor): Tensor => lora.forward(x);
    layers.push({ path, module, lora, fanInFanOut });
  }
  const flags = model as unknown as { fusedTrain?: boolean; fastDecode?: boolean };
  if ('fusedTrain' in flags) flags.fusedTrain = false;
  if ('fastDecode' in flags) flags.fastDecode = false;
  return { model, config, layers };
}

/**
 * QLoRA-style storage: the frozen weight of every adapted layer is stored in
 * `type` (F16, BF16, Q8_0, Q4_K, …; ggml's quantizers) and multiplied in
 * place; its float32 copy is released (the model's state dict then no longer
 * holds those weights: save the adapter, not the model).
 * @throws ShapeError when `in` is not a multiple of the type's block size
 */
export function storeLoraBases(lm: LoraModel, type: GgmlType): void {
  for (const e of lm.layers) {
    const { module, lora } = e;
    const w = module.weight.data as Float32Array;
    const q = quantizeMatrix(w, lora.outFeatures, lora.inFeatures, type, e.fanInFanOut);
    const bias = module.bias;
    lora.setBase({ forward: (x: Tensor): Tensor => storedLinear(x, q, bias) });
    module.weight.data = new Float32Array(0);
  }
}

/**
 * QLoRA's whole frozen base in `type`: the adapted layers' weights as
 * {@link storeLoraBases} stores them, and every other linear layer whose
 * weight is frozen (not the output head, which may share the embedding
 * table) stored the same way and multiplied in place — so a 4- or 8-bit base
 * costs its stored size, not float32. The float32 copies are released: save
 * the adapter, not the model.
 * @param lm the adapted model (after {@link injectLora}, which froze the base)
 * @param type a storage type of `src/quant/formats.ts` (F16, BF16, Q8_0, Q4_K, …)
 * @throws ShapeError when a layer's `in` is not a multiple of the type's block size
 */
export function storeFrozenBase(lm: LoraModel, type: GgmlType): void {
  storeLoraBases(lm, type);
  const adapted = new Set<Module>(lm.layers.map((e) => e.module));
  for (const [path, m] of namedModules(lm.model)) {
    if (!isLinear(m) || adapted.has(m) || m.weight.requiresGrad || OUTPUT_HEADS.some((h) => path === h || path.endsWith(`.${h}`))) continue;
    const fanInFanOut = m instanceof Conv1D;
    const [inF, outF] = fanInFanOut ? (m.weight.shape as [number, number]) : ([m.weight.shape[1], m.weight.shape[0]] as [number, number]);
    const q = quantizeMatrix(m.weight.data as Float32Array, outF, inF, type, fanInFanOut);
    const bias = m.bias;
    m.forward = (x: Tensor): Tensor => storedLinear(x, q, bias);
    m.weight.data = new Float32Array(0);
  }
}

/**
 * Adds every adapter's ΔW = scaling·B·A into its frozen float32 weight and
 * removes the adapters (PEFT `merge_and_unload`; transposed for Conv1D): the
 * model then computes base + adapter with its plain weights, has its original
 * parameter names (so its family saves it as a plain model directory), its
 * fast decode path back, and every parameter trainable again.
 * @throws ConfigError when a base weight was released by {@link storeLoraBases}
 */
export function mergeLora(lm: LoraModel): void {
  for (const e of lm.layers) {
    const w = e.module.weight.data as Float32Array;
    if (w.length !== e.lora.inFeatures * e.lora.outFeatures) throw new ConfigError(`mergeLora: ${e.path} has a stored (quantized) base; load the base in float32 to merge`);
    const d = e.lora.deltaWeight();
    const I = e.lora.inFeatures;
    const O = e.lora.outFeatures;
    if (e.fanInFanOut) for (let o = 0; o < O; o++) for (let i = 0; i < I; i++) w[i * O + o] += d[o * I + i];
    else for (let k = 0; k < d.length; k++) w[k] += d[k];
    e.lora.enabled = false;
    // The instance's forward (the adapter's) goes; the class's plain one is back.
    delete (e.module as { forward?: unknown }).forward;
    e.module.removeModule('lora_A');
    e.module.removeModule('lora_B');
  }
  for (const p of lm.model.parameters()) p.requiresGrad = true;
  const flags = lm.model as unknown as { fastDecode?: boolean; fusedTrain?: boolean };
  if ('fastDecode' in flags) flags.fastDecode = true;
  if ('fusedTrain' in flags) flags.fusedTrain = true;
}

/** The adapter parameters with their in-model names (`<path>.lora_A.weight`, …), in module order. */
export function loraParameters(lm: LoraModel): [string, Tensor][] {
  const out: [string, Tensor][] = [];
  for (const e of lm.layers) {
    out.push([`${e.path}.lora_A.weight`, e.lora.lora_A.weight], [`${e.path}.lora_B.weight`, e.lora.lora_B.weight]);
  }
  return out;
}
