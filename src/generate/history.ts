/**
 * The tokens of every decoding row, left-padded to a common column count:
 * row r's real tokens are the columns `[start[r], length)`; the prompt
 * occupies columns `[0, promptColumns)`, generated tokens the rest. Rows can
 * be reordered and duplicated (beam search, dropping finished rows).
 */
import type { RowContext } from './logits-process.js';

/**
 * Token ids of every decoding row as one growing `[rows, length]` Int32 grid
 * (left-padded; see the module comment), plus per-row start columns. Capacity
 * grows geometrically as tokens are appended, so a huge `maxNewTokens` costs
 * nothing up front (reliability issue 17, item 4).
 */
export class TokenHistory {
  /**
   * `[rows, stride]` token ids; padding columns hold `padId`. The stride
   * starts near the prompt's width and doubles as tokens are appended (up to
   * `capacity`), so a huge token budget costs nothing until it is used.
   */
  private ids: Int32Array;
  private stride: number;
  private spare: Int32Array;
  /** First real column of each row. */
  start: Int32Array;
  private spareStart: Int32Array;
  /** Which input prompt each row continues. */
  batchIndex: Int32Array;
  private spareBatch: Int32Array;
  /** Columns filled so far (the same for every row). */
  length: number;
  rows: number;

  /**
   * @param prompts one non-empty token list per row
   * @param capacity most columns the history may reach: longest prompt + tokens to generate (a limit; memory grows as needed)
   * @param padId id stored in padding columns
   */
  constructor(
    prompts: readonly (readonly number[])[],
    readonly capacity: number,
    readonly padId: number,
  ) {
    const rows = prompts.length;
    this.rows = rows;
    const width = Math.max(0, ...prompts.map((p) => p.length));
    this.promptColumns = width;
    this.length = width;
    this.stride = Math.min(capacity, width + 256);
    this.ids = new Int32Array(rows * this.stride).fill(padId);
    this.spare = new Int32Array(0);
    this.start = new Int32Array(rows);
    this.spareStart = new Int32Array(rows);
    this.batchIndex = new Int32Array(rows);
    this.spareBatch = new Int32Array(rows);
    for (let r = 0; r < rows; r++) {
      const p = prompts[r];
      const s = width - p.length;
      this.start[r] = s;
      this.batchIndex[r] = r;
      for (let i = 0; i < p.length; i++) this.ids[r * this.stride + s + i] = p[i];
    }
  }

  /** Column count of the (left-padded) prompt. */
  readonly promptColumns: number;

  /** Token at (row, column). */
  at(row: number, col: number): number {
    return this.ids[row * this.stride + col];
  }

  /** Real tokens of `row` (prompt + generated), a view valid until the next reorder. */
  tokens(row: number): Int32Array {
    const base = row * this.stride;
    return this.ids.subarray(base + this.start[row], base + this.length);
  }

  /** Generated tokens of `row`, a view. */
  generated(row: number): Int32Array {
    const base = row * this.stride;
    return this.ids.subarray(base + this.promptColumns, base + this.length);
  }

  /** Real prompt length of `row`. */
  promptLength(row: number): number {
    return this.promptColumns - this.start[row];
  }

  /** A {@link RowContext} for the processors. */
  context(row: number): RowContext {
    return { inputIds: this.tokens(row), promptLength: this.promptLength(row), batchIndex: this.batchIndex[row] };
  }

  /**
   * Append one column: `tokens[r]` to row r.
   * @throws RangeError when the capacity is exhausted (a bug: capacity covers maxNewTokens)
   */
  append(tokens: ArrayLike<number>): void {
    if (this.length >= this.capacity) throw new RangeError('TokenHistory capacity exhausted');
    if (this.length >= this.stride) this.grow();
    const c = this.length;
    for (let r = 0; r < this.rows; r++) this.ids[r * this.stride + c] = tokens[r];
    this.length++;
  }

  /** Overwrite the last column of `row` (beam search writes each new beam's token). */
  setLast(row: number, token: number): void {
    this.ids[row * this.stride + this.length - 1] = token;
  }

  /** Double the stride (at most `capacity`), copying the filled columns. */
  private grow(): void {
    const stride = Math.min(this.capacity, 2 * this.stride);
    const ids = new Int32Array(this.rows * stride).fill(this.padId);
    for (let r = 0; r < this.rows; r++) ids.set(this.ids.subarray(r * this.stride, r * this.stride + this.length), r * stride);
    this.ids = ids;
    this.spare = new Int32Array(0);
    this.stride = stride;
  }

  /** New row i = old row `indices[i]` (rows may repeat or vanish). Copies the filled columns only. */
  reorder(indices: ArrayLike<number>): void {
    const n = indices.length;
    const cap = this.stride;
    if (this.spare.length < n * cap) this.spare = new Int32Array(n * cap);
    if (this.spareStart.length < n) {
      this.spareStart = new Int32Array(n);
      this.spareBatch = new Int32Array(n);
    }
    for (let i = 0; i < n; i++) {
      const src = indices[i] * cap;
      this.spare.set(this.ids.subarray(src, src + this.length), i * cap);
      this.spareStart[i] = this.start[indices[i]];
      this.spareBatch[i] = this.batchIndex[indices[i]];
    }
    [this.ids, this.spare] = [this.spare, this.ids];
    [this.start, this.spareStart] = [this.spareStart.subarray(0, n), this.start];
    [this.batchIndex, this.spareBatch] = [this.spareBatch.subarray(0, n), this.batchIndex];
    this.rows = n;
  }
}
