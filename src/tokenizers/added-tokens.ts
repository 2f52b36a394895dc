/**
 * Added tokens (special tokens such as `<|endoftext|>` or `[CLS]`, and
 * user-added tokens) and the splitter that finds them in raw text before
 * normalization and pre-tokenization, as Hugging Face tokenizers'
 * `AddedVocabulary` does: leftmost match first, longest token on ties, with
 * the `lstrip` / `rstrip` / `single_word` options.
 */

/** One entry of `added_tokens` in a `tokenizer.json`. */
export interface AddedToken {
  id: number;
  content: string;
  /** Special tokens are dropped by `decode(ids, {skipSpecialTokens: true})`. */
  special: boolean;
  /** Only match when not inside a word. */
  singleWord: boolean;
  /** Absorb whitespace on the left into the match. */
  lstrip: boolean;
  /** Absorb whitespace on the right into the match. */
  rstrip: boolean;
  /** Whether the token is matched in normalized text (muse matches it in the raw text; see docs). */
  normalized: boolean;
}

/** The JSON form of an added token in `tokenizer.json`. */
export interface AddedTokenJSON {
  id: number;
  content: string;
  single_word: boolean;
  lstrip: boolean;
  rstrip: boolean;
  normalized: boolean;
  special: boolean;
}

/** Creates a special added token with Hugging Face's defaults for special tokens. */
export function specialToken(content: string, id: number): AddedToken {
  return { id, content, special: true, singleWord: false, lstrip: false, rstrip: false, normalized: false };
}

/** The `added_tokens` entry of a Hugging Face `tokenizer.json` for `t` (snake_case fields, as the Rust library writes them). */
export function addedTokenToJSON(t: AddedToken): AddedTokenJSON {
  return {
    id: t.id,
    content: t.content,
    single_word: t.singleWord,
    lstrip: t.lstrip,
    rstrip: t.rstrip,
    normalized: t.normalized,
    special: t.special,
  };
}

const WORD_CHAR = /[\p{Alphabetic}\p{M}\p{Nd}\p{Pc}]/u;
const WHITE_SPACE = /\p{White_Space}/u;

function isWordCharBefore(text: string, i: number): boolean {
  if (i <= 0) return false;
  const c = text.charCodeAt(i - 1);
  const ch = c >= 0xdc00 && c <= 0xdfff && i >= 2 ? text.slice(i - 2, i) : text[i - 1];
  return WORD_CHAR.test(ch);
}

function isWordCharAt(text: string, i: number): boolean {
  if (i >= text.length) return false;
  const cp = text.codePointAt(i) ?? 0;
  return WORD_CHAR.test(String.fromCodePoint(cp));
}

/**
 * Finds added tokens in text. `split` reports alternating plain segments and
 * token matches in order; plain segments are what the normalizer,
 * pre-tokenizer and model see.
 */
interface TrieNode {
  next: Map<number, TrieNode>;
  token: AddedToken | null;
}

/** Above this many tokens, matches are found with a trie walk per position instead of one `indexOf` per token. */
const TRIE_THRESHOLD = 16;

/**
 * Splits text around added tokens the way Hugging Face's `AddedVocabulary`
 * does: leftmost match first, the longest token on a tie, honouring each
 * token's `lstrip`/`rstrip`/`singleWord` flags; text between matches is left
 * for the normalizer and model. Offsets are UTF-16 code units.
 */
export class AddedTokenSplitter {
  private readonly tokens: AddedToken[];
  private readonly trie: TrieNode | null = null;
  /** `firstUnit[c]` is 1 when some token starts with UTF-16 unit `c` (trie mode). */
  private readonly firstUnit: Uint8Array | null = null;

