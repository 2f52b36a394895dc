/**
 * Beam search and beam sampling with Hugging Face's semantics (the vectorised
 * `_beam_search` of transformers ≥ 4.50, which replaced `BeamSearchScorer`):
 *
 * - scores are log_softmax(logits), then the processors (and, when sampling,
 *   the warpers), plus the beam's running sum of log-probs; the first step
 *   starts from beam 0 only (the other beams start at −1e9);
 * - each step keeps the top K' = max(2, 1 + #EOS) · numBeams candidates over
 *   all beams × vocabulary (sampled without replacement when doSample);
 * - a candidate that hits a stopping criterion (EOS, stop string, completed
 *   poem, the token budget) is a finished hypothesis if it ranks among the
 *   first numBeams; its score is `sum_logprobs / generated_len^lengthPenalty`
 *   (generated_len counts the EOS); the numBeams best finished hypotheses are
 *   kept;
 * - the next beams are the best candidates that did not finish;
 * - `earlyStopping`: `true` stops a prompt once numBeams hypotheses finished;
 *   `false` stops when the best running beam, length-normalised at the
 *   current length, cannot beat the worst finished one; `'never'` (with
 *   lengthPenalty > 0) normalises at the maximum length instead.
 */
import type { CausalLM } from '../models/causal-lm.js';
import { TokenHistory } from './history.js';
import type { GenerateOutput, GenerationPlan, TokenEvent } from './plan.js';
import { finishReason } from './plan.js';
import { CachedRunner } from './runner.js';
import { gumbelKeys } from './sampling.js';
import { iota, logSumExp, selectTopK } from './select.js';
import type { FinishReason } from './stopping.js';

const NEG = -1.0e9;

/** A finished-hypothesis slot of one prompt. */
interface Slot {
  score: number;
  finished: boolean;
  tokens: number[];
  logprobs: number[];
  reason: FinishReason;
}

interface Candidate {
  beam: number; // global row index of the parent beam
  token: number;
  score: number; // running sum of log-probs
  logprob: number; // normalised log-prob of the token (reported)
  hit: FinishReason | null;
}

/** Options of {@link beamSearch} and {@link beamSearchSteps}. */
export interface BeamSearchOptions {
  windowKeep?: number;
  /** Aborting finishes every running beam with reason `abort` at the next step. */
  signal?: AbortSignal;
  onToken?: (e: TokenEvent) => void;
}

/**
 * Run beam search for every prompt of `plan`, synchronously.
 * @returns numReturnSequences sequences per prompt, best first, with HF's `sequences_scores`
 */
export function beamSearch(model: CausalLM, plan: GenerationPlan, opts: BeamSearchOptions): GenerateOutput {
  const it = beamSearchSteps(model, plan, opts);
  for (;;) {
    const r = it.next();
    if (r.done) return r.value;
  }
}

/**
 * Beam search one step at a time: the generator yields after every decoding
 * step (one model call over all beams), so a caller can give the event loop
 * a turn and abort between steps (see `generateAsync`); its return value is
 * {@link beamSearch}'s.
 */
