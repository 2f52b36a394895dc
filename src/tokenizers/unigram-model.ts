/**
 * The Unigram language-model tokenizer (Kudo 2018, "Subword Regularization";
 * SentencePiece's `unigram` model) as Hugging Face tokenizers loads it from a
 * `tokenizer.json` whose model is `{"type": "Unigram", "unk_id", "vocab":
 * [[piece, logProb], …], "byte_fallback"}`.
 *
 * Each pre-tokenized piece is segmented by Viterbi over the vocabulary: the
 * segmentation maximising the summed log-probabilities of its pieces. A
 * character that starts no vocabulary piece of its own length is the unknown
 * piece, scored `min(score) − 10`; consecutive unknowns fuse into one (HF's
 * `fuse_unk`, always on for Unigram); with `byte_fallback` a fused unknown
 * becomes the `<0xNN>` tokens of its UTF-8 bytes when all of them exist.
 * Source followed: HF tokenizers `models/unigram/model.rs`
 * (`encode_optimized`, `tokenize`), ties going to the first candidate found
 * (shorter pieces first). Normalizer, pre-tokenizer, added tokens and decoder
 * are the general pipeline of {@link BPETokenizer}.
 */
import { FileFormatError, MuseError } from '../errors.js';
import type { ModelJSON } from './base-tokenizer.js';
import { BPEModel } from './bpe-model.js';
import { BPETokenizer, type BPETokenizerInit } from './bpe-tokenizer.js';

/** HF's `K_UNK_PENALTY`: the unknown piece scores this much below the lowest vocabulary score. */
export const UNK_PENALTY = 10;

/** A Unigram vocabulary: pieces in id order with their log-probabilities. */
export class UnigramModel {
  /** Piece of each id. */
  readonly pieces: readonly string[];
  /** Log-probability of each id. */
  readonly scores: Float64Array;
  /** Piece → id. */
  readonly vocab: ReadonlyMap<string, number>;
  /** Id of the unknown piece, or -1 (`unk_id: null`). */
  readonly unkId: number;
  /** Score given to an unknown character: the lowest score minus {@link UNK_PENALTY}. */
  readonly unkScore: number;
  /** Every non-empty prefix of every piece (UTF-16), so the lattice search stops early. */
  private readonly prefixes = new Set<string>();

  /**
   * @param vocab `[piece, logProb]` pairs in id order (the `model.vocab` of a `tokenizer.json`)
   * @throws FileFormatError naming `source` for a malformed entry, a repeated piece or an `unkId` outside the vocabulary
   */
  constructor(vocab: unknown, unkId: unknown, source = 'tokenizer.json') {
    if (!Array.isArray(vocab) || vocab.length === 0) throw new FileFormatError(`${source}: Unigram model.vocab must be a non-empty array of [piece, logProb] pairs`);
    const pieces: string[] = [];
    const scores = new Float64Array(vocab.length);
    const map = new Map<string, number>();
    let min = Infinity;
    vocab.forEach((e: unknown, i) => {
      if (!Array.isArray(e) || e.length !== 2 || typeof e[0] !== 'string' || typeof e[1] !== 'number' || !Number.isFinite(e[1])) {
        throw new FileFormatError(`${source}: model.vocab[${i}] is ${JSON.stringify(e)}; expected [piece, logProb] with a string piece and a finite number`);
      }
      const [piece, score] = e as [string, number];
      if (map.has(piece)) throw new FileFormatError(`${source}: model.vocab has the piece ${JSON.stringify(piece)} at both ${map.get(piece)} and ${i}; every piece must appear once`);
      map.set(piece, i);
      pieces.push(piece);
      scores[i] = score;
      if (score < min) min = score;
      for (let k = 1; k <= piece.length; k++) this.prefixes.add(piece.slice(0, k));
    });
    if (unkId !== null && unkId !== undefined && (typeof unkId !== 'number' || !Number.isInteger(unkId) || unkId < 0 || unkId >= pieces.length)) {
      throw new FileFormatError(`${source}: model.unk_id ${JSON.stringify(unkId)} is not an id of model.vocab (0–${pieces.length - 1}) nor null`);
    }
    this.pieces = pieces;
    this.scores = scores;
    this.vocab = map;
    this.unkId = typeof unkId === 'number' ? unkId : -1;
    this.unkScore = min - UNK_PENALTY;
  }

