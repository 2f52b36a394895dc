/**
 * The models a server holds: each model directory is loaded once at start-up
 * and addressed by its folder name (`muse-poet-zh`), as OpenAI clients
 * address models by id.
 */
import { basename, dirname, resolve } from 'node:path';
import { ConfigError, MuseError } from '../errors.js';
import { fillMask } from '../models/bert/fill-mask.js';
import { preferredGenerationModel } from '../models/bundled.js';
import { loadModel, registeredFamilies } from '../models/registry.js';
import type { LoadedCausalLM } from '../models/loaded.js';
import type { LoadModelOptions } from '../models/registry.js';
import { loadSharedAdapter, type AdapterSpec } from './adapters.js';

/** Thrown when a request names a model the server does not hold (HTTP 404). */
export class ModelNotFoundError extends MuseError {
  constructor(message: string) {
    super('MODEL_NOT_FOUND', message);
    this.name = 'ModelNotFoundError';
  }
}

/** A masked LM the server can fill masks with (BERT, through `src/models/bert/fill-mask.ts`). */
export interface FillMaskModel {
  name: string;
  dir: string;
  /** Predictions for each mask token of `text`, best first. */
  fill(text: string, topK: number): unknown;
}

/** Public facts about a served model (`GET /api/models`). */
export interface ModelInfo {
  name: string;
  dir: string;
  kind: 'causal-lm' | 'masked-lm';
  /** `n_positions` of a causal LM. */
  contextLength?: number;
  nLayer?: number;
  nHead?: number;
  vocabSize?: number;
  /** Script prompts are converted to (OpenCC) before generation. */
  script?: LoadedCausalLM['script'];
  /** Defaults from `generation_config.json`. */
  generationConfig?: Record<string, unknown>;
  /** For a LoRA adapter served over a base (`--adapter NAME=DIR`): its directory and the base's model id. */
  adapter?: { dir: string; baseModel: string };
}

/**
 * The name a model directory is served under: its folder name, or for a run's
 * checkpoint (`runs/poet/best`, `…/last`) the run and the checkpoint
 * (`poet/best`), so that two runs served together stay apart.
 */
export function defaultModelName(dir: string): string {
  const full = resolve(dir);
  const base = basename(full);
  return base === 'best' || base === 'last' ? `${basename(dirname(full))}/${base}` : base;
}

/** The causal LMs (and masked LMs) a server holds, by name. */
export class ModelRegistry {
  private readonly causal = new Map<string, LoadedCausalLM>();
  private readonly masked = new Map<string, FillMaskModel>();
  private readonly adapters = new Map<string, { dir: string; baseModel: string }>();

  /** Add a loaded causal LM under `name` (default: {@link defaultModelName}; a clash gets `-2`, `-3`…). */
  addCausalLM(loaded: LoadedCausalLM, name = defaultModelName(loaded.dir)): string {
    let unique = name;
    for (let i = 2; this.causal.has(unique) || this.masked.has(unique); i++) unique = `${name}-${i}`;
    this.causal.set(unique, loaded);
    return unique;
  }

  /**
   * Add a LoRA adapter's model (see `loadSharedAdapter` in src/serve/adapters.ts) under the id `name`.
   * @throws ConfigError when `name` is already served
   */
  addAdapterLM(loaded: LoadedCausalLM, name: string, adapterDir: string, baseModel: string): void {
    if (this.causal.has(name) || this.masked.has(name)) throw new ConfigError(`--adapter ${name}=${adapterDir}: the model id "${name}" is already served; give the adapter another NAME`);
    this.causal.set(name, loaded);
    this.adapters.set(name, { dir: adapterDir, baseModel });
  }

  /** Add a masked LM for `POST /api/fill-mask`. */
  addMaskedLM(model: FillMaskModel): void {
    this.masked.set(model.name, model);
  }

  /** Names of the causal LMs, in the order they were added. */
  get causalNames(): string[] {
    return [...this.causal.keys()];
  }

  /** Names of the masked LMs. */
  get maskedNames(): string[] {
    return [...this.masked.keys()];
  }

