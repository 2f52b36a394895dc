import {
  copyFileSync,
  existsSync,
  linkSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readlinkSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
} from 'node:fs';
import { basename, dirname, isAbsolute, join, normalize, resolve, sep } from 'node:path';
import { ConfigError, FileFormatError } from '../errors.js';
import { fsyncDirectory, writeFileAtomic } from './atomic.js';
import { readJsonFile } from './json.js';
import { encodeSafetensors, readSafetensors, type StTensor } from './safetensors.js';

export { readJsonFile } from './json.js';

/** The files of a checkpoint directory that {@link saveCheckpoint} owns: a save defines exactly which of them exist. */
export const CHECKPOINT_FILES = {
  config: 'config.json',
  model: 'model.safetensors',
  modelIndex: 'model.safetensors.index.json',
  tokenizer: 'tokenizer.json',
  generationConfig: 'generation_config.json',
  trainerState: 'trainer_state.json',
  optimizer: 'optimizer.safetensors',
} as const;

const OWNED = new Set<string>(Object.values(CHECKPOINT_FILES));

/** What {@link saveCheckpoint} writes. */
export interface CheckpointToSave {
  /** `config.json` (HF field names; `model_type` `gpt2` / `bert`). Written with sorted keys, as transformers does. */
  config: object;
  /** `model.safetensors`, HF tensor names; written with metadata `{"format": "pt"}` as transformers writes it. */
  tensors: Map<string, StTensor>;
  /** `tokenizer.json` (HF tokenizers format), written as given. */
  tokenizerJson?: object;
  /** `generation_config.json`. */
  generationConfig?: object;
  /** `trainer_state.json` (step, epoch, RNG state… as the Trainer defines it). */
  trainerState?: object;
  /** `optimizer.safetensors` (AdamW moments and the like), for resuming. */
  optimizerTensors?: Map<string, StTensor>;
  /** Any other files, by path relative to the directory (e.g. `metrics.jsonl`, `README.md`); strings are UTF-8. */
  extraFiles?: Record<string, string | Uint8Array>;
}

/** Options of {@link saveCheckpoint}. */
export interface SaveCheckpointOptions {
  /**
   * Carry over files and folders of the previous directory that muse does not
   * own (a README, `metrics.jsonl`, `vocab.json`, a `checkpoints/` folder…),
   * as hard links (copies where links are impossible), so replacing the
   * directory never deletes the user's own files. Files muse owns
   * ({@link CHECKPOINT_FILES}) are never carried over: a save without
   * `optimizerTensors` leaves no stale `optimizer.safetensors` beside new
   * weights. Default true.
   */
  keepOtherFiles?: boolean;
}

/** What {@link loadCheckpoint} returns. */
export interface LoadedCheckpoint {
  config: Record<string, unknown>;
  tensors: Map<string, StTensor>;
  tokenizerJson?: Record<string, unknown>;
  generationConfig?: Record<string, unknown>;
  trainerState?: Record<string, unknown>;
  /** Present when asked for (`optimizer: true`) and the file exists. */
  optimizerTensors?: Map<string, StTensor>;
}

/** Options of {@link loadCheckpoint}. */
export interface LoadCheckpointOptions {
  /** Also read `optimizer.safetensors` (twice the model's size for AdamW); default false. */
  optimizer?: boolean;
  /**
   * Return F32/I32 weights as views into the file's bytes (one buffer per
   * file) instead of copies, so that loading does not hold the model twice;
   * default false.
   */
  share?: boolean;
}

/**
 * The sibling directories of the save protocol, hidden next to the checkpoint:
 * `staging` is being written (incomplete), `ready` is complete but not yet
 * swapped in, `previous` is the old version during the swap.
 */
function siblings(dir: string): { staging: string; ready: string; previous: string } {
  const parent = dirname(dir);
  const name = basename(dir);
  return {
    staging: join(parent, `.${name}.muse-staging`),
    ready: join(parent, `.${name}.muse-ready`),
    previous: join(parent, `.${name}.muse-previous`),
  };
}

