/**
 * Greedy and multinomial decoding (HF `_sample`), one step at a time so that
 * {@link generate} can run it to the end and {@link stream} can yield between
 * steps. Rows that finish are dropped from the batch (their cache rows
 * released) instead of being fed padding, as HF does.
 */
import type { CausalLM } from '../models/causal-lm.js';
import { TokenHistory } from './history.js';
import type { GenerateOutput, GenerationPlan, TokenEvent } from './plan.js';
import { finishReason } from './plan.js';
import { CachedRunner } from './runner.js';
import { greedyChoice, sampleChoice } from './sampling.js';
import type { FinishReason } from './stopping.js';

export class SamplingDecoder {
  private readonly history: TokenHistory;
  private readonly runner: CachedRunner;
  private logits: Float32Array | null = null;
  /** Returned-sequence index of each active row. */
  private active: Int32Array;
  private readonly chosen: Int32Array;
  private readonly sequences: number[][];
  private readonly logprobs: number[][];
  private readonly reasons: (FinishReason | null)[];
  private stepIndex = 0;
  private done = false;

  constructor(
    private readonly model: CausalLM,
    private readonly plan: GenerationPlan,
    windowKeep: number | undefined,
  ) {
    const nRet = plan.cfg.numReturnSequences;
    const total = plan.prompts.length * nRet;
    const columns = Math.max(...plan.prompts.map((p) => p.length));
    this.history = new TokenHistory(plan.prompts, columns + plan.maxNewTokens, plan.padId);
    this.runner = new CachedRunner(model, this.history, windowKeep, (keep) =>
      plan.warn(
        `the text reached the model's ${model.maxPositions}-token context; sliding the window ` +
          `(the model now sees the last ${keep}–${model.maxPositions} tokens)`,
      ),
    );
    this.active = new Int32Array(total);
    for (let i = 0; i < total; i++) this.active[i] = i;
    this.chosen = new Int32Array(total);
    this.sequences = Array.from({ length: total }, () => []);
    this.logprobs = Array.from({ length: total }, () => []);
    this.reasons = new Array<FinishReason | null>(total).fill(null);
    if (plan.maxNewTokens === 0) {
      this.reasons.fill('length');
      this.done = true;
    }
  }

  /** True once every sequence has finished. */
  get finished(): boolean {
    return this.done;
  }

  /**
   * Generate one token for every unfinished sequence.
   * @returns the tokens chosen in this step (empty once finished)
   */
  step(signal?: AbortSignal): TokenEvent[] {
    if (this.done) return [];
    const V = this.model.vocabSize;
    const plan = this.plan;
    if (signal?.aborted) {
      this.finishAll('abort');
      return [];
    }
    if (this.logits === null) {
      this.logits = this.runner.prefill();
      const nRet = plan.cfg.numReturnSequences;
      if (nRet > 1) this.expand(nRet, V);
    } else {
      this.logits = this.runner.step();
    }
    const logits = this.logits;
    const rows = this.history.rows;
    const events: TokenEvent[] = [];
    const lps = new Float64Array(rows);
    for (let k = 0; k < rows; k++) {
      const scores = logits.subarray(k * V, (k + 1) * V);
      const ctx = this.history.context(k);
      for (const p of plan.processors) p.process(scores, ctx);
      let c;
      if (plan.warpers) {
        for (const w of plan.warpers) w.process(scores, ctx);
        c = sampleChoice(scores, plan.rng);
      } else {
        c = greedyChoice(scores);
      }
      this.chosen[k] = c.token;
      lps[k] = c.logprob;
    }
    this.history.append(this.chosen);
    this.stepIndex++;
    const last = this.stepIndex >= plan.maxNewTokens;
    let survivors = 0;
    for (let k = 0; k < rows; k++) {
      const seq = this.active[k];
      const token = this.chosen[k];
      this.sequences[seq].push(token);
      this.logprobs[seq].push(lps[k]);
      events.push({ sequence: seq, tokenId: token, logprob: lps[k] });
      const reason = finishReason(plan, this.history.context(k), token) ?? (last ? 'length' : null);
      this.reasons[seq] = reason;
      if (reason === null) survivors++;
    }
    if (survivors === 0) {
      this.done = true;
    } else if (survivors < rows) {
      const keep = new Int32Array(survivors);
      let j = 0;
      for (let k = 0; k < rows; k++) if (this.reasons[this.active[k]] === null) keep[j++] = k;
      this.history.reorder(keep);
      this.runner.reorder(keep);
      this.active = keep.map((k) => this.active[k]);
    }
    return events;
  }

  /** Repeat every prompt row numReturnSequences times (after the shared prefill). */
  private expand(nRet: number, V: number): void {
    const rows = this.history.rows;
    const idx = new Int32Array(rows * nRet);
    for (let r = 0; r < rows; r++) for (let k = 0; k < nRet; k++) idx[r * nRet + k] = r;
    this.history.reorder(idx);
    this.runner.reorder(idx);
    const src = this.logits as Float32Array;
    const out = new Float32Array(rows * nRet * V);
    for (let i = 0; i < idx.length; i++) out.set(src.subarray(idx[i] * V, (idx[i] + 1) * V), i * V);
    this.logits = out;
  }

  private finishAll(reason: FinishReason): void {
    for (let i = 0; i < this.reasons.length; i++) if (this.reasons[i] === null) this.reasons[i] = reason;
    this.done = true;
  }

  /** The output so far (complete once {@link finished}). */
  output(): GenerateOutput {
    return {
      sequences: this.sequences,
      logprobs: this.logprobs,
      finishReasons: this.reasons.map((r) => r ?? 'length'),
      promptTokensDropped: this.plan.dropped,
    };
  }
}