  /**
   * The causal LM for a request: `name` when given, else the bundled default
   * for the prompt's language when loaded (muse-poet-zh for Chinese, muse-story-en
   * otherwise), else the first model.
   * @throws ModelNotFoundError naming the available models
   */
  causalLM(name: string | undefined, prompt = ''): { name: string; loaded: LoadedCausalLM } {
    if (name !== undefined) {
      const loaded = this.causal.get(name);
      if (!loaded) {
        const hint = this.masked.has(name) ? ` (${name} is a masked LM: use POST /api/fill-mask)` : '';
        throw new ModelNotFoundError(`model "${name}" is not served${hint}; available: ${this.causalNames.join(', ') || 'none'}`);
      }
      return { name, loaded };
    }
    const preferred = preferredGenerationModel(prompt);
    const hit = this.causal.get(preferred);
    if (hit) return { name: preferred, loaded: hit };
    const first = this.causal.entries().next();
    if (first.done) throw new ModelNotFoundError('no causal language model is loaded; start muse serve with --model DIR');
    return { name: first.value[0], loaded: first.value[1] };
  }

  /**
   * The masked LM for fill-mask.
   * @throws ModelNotFoundError when none (or not the named one) is loaded, saying how to load one
   */
  maskedLM(name: string | undefined): FillMaskModel {
    if (name !== undefined) {
      const m = this.masked.get(name);
      if (m) return m;
    } else {
      const first = this.masked.values().next();
      if (!first.done) return first.value;
    }
    throw new ModelNotFoundError(
      `${name ? `masked LM "${name}" is not loaded` : 'no BERT masked LM is loaded'}; fill-mask needs one: ` +
        'start muse serve with --model DIR of a BERT checkpoint (e.g. models/muse-bert-zh)' +
        (this.masked.size ? `; loaded: ${this.maskedNames.join(', ')}` : ''),
    );
  }

  /** What `GET /api/models` lists. */
  info(): ModelInfo[] {
    const out: ModelInfo[] = [];
    for (const [name, m] of this.causal) {
      const c = m.info;
      out.push({
        name,
        dir: m.dir,
        kind: 'causal-lm',
        contextLength: c.contextLength,
        nLayer: c.nLayer,
        nHead: c.nHead,
        vocabSize: c.vocabSize,
        script: m.script,
        generationConfig: { ...m.generationConfig },
        ...(this.adapters.has(name) ? { adapter: { ...this.adapters.get(name)! } } : {}),
      });
    }
    for (const [name, m] of this.masked) out.push({ name, dir: m.dir, kind: 'masked-lm' });
    return out;
  }
}

/**
 * Load model directories into a registry through the model registry
 * (`src/models/registry.ts`): causal LMs (GPT-2, the Llama family) for
 * generation, masked LMs (BERT) for fill-mask.
 *
 * `adapters` (`muse serve --adapter NAME=DIR`) are LoRA adapters over the
 * first directory, which is then loaded in float32: each is served as the
 * model id NAME, sharing the base's weights (see src/serve/adapters.ts).
 * @throws FileFormatError naming a missing directory or config.json; UnknownModelTypeError listing the known types;
 *   ConfigError naming a directory whose model cannot be served, or adapters without a causal LM first; the errors of loading an adapter
 */
export async function loadRegistry(dirs: readonly string[], opts: LoadModelOptions = {}, adapters: readonly AdapterSpec[] = []): Promise<ModelRegistry> {
  const reg = new ModelRegistry();
  if (adapters.length > 0 && dirs.length === 0) throw new ConfigError('--adapter needs its base: give --model BASE first');
  for (const [i, dir] of dirs.entries()) {
    const withAdapters = i === 0 && adapters.length > 0;
    const loaded = loadModel(dir, withAdapters ? { ...opts, dtype: 'float32' } : opts);
    if (withAdapters && loaded.kind !== 'causal-lm') throw new ConfigError(`--adapter: the first --model (${dir}) is the adapters' base and must be a causal LM; it is a ${loaded.modelType} model (${loaded.kind})`);
    if (loaded.kind === 'causal-lm') {
      const baseName = reg.addCausalLM(loaded);
      if (withAdapters) for (const a of adapters) reg.addAdapterLM(loadSharedAdapter(loaded, a.dir, { ...opts, dtype: 'float32' }), a.name, a.dir, baseName);
    }
    else if (loaded.kind === 'masked-lm') reg.addMaskedLM({ name: defaultModelName(dir), dir, fill: (text, topK) => fillMask(loaded, text, { topK }) });
    else {
      const servable = registeredFamilies().filter((f) => f.kind === 'causal-lm' || f.kind === 'masked-lm').flatMap((f) => f.modelTypes);
      throw new ConfigError(`${dir}: a ${loaded.modelType} model (${loaded.kind}) cannot be served; muse serve serves causal LMs (generation) and masked LMs (fill-mask): model_type ${servable.join(', ')}`);
    }
  }
  return reg;
}
