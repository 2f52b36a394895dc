/**
 * The kernel signature table of the N-API seam: for every function the native
 * addon exports, its arguments in order — name, kind (the JS type that
 * crosses), and for arrays their role (`in`, `out`, `inout`) and the length
 * the kernel needs, written in the other arguments' names — and what it
 * returns.
 *
 * `native/src/signatures.cc` holds the same table. Three checks keep the
 * seam honest: {@link NativeKernels}, the type of the addon, is derived from
 * this table, so a call in `native.ts` with a wrong argument count or type
 * does not compile; the C++ argument accessors check every read against the
 * C++ table; and {@link checkNativeSignatures} compares the two tables when
 * the addon loads, throwing a {@link NativeSignatureError} that names the
 * kernel and argument that differ. How to add a kernel: docs/native.md.
 */
import { MuseError } from '../errors.js';
import type { F32, I32 } from './backend.js';

/** The kinds of argument (strings shared with native/src/signatures.h) and the TypeScript type each one is. */
export interface NativeArgTypes {
  f32: F32;
  'f32?': F32 | null;
  i32: I32;
  'i32?': I32 | null;
  u32: Uint32Array;
  f64: Float64Array;
  'f32|i32': F32 | I32;
  /** A non-negative integer. */
  count: number;
  /** An integer (may be negative). */
  int: number;
  num: number;
  /** A trailing number that may be left out. */
  'num?': number | undefined;
  bool: boolean;
  /** An op code: the index of a C++ enum value (`native/src/kernels.h`). */
  op: number;
  'f32[]': F32[];
  'num[]': number[];
  handle: NativeHandle;
  /** Raw bytes (stored weights). */
  u8: Uint8Array;
  str: string;
  /** A plain object the kernel reads field by field (e.g. lmCreate's model spec). */
  object: object;
  /** Float32 caches, or float16 ones stored as Uint16Array. */
  'f32[]|u16[]': Array<F32 | Uint16Array>;
}
export type NativeArgKind = keyof NativeArgTypes;

/** What the addon reports about its build (`info()`). */
export interface NativeInfo {
  /** Instruction set the kernels were compiled for: `avx512`, `avx2` or `portable`. */
  isa: string;
  /** The GEMM microkernel, e.g. `avx512 8x32` (MR × NR). */
  gemmKernel: string;
  /** OpenMP threads a kernel may use. */
  threads: number;
  openmp: boolean;
}

declare const nativeHandle: unique symbol;
/** An opaque workspace the addon made (a N-API External); only the addon reads it. */
export interface NativeHandle {
  readonly [nativeHandle]: true;
}

/** What `quantInfo()` reports: the dispatch path in use, the best this CPU has, and every path it can run. */
export interface QuantPathInfo {
  path: 'portable' | 'avx2' | 'avx512';
  best: 'portable' | 'avx2' | 'avx512';
  paths: Array<'portable' | 'avx2' | 'avx512'>;
}

/** Return kinds and their TypeScript types. */
export interface NativeReturnTypes {
  void: void;
  num: number;
  str: string;
  handle: NativeHandle;
  info: NativeInfo;
  quantInfo: QuantPathInfo;
}

/** Roles of array arguments: read, written, or both. */
export type NativeArgRole = 'in' | 'out' | 'inout';

/** One table row's argument: `[name, kind]` for scalars, `[name, kind, role, length]` for arrays. */
type ArgRow = readonly [name: string, kind: NativeArgKind] | readonly [name: string, kind: NativeArgKind, role: NativeArgRole, length: string];

interface KernelRow {
  readonly returns: keyof NativeReturnTypes;
  readonly args: readonly ArgRow[];
}

const rowsCols = 'rows*cols';
const q = 'batch*heads*tq*headDim';
const kv = 'batch*heads*tk*headDim';
const gptMasks = '(maskEmbd+2*nLayer*maskResid)*batch*t*nEmbd';
const bertMasks = '(1+2*nLayer)*batch*t*hidden';
const labelled = 'count(labels != -100)';

