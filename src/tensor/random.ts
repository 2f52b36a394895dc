import { ConfigError } from '../errors.js';
import { getBackend } from '../backend/index.js';

/** 6364136223846793005, PCG's 64-bit LCG multiplier, as two 32-bit halves. */
const MUL_HI = 0x5851f42d;
const MUL_LO = 0x4c957f2d;
const TWO_POW_32 = 4294967296;

/**
 * A seeded PCG32 random number generator (O'Neill 2014, "PCG: A Family of
 * Simple Fast Space-Efficient Statistically Good Algorithms for Random Number
 * Generation", the `pcg32` = PCG-XSH-RR 64/32 member): a 64-bit LCG state with
 * a 32-bit xorshift-high/random-rotate output. The 64-bit arithmetic is done in
 * 32-bit halves, so the same seed gives the same numbers on every machine and
 * backend. Seeding follows the reference `pcg32_srandom_r(initstate, initseq)`;
 * `new Generator(42, 54)` reproduces the reference demo's sequence
 * (0xa15c02b7, 0x7b47f409, …).
 */
export class Generator {
  private hi = 0;
  private lo = 0;
  private incHi = 0;
  private incLo = 1;
  /** Scratch for handing the state to a kernel. */
  private readonly words = new Uint32Array(4);
  /** The second Box–Muller normal of the last pair, or null. */
  private spare: number | null = null;

  /**
   * @param seed a non-negative integer below 2^53 (the initial state)
   * @param stream the stream selector (`initseq`); generators with different
   *   streams give independent sequences for the same seed
   * @throws ConfigError when seed or stream is not a non-negative safe integer
   */
  constructor(seed: number, stream = 54) {
    for (const [name, v] of [['seed', seed], ['stream', stream]] as const) {
      if (!Number.isSafeInteger(v) || v < 0) {
        throw new ConfigError(`Generator: ${name} must be a non-negative integer below 2^53, got ${v}`);
      }
    }
    // inc = (initseq << 1) | 1, over 64 bits
    const sHi = Math.floor(stream / TWO_POW_32) >>> 0;
    const sLo = stream >>> 0;
    this.incHi = ((sHi << 1) | (sLo >>> 31)) >>> 0;
    this.incLo = ((sLo << 1) | 1) >>> 0;
    this.hi = 0;
    this.lo = 0;
    this.step();
    // state += initstate
    const lo = this.lo + (seed >>> 0);
    this.hi = (this.hi + (Math.floor(seed / TWO_POW_32) >>> 0) + (lo >= TWO_POW_32 ? 1 : 0)) >>> 0;
    this.lo = lo >>> 0;
    this.step();
  }

  /** state = state · MUL + inc (mod 2^64). */
  private step(): void {
    const a = this.lo;
    // full 64-bit product of the low halves, in 16-bit pieces
    const a0 = a & 0xffff;
    const a1 = a >>> 16;
    const b0 = MUL_LO & 0xffff;
    const b1 = MUL_LO >>> 16;
    const p00 = a0 * b0;
    const p01 = a0 * b1;
    const p10 = a1 * b0;
    const p11 = a1 * b1;
    const mid = (p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff);
    let lo = ((mid & 0xffff) * 65536 + (p00 & 0xffff)) >>> 0;
    let hi = (p11 + (p01 >>> 16) + (p10 >>> 16) + (mid >>> 16)) >>> 0;
    hi = (hi + Math.imul(this.hi, MUL_LO) + Math.imul(a, MUL_HI)) >>> 0;
    // + inc
    const sumLo = lo + this.incLo;
    lo = sumLo >>> 0;
    hi = (hi + this.incHi + (sumLo >= TWO_POW_32 ? 1 : 0)) >>> 0;
    this.hi = hi;
    this.lo = lo;
  }

  /** The next uniformly distributed 32-bit unsigned integer. */
  nextUint32(): number {
    const hi = this.hi;
    const lo = this.lo;
    this.step();
    // xorshifted = ((old >> 18) ^ old) >> 27, truncated to 32 bits
    const xHi = hi ^ (hi >>> 18);
    const xLo = lo ^ ((lo >>> 18) | (hi << 14));
    const xs = ((xLo >>> 27) | (xHi << 5)) >>> 0;
    const rot = hi >>> 27;
    return ((xs >>> rot) | (xs << ((32 - rot) & 31))) >>> 0;
  }

  /** Uniform in [0, 1) with 32-bit resolution. */
  random(): number {
    return this.nextUint32() / TWO_POW_32;
  }