function isDir(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/**
 * The error for a directory without `config.json`: when it is a `muse train`
 * run folder (it holds `best/` or `last/`), the message names the model
 * directory to pass instead.
 */
export function missingConfigError(dir: string, what = 'a model directory needs config.json and model.safetensors (Hugging Face layout)'): FileFormatError {
  const inside = ['best', 'last'].map((d) => join(dir, d)).find((d) => existsSync(join(d, 'config.json')));
  return new FileFormatError(inside ? `${dir}: no config.json; it is a training run, whose models are in best/ and last/: pass ${inside}` : `${dir}: no config.json; ${what}`);
}

/**
 * Finish or undo a save that a crash interrupted, so that `dir` holds one
 * whole version (see {@link saveCheckpoint} for the protocol):
 *
 * - a `staging` sibling is an unfinished save: deleted (the old `dir` is intact);
 * - a `ready` sibling is a finished save not yet swapped in: swapped in now
 *   (roll forward, the save had completed);
 * - a `previous` sibling is the old version: deleted if `dir` exists, else
 *   moved back to `dir`.
 *
 * Called by {@link saveCheckpoint}; call it yourself to clean up without
 * saving. Not safe against another process saving the same directory at the
 * same time (one writer per checkpoint directory).
 *
 * @returns what it did, e.g. `['removed unfinished save …']` (empty when there was nothing to do)
 */
export function recoverCheckpoint(dir: string): string[] {
  const target = resolve(dir);
  const { staging, ready, previous } = siblings(target);
  const done: string[] = [];
  if (existsSync(staging)) {
    rmSync(staging, { recursive: true, force: true });
    done.push(`removed unfinished save ${staging}`);
  }
  if (isDir(ready)) {
    if (existsSync(target)) {
      rmSync(previous, { recursive: true, force: true });
      renameSync(target, previous);
      fsyncDirectory(dirname(target));
    }
    renameSync(ready, target);
    fsyncDirectory(dirname(target));
    done.push(`completed interrupted save into ${target}`);
  }
  if (existsSync(previous)) {
    if (existsSync(target)) {
      rmSync(previous, { recursive: true, force: true });
      done.push(`removed previous version ${previous}`);
    } else {
      renameSync(previous, target);
      fsyncDirectory(dirname(target));
      done.push(`restored previous version into ${target}`);
    }
  }
  return done;
}

function checkRelativePath(name: string): string {
  const norm = normalize(name);
  if (name === '' || isAbsolute(name) || norm === '..' || norm.startsWith(`..${sep}`) || norm === '.') {
    throw new ConfigError(`saveCheckpoint: extra file name ${JSON.stringify(name)} must be a relative path inside the checkpoint directory`);
  }
  if (OWNED.has(norm)) {
    throw new ConfigError(`saveCheckpoint: extra file ${JSON.stringify(name)} is one of the checkpoint's own files; pass it through its field instead`);
  }
  return norm;
}

/**
 * Recursively hard-link `src` into `dst` (copy when linking fails, e.g. across
 * devices), merging into existing folders and leaving files that already exist
 * in `dst` (the new save's own) alone.
 */
function linkTree(src: string, dst: string): void {
  const st = lstatSync(src);
  if (!st.isDirectory() && existsSync(dst)) return;
  if (st.isDirectory()) {
    mkdirSync(dst, { recursive: true });
    for (const name of readdirSync(src)) linkTree(join(src, name), join(dst, name));
  } else if (st.isSymbolicLink()) {
    symlinkSync(readlinkSync(src), dst);
  } else if (st.isFile()) {
    try {
      linkSync(src, dst);
    } catch {
      copyFileSync(src, dst);
    }
  }
}

/** JSON with object keys sorted at every level, indent 2, trailing newline: transformers' `to_json_string` format. */
function sortedJson(value: unknown): string {
  const sortKeys = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(sortKeys);
    if (v !== null && typeof v === 'object') {
      const out: Record<string, unknown> = {};
      for (const k of Object.keys(v).sort()) out[k] = sortKeys((v as Record<string, unknown>)[k]);
      return out;
    }
    return v;
  };
  return `${JSON.stringify(sortKeys(value), null, 2)}\n`;
}