  /**
   * The best segmentation of `s` (HF `Unigram::encode`): its pieces as
   * strings, consecutive unknown characters fused into one string.
   * @throws MuseError when `s` holds a character no piece covers and the model has no `unk_id`
   */
  segment(s: string): string[] {
    const n = s.length;
    if (n === 0) return [];
    const best = new Float64Array(n + 1);
    const from = new Int32Array(n + 1).fill(-1);
    const ids = new Int32Array(n + 1).fill(-1);
    from[0] = 0;
    for (let i = 0; i < n; ) {
      const c = s.charCodeAt(i);
      const w = c >= 0xd800 && c <= 0xdbff && i + 1 < n && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00 ? 2 : 1;
      const here = best[i];
      let single = false;
      for (let j = i + 1; j <= n; j++) {
        const sub = s.slice(i, j);
        if (!this.prefixes.has(sub)) break;
        const id = this.vocab.get(sub);
        if (id === undefined) continue;
        const cand = this.scores[id] + here;
        if (from[j] < 0 || cand > best[j]) {
          best[j] = cand;
          from[j] = i;
          ids[j] = id;
        }
        if (j - i === w) single = true;
      }
      if (!single) {
        const j = i + w;
        const cand = this.unkScore + here;
        if (from[j] < 0 || cand > best[j]) {
          if (this.unkId < 0) throw new MuseError('NO_UNK_ID', `cannot tokenize ${JSON.stringify(s.slice(i, j))}: no Unigram piece covers it and the model has no unk_id; use a tokenizer.json with an unknown piece or byte_fallback pieces`);
          best[j] = cand;
          from[j] = i;
          ids[j] = this.unkId;
        }
      }
      i += w;
    }
    const out: string[] = [];
    let unkEnd = -1;
    for (let end = n; end > 0; ) {
      const start = from[end];
      if (this.unkId >= 0 && ids[end] === this.unkId) {
        if (unkEnd < 0) unkEnd = end;
      } else {
        if (unkEnd >= 0) out.push(s.slice(end, unkEnd));
        unkEnd = -1;
        out.push(s.slice(start, end));
      }
      end = start;
    }
    if (unkEnd >= 0) out.push(s.slice(0, unkEnd));
    return out.reverse();
  }
}

/** The parts of a `tokenizer.json` around the Unigram model (those of a BPE tokenizer without `ignoreMerges`). */
export type UnigramTokenizerInit = Omit<BPETokenizerInit, 'ignoreMerges'>;

/** A Unigram tokenizer assembled from the components of a `tokenizer.json`. */
export class UnigramTokenizer extends BPETokenizer {
  readonly unigram: UnigramModel;
  private readonly utf8 = new TextEncoder();

  constructor(unigram: UnigramModel, init: UnigramTokenizerInit) {
    super(new BPEModel(unigram.vocab, [], { unkToken: unigram.unkId >= 0 ? unigram.pieces[unigram.unkId] : null, fuseUnk: true }), init);
    this.unigram = unigram;
  }

  /** HF `Unigram::tokenize`: Viterbi pieces to ids, unknown runs through byte fallback or to `unk_id`. */
  protected override tokenizePiece(piece: string): number[] {
    const out: number[] = [];
    for (const p of this.unigram.segment(piece)) {
      const id = this.unigram.vocab.get(p);
      if (id !== undefined) {
        out.push(id);
        continue;
      }
      if (this.byteFallback) {
        const bytes = this.utf8.encode(p);
        const fb: number[] = [];
        for (const b of bytes) {
          const f = this.unigram.vocab.get(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`);
          if (f === undefined) break;
          fb.push(f);
        }
        if (fb.length === bytes.length) {
          for (const f of fb) out.push(f);
          continue;
        }
      }
      if (this.unigram.unkId < 0) throw new MuseError('NO_UNK_ID', `cannot tokenize ${JSON.stringify(p)}: it is not a Unigram piece and the model has no unk_id`);
      out.push(this.unigram.unkId);
    }
    return out;
  }

  /**
   * Offsets as the Rust library gives them: each Viterbi segment's span, shared
   * by all the `<0xNN>` tokens a byte-fallback segment becomes.
   */
  protected override pieceOffsets(s: string, ps: number, pe: number, toks: readonly number[], align: readonly number[], offsets: number[]): void {
    let a = ps;
    let k = 0;
    for (const p of this.unigram.segment(s.slice(ps, pe))) {
      const b = a + p.length;
      const count = this.unigram.vocab.has(p) ? 1 : this.tokenizePiece(p).length;
      for (let j = 0; j < count; j++, k++) offsets.push(align[2 * a], align[2 * b - 1]);
      a = b;
    }
    for (; k < toks.length; k++) offsets.push(align[2 * ps], align[2 * pe - 1]);
  }

  protected override modelJSON(): ModelJSON {
    const m = super.modelJSON();
    return {
      ...m,
      model: {
        type: 'Unigram',
        unk_id: this.unigram.unkId >= 0 ? this.unigram.unkId : null,
        vocab: this.unigram.pieces.map((p, i) => [p, this.unigram.scores[i]]),
        byte_fallback: this.byteFallback,
      },
    };
  }
}