/** The table; keep it identical to native/src/signatures.cc (same order of arguments, same strings). */
export const NATIVE_SIGNATURES = {
  gemm: {
    returns: 'void',
    args: [
      ['a', 'f32', 'in', 'aOffset+(batch-1)*aBatchStride+m*k'],
      ['b', 'f32', 'in', 'bOffset+(batch-1)*bBatchStride+k*n'],
      ['c', 'f32', 'inout', 'cOffset+(batch-1)*cBatchStride+m*n'],
      ['batch', 'count'], ['m', 'count'], ['n', 'count'], ['k', 'count'],
      ['transA', 'bool'], ['transB', 'bool'], ['alpha', 'num'], ['beta', 'num'],
      ['aOffset', 'count'], ['bOffset', 'count'], ['cOffset', 'count'],
      ['aBatchStride', 'count'], ['bBatchStride', 'count'], ['cBatchStride', 'count'],
    ],
  },
  unary: { returns: 'void', args: [['op', 'op'], ['x', 'f32', 'in', 'n'], ['out', 'f32', 'out', 'n'], ['n', 'count']] },
  unaryBackward: {
    returns: 'void',
    args: [['op', 'op'], ['x', 'f32', 'in', 'n'], ['y', 'f32', 'in', 'n'], ['dy', 'f32', 'in', 'n'], ['dx', 'f32', 'out', 'n'], ['n', 'count']],
  },
  binary: {
    returns: 'void',
    args: [
      ['op', 'op'],
      ['a', 'f32', 'in', 'span(shape, aStrides)'],
      ['b', 'f32', 'in', 'span(shape, bStrides)'],
      ['out', 'f32', 'out', 'prod(shape)'],
      ['meta', 'f64', 'in', '1+3*rank: [rank, ...shape, ...aStrides, ...bStrides]'],
    ],
  },
  reduce: {
    returns: 'void',
    args: [['op', 'op'], ['x', 'f32', 'in', 'outer*dim*inner'], ['out', 'f32', 'out', 'outer*inner'], ['outer', 'count'], ['dim', 'count'], ['inner', 'count']],
  },
  argmax: {
    returns: 'void',
    args: [['x', 'f32', 'in', 'outer*dim*inner'], ['out', 'i32', 'out', 'outer*inner'], ['outer', 'count'], ['dim', 'count'], ['inner', 'count']],
  },
  copyStrided: {
    returns: 'void',
    args: [
      ['src', 'f32|i32', 'in', 'srcOffset+span(shape, srcStrides)'],
      ['srcOffset', 'count'],
      ['dst', 'f32|i32', 'out', 'prod(shape)'],
      ['meta', 'f64', 'in', '1+2*rank: [rank, ...shape, ...srcStrides]'],
    ],
  },
  softmax: { returns: 'void', args: [['x', 'f32', 'in', rowsCols], ['out', 'f32', 'out', rowsCols], ['rows', 'count'], ['cols', 'count']] },
  softmaxBackward: {
    returns: 'void',
    args: [['y', 'f32', 'in', rowsCols], ['dy', 'f32', 'in', rowsCols], ['dx', 'f32', 'out', rowsCols], ['rows', 'count'], ['cols', 'count']],
  },
  logSoftmax: { returns: 'void', args: [['x', 'f32', 'in', rowsCols], ['out', 'f32', 'out', rowsCols], ['rows', 'count'], ['cols', 'count']] },
  logSoftmaxBackward: {
    returns: 'void',
    args: [['y', 'f32', 'in', rowsCols], ['dy', 'f32', 'in', rowsCols], ['dx', 'f32', 'out', rowsCols], ['rows', 'count'], ['cols', 'count']],
  },
  layerNorm: {
    returns: 'void',
    args: [
      ['x', 'f32', 'in', rowsCols], ['weight', 'f32?', 'in', 'cols'], ['bias', 'f32?', 'in', 'cols'], ['out', 'f32', 'out', rowsCols],
      ['mean', 'f32', 'out', 'rows'], ['rstd', 'f32', 'out', 'rows'], ['rows', 'count'], ['cols', 'count'], ['eps', 'num'],
    ],
  },
  layerNormBackward: {
    returns: 'void',
    args: [
      ['dy', 'f32', 'in', rowsCols], ['x', 'f32', 'in', rowsCols], ['weight', 'f32?', 'in', 'cols'], ['mean', 'f32', 'in', 'rows'],
      ['rstd', 'f32', 'in', 'rows'], ['dx', 'f32', 'out', rowsCols], ['dWeight', 'f32?', 'inout', 'cols'], ['dBias', 'f32?', 'inout', 'cols'],
      ['rows', 'count'], ['cols', 'count'],
    ],
  },
  embedding: {
    returns: 'void',
    args: [['weight', 'f32', 'in', '(max(ids)+1)*dim'], ['ids', 'i32', 'in', 'n'], ['out', 'f32', 'out', 'n*dim'], ['n', 'count'], ['dim', 'count']],
  },
  embeddingBackward: {
    returns: 'void',
    args: [['dOut', 'f32', 'in', 'n*dim'], ['ids', 'i32', 'in', 'n'], ['dWeight', 'f32', 'inout', '(max(ids)+1)*dim'], ['n', 'count'], ['dim', 'count']],
  },
  crossEntropy: {
    returns: 'num',
    args: [
      ['logits', 'f32', 'in', 'rows*classes'], ['targets', 'i32', 'in', 'rows'], ['losses', 'f32', 'out', 'rows'], ['lse', 'f32', 'out', 'rows'],
      ['rows', 'count'], ['classes', 'count'], ['ignoreIndex', 'int'], ['labelSmoothing', 'num'],
    ],
  },
  crossEntropyBackward: {
    returns: 'void',
    args: [
      ['logits', 'f32', 'in', 'rows*classes'], ['targets', 'i32', 'in', 'rows'], ['lse', 'f32', 'in', 'rows'], ['rowScale', 'f32', 'in', 'rows'],
      ['dLogits', 'f32', 'out', 'rows*classes'], ['rows', 'count'], ['classes', 'count'], ['ignoreIndex', 'int'], ['labelSmoothing', 'num'],
    ],
  },
  attention: {
    returns: 'void',
    args: [
      ['q', 'f32', 'in', q], ['k', 'f32', 'in', kv], ['v', 'f32', 'in', kv], ['out', 'f32', 'out', q], ['lse', 'f32', 'out', 'batch*heads*tq'],
      ['keyPaddingMask', 'i32?', 'in', 'batch*tk'], ['batch', 'count'], ['heads', 'count'], ['tq', 'count'], ['tk', 'count'],
      ['headDim', 'count'], ['scale', 'num'], ['causal', 'bool'],
    ],
  },
  attentionBackward: {
    returns: 'void',
    args: [
      ['q', 'f32', 'in', q], ['k', 'f32', 'in', kv], ['v', 'f32', 'in', kv], ['out', 'f32', 'in', q], ['lse', 'f32', 'in', 'batch*heads*tq'],
      ['keyPaddingMask', 'i32?', 'in', 'batch*tk'], ['dOut', 'f32', 'in', q], ['dq', 'f32', 'out', q], ['dk', 'f32', 'out', kv],
      ['dv', 'f32', 'out', kv], ['batch', 'count'], ['heads', 'count'], ['tq', 'count'], ['tk', 'count'], ['headDim', 'count'],
      ['scale', 'num'], ['causal', 'bool'],
    ],
  },
  adamw: {
    returns: 'void',
    args: [
      ['param', 'f32', 'inout', 'n'], ['grad', 'f32', 'in', 'n'], ['expAvg', 'f32', 'inout', 'n'], ['expAvgSq', 'f32', 'inout', 'n'],
      ['n', 'count'], ['lr', 'num'], ['beta1', 'num'], ['beta2', 'num'], ['eps', 'num'], ['weightDecay', 'num'], ['step', 'num'],
      ['gradScale', 'num'],
    ],
  },
  sumSquares: { returns: 'num', args: [['x', 'f32', 'in', 'n'], ['n', 'count']] },
  fmaPeak: { returns: 'num', args: [['seconds', 'num?']] },
  setThreads: { returns: 'num', args: [['n', 'count']] },
  info: { returns: 'info', args: [] },
  dropoutMask: {
    returns: 'void',
    args: [['state', 'u32', 'inout', '4: PCG32 [hi, lo, incHi, incLo]'], ['mask', 'f32', 'out', 'n'], ['n', 'count'], ['p', 'num']],
  },
  gptForwardCached: {
    returns: 'void',
    args: [
      ['weights', 'f32[]', 'in', '4+12*nLayer tensors'],
      ['kCaches', 'f32[]', 'inout', 'nLayer tensors of batch*nEmbd*capacity'],
      ['vCaches', 'f32[]', 'inout', 'nLayer tensors of batch*nEmbd*capacity'],
      ['ids', 'i32', 'in', 'batch*t'], ['positionIds', 'i32', 'in', 'batch*t'], ['attentionMask', 'i32?', 'in', 'batch*(past+t)'],
      ['logits', 'f32', 'out', 'batch*(lastOnly ? 1 : t)*vocab'],
      ['batch', 'count'], ['t', 'count'], ['past', 'count'], ['capacity', 'count'], ['nLayer', 'count'], ['nHead', 'count'],
      ['nEmbd', 'count'], ['vocab', 'count'], ['nPositions', 'count'], ['eps', 'num'], ['lastOnly', 'bool'],
    ],
  },
  adamwMany: {
    returns: 'void',
    args: [
      ['params', 'f32[]', 'inout', 'count tensors'], ['grads', 'f32[]', 'in', 'count tensors'], ['expAvgs', 'f32[]', 'inout', 'count tensors'],
      ['expAvgSqs', 'f32[]', 'inout', 'count tensors'], ['weightDecays', 'num[]', 'in', 'count'], ['steps', 'num[]', 'in', 'count'],
      ['lr', 'num'], ['beta1', 'num'], ['beta2', 'num'], ['eps', 'num'], ['gradScale', 'num'],
    ],
  },
  sumSquaresMany: { returns: 'num', args: [['xs', 'f32[]', 'in', 'any number of tensors']] },
  gptTrainWorkspace: {
    returns: 'handle',
    args: [['batch', 'count'], ['t', 'count'], ['nLayer', 'count'], ['nHead', 'count'], ['nEmbd', 'count'], ['vocab', 'count'], ['nPositions', 'count'], ['eps', 'num']],
  },
  gptTrainForward: {
    returns: 'num',
    args: [
      ['workspace', 'handle'], ['weights', 'f32[]', 'in', '4+12*nLayer tensors'], ['ids', 'i32', 'in', 'batch*t'], ['targets', 'i32', 'in', 'batch*t'],
      ['masks', 'f32?', 'in', gptMasks], ['maskEmbd', 'bool'], ['maskResid', 'bool'], ['logits', 'f32', 'out', 'batch*t*vocab'],
      ['losses', 'f32', 'out', 'batch*t'], ['batch', 'count'], ['t', 'count'],
    ],
  },
  gptTrainBackward: {
    returns: 'void',
    args: [
      ['workspace', 'handle'], ['weights', 'f32[]', 'in', '4+12*nLayer tensors'], ['grads', 'f32[]', 'inout', '4+12*nLayer tensors'],
      ['ids', 'i32', 'in', 'batch*t'], ['targets', 'i32', 'in', 'batch*t'], ['masks', 'f32?', 'in', gptMasks], ['maskEmbd', 'bool'],
      ['maskResid', 'bool'], ['logits', 'f32', 'in', 'batch*t*vocab'], ['gScale', 'num'], ['accumulate', 'bool'],
    ],
  },
  bertTrainWorkspace: {
    returns: 'handle',
    args: [
      ['batch', 'count'], ['t', 'count'], ['nLayer', 'count'], ['nHead', 'count'], ['hidden', 'count'], ['intermediate', 'count'],
      ['vocab', 'count'], ['nPositions', 'count'], ['typeVocab', 'count'], ['eps', 'num'], ['act', 'op'],
    ],
  },
  bertTrainForward: {
    returns: 'num',
    args: [
      ['workspace', 'handle'], ['weights', 'f32[]', 'in', '10+16*nLayer tensors'], ['ids', 'i32', 'in', 'batch*t'],
      ['tokenTypes', 'i32?', 'in', 'batch*t'], ['attentionMask', 'i32?', 'in', 'batch*t'], ['labels', 'i32', 'in', 'batch*t'],
      ['masks', 'f32?', 'in', bertMasks], ['logits', 'f32', 'out', `${labelled}*vocab`], ['losses', 'f32', 'out', labelled],
      ['batch', 'count'], ['t', 'count'],
    ],
  },
  bertTrainBackward: {
    returns: 'void',
    args: [
      ['workspace', 'handle'], ['weights', 'f32[]', 'in', '10+16*nLayer tensors'], ['grads', 'f32[]', 'inout', '10+16*nLayer tensors'],
      ['ids', 'i32', 'in', 'batch*t'], ['tokenTypes', 'i32?', 'in', 'batch*t'], ['attentionMask', 'i32?', 'in', 'batch*t'],
      ['labels', 'i32', 'in', 'batch*t'], ['masks', 'f32?', 'in', bertMasks], ['logits', 'f32', 'in', `${labelled}*vocab`],
      ['gScale', 'num'], ['accumulate', 'bool'],
    ],
  },
  // Stored-weight kernels (native/src/quant_addon.cc). `type` is a ggml type id; rowBytes(type, cols) its bytes per row.
  quantLinear: {
    returns: 'void',
    args: [
      ['type', 'count'], ['weight', 'u8', 'in', 'rows*rowBytes(type, cols)'], ['rows', 'count'], ['cols', 'count'],
      ['x', 'f32', 'in', 'm*cols'], ['m', 'count'], ['bias', 'f32?', 'in', 'rows'], ['out', 'f32', 'inout', 'm*rows'], ['accumulate', 'bool'],
    ],
  },
  quantDequantize: {
    returns: 'void',
    args: [['type', 'count'], ['weight', 'u8', 'in', 'rows*rowBytes(type, cols)'], ['rows', 'count'], ['cols', 'count'], ['out', 'f32', 'out', 'rows*cols']],
  },
  quantActRoundtrip: { returns: 'void', args: [['x', 'f32', 'in', 'm*k'], ['m', 'count'], ['k', 'count'], ['out', 'f32', 'out', 'm*k']] },
  quantInfo: { returns: 'quantInfo', args: [] },
  quantSetPath: { returns: 'str', args: [['path', 'str']] },
  lmCreate: { returns: 'handle', args: [['spec', 'object']] },
  quantReadBandwidth: { returns: 'num', args: [['buffer', 'u8', 'in', 'any'], ['seconds', 'num']] },
  quantAdviseHugePages: { returns: 'num', args: [['buffer', 'u8', 'in', 'any']] },
  lmForward: {
    returns: 'void',
    args: [
      ['model', 'handle'],
      ['kCaches', 'f32[]|u16[]', 'inout', 'nLayer tensors of batch*nKvHead*capacity*headDim'],
      ['vCaches', 'f32[]|u16[]', 'inout', 'nLayer tensors of batch*nKvHead*capacity*headDim'],
      ['ids', 'i32', 'in', 'batch*t'], ['positionIds', 'i32', 'in', 'batch*t'], ['attentionMask', 'i32?', 'in', 'batch*(past+t)'],
      ['cos', 'f32?', 'in', 'batch*t*headDim/2'], ['sin', 'f32?', 'in', 'batch*t*headDim/2'],
      ['logits', 'f32', 'out', 'batch*(lastOnly ? 1 : t)*vocab'],
      ['batch', 'count'], ['t', 'count'], ['past', 'count'], ['capacity', 'count'], ['lastOnly', 'bool'], ['kvHalf', 'bool'],
    ],
  },
} as const satisfies Record<string, KernelRow>;

