/**
 * Hugging Face PEFT's adapter directory: `adapter_config.json` (a
 * `LoraConfig`) and `adapter_model.safetensors` with tensors named
 * `base_model.model.<module path>.lora_A.weight` `[r, in]` and
 * `….lora_B.weight` `[out, r]` (PEFT's `get_peft_model_state_dict`, adapter
 * name `default` removed), float32.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ConfigError, FileFormatError, ShapeError } from '../errors.js';
import { writeFileAtomic } from '../io/atomic.js';
import { readJsonFile } from '../io/json.js';
import { encodeSafetensors, readSafetensors, type StTensor } from '../io/safetensors.js';
import { replaceDirectory } from '../io/checkpoint.js';
import { targetModulesRegExp, type LoraConfig, type LoraModel, type TargetModules } from './inject.js';

/** PEFT's prefix of every saved adapter tensor. */
export const PEFT_PREFIX = 'base_model.model.';

/** PEFT `task_type` values. */
export type PeftTaskType = 'CAUSAL_LM' | 'SEQ_2_SEQ_LM' | 'TOKEN_CLS' | 'SEQ_CLS' | 'FEATURE_EXTRACTION';

/** The `adapter_config.json` fields muse writes (PEFT `LoraConfig`, snake_case as on disk). */
export interface AdapterConfigJson {
  peft_type: 'LORA';
  task_type: PeftTaskType | null;
  base_model_name_or_path: string | null;
  r: number;
  lora_alpha: number;
  lora_dropout: number;
  target_modules: string[] | string;
  use_rslora: boolean;
  use_dora: boolean;
  fan_in_fan_out: boolean;
  bias: 'none';
  inference_mode: boolean;
  init_lora_weights: boolean;
  modules_to_save: null;
  layers_to_transform: null;
  rank_pattern: Record<string, number>;
  alpha_pattern: Record<string, number>;
}

/** Options of {@link saveAdapter}. */
export interface SaveAdapterOptions {
  /** `base_model_name_or_path`. */
  baseModel?: string | null;
  /** `task_type` (default `CAUSAL_LM`). */
  taskType?: PeftTaskType;
  /** `trainer_state.json` of a training checkpoint. */
  trainerState?: object;
  /** `optimizer.safetensors` (the adapters' AdamW moments), for exact resume. */
  optimizerTensors?: Map<string, StTensor>;
  /** Other files by name (`metrics.jsonl`, `loss.svg`, `muse_recipe.json`). */
  extraFiles?: Record<string, string | Uint8Array>;
}

/**
 * Writes a PEFT adapter directory, replaced as a whole crash-safely (as
 * model checkpoints are, `src/io/checkpoint.ts`): `adapter_config.json`,
 * `adapter_model.safetensors`, and for a training checkpoint
 * `trainer_state.json`, `optimizer.safetensors` and extra files.
 * @param dir the directory (created with its parents)
 * @param lm the adapted model
 * @throws ConfigError for an extra file name with a path; fs errors (the old directory is then intact)
 */
