/**
 * BERT's WordPiece tokenizer (Devlin et al. 2019; Wu et al. 2016 §4.1):
 * the basic tokenizer (`bert-pre-tokenizer.ts`) then greedy
 * longest-match-first over each word with `##` marking word-internal pieces,
 * and `[UNK]` for a word that cannot be covered or is longer than
 * `max_input_chars_per_word` characters. Compatible with `vocab.txt` and with
 * Hugging Face's `tokenizer.json` (`WordPiece` model, `BertNormalizer`,
 * `BertPreTokenizer`, `WordPiece` decoder).
 */
import { readFileSync } from 'node:fs';
import { ConfigError, FileFormatError } from '../errors.js';
import { type AddedToken, AddedTokenSplitter, specialToken } from './added-tokens.js';
import type { BaseTokenizerInit, ModelJSON, SpecialTokenRoles } from './base-tokenizer.js';
import { VocabTableTokenizer } from './vocab-table.js';
import { WordTable, trainMerges } from './bpe-trainer.js';
import { type BertNormalizerOptions, BertPreTokenizer, type WordSink } from './bert-pre-tokenizer.js';
import { PostProcessor } from './post-processor.js';
import { codePointLength, toWellFormed } from './unicode.js';

export type { BertNormalizerOptions } from './bert-pre-tokenizer.js';

/** BERT's special tokens, in the order `WordPieceTokenizer.train` gives them ids by default. */
export const BERT_SPECIAL_TOKENS: readonly string[] = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'];

/** Settings of a WordPiece tokenizer beyond its vocabulary. */
export interface WordPieceInit extends BaseTokenizerInit {
  /** The normalizer + pre-tokenizer settings; `null` = no normalizer (only the BERT pre-tokenizer's splitting). */
  normalizer: BertNormalizerOptions | null;
  unkToken?: string;
  continuingSubwordPrefix?: string;
  maxInputCharsPerWord?: number;
  /** The decoder's `cleanup` (remove spaces before punctuation, per token). Default true. */
  decoderCleanup?: boolean;
}

/** Options of `WordPieceTokenizer.fromVocab` (the `tokenizer_config.json` flags of a BERT checkpoint). */
export interface WordPieceVocabOptions {
  /** Lower-case the text (uncased models). Default true, as `BertTokenizer` does. */
  lowercase?: boolean;
  /** Strip accents; `null`/undefined follows `lowercase`. */
  stripAccents?: boolean | null;
  /** Space around CJK ideographs. Default true. */
  handleChineseChars?: boolean;
  /** Special tokens by role (default: the BERT tokens present in the vocabulary). */
  roles?: SpecialTokenRoles;
  modelMaxLength?: number;
}

/** Options of `WordPieceTokenizer.train`. */
export interface WordPieceTrainOptions {
  /** Target vocabulary size (special tokens and alphabet included; the alphabet is kept whole even if larger). */
  vocabSize: number;
  /** Pairs seen fewer times than this are never merged. Default 2. */
  minFrequency?: number;
  /** Default `['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]']`. */
  specialTokens?: readonly string[];
  /** Default true (an uncased model). */
  lowercase?: boolean;
  stripAccents?: boolean | null;
  handleChineseChars?: boolean;
  roles?: SpecialTokenRoles;
  onProgress?: (vocabSize: number) => void;
}

/** Hugging Face's WordPiece decoder `cleanup` (applied to each token separately, as the Rust library does). */
function cleanupToken(t: string): string {
  return t
    .replaceAll(' .', '.')
    .replaceAll(' ?', '?')
    .replaceAll(' !', '!')
    .replaceAll(' ,', ',')
    .replaceAll(" ' ", "'")
    .replaceAll(" n't", "n't")
    .replaceAll(" 'm", "'m")
    .replaceAll(' do not', " don't")
    .replaceAll(" 's", "'s")
    .replaceAll(" 've", "'ve")
    .replaceAll(" 're", "'re");
}

/**
 * Reads a BERT `vocab.txt`: one token per line, id = line index (trailing
 * whitespace trimmed, as the Rust library does).
 * @throws FileFormatError naming the file when it cannot be read or is empty
 */