/**
 * Save a checkpoint directory in Hugging Face layout: `config.json`,
 * `model.safetensors`, and where given `tokenizer.json`,
 * `generation_config.json`, `trainer_state.json`, `optimizer.safetensors` and
 * extra files. transformers' `from_pretrained` and tokenizers'
 * `Tokenizer.from_file` read the result.
 *
 * The directory is replaced as a whole, so a crash at any point leaves either
 * the old version or the new one, never a mix, and never loses the old one:
 *
 * 1. finish or undo any interrupted earlier save ({@link recoverCheckpoint});
 * 2. write every file (each atomically, fsynced) into the hidden sibling
 *    `.<name>.muse-staging`, and hard-link the user's other files from the
 *    old version (see {@link SaveCheckpointOptions.keepOtherFiles});
 * 3. rename it to `.<name>.muse-ready` (the new version is now complete);
 * 4. rename `dir` to `.<name>.muse-previous`, `ready` to `dir`, then delete
 *    `previous`.
 *
 * A crash during 2 leaves `staging` (deleted on recovery, old `dir` intact);
 * after 3, `ready` is swapped in on recovery. {@link loadCheckpoint} reads the
 * newest whole version without modifying anything. One writer per directory:
 * two processes saving the same directory at once are not supported.
 *
 * @param dir the checkpoint directory (created with its parents)
 * @param ck the parts to write
 * @param options see {@link SaveCheckpointOptions}
 * @throws ConfigError for a bad extra-file name; the errors of
 *   `encodeSafetensors`; fs errors (ENOSPC…), after which `dir` still holds
 *   the previous version
 */
export function saveCheckpoint(dir: string, ck: CheckpointToSave, options: SaveCheckpointOptions = {}): void {
  const target = resolve(dir);
  const extra = Object.entries(ck.extraFiles ?? {}).map(([name, data]) => [checkRelativePath(name), data] as const);
  // Encode before touching the disk, so an invalid tensor fails without leftovers.
  const model = encodeSafetensors(ck.tensors, { format: 'pt' });
  const optimizer = ck.optimizerTensors ? encodeSafetensors(ck.optimizerTensors) : undefined;

  replaceDirectory(target, (staging) => {
    const write = (name: string, data: string | Uint8Array): void => writeFileAtomic(join(staging, name), data, { fsync: true });
    write(CHECKPOINT_FILES.config, sortedJson(ck.config));
    write(CHECKPOINT_FILES.model, model);
    if (ck.tokenizerJson !== undefined) write(CHECKPOINT_FILES.tokenizer, `${JSON.stringify(ck.tokenizerJson, null, 2)}\n`);
    if (ck.generationConfig !== undefined) write(CHECKPOINT_FILES.generationConfig, sortedJson(ck.generationConfig));
    if (ck.trainerState !== undefined) write(CHECKPOINT_FILES.trainerState, sortedJson(ck.trainerState));
    if (optimizer) write(CHECKPOINT_FILES.optimizer, optimizer);
    for (const [name, data] of extra) write(name, data);

    if ((options.keepOtherFiles ?? true) && isDir(target)) {
      for (const name of readdirSync(target)) {
        if (OWNED.has(name) || /^\..*\.tmp$/.test(name)) continue;
        linkTree(join(target, name), join(staging, name));
      }
    }
  });
}

/**
 * Replace `dir` by a copy of the checkpoint directory `src` whose files are
 * hard links to `src`'s (copies where the file system refuses links), with
 * the same crash safety as {@link saveCheckpoint}. Used when one step's
 * checkpoint is both `best/` and `last/`: the second costs no encoding, no
 * file data written and no file fsyncs. Sharing inodes is safe because a
 * checkpoint's files are never modified in place — every save builds a new
 * directory and renames it over the old one.
 *
 * @throws FileFormatError when `src` is not a directory; fs errors, after
 *   which `dir` still holds its previous version
 */
export function copyCheckpoint(src: string, dir: string): void {
  const from = resolve(src);
  if (!isDir(from)) throw new FileFormatError(`copyCheckpoint: ${from} is not a checkpoint directory`);
  replaceDirectory(resolve(dir), (staging) => {
    for (const name of readdirSync(from)) linkTree(join(from, name), join(staging, name));
  });
}

/**
 * Steps 1–4 of {@link saveCheckpoint} around `fill`, which writes the new
 * version's files into the (empty, existing) staging directory it is given
 * (also used for directories of another layout, e.g. PEFT adapters).
 * @throws fs errors, after which `target` still holds its previous version
 */