export function saveAdapter(dir: string, lm: LoraModel, opts: SaveAdapterOptions = {}): void {
  const tensors = new Map<string, StTensor>();
  for (const e of lm.layers) {
    tensors.set(`${PEFT_PREFIX}${e.path}.lora_A.weight`, { dtype: 'F32', shape: [...e.lora.lora_A.weight.shape], data: e.lora.lora_A.weight.data });
    tensors.set(`${PEFT_PREFIX}${e.path}.lora_B.weight`, { dtype: 'F32', shape: [...e.lora.lora_B.weight.shape], data: e.lora.lora_B.weight.data });
  }
  const model = encodeSafetensors(tensors, { format: 'pt' });
  const optimizer = opts.optimizerTensors ? encodeSafetensors(opts.optimizerTensors) : undefined;
  const c = lm.config;
  const json: AdapterConfigJson = {
    peft_type: 'LORA',
    task_type: opts.taskType ?? 'CAUSAL_LM',
    base_model_name_or_path: opts.baseModel ?? null,
    r: c.r,
    lora_alpha: c.loraAlpha,
    lora_dropout: c.loraDropout,
    target_modules: c.targetModules === 'all-linear' ? 'all-linear' : 'regex' in c.targetModules ? c.targetModules.regex : [...c.targetModules],
    use_rslora: c.useRslora,
    use_dora: false,
    fan_in_fan_out: lm.layers.some((e) => e.fanInFanOut),
    bias: 'none',
    inference_mode: true,
    init_lora_weights: true,
    modules_to_save: null,
    layers_to_transform: null,
    rank_pattern: {},
    alpha_pattern: {},
  };
  replaceDirectory(resolve(dir), (staging) => {
    const write = (name: string, data: string | Uint8Array): void => writeFileAtomic(join(staging, name), data, { fsync: true });
    write('adapter_config.json', `${JSON.stringify(json, null, 2)}\n`);
    write('adapter_model.safetensors', model);
    if (opts.trainerState !== undefined) write('trainer_state.json', `${JSON.stringify(opts.trainerState, null, 2)}\n`);
    if (optimizer) write('optimizer.safetensors', optimizer);
    for (const [name, data] of Object.entries(opts.extraFiles ?? {})) {
      if (name.includes('/') || name.includes('\\') || name.startsWith('.')) throw new ConfigError(`saveAdapter: extra file name "${name}" must be a plain file name`);
      write(name, data);
    }
  });
}

/**
 * Reads and checks `adapter_config.json` into a {@link LoraConfig}.
 * @throws FileFormatError when the file is missing
 * @throws ConfigError naming an unsupported setting (a non-LoRA `peft_type`,
 *   DoRA, `bias` other than none, `modules_to_save`, rank/alpha patterns,
 *   `layers_to_transform`, a `target_modules` expression that does not compile)
 */
export function readAdapterConfig(dir: string): { config: LoraConfig; raw: Record<string, unknown> } {
  const path = join(dir, 'adapter_config.json');
  if (!existsSync(path)) throw new FileFormatError(`${path} not found: an adapter directory holds adapter_config.json and adapter_model.safetensors (PEFT's save_pretrained)`);
  const raw = readJsonFile(path) as Record<string, unknown>;
  const bad = (msg: string): never => {
    throw new ConfigError(`${path}: ${msg}`);
  };
  if (raw.peft_type !== 'LORA') bad(`peft_type ${JSON.stringify(raw.peft_type)} is not supported; muse loads LoRA adapters only`);
  if (raw.use_dora === true) bad('use_dora: DoRA adapters are not supported; train a plain LoRA adapter (use_dora false)');
  if (raw.bias !== undefined && raw.bias !== 'none') bad(`bias ${JSON.stringify(raw.bias)} is not supported; only bias "none" (the frozen biases unchanged)`);
  if (Array.isArray(raw.modules_to_save) && raw.modules_to_save.length) bad(`modules_to_save (${raw.modules_to_save.join(', ')}) is not supported; only LoRA matrices are loaded`);
  for (const k of ['rank_pattern', 'alpha_pattern'] as const) {
    const v = raw[k];
    if (v && typeof v === 'object' && Object.keys(v).length) bad(`${k} is not supported (one rank and alpha for every layer)`);
  }
  if (raw.layers_to_transform !== undefined && raw.layers_to_transform !== null) bad('layers_to_transform is not supported; adapt every layer');
  const r = raw.r ?? 8;
  if (typeof r !== 'number' || !Number.isInteger(r) || r < 1) bad(`r must be a positive integer, got ${JSON.stringify(r)}`);
  const tm = raw.target_modules;
  let targetModules: TargetModules;
  if (tm === 'all-linear') targetModules = 'all-linear';
  else if (Array.isArray(tm) && tm.every((x) => typeof x === 'string')) targetModules = tm;
  else if (typeof tm === 'string') {
    try {
      targetModulesRegExp(tm);
    } catch (e) {
      bad((e as Error).message);
    }
    targetModules = { regex: tm };
  } else bad('target_modules is missing; give a list of module names, a regular expression or "all-linear"');
  const num = (k: string, d: number): number => {
    const v = raw[k] ?? d;
    if (typeof v !== 'number' || !Number.isFinite(v)) bad(`${k} must be a number, got ${JSON.stringify(v)}`);
    return v as number;
  };
  return {
    config: {
      r: r as number,
      loraAlpha: num('lora_alpha', 8),
      loraDropout: num('lora_dropout', 0),
      useRslora: raw.use_rslora === true,
      targetModules: targetModules!,
    },
    raw,
  };
}