export function readVocabTxt(path: string): Map<string, number> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new FileFormatError(`cannot read ${path}: ${e.code === 'ENOENT' ? 'no such file' : e.message}`);
  }
  const lines = text.split('\n');
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  if (lines.length === 0) throw new FileFormatError(`${path}: the vocabulary is empty; expected one token per line`);
  const vocab = new Map<string, number>();
  lines.forEach((line, i) => vocab.set(line.trimEnd(), i));
  return vocab;
}

/** WordPiece tokenizer with BERT's basic tokenizer in front. */
export class WordPieceTokenizer extends VocabTableTokenizer {
  readonly unkToken: string;
  readonly continuingSubwordPrefix: string;
  readonly maxInputCharsPerWord: number;
  readonly normalizer: BertNormalizerOptions | null;
  private readonly decoderCleanup: boolean;
  /** Word-internal pieces keyed without their `##` prefix. */
  private readonly continuation: Map<string, number>;
  /** Id of each single-unit word (-1 unknown, -2 not looked up yet). */
  private readonly singleUnit = new Int32Array(65536).fill(-2);
  private readonly basic: BertPreTokenizer;
  // Output of the word sink for the current encode call.
  private outIds: number[] = [];
  private outOffsets: number[] | null = null;
  private readonly sink: WordSink = { word: (w, base, s, e) => this.tokenizeWord(w, base, s, e) };

  constructor(vocab: ReadonlyMap<string, number>, init: WordPieceInit) {
    const unk = init.unkToken ?? '[UNK]';
    const cls = vocab.get('[CLS]');
    const sep = vocab.get('[SEP]');
    const pp = init.postProcessor ?? (cls !== undefined && sep !== undefined ? PostProcessor.bert({ id: cls, token: '[CLS]' }, { id: sep, token: '[SEP]' }) : PostProcessor.none());
    super({ ...init, postProcessor: pp }, vocab);
    this.unkToken = unk;
    this.continuingSubwordPrefix = init.continuingSubwordPrefix ?? '##';
    this.maxInputCharsPerWord = init.maxInputCharsPerWord ?? 100;
    this.normalizer = init.normalizer;
    this.decoderCleanup = init.decoderCleanup ?? true;
    const prefix = this.continuingSubwordPrefix;
    // With an empty prefix, word-internal pieces are looked up in the vocabulary itself.
    this.continuation = prefix ? new Map<string, number>() : new Map(vocab);
    for (const [tok, id] of vocab) {
      if (prefix && tok.startsWith(prefix)) this.continuation.set(tok.slice(prefix.length), id);
    }
    this.basic = new BertPreTokenizer(
      init.normalizer ?? { cleanText: false, handleChineseChars: false, stripAccents: false, lowercase: false },
    );
  }

  /**
   * Loads a BERT `vocab.txt`. Special tokens present in the vocabulary
   * (`[PAD] [UNK] [CLS] [SEP] [MASK]`) become special added tokens, and
   * `[CLS] … [SEP]` is added by `encode`, as `BertTokenizerFast` does.
   * @throws FileFormatError naming the file when it is missing or empty
   */
  static fromVocab(path: string, opts: WordPieceVocabOptions = {}): WordPieceTokenizer {
    const vocab = readVocabTxt(path);
    const added: AddedToken[] = [];
    for (const t of BERT_SPECIAL_TOKENS) {
      const id = vocab.get(t);
      if (id !== undefined) added.push(specialToken(t, id));
    }
    const lowercase = opts.lowercase ?? true;
    return new WordPieceTokenizer(vocab, {
      addedTokens: added,
      roles: opts.roles,
      modelMaxLength: opts.modelMaxLength,
      normalizer: { cleanText: true, handleChineseChars: opts.handleChineseChars ?? true, stripAccents: opts.stripAccents ?? null, lowercase },
    });
  }