export function replaceDirectory(target: string, fill: (staging: string) => void): void {
  mkdirSync(dirname(target), { recursive: true });
  recoverCheckpoint(target);
  const { staging, ready, previous } = siblings(target);
  mkdirSync(staging);
  try {
    fill(staging);
    fsyncDirectory(staging);
    renameSync(staging, ready);
  } catch (err) {
    rmSync(staging, { recursive: true, force: true });
    throw err;
  }
  fsyncDirectory(dirname(target));
  if (existsSync(target)) {
    renameSync(target, previous);
    // The old version's move is on disk before the new one takes its name.
    fsyncDirectory(dirname(target));
  }
  crashPointForTests();
  renameSync(ready, target);
  fsyncDirectory(dirname(target));
  rmSync(previous, { recursive: true, force: true });
}

let swapsSeen = 0;

/**
 * Fault injection for the crash tests (test/reliability, scripts/probes):
 * with `MUSE_CRASH_POINT=swap:N` the process kills itself (SIGKILL) at its
 * N-th directory swap, after `dir` moved to `.previous` (when it existed) and
 * before `.ready` takes its name — the moment a real kill is least likely to
 * hit and recovery most needs to handle. Unset: nothing happens.
 */
function crashPointForTests(): void {
  const point = process.env.MUSE_CRASH_POINT;
  if (point === undefined || !point.startsWith('swap')) return;
  swapsSeen++;
  if (swapsSeen >= Number(point.split(':')[1] ?? 1)) process.kill(process.pid, 'SIGKILL');
}

function asObject(value: unknown, path: string): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new FileFormatError(`${path}: expected a JSON object, found ${Array.isArray(value) ? 'an array' : String(value === null ? 'null' : typeof value)}`);
  }
  return value as Record<string, unknown>;
}

const LAYOUT_HINT =
  'a checkpoint directory (Hugging Face layout) holds config.json and model.safetensors, ' +
  'optionally tokenizer.json, generation_config.json, trainer_state.json and optimizer.safetensors';

/** Read sharded weights: `model.safetensors.index.json` maps each tensor name to its shard file. */
function readShardedModel(dir: string, share = false): Map<string, StTensor> {
  const indexPath = join(dir, CHECKPOINT_FILES.modelIndex);
  const index = asObject(readJsonFile(indexPath), indexPath);
  const weightMap = asObject(index['weight_map'], `${indexPath} (weight_map)`);
  const shards = new Set<string>();
  for (const [name, file] of Object.entries(weightMap)) {
    if (typeof file !== 'string' || file.includes('/') || file.includes('\\')) {
      throw new FileFormatError(`${indexPath}: weight_map entry for "${name}" is ${JSON.stringify(file)}, expected a file name in the same directory`);
    }
    shards.add(file);
  }
  const tensors = new Map<string, StTensor>();
  for (const shard of shards) {
    for (const [name, t] of readSafetensors(join(dir, shard), { share }).tensors) {
      if (weightMap[name] === shard) tensors.set(name, t);
    }
  }
  for (const name of Object.keys(weightMap)) {
    if (!tensors.has(name)) throw new FileFormatError(`${indexPath}: tensor "${name}" is not in its shard ${String(weightMap[name])}`);
  }
  return tensors;
}

/**
 * A model whose weights hold NaN or ±Inf generates garbage (every logit NaN);
 * such a file comes from a diverged run and is refused by name.
 * @throws FileFormatError naming the first bad tensor and the count
 */
function rejectNonFinite(tensors: Map<string, StTensor>, path: string): void {
  for (const [name, t] of tensors) {
    if (!(t.data instanceof Float32Array)) continue;
    const d = t.data;
    let bad = 0;
    for (let i = 0; i < d.length; i++) if (!Number.isFinite(d[i])) bad++;
    if (bad > 0) {
      throw new FileFormatError(
        `${path}: tensor ${name} holds ${bad} non-finite value${bad === 1 ? '' : 's'} (NaN/Inf); the checkpoint comes from a diverged run — load an earlier checkpoint (a run's best/ directory), or retrain with a lower learning rate`,
      );
    }
  }
}

