/**
 * Batched decoding for the server: unseeded requests with the same model and
 * the same decoding settings are decoded together, one batched forward pass
 * per step (left-padded prompts, HF style), so 32 clients cost far fewer
 * model calls than 32 separate generations. Each request still streams its
 * own text and ends on its own (rows that finish leave the batch).
 *
 * Batching is by waves: a wave takes up to `maxBatch` compatible waiting
 * requests, holds one slot of the {@link GenerationQueue} while it decodes,
 * and later arrivals join the next wave. Seeded requests are never batched:
 * the rows of a batch share one random generator, so a seed could not
 * reproduce a result.
 */
import { StreamDecoder } from '../tokenizers/index.js';
import type { GenerationConfig } from '../generate/index.js';
import { planGeneration } from '../generate/plan.js';
import { SamplingDecoder } from '../generate/sample-decoder.js';
import { toScript } from '../data/script.js';
import type { LoadedCausalLM } from '../models/loaded.js';
import type { GenerationSummary, ServedFinishReason, StartOptions, TextGeneration } from './generation.js';
import { QueueFullError, type GenerationQueue } from './queue.js';
import { canonicalJSON } from './ratings-store.js';
import { StopTrimmer } from './stop-trimmer.js';

/** Options of {@link Batcher}. */
export interface BatcherOptions {
  /** Requests decoded together at most (default 8). */
  maxBatch?: number;
  /** Requests waiting for a wave before new ones are refused with 429 (default 64). */
  maxPending?: number;
}

const modelIds = new WeakMap<LoadedCausalLM, number>();
let nextModelId = 0;

/** A number per loaded model, for batching keys. */
function modelId(loaded: LoadedCausalLM): number {
  let id = modelIds.get(loaded);
  if (id === undefined) modelIds.set(loaded, (id = nextModelId++));
  return id;
}

/** A single-consumer async channel of text pieces that ends with a summary. */
class Channel {
  private readonly items: string[] = [];
  private summary: GenerationSummary | null = null;
  private error: Error | null = null;
  private wake: (() => void) | null = null;

  push(piece: string): void {
    this.items.push(piece);
    this.notify();
  }

  end(summary: GenerationSummary): void {
    this.summary = summary;
    this.notify();
  }

  fail(err: Error): void {
    this.error = err;
    this.notify();
  }

  private notify(): void {
    const w = this.wake;
    this.wake = null;
    w?.();
  }

  async *iterate(): TextGeneration {
    for (;;) {
      if (this.items.length > 0) {
        yield this.items.shift()!;
        continue;
      }
      if (this.error) throw this.error;
      if (this.summary) return this.summary;
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
    }
  }
}

interface Entry {
  ids: number[];
  promptTokens: number;
  stops: StopTrimmer;
  signal?: AbortSignal;
  channel: Channel;
  text: string;
  /** Tokens generated for this request (up to its stop sequence). */
  tokens: number;
}

interface Group {
  loaded: LoadedCausalLM;
  config: GenerationConfig;
  entries: Entry[];
  /** Waves scheduled that have not yet taken their entries. */
  waves: number;
}

/** Decodes compatible requests in batches; see the module comment. */
export class Batcher {
  readonly maxBatch: number;
  readonly maxPending: number;
  private readonly groups = new Map<string, Group>();
  private pending = 0;
  /** Waves decoded so far and the largest batch (for /healthz and tests). */
  readonly stats = { waves: 0, largestBatch: 0, rows: 0 };

  constructor(
    private readonly queue: GenerationQueue,
    opts: BatcherOptions = {},
  ) {
    this.maxBatch = opts.maxBatch ?? 8;
    this.maxPending = opts.maxPending ?? 64;
  }

  /** True when a request with this config may be batched (sampling or greedy, one sequence, no beams, no seed). */
  static batchable(config: GenerationConfig): boolean {
    return config.seed === undefined && (config.numBeams ?? 1) === 1 && (config.numReturnSequences ?? 1) === 1;
  }

  /** Requests waiting for a wave. */
  get waiting(): number {
    return this.pending;
  }

  /**
   * Queue one generation for batched decoding. Validation runs here, before
   * any model work, as in `startGeneration()`.
   * @throws ConfigError naming a bad option; QueueFullError when too many requests wait
   */
  submit(loaded: LoadedCausalLM, prompt: string, config: GenerationConfig, opts: StartOptions = {}): TextGeneration {
    const text = toScript(prompt, loaded.script);
    const ids = text.length > 0 ? loaded.tokenizer.encode(text, { addSpecialTokens: false }).ids : [];
    // A dry plan checks every option and id against the model (cheap: no model call).
    const dry = planGeneration(loaded.model, [ids], config, { tokenizer: loaded.tokenizer, onWarning: () => {} });
    if (this.pending >= this.maxPending) {
      throw new QueueFullError(`too many generations waiting (${this.pending}, limit ${this.maxPending}); retry later`, this.queue.retryAfterSeconds());
    }
    // By model object, not directory: LoRA adapters served over one base share its directory.
    const key = `${modelId(loaded)}\n${canonicalJSON(config)}`;
    let group = this.groups.get(key);
    if (!group) {
      group = { loaded, config, entries: [], waves: 0 };
      this.groups.set(key, group);
    }
    const entry: Entry = {
      ids,
      promptTokens: Math.max(1, ids.length) - (dry.dropped[0] ?? 0),
      stops: new StopTrimmer(opts.stop ?? []),
      signal: opts.signal,
      channel: new Channel(),
      text: '',
      tokens: 0,
    };
    group.entries.push(entry);
    this.pending++;
    this.schedule(key, group);
    return entry.channel.iterate();
  }

