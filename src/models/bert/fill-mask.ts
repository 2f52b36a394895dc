import { HAN_RANGES, toScript } from '../../data/script.js';
import { ConfigError } from '../../errors.js';
import type { LoadedMaskedLM } from '../loaded.js';

/** One candidate for one mask, in Hugging Face's fill-mask pipeline fields. */
export interface FillMaskCandidate {
  /** Softmax probability of the token at that mask. */
  score: number;
  /** Token id. */
  token: number;
  /** The token decoded on its own. */
  token_str: string;
  /** The input with this mask filled (special tokens dropped for a single mask, kept for several, as HF does). */
  sequence: string;
}

/** Options of {@link fillMask}. */
export interface FillMaskOptions {
  /** Candidates per mask (HF `top_k`). Default 5. */
  topK?: number;
}

// Han ideographs plus CJK punctuation (U+3000–303F) and full-width forms (U+FF00–FFEF).
const CJK = `\\u3000-\\u303f${HAN_RANGES}\\uff00-\\uffef`;
const SPACE_NEAR_CJK = new RegExp(`(?<=[${CJK}]) +| +(?=[${CJK}])`, 'gu');
// A space between two special tokens where one of them touches a CJK
// character ("[CLS] [MASK]前"), so that Chinese sequences join the same way
// whatever a mask's neighbours are; English keeps its spaces.
const SPACE_BETWEEN_SPECIALS_NEAR_CJK = new RegExp(`(?<=\\]) +(?=\\[[A-Z]+\\][${CJK}])|(?<=[${CJK}]\\[[A-Z]+\\]) +(?=\\[)`, 'gu');

/**
 * WordPiece decoding puts a space between every CJK character (HF: "床 前 明
 * 月"); drop those spaces, and those between special tokens next to CJK text.
 */
export function joinCjk(text: string): string {
  return text.replace(SPACE_NEAR_CJK, '').replace(SPACE_BETWEEN_SPECIALS_NEAR_CJK, '');
}

/**
 * Predict the tokens behind every mask token of `text` (Hugging Face
 * `FillMaskPipeline`): one forward pass, softmax over the vocabulary at each
 * mask, the `topK` most probable tokens. Each candidate's `sequence` is the
 * input with that one mask replaced, decoded; spaces the WordPiece decoder
 * puts between CJK characters are removed.
 * @param text input holding the tokenizer's mask token (e.g. `[MASK]`) once or more
 * @returns per mask (in text order), its candidates, best first
 * @throws ConfigError when the text holds no mask token or topK is not a positive integer
 * @throws ShapeError when the text is longer than the model's positions
 */
export function fillMask(lm: LoadedMaskedLM, text: string, opts: FillMaskOptions = {}): FillMaskCandidate[][] {
  const topK = opts.topK ?? 5;
  if (!Number.isInteger(topK) || topK < 1) throw new ConfigError(`topK must be a positive integer, got ${topK}`);
  const tok = lm.tokenizer;
  const maskId = tok.maskTokenId!;
  const maskToken = tok.idToToken(maskId) ?? '[MASK]';
  const ids = tok.encode(toScript(text, lm.script)).ids;
  const positions = ids.flatMap((id, i) => (id === maskId ? [i] : []));
  if (positions.length === 0) throw new ConfigError(`the text holds no ${maskToken}; write ${maskToken} where a token is missing, e.g. "床前明月${maskToken}，疑是地上霜。"`);
  const V = lm.model.config.vocab_size;
  const logits = lm.model.logits(Int32Array.from(ids), 1, ids.length);
  const single = positions.length === 1;
  const k = Math.min(topK, V);
  return positions.map((pos) => {
    const row = logits.subarray(pos * V, (pos + 1) * V);
    let max = -Infinity;
    for (let v = 0; v < V; v++) if (row[v] > max) max = row[v]!;
    let z = 0;
    for (let v = 0; v < V; v++) z += Math.exp(row[v] - max);
    const order = Array.from({ length: V }, (_, v) => v).sort((a, b) => row[b] - row[a] || a - b).slice(0, k);
    return order.map((id) => {
      const filled = ids.slice();
      filled[pos] = id;
      return {
        score: Math.exp(row[id] - max) / z,
        token: id,
        token_str: joinCjk(tok.decode([id])),
        sequence: joinCjk(tok.decode(filled, { skipSpecialTokens: single })),
      };
    });
  });
}