  /**
   * Standard normal by the Box–Muller transform (Box & Muller 1958); the
   * second value of each pair is kept for the next call.
   */
  normal(): number {
    if (this.spare !== null) {
      const s = this.spare;
      this.spare = null;
      return s;
    }
    const u1 = 1 - this.random(); // (0, 1]: log is finite
    const u2 = this.random();
    const r = Math.sqrt(-2 * Math.log(u1));
    const theta = 2 * Math.PI * u2;
    this.spare = r * Math.sin(theta);
    return r * Math.cos(theta);
  }

  /**
   * A uniform integer in [low, high) without modulo bias (rejection as in the
   * PCG reference `pcg32_boundedrand_r`).
   * @throws ConfigError when high ≤ low or the range exceeds 2^32
   */
  randint(low: number, high: number): number {
    const bound = high - low;
    if (!Number.isInteger(low) || !Number.isInteger(high) || bound <= 0 || bound > TWO_POW_32) {
      throw new ConfigError(`randint: need integers low < high with high − low ≤ 2^32, got [${low}, ${high})`);
    }
    const threshold = (TWO_POW_32 - bound) % bound;
    for (;;) {
      const r = this.nextUint32();
      if (r >= threshold) return low + (r % bound);
    }
  }

  /**
   * Fill `mask` with an inverted-dropout mask: element i is 0 when the i-th
   * {@link random} draw is below `p`, else `1/(1−p)` (0 everywhere for p = 1).
   * The backend's `dropoutMask` kernel draws the very same numbers when it has
   * one (native); otherwise this loop does.
   */
  fillDropoutMask(mask: Float32Array, p: number): void {
    if (randomCapture && !randomCapture.has(this)) randomCapture.set(this, this.getState());
    const n = mask.length;
    const kernel = getBackend().dropoutMask;
    if (kernel && n >= 64) {
      this.words[0] = this.hi;
      this.words[1] = this.lo;
      this.words[2] = this.incHi;
      this.words[3] = this.incLo;
      kernel(this.words, mask, n, p);
      this.hi = this.words[0]!;
      this.lo = this.words[1]!;
      return;
    }
    const keep = p === 1 ? 0 : 1 / (1 - p);
    for (let i = 0; i < n; i++) mask[i] = this.random() < p ? 0 : keep;
  }

  /** The full state as a string, for checkpoints; {@link setState} resumes exactly. */
  getState(): string {
    return JSON.stringify({
      pcg32: [this.hi, this.lo, this.incHi, this.incLo].map((v) => v.toString(16).padStart(8, '0')).join(''),
      spare: this.spare,
    });
  }

  /**
   * Restore a state from {@link getState}.
   * @throws ConfigError when the string is not a Generator state
   */
  setState(state: string): void {
    let parsed: unknown;
    try {
      parsed = JSON.parse(state);
    } catch {
      parsed = null;
    }
    const o = parsed as { pcg32?: unknown; spare?: unknown } | null;
    if (!o || typeof o.pcg32 !== 'string' || !/^[0-9a-f]{32}$/.test(o.pcg32) || !(o.spare === null || typeof o.spare === 'number')) {
      throw new ConfigError('Generator.setState: not a state produced by Generator.getState()');
    }
    const w = [0, 1, 2, 3].map((i) => parseInt((o.pcg32 as string).slice(i * 8, i * 8 + 8), 16));
    [this.hi, this.lo, this.incHi, this.incLo] = w;
    this.spare = o.spare;
  }

  /** An independent copy continuing from the same state. */
  clone(): Generator {
    const g = new Generator(0);
    g.setState(this.getState());
    return g;
  }
}

let globalGenerator = new Generator(0);

// The generators a checkpointed forward drew dropout masks from, with their state before the first draw.
let randomCapture: Map<Generator, string> | null = null;

/**
 * Runs `fn` and returns, with its result, the state each generator had
 * before `fn` first drew a dropout mask from it — what activation
 * checkpointing (`checkpoint`) restores to draw the same masks again when it
 * recomputes the forward pass (PyTorch's `preserve_rng_state`).
 */
export function captureRandomStates<T>(fn: () => T): { result: T; states: Map<Generator, string> } {
  const prev = randomCapture;
  const states = new Map<Generator, string>();
  randomCapture = states;
  try {
    return { result: fn(), states };
  } finally {
    randomCapture = prev;
    // An enclosing capture also needs the states this one saw first.
    if (prev) for (const [g, s] of states) if (!prev.has(g)) prev.set(g, s);
  }
}

/** The default generator used when an op is given none. */
export function defaultGenerator(): Generator {
  return globalGenerator;
}

/** Reseed the default generator (PyTorch `torch.manual_seed`). @returns the new default generator */
export function manualSeed(seed: number): Generator {
  globalGenerator = new Generator(seed);
  return globalGenerator;
}