function readOnce(dir: string, options: LoadCheckpointOptions): LoadedCheckpoint {
  const configPath = join(dir, CHECKPOINT_FILES.config);
  if (!existsSync(configPath)) {
    throw new FileFormatError(`${dir}: no ${CHECKPOINT_FILES.config}; ${LAYOUT_HINT}`);
  }
  const config = asObject(readJsonFile(configPath), configPath);
  const modelPath = join(dir, CHECKPOINT_FILES.model);
  let tensors: Map<string, StTensor>;
  if (existsSync(modelPath)) {
    tensors = readSafetensors(modelPath, { share: options.share }).tensors;
  } else if (existsSync(join(dir, CHECKPOINT_FILES.modelIndex))) {
    tensors = readShardedModel(dir, options.share);
  } else {
    const pickle = ['pytorch_model.bin', 'tf_model.h5', 'flax_model.msgpack'].find((f) => existsSync(join(dir, f)));
    const hint = pickle
      ? `; it has ${pickle}, which muse cannot read: re-save it with transformers' save_pretrained(dir, safe_serialization=True)`
      : '';
    throw new FileFormatError(`${dir}: no ${CHECKPOINT_FILES.model}${hint}; ${LAYOUT_HINT}`);
  }
  rejectNonFinite(tensors, existsSync(modelPath) ? modelPath : join(dir, CHECKPOINT_FILES.modelIndex));
  const out: LoadedCheckpoint = { config, tensors };
  const optionalJson = (file: string): Record<string, unknown> | undefined => {
    const path = join(dir, file);
    return existsSync(path) ? asObject(readJsonFile(path), path) : undefined;
  };
  const tok = optionalJson(CHECKPOINT_FILES.tokenizer);
  if (tok) out.tokenizerJson = tok;
  const gen = optionalJson(CHECKPOINT_FILES.generationConfig);
  if (gen) out.generationConfig = gen;
  const state = optionalJson(CHECKPOINT_FILES.trainerState);
  if (state) out.trainerState = state;
  if (options.optimizer) {
    const optPath = join(dir, CHECKPOINT_FILES.optimizer);
    if (existsSync(optPath)) out.optimizerTensors = readSafetensors(optPath).tensors;
  }
  return out;
}

/**
 * Load a checkpoint directory in Hugging Face layout (as written by
 * {@link saveCheckpoint} or by transformers' `save_pretrained` with
 * safetensors, including sharded `model.safetensors.index.json` weights).
 *
 * Never modifies the disk: if a crash left the directory mid-swap (see
 * {@link saveCheckpoint}), it reads the newest whole version from the hidden
 * sibling instead; the next save cleans up. If another process swaps in a new
 * version while this one reads, the read is retried, so the parts returned
 * always come from one version.
 *
 * @param dir the checkpoint directory
 * @param options `optimizer: true` also reads `optimizer.safetensors`
 * @throws FileFormatError for a missing directory, a missing `config.json` or
 *   `model.safetensors` (naming the file and what the directory should
 *   contain), corrupt JSON (file, line, column) or an invalid safetensors file
 */
export function loadCheckpoint(dir: string, options: LoadCheckpointOptions = {}): LoadedCheckpoint {
  const target = resolve(dir);
  for (let attempt = 0; ; attempt++) {
    let source = target;
    if (!existsSync(target)) {
      const { ready, previous } = siblings(target);
      if (isDir(ready)) source = ready;
      else if (isDir(previous)) source = previous;
      else throw new FileFormatError(`${dir}: checkpoint directory not found; ${LAYOUT_HINT}`);
    } else if (!isDir(target)) {
      throw new FileFormatError(`${dir}: is a file, not a checkpoint directory; ${LAYOUT_HINT}`);
    }
    let before: number;
    try {
      before = statSync(source).ino;
    } catch {
      continue; // swapped away between the checks: look again
    }
    let result: LoadedCheckpoint | undefined;
    let failure: unknown;
    try {
      result = readOnce(source, options);
    } catch (err) {
      failure = err;
    }
    let after = -1;
    try {
      after = statSync(source).ino;
    } catch {
      // gone: a save moved it mid-read
    }
    if (after === before || attempt >= 5) {
      if (failure !== undefined) throw failure;
      return result!;
    }
  }
}