export function* beamSearchSteps(model: CausalLM, plan: GenerationPlan, opts: BeamSearchOptions): Generator<void, GenerateOutput> {
  const cfg = plan.cfg;
  const K = cfg.numBeams;
  const B = plan.prompts.length;
  const V = model.vocabSize;
  const maxNew = plan.maxNewTokens;
  const keepCount = Math.max(2, 1 + cfg.eosTokenId.length) * K;
  const lp = cfg.lengthPenalty;
  const columns = Math.max(...plan.prompts.map((p) => p.length));

  const history = new TokenHistory(plan.prompts, columns + maxNew, plan.padId);
  // Reported log-probs per beam are kept in rows of `lpCap` columns, grown as the text grows
  // (maxNew may be huge: the budget is a limit, not an allocation).
  let lpCap = Math.max(1, Math.min(maxNew, 256));
  const runner = new CachedRunner(model, history, opts.windowKeep, (keep) =>
    plan.warn(
      `the text reached the model's ${model.maxPositions}-token context; sliding the window ` +
        `(the model now sees the last ${keep}–${model.maxPositions} tokens)`,
    ),
  );

  const slots: Slot[][] = Array.from({ length: B }, () =>
    Array.from({ length: K }, () => ({ score: NEG, finished: false, tokens: [], logprobs: [], reason: 'length' })),
  );
  if (maxNew === 0) return collect(slots, plan, opts.onToken);

  let logits = runner.prefill();
  // Expand every prompt to K beams after the shared prefill.
  const expandIdx = new Int32Array(B * K);
  for (let b = 0; b < B; b++) for (let j = 0; j < K; j++) expandIdx[b * K + j] = b;
  history.reorder(expandIdx);
  runner.reorder(expandIdx);
  {
    const out = new Float32Array(B * K * V);
    for (let i = 0; i < B * K; i++) out.set(logits.subarray(expandIdx[i] * V, (expandIdx[i] + 1) * V), i * V);
    logits = out;
  }

  let running = new Float64Array(B * K);
  for (let b = 0; b < B; b++) for (let j = 1; j < K; j++) running[b * K + j] = NEG;
  // Per-beam reported log-probs, [B·K, maxNew].
  let beamLp = new Float64Array(B * K * lpCap);
  let spareLp = new Float64Array(B * K * lpCap);
  const unsatisfied = new Uint8Array(B).fill(1);
  const idx = new Int32Array(V);
  const keys = cfg.doSample && plan.warpers ? new Float64Array(K * V) : null;
  const keyIdx = keys ? new Int32Array(K * V) : null;
  const lse = new Float64Array(B * K);
  let candTokens = new Int32Array(columns + lpCap + 1);
  const nextRows = new Int32Array(B * K);
  const nextTokens = new Int32Array(B * K);
  let nextRunning = new Float64Array(B * K);
  const nextLp = new Float64Array(B * K);
  const acc = keys ? new Float64Array(V) : null;

  for (let step = 0; ; step++) {
    const aborted = opts.signal?.aborted === true;
    let allHit = true;
    // 1. Process every beam's scores: log_softmax, processors (+ warpers when sampling).
    for (let r = 0; r < B * K; r++) {
      const s = logits.subarray(r * V, (r + 1) * V);
      const z = logSumExp(s);
      for (let v = 0; v < V; v++) s[v] -= z;
      const ctx = history.context(r);
      for (const p of plan.processors) p.process(s, ctx);
      if (plan.warpers && cfg.doSample) for (const w of plan.warpers) w.process(s, ctx);
      lse[r] = logSumExp(s);
    }
    const genLen = step + 1;
    const isLast = genLen >= maxNew;
    for (let b = 0; b < B; b++) {
      // 2. The top keepCount candidates over this prompt's beams × vocabulary.
      const cands = topCandidates(b);
      // 3. Which candidates hit a stopping criterion.
      for (const c of cands) {
        const parentLen = history.tokens(c.beam).length;
        if (candTokens.length < parentLen + 1) candTokens = new Int32Array(2 * (parentLen + 1));
        candTokens.set(history.tokens(c.beam), 0);
        candTokens[parentLen] = c.token;
        const ctx = {
          inputIds: candTokens.subarray(0, parentLen + 1),
          promptLength: history.promptLength(c.beam),
          batchIndex: b,
        };
        c.hit = finishReason(plan, ctx, c.token) ?? (isLast ? 'length' : aborted ? 'abort' : null);
        if (c.hit === null) allHit = false;
      }
      // 4. Next running beams: best candidates, finished ones pushed down by −1e9.
      const order = cands.map((_, i) => i);
      const adjusted = cands.map((c) => c.score + (c.hit ? NEG : 0));
      order.sort((x, y) => adjusted[y] - adjusted[x] || x - y);
      for (let j = 0; j < K; j++) {
        const c = cands[order[j]];
        nextRows[b * K + j] = c.beam;
        nextTokens[b * K + j] = c.token;
        nextRunning[b * K + j] = adjusted[order[j]];
        nextLp[b * K + j] = c.logprob;
      }
      // 5. Update the finished hypotheses (merge old slots with new finished candidates, keep the K best).
      const old = slots[b];
      const allFinished = old.every((s) => s.finished);
      const merged: { score: number; slot?: Slot; cand?: Candidate }[] = old.map((s) => ({ score: s.score, slot: s }));
      cands.forEach((c, rank) => {
        let score = c.score / Math.pow(genLen, lp);
        if (allFinished && cfg.earlyStopping === true) score += NEG;
        if (!unsatisfied[b]) score += NEG;
        const justFinished = c.hit !== null && rank < K;
        if (!justFinished) score += NEG;
        merged.push({ score, cand: justFinished ? c : { ...c, hit: null } });
      });
      const best = merged.map((_, i) => i).sort((x, y) => merged[y].score - merged[x].score || x - y).slice(0, K);
      slots[b] = best.map((i) => {
        const m = merged[i];
        if (m.slot) return m.slot;
        const c = m.cand as Candidate;
        const parent = c.beam;
        return {
          score: m.score,
          finished: c.hit !== null,
          tokens: [...history.generated(parent), c.token],
          logprobs: [...beamLp.subarray(parent * lpCap, parent * lpCap + step), c.logprob],
          reason: c.hit ?? 'length',
        };
      });
    }
    // 6. Move to the next beams: history, cache, reported log-probs.
    history.reorder(nextRows);
    history.append(nextTokens);
    if (step >= lpCap) {
      // Grow the log-prob rows (doubling, at most maxNew columns).
      const cap = Math.min(maxNew, 2 * lpCap);
      const grown = new Float64Array(B * K * cap);
      for (let i = 0; i < B * K; i++) grown.set(beamLp.subarray(i * lpCap, i * lpCap + step), i * cap);
      beamLp = grown;
      spareLp = new Float64Array(B * K * cap);
      lpCap = cap;
    }
    for (let i = 0; i < B * K; i++) {
      const src = nextRows[i] * lpCap;
      spareLp.set(beamLp.subarray(src, src + step), i * lpCap);
    }
    [beamLp, spareLp] = [spareLp, beamLp];
    for (let i = 0; i < B * K; i++) {
      // log-prob of the chosen token of new beam i (normalised processed distribution)
      beamLp[i * lpCap + step] = nextLp[i];
    }
    [running, nextRunning] = [nextRunning, running];

    // 7. Early-stop heuristic and loop condition.
    const curLen = genLen;
    const hypLen = cfg.earlyStopping === 'never' && lp > 0 ? maxNew : curLen;
    for (let b = 0; b < B; b++) {
      const bestPossible = running[b * K] / Math.pow(hypLen, lp);
      const sl = slots[b];
      const minScore = Math.min(...sl.map((s) => s.score));
      const improvable = sl.some((s) => bestPossible > (s.finished ? minScore : NEG));
      if (!improvable) unsatisfied[b] = 0;
    }
    const anyUnsatisfied = unsatisfied.some((u) => u === 1);
    const allDone = slots.every((sl) => sl.every((s) => s.finished)) && cfg.earlyStopping === true;
    if (!anyUnsatisfied || allDone || allHit || aborted) break;
    runner.reorder(nextRows);
    logits = runner.step();
    yield;
  }
  return collect(slots, plan, opts.onToken);

  // --- helpers closing over the loop state ---
  // (declared as function statements so they are hoisted)
  function topCandidates(b: number): Candidate[] {
    const out: Candidate[] = [];
    if (keys && keyIdx && acc) {
      // Beam sampling: draw keepCount (beam, token) pairs without replacement from softmax(accumulated).
      for (let j = 0; j < K; j++) {
        const r = b * K + j;
        const s = logits.subarray(r * V, (r + 1) * V);
        for (let v = 0; v < V; v++) acc[v] = s[v] + running[r];
        gumbelKeys(acc, keys.subarray(j * V, (j + 1) * V), V, plan.rng);
      }
      iota(keyIdx, K * V);
      const m = selectTopK(keys, keyIdx, K * V, keepCount);
      for (let i = 0; i < m; i++) {
        const j = Math.floor(keyIdx[i] / V);
        const v = keyIdx[i] - j * V;
        const r = b * K + j;
        const sv = logits[r * V + v];
        out.push({ beam: r, token: v, score: sv + running[r], logprob: sv - lse[r], hit: null });
      }
      return out;
    }
    // Beam search: any global top-keepCount candidate is in its own beam's top keepCount.
    for (let j = 0; j < K; j++) {
      const r = b * K + j;
      const s = logits.subarray(r * V, (r + 1) * V);
      iota(idx, V);
      const m = selectTopK(s, idx, V, keepCount);
      for (let i = 0; i < m; i++) {
        const v = idx[i];
        out.push({ beam: r, token: v, score: s[v] + running[r], logprob: s[v] - lse[r], hit: null });
      }
    }
    out.sort((x, y) => y.score - x.score || x.beam - y.beam || x.token - y.token);
    return out.slice(0, keepCount);
  }
}

function collect(slots: Slot[][], plan: GenerationPlan, onToken?: (e: TokenEvent) => void): GenerateOutput {
  const nRet = plan.cfg.numReturnSequences;
  const out: GenerateOutput = {
    sequences: [],
    logprobs: [],
    finishReasons: [],
    sequenceScores: [],
    promptTokensDropped: plan.dropped,
  };
  slots.forEach((sl) => {
    for (let k = 0; k < nRet; k++) {
      const s = sl[k];
      out.sequences.push(s.tokens);
      out.logprobs.push(s.logprobs);
      out.finishReasons.push(s.reason);
      out.sequenceScores?.push(s.score);
    }
  });
  if (onToken) {
    out.sequences.forEach((seq, i) => seq.forEach((t, j) => onToken({ sequence: i, tokenId: t, logprob: out.logprobs[i][j] })));
  }
  return out;
}