  /**
   * Trains a WordPiece vocabulary the way Hugging Face's `WordPieceTrainer`
   * does: BPE merges over the basic tokenizer's words, with `##` on
   * word-internal symbols; the vocabulary is special tokens, then the
   * alphabet (word-initial characters, then `##` characters, each sorted by
   * code point), then merge products.
   * @throws ConfigError for a `vocabSize` smaller than the special tokens
   */
  static train(texts: Iterable<string>, opts: WordPieceTrainOptions): WordPieceTokenizer {
    const specials = [...new Set(opts.specialTokens ?? BERT_SPECIAL_TOKENS)];
    if (!Number.isInteger(opts.vocabSize) || opts.vocabSize <= specials.length) {
      throw new ConfigError(`vocabSize ${opts.vocabSize} is too small: it must exceed the ${specials.length} special tokens`);
    }
    const normalizer: BertNormalizerOptions = {
      cleanText: true,
      handleChineseChars: opts.handleChineseChars ?? true,
      stripAccents: opts.stripAccents ?? null,
      lowercase: opts.lowercase ?? true,
    };
    const basic = new BertPreTokenizer(normalizer);
    const splitter = new AddedTokenSplitter(specials.map((s, i) => specialToken(s, i)));
    const counts = new Map<string, number>();
    const parts: number[] = [];
    const sink: WordSink = { word: (w) => counts.set(w, (counts.get(w) ?? 0) + 1) };
    for (const raw of texts) {
      const text = toWellFormed(raw);
      parts.length = 0;
      splitter.split(text, parts);
      for (let j = 0; j < parts.length; j += 3) if (parts[j + 2] === -1) basic.split(text, parts[j], parts[j + 1], sink, false);
    }
    const prefix = '##';
    const initial = new Set<string>();
    const continued = new Set<string>();
    for (const w of counts.keys()) {
      let first = true;
      for (const ch of w) {
        if (first) initial.add(ch);
        else continued.add(prefix + ch);
        first = false;
      }
    }
    const byCodePoint = (a: string, b: string): number => (a.replace(prefix, '').codePointAt(0) as number) - (b.replace(prefix, '').codePointAt(0) as number);
    const alphabet = [...[...initial].sort(byCodePoint), ...[...continued].sort(byCodePoint)];
    const ids = new Map<string, number>();
    alphabet.forEach((s, i) => ids.set(s, i));
    const table = new WordTable();
    const syms: number[] = [];
    const symbolAt = (i: number): number => syms[i];
    for (const [w, c] of counts) {
      syms.length = 0;
      let first = true;
      for (const ch of w) {
        syms.push(ids.get(first ? ch : prefix + ch) as number);
        first = false;
      }
      table.add(syms.length, symbolAt, c);
    }
    const result = trainMerges({
      symbols: table.symbols,
      wordStarts: table.wordStarts,
      counts: table.counts,
      alphabet,
      joinSymbols: (a, b) => a + (b.startsWith(prefix) ? b.slice(prefix.length) : b),
      maxSymbols: opts.vocabSize - specials.length,
      minFrequency: opts.minFrequency ?? 2,
      onProgress: opts.onProgress ? (n) => opts.onProgress?.(n + specials.length) : undefined,
    });
    const vocab = new Map<string, number>();
    for (const s of specials) vocab.set(s, vocab.size);
    for (const s of result.symbols) if (!vocab.has(s)) vocab.set(s, vocab.size);
    const unk = specials.includes('[UNK]') ? '[UNK]' : specials.find((s) => /unk/i.test(s)) ?? '[UNK]';
    return new WordPieceTokenizer(vocab, {
      addedTokens: specials.map((s) => specialToken(s, vocab.get(s) as number)),
      roles: opts.roles,
      normalizer,
      unkToken: unk,
    });
  }

  protected override tokenizerClass(): string {
    return 'BertTokenizer';
  }

  protected override extraConfig(): Record<string, unknown> {
    const n = this.normalizer;
    return n ? { do_lower_case: n.lowercase, strip_accents: n.stripAccents, tokenize_chinese_chars: n.handleChineseChars } : {};
  }

  protected encodeSegment(text: string, start: number, end: number, ids: number[], offsets: number[] | null): void {
    this.outIds = ids;
    this.outOffsets = offsets;
    this.basic.split(text, start, end, this.sink, offsets !== null);
  }

  private unkId(): number {
    const id = this.vocab.get(this.unkToken);
    if (id === undefined) throw new ConfigError(`WordPiece: the unknown token "${this.unkToken}" is not in the vocabulary, so an unknown word cannot be encoded; add it to the vocabulary`);
    return id;
  }