type Table = typeof NATIVE_SIGNATURES;
type ArgsOf<A extends readonly ArgRow[]> = { -readonly [I in keyof A]: NativeArgTypes[A[I][1]] };

/** The addon's kernels, typed from {@link NATIVE_SIGNATURES}: one function per row, its parameters in table order. */
export type NativeKernels = {
  [K in keyof Table]: (...args: ArgsOf<Table[K]['args']>) => NativeReturnTypes[Table[K]['returns']];
};

/** An argument as the addon's `signatures()` reports it. */
export interface NativeArgSignature {
  name: string;
  kind: string;
  role?: string;
  length?: string;
}
/** A kernel's row as the addon's `signatures()` reports it. */
export interface NativeKernelSignature {
  returns: string;
  args: NativeArgSignature[];
}

/** The TypeScript table in the addon's report format (objects instead of tuples). */
export function expectedSignatures(table: Record<string, KernelRow> = NATIVE_SIGNATURES): Record<string, NativeKernelSignature> {
  const out: Record<string, NativeKernelSignature> = {};
  for (const [name, row] of Object.entries(table)) {
    out[name] = {
      returns: row.returns,
      args: row.args.map((a) => (a.length === 4 ? { name: a[0], kind: a[1], role: a[2], length: a[3] } : { name: a[0], kind: a[1] })),
    };
  }
  return out;
}

