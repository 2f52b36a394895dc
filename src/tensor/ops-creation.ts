/**
 * Tensor creation. dtype defaults to float32 everywhere (JavaScript numbers
 * cannot tell `1` from `1.0`, so nothing is inferred from values); pass
 * 'int32' for ids and indices. Random creation draws from a {@link Generator}
 * (the default global one when omitted) in row-major order.
 */
import { Tensor, type DType, type NestedArray } from './tensor.js';
import { defaultGenerator, type Generator } from './random.js';
import { shapeStr, sizeOf } from './shape.js';
import { ConfigError, ShapeError } from '../errors.js';

function alloc(n: number, dtype: DType): Float32Array | Int32Array {
  return dtype === 'int32' ? new Int32Array(n) : new Float32Array(n);
}

function checkShape(shape: readonly number[], op: string): void {
  if (shape.some((d) => !Number.isInteger(d) || d < 0)) throw new ShapeError(`${op}: invalid shape ${shapeStr(shape)}`);
}

/** All zeros. */
export function zeros(shape: readonly number[], dtype: DType = 'float32'): Tensor {
  checkShape(shape, 'zeros');
  return new Tensor(alloc(sizeOf(shape), dtype), shape);
}

/** All ones. */
export function ones(shape: readonly number[], dtype: DType = 'float32'): Tensor {
  return full(shape, 1, dtype);
}

/** Every element `value`. */
export function full(shape: readonly number[], value: number, dtype: DType = 'float32'): Tensor {
  checkShape(shape, 'full');
  const d = alloc(sizeOf(shape), dtype);
  d.fill(value);
  return new Tensor(d, shape);
}

/**
 * `[start, end)` in steps of `step` (`arange(n)` = 0..n−1), 1-D.
 * @throws ConfigError for step 0
 */
export function arange(start: number, end?: number, step = 1, dtype: DType = 'float32'): Tensor {
  let s = start;
  let e = end;
  if (e === undefined) {
    e = s;
    s = 0;
  }
  if (step === 0) throw new ConfigError('arange: step must not be 0');
  const n = Math.max(0, Math.ceil((e - s) / step));
  const d = alloc(n, dtype);
  for (let i = 0; i < n; i++) d[i] = s + i * step;
  return new Tensor(d, [n]);
}

/**
 * A tensor over a copy of `data` (a typed array's type sets the dtype unless given).
 * @throws ShapeError when the length does not fill `shape`
 */
export function fromArray(data: ArrayLike<number>, shape: readonly number[], dtype?: DType): Tensor {
  const dt: DType = dtype ?? (data instanceof Int32Array ? 'int32' : 'float32');
  if (data.length !== sizeOf(shape)) {
    throw new ShapeError(`fromArray: ${data.length} values do not fill shape ${shapeStr(shape)} (${sizeOf(shape)} elements)`);
  }
  const d = alloc(data.length, dt);
  d.set(data instanceof Float32Array || data instanceof Int32Array || Array.isArray(data) ? data : Array.from(data));
  return new Tensor(d, shape);
}

/**
 * A tensor from nested arrays (`tensor([[1, 2], [3, 4]])`), float32 unless `dtype` says otherwise.
 * @throws ShapeError for ragged nesting
 */
export function tensor(nested: NestedArray, dtype: DType = 'float32'): Tensor {
  const shape: number[] = [];
  let cur: NestedArray = nested;
  while (Array.isArray(cur)) {
    shape.push(cur.length);
    cur = cur[0];
    if (cur === undefined) break;
  }
  const flat: number[] = [];
  const walk = (v: NestedArray, dim: number): void => {
    if (dim === shape.length) {
      if (typeof v !== 'number') throw new ShapeError(`tensor: ragged nested array (expected a number at depth ${dim})`);
      flat.push(v);
      return;
    }
    if (!Array.isArray(v) || v.length !== shape[dim]) throw new ShapeError(`tensor: ragged nested array at depth ${dim} (expected length ${shape[dim]})`);
    for (const e of v) walk(e, dim + 1);
  };
  walk(nested, 0);
  return fromArray(flat, shape, dtype);
}

/** Standard normal samples (Box–Muller from `gen`). */
export function randn(shape: readonly number[], gen: Generator = defaultGenerator()): Tensor {
  checkShape(shape, 'randn');
  const d = new Float32Array(sizeOf(shape));
  for (let i = 0; i < d.length; i++) d[i] = gen.normal();
  return new Tensor(d, shape);
}

/** Uniform samples in [0, 1). */
export function rand(shape: readonly number[], gen: Generator = defaultGenerator()): Tensor {
  checkShape(shape, 'rand');
  const d = new Float32Array(sizeOf(shape));
  for (let i = 0; i < d.length; i++) d[i] = gen.random();
  return new Tensor(d, shape);
}

/** Uniform int32 samples in [low, high). */
export function randint(low: number, high: number, shape: readonly number[], gen: Generator = defaultGenerator()): Tensor {
  checkShape(shape, 'randint');
  const d = new Int32Array(sizeOf(shape));
  for (let i = 0; i < d.length; i++) d[i] = gen.randint(low, high);
  return new Tensor(d, shape);
}