  // Alignment of the word being tokenized (see WordSink).
  private wBase = 0;
  private wAlignStart: number[] | null = null;
  private wAlignEnd: number[] | null = null;

  /** Records the input span of the word's units `[a, b)`. */
  private span(a: number, b: number): void {
    const offsets = this.outOffsets;
    if (!offsets) return;
    if (this.wAlignStart && this.wAlignEnd) offsets.push(this.wAlignStart[a], this.wAlignEnd[b - 1]);
    else offsets.push(this.wBase + a, this.wBase + b);
  }

  /** Tokenizes one normalized word into the current output. */
  private tokenizeWord(w: string, base: number, alignStart: number[] | null, alignEnd: number[] | null): void {
    const ids = this.outIds;
    const offsets = this.outOffsets;
    this.wBase = base;
    this.wAlignStart = alignStart;
    this.wAlignEnd = alignEnd;
    if (w.length === 1) {
      const c = w.charCodeAt(0);
      let id = this.singleUnit[c];
      if (id === -2) {
        id = this.vocab.get(w) ?? -1;
        this.singleUnit[c] = id;
      }
      ids.push(id >= 0 ? id : this.unkId());
      if (offsets) this.span(0, 1);
      return;
    }
    if (w.length > this.maxInputCharsPerWord && codePointLength(w) > this.maxInputCharsPerWord) {
      ids.push(this.unkId());
      this.span(0, w.length);
      return;
    }
    const whole = this.vocab.get(w);
    if (whole !== undefined) {
      ids.push(whole);
      this.span(0, w.length);
      return;
    }
    // Greedy longest-match-first.
    const mark = ids.length;
    const markOff = offsets ? offsets.length : 0;
    let start = 0;
    while (start < w.length) {
      let end = w.length;
      let found = -1;
      while (end > start) {
        const sub = w.slice(start, end);
        const id = start === 0 ? this.vocab.get(sub) : this.continuation.get(sub);
        if (id !== undefined) {
          found = id;
          break;
        }
        end--;
        const c = w.charCodeAt(end);
        if (end > start && c >= 0xdc00 && c <= 0xdfff) end--;
      }
      if (found < 0) {
        ids.length = mark;
        if (offsets) offsets.length = markOff;
        ids.push(this.unkId());
        this.span(0, w.length);
        return;
      }
      ids.push(found);
      this.span(start, end);
      start = end;
    }
  }

  /** Hugging Face's WordPiece decoder: `##` pieces join the previous token, others get a space. */
  protected decodeTokens(tokens: string[]): string {
    const prefix = this.continuingSubwordPrefix;
    let out = '';
    for (let i = 0; i < tokens.length; i++) {
      let t = tokens[i];
      if (i !== 0) t = prefix && t.startsWith(prefix) ? t.slice(prefix.length) : ' ' + t;
      out += this.decoderCleanup ? cleanupToken(t) : t;
    }
    return out;
  }

  protected modelJSON(): ModelJSON {
    const vocab: Record<string, number> = Object.create(null) as Record<string, number>;
    for (const [tok, id] of this.vocab) vocab[tok] = id;
    const n = this.normalizer;
    return {
      normalizer: n ? { type: 'BertNormalizer', clean_text: n.cleanText, handle_chinese_chars: n.handleChineseChars, strip_accents: n.stripAccents, lowercase: n.lowercase } : null,
      pre_tokenizer: { type: 'BertPreTokenizer' },
      decoder: { type: 'WordPiece', prefix: this.continuingSubwordPrefix, cleanup: this.decoderCleanup },
      model: {
        type: 'WordPiece',
        unk_token: this.unkToken,
        continuing_subword_prefix: this.continuingSubwordPrefix,
        max_input_chars_per_word: this.maxInputCharsPerWord,
        vocab,
      },
    };
  }

  protected override legacyFiles(): Record<string, string> {
    const lines: string[] = [];
    for (let id = 0; id < this.idToTok.length; id++) lines.push(this.idToTok[id] ?? `[unused_${id}]`);
    return { 'vocab.txt': lines.join('\n') + '\n' };
  }
}