/** The addon's kernel table differs from this build's TypeScript table (a stale build, or the two tables out of step). */
export class NativeSignatureError extends MuseError {
  constructor(message: string) {
    super('NATIVE_SIGNATURE_MISMATCH', message);
    this.name = 'NativeSignatureError';
  }
}

const FIX =
  'rebuild the addon (node scripts/build-native.mjs) if it predates the sources; otherwise make native/src/signatures.cc and src/backend/native-signatures.ts agree (docs/native.md)';

/**
 * Compares the addon's reported table with the expected one, field by field.
 * @param actual what the addon's `signatures()` returned
 * @param expected the TypeScript table (default {@link NATIVE_SIGNATURES}), in report format
 * @param where the addon's path, for the message
 * @throws NativeSignatureError naming the first kernel and argument that differ (and how many other differences there are)
 */
export function checkNativeSignatures(
  actual: unknown,
  expected: Record<string, NativeKernelSignature> = expectedSignatures(),
  where = 'the native addon',
): void {
  if (typeof actual !== 'object' || actual === null) {
    throw new NativeSignatureError(`${where} reports no kernel signature table; ${FIX}`);
  }
  const got = actual as Record<string, Partial<NativeKernelSignature> | undefined>;
  const problems: string[] = [];
  const ts = 'src/backend/native-signatures.ts';
  for (const [name, want] of Object.entries(expected)) {
    const have = got[name];
    if (!have) {
      problems.push(`kernel ${name} is in ${ts} but the addon does not export it`);
      continue;
    }
    if (have.returns !== want.returns) problems.push(`kernel ${name} returns "${String(have.returns)}" in the addon, "${want.returns}" in ${ts}`);
    const args = Array.isArray(have.args) ? have.args : [];
    const n = Math.max(args.length, want.args.length);
    for (let i = 0; i < n; i++) {
      const a = args[i];
      const w = want.args[i];
      const label = `kernel ${name}, argument ${i} (${w?.name ?? a?.name ?? '?'})`;
      if (!w) problems.push(`${label}: the addon takes it, ${ts} does not list it (the addon has ${args.length} arguments, ${ts} ${want.args.length})`);
      else if (!a) problems.push(`${label}: ${ts} lists it, the addon does not take it (the addon has ${args.length} arguments, ${ts} ${want.args.length})`);
      else {
        for (const field of ['name', 'kind', 'role', 'length'] as const) {
          if ((a[field] ?? '') !== (w[field] ?? '')) {
            problems.push(`${label}: ${field} is "${a[field] ?? ''}" in the addon, "${w[field] ?? ''}" in ${ts}`);
          }
        }
      }
    }
  }
  for (const name of Object.keys(got)) {
    if (!(name in expected)) problems.push(`kernel ${name} is exported by the addon but not listed in ${ts}`);
  }
  if (problems.length > 0) {
    const more = problems.length > 1 ? ` (and ${problems.length - 1} more difference${problems.length > 2 ? 's' : ''})` : '';
    throw new NativeSignatureError(`${where} does not match this build's kernel table: ${problems[0]}${more}; ${FIX}`);
  }
}