  constructor(tokens: readonly AddedToken[]) {
    // Longest first so that on equal start positions the longest token wins.
    this.tokens = tokens.filter((t) => t.content.length > 0).sort((a, b) => b.content.length - a.content.length);
    if (this.tokens.length > TRIE_THRESHOLD) {
      const root: TrieNode = { next: new Map(), token: null };
      const first = new Uint8Array(65536);
      for (const t of this.tokens) {
        let node = root;
        for (let i = 0; i < t.content.length; i++) {
          const c = t.content.charCodeAt(i);
          let child = node.next.get(c);
          if (!child) {
            child = { next: new Map(), token: null };
            node.next.set(c, child);
          }
          node = child;
        }
        if (!node.token) node.token = t;
        first[t.content.charCodeAt(0)] = 1;
      }
      this.trie = root;
      this.firstUnit = first;
    }
  }

  get isEmpty(): boolean {
    return this.tokens.length === 0;
  }

  /**
   * Splits `text` into plain stretches and token matches, appending
   * `(start, end, id)` triples to `out` in order: `id` is -1 for a plain
   * stretch (what the normalizer, pre-tokenizer and model see) and the added
   * token's id for a match (`start, end` include stripped whitespace).
   * UTF-16 offsets.
   */
  split(text: string, out: number[]): void {
    const tokens = this.tokens;
    if (tokens.length === 0) {
      if (text.length > 0) out.push(0, text.length, -1);
      return;
    }
    if (this.trie) {
      this.splitTrie(text, out);
      return;
    }
    // Next occurrence of each token at or after `from` (-1: none left).
    const next = new Array<number>(tokens.length);
    for (let k = 0; k < tokens.length; k++) next[k] = text.indexOf(tokens[k].content);
    let cursor = 0;
    let from = 0;
    while (true) {
      let best = -1;
      let bestStart = Infinity;
      for (let k = 0; k < tokens.length; k++) {
        let pos = next[k];
        if (pos < 0) continue;
        if (pos < from) {
          pos = text.indexOf(tokens[k].content, from);
          next[k] = pos;
          if (pos < 0) continue;
        }
        if (pos < bestStart) {
          best = k;
          bestStart = pos;
        }
      }
      if (best < 0) break;
      const tok = tokens[best];
      let start = bestStart;
      let end = bestStart + tok.content.length;
      if (tok.singleWord && (isWordCharBefore(text, start) || isWordCharAt(text, end))) {
        from = bestStart + 1;
        continue;
      }
      if (tok.lstrip) while (start > cursor && WHITE_SPACE.test(text[start - 1])) start--;
      if (tok.rstrip) while (end < text.length && WHITE_SPACE.test(text[end])) end++;
      if (start > cursor) out.push(cursor, start, -1);
      out.push(start, end, tok.id);
      cursor = end;
      from = end;
    }
    if (cursor < text.length) out.push(cursor, text.length, -1);
  }

  /** `split` for many tokens: at each position, the longest token starting there (leftmost first). */
  private splitTrie(text: string, out: number[]): void {
    const first = this.firstUnit as Uint8Array;
    const root = this.trie as TrieNode;
    const n = text.length;
    let cursor = 0;
    for (let i = 0; i < n; i++) {
      if (!first[text.charCodeAt(i)]) continue;
      let node: TrieNode | undefined = root;
      let tok: AddedToken | null = null;
      for (let j = i; j < n; j++) {
        node = node.next.get(text.charCodeAt(j));
        if (!node) break;
        if (node.token) tok = node.token;
      }
      if (!tok) continue;
      let start = i;
      let end = i + tok.content.length;
      if (tok.singleWord && (isWordCharBefore(text, start) || isWordCharAt(text, end))) continue;
      if (tok.lstrip) while (start > cursor && WHITE_SPACE.test(text[start - 1])) start--;
      if (tok.rstrip) while (end < n && WHITE_SPACE.test(text[end])) end++;
      if (start > cursor) out.push(cursor, start, -1);
      out.push(start, end, tok.id);
      cursor = end;
      i = end - 1;
    }
    if (cursor < n) out.push(cursor, n, -1);
  }
}
