import { Generator } from '../../tensor/index.js';
import type { BertForMaskedLM } from './model.js';
import type { Tokenizer } from '../../tokenizers/index.js';
import type { MlmExample } from './mlm-data.js';
import { ConfigError } from '../../errors.js';

/** Options of {@link maskedTokenAccuracy}. */
export interface MaskedAccuracyOptions {
  /** Share of eligible tokens replaced by the mask token in each example (at least one per example). Default 0.15. */
  maskProbability?: number;
  /** Mask exactly one eligible token per example instead (the fill-mask use). Default false. */
  singleMask?: boolean;
  /** Which token ids may be masked (default: every non-special id). */
  eligible?: (id: number) => boolean;
  /** Examples per forward pass. Default 32. */
  batchSize?: number;
  /** Seed of the mask positions (the same seed masks the same positions). Default 0. */
  seed?: number;
}

/** What {@link maskedTokenAccuracy} measures. */
export interface MaskedAccuracy {
  /** Masked positions scored. */
  masked: number;
  /** Share whose original token is the model's most probable token. */
  top1: number;
  /** Share whose original token is among the 5 most probable. */
  top5: number;
  /** Top-1 of always predicting the most frequent eligible token of `examples` (the trivial baseline). */
  unigramTop1: number;
}

/**
 * Top-1/top-5 accuracy of a masked LM at restoring masked tokens (all masks
 * replaced by `[MASK]`, no 80/10/10: the question fill-mask asks). The
 * unigram baseline predicts the most frequent eligible token everywhere.
 * @param examples `[CLS] … [SEP]` id rows (e.g. from `mlmExamples` on held-out documents)
 * @throws ConfigError when the tokenizer has no mask token or no position is eligible
 */
export function maskedTokenAccuracy(model: BertForMaskedLM, tok: Tokenizer, examples: readonly MlmExample[], opts: MaskedAccuracyOptions = {}): MaskedAccuracy {
  const maskId = tok.maskTokenId;
  if (maskId === undefined) throw new ConfigError('maskedTokenAccuracy: the tokenizer has no [MASK] token');
  const specials = new Set(['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'].map((t) => tok.tokenToId(t)).filter((x) => x !== undefined));
  const eligible = opts.eligible ?? ((id: number) => !specials.has(id));
  const p = opts.maskProbability ?? 0.15;
  const gen = new Generator(opts.seed ?? 0);
  const B = opts.batchSize ?? 32;
  const V = model.config.vocab_size;
  const freq = new Map<number, number>();
  for (const e of examples) for (const id of e.ids) if (eligible(id)) freq.set(id, (freq.get(id) ?? 0) + 1);
  let mostFrequent = -1;
  let best = -1;
  for (const [id, n] of freq) if (n > best) [mostFrequent, best] = [id, n];
  let masked = 0, top1 = 0, top5 = 0, uni = 0;
  for (let start = 0; start < examples.length; start += B) {
    const rows = examples.slice(start, start + B);
    const T = Math.max(...rows.map((r) => r.ids.length));
    const ids = new Int32Array(rows.length * T).fill(tok.padTokenId ?? 0);
    const attention = new Int32Array(rows.length * T);
    const targets: [number, number][] = [];
    rows.forEach((r, b) => {
      ids.set(r.ids, b * T);
      attention.fill(1, b * T, b * T + r.ids.length);
      const cands = [...r.ids.keys()].filter((i) => eligible(r.ids[i]));
      if (cands.length === 0) return;
      let chosen = opts.singleMask ? [] : cands.filter(() => gen.random() < p);
      if (chosen.length === 0) chosen = [cands[gen.randint(0, cands.length)]];
      for (const i of chosen) {
        targets.push([b * T + i, r.ids[i]]);
        ids[b * T + i] = maskId;
      }
    });
    if (targets.length === 0) continue;
    const logits = model.logits(ids, rows.length, T, attention);
    for (const [pos, gold] of targets) {
      const row = logits.subarray(pos * V, (pos + 1) * V);
      const g = row[gold];
      let higher = 0;
      for (let v = 0; v < V && higher < 5; v++) if (row[v] > g || (row[v] === g && v < gold)) higher++;
      masked++;
      if (higher === 0) top1++;
      if (higher < 5) top5++;
      if (gold === mostFrequent) uni++;
    }
  }
  if (masked === 0) throw new ConfigError('maskedTokenAccuracy: no eligible token to mask in the examples');
  return { masked, top1: top1 / masked, top5: top5 / masked, unigramTop1: uni / masked };
}