/**
 * Copies an adapter's tensors from `adapter_model.safetensors` into an adapted
 * model (built with the same config by `injectLora`).
 * @throws FileFormatError when the file is missing
 * @throws ShapeError naming a tensor whose shape differs, a module of the
 *   file that the model does not have, or an adapted layer the file lacks
 */
export function loadAdapterWeights(dir: string, lm: LoraModel): void {
  const path = join(dir, 'adapter_model.safetensors');
  if (!existsSync(path)) throw new FileFormatError(`${path} not found (adapter_model.bin is PyTorch pickle, which muse does not read; re-save the adapter with safe_serialization)`);
  const { tensors } = readSafetensors(path);
  const want = new Map<string, { data: Float32Array | Int32Array; shape: readonly number[] }>();
  for (const e of lm.layers) {
    want.set(`${PEFT_PREFIX}${e.path}.lora_A.weight`, e.lora.lora_A.weight);
    want.set(`${PEFT_PREFIX}${e.path}.lora_B.weight`, e.lora.lora_B.weight);
  }
  const extra: string[] = [];
  for (const [rawName, t] of tensors) {
    // PEFT keeps the adapter name in memory (`lora_A.default.weight`); saved files drop it, but accept both.
    const name = rawName.replace(/\.lora_([AB])\.default\.weight$/, '.lora_$1.weight');
    const p = want.get(name);
    if (!p) {
      extra.push(rawName);
      continue;
    }
    if (t.shape.length !== p.shape.length || t.shape.some((d, i) => d !== p.shape[i])) {
      throw new ShapeError(`${path}: ${rawName} has shape [${t.shape.join(', ')}] but the model expects [${p.shape.join(', ')}]; the adapter was trained on another base or rank`);
    }
    (p.data as Float32Array).set(t.data);
    want.delete(name);
  }
  if (extra.length) throw new ShapeError(`${path}: tensors for modules this model does not have: ${extra.slice(0, 5).join(', ')}${extra.length > 5 ? ` (+${extra.length - 5} more)` : ''}; the adapter belongs to another base model`);
  if (want.size) throw new ShapeError(`${path}: no tensors for ${[...want.keys()].slice(0, 5).join(', ')}${want.size > 5 ? ` (+${want.size - 5} more)` : ''}`);
}

/**
 * What an adapter training checkpoint holds for resuming: `trainer_state.json`
 * and `optimizer.safetensors` (the Trainer's `ResumeState`).
 * @throws FileFormatError when `trainer_state.json` is missing
 */
export function readAdapterResumeState(dir: string): { trainerState: unknown; optimizerTensors?: Map<string, StTensor> } {
  const ts = join(dir, 'trainer_state.json');
  if (!existsSync(ts)) throw new FileFormatError(`${ts} not found: ${dir} is not an adapter training checkpoint (start without --resume)`);
  const opt = join(dir, 'optimizer.safetensors');
  return { trainerState: readJsonFile(ts), optimizerTensors: existsSync(opt) ? readSafetensors(opt).tensors : undefined };
}