  /** Schedule waves until every waiting entry of the group has one coming. */
  private schedule(key: string, group: Group): void {
    while (group.waves * this.maxBatch < group.entries.length) {
      group.waves++;
      void this.runWave(key, group);
    }
  }

  /** Wait for a queue slot, take up to maxBatch live entries of the group and decode them. */
  private async runWave(key: string, group: Group): Promise<void> {
    // Requests that arrive in the same tick join this wave.
    await new Promise<void>((r) => setImmediate(r));
    let release: () => void;
    try {
      release = await this.queue.acquire();
    } catch (err) {
      group.waves--;
      const failed = group.entries.splice(0);
      this.pending -= failed.length;
      for (const e of failed) e.channel.fail(err as Error);
      if (this.groups.get(key) === group) this.groups.delete(key);
      return;
    }
    group.waves--;
    const gone = group.entries.filter((e) => e.signal?.aborted);
    for (const e of gone) e.channel.end({ text: '', finishReason: 'abort', promptTokens: e.promptTokens, completionTokens: 0 });
    group.entries = group.entries.filter((e) => !e.signal?.aborted);
    const entries = group.entries.splice(0, this.maxBatch);
    this.pending -= gone.length + entries.length;
    if (group.entries.length === 0 && group.waves === 0 && this.groups.get(key) === group) this.groups.delete(key);
    else this.schedule(key, group);
    try {
      if (entries.length > 0) await this.decode(group.loaded, group.config, entries);
    } catch (err) {
      for (const e of entries) e.channel.fail(err as Error);
    } finally {
      release();
    }
  }

  private async decode(loaded: LoadedCausalLM, config: GenerationConfig, entries: Entry[]): Promise<void> {
    this.stats.waves++;
    this.stats.rows += entries.length;
    this.stats.largestBatch = Math.max(this.stats.largestBatch, entries.length);
    const plan = planGeneration(loaded.model, entries.map((e) => e.ids), config, { tokenizer: loaded.tokenizer, onWarning: () => {} });
    const decoder = new SamplingDecoder(loaded.model, plan, undefined);
    const texts = entries.map(() => new StreamDecoder(loaded.tokenizer, { skipSpecialTokens: true }));
    const stop = new AbortController();
    const emit = (e: Entry, piece: string): void => {
      const out = e.stops.push(piece);
      if (out) {
        e.text += out;
        e.channel.push(out);
      }
    };
    const ended = new Array<boolean>(entries.length).fill(false);
    // A row's request ends as soon as its row does (EOS, stop string), not when the whole wave does.
    const finish = (i: number, reason: string): void => {
      if (ended[i]) return;
      ended[i] = true;
      const e = entries[i];
      if (!e.signal?.aborted && !e.stops.done) {
        const rest = texts[i].flush();
        if (rest) emit(e, rest);
        const tail = e.stops.flush();
        if (tail) {
          e.text += tail;
          e.channel.push(tail);
        }
      }
      const finishReason: ServedFinishReason = e.stops.done ? 'stop' : e.signal?.aborted ? 'abort' : reason === 'length' ? 'length' : reason === 'abort' ? 'abort' : 'stop';
      e.channel.end({ text: e.text, finishReason, promptTokens: e.promptTokens, completionTokens: e.tokens });
    };
    let lastYield = performance.now();
    while (!decoder.finished) {
      // Rows whose client left or whose stop sequence came keep decoding (a batch row cannot leave early)
      // unless every row is done with.
      if (entries.every((e) => e.signal?.aborted || e.stops.done)) stop.abort();
      const events = decoder.step(stop.signal);
      for (const ev of events) {
        const e = entries[ev.sequence];
        if (e.signal?.aborted || e.stops.done) continue;
        e.tokens++;
        const piece = texts[ev.sequence].push(ev.tokenId);
        if (piece) emit(e, piece);
        if (e.stops.done) finish(ev.sequence, 'stop');
      }
      entries.forEach((e, i) => {
        if (e.signal?.aborted) finish(i, 'abort');
      });
      if (!decoder.finished) {
        // While decoding runs, output() reports unfinished rows as 'length' (the budget ends them all at once),
        // so any other reason marks a row that has just finished.
        const reasons = decoder.output().finishReasons;
        for (const ev of events) if (reasons[ev.sequence] !== 'length') finish(ev.sequence, reasons[ev.sequence]);
      }
      if (performance.now() - lastYield > 10) {
        await new Promise<void>((r) => setImmediate(r));
        lastYield = performance.now();
      }
    }
    const reasons = decoder.output().finishReasons;
    entries.forEach((_, i) => finish(i, reasons[i]));
  }
}
