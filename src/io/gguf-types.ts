/**
 * The vocabulary shared by the GGUF reader (`gguf.ts`) and writer
 * (`gguf-write.ts`): metadata value types and their constructors. GGUF is
 * ggml's single-file model format (ggml/docs/gguf.md): a header of typed
 * key–value metadata and tensor infos, then aligned tensor data.
 */

/** A metadata value's element type, by the names of gguf.md's `gguf_metadata_value_type`. */
export type GgufScalarType =
  | 'uint8'
  | 'int8'
  | 'uint16'
  | 'int16'
  | 'uint32'
  | 'int32'
  | 'float32'
  | 'bool'
  | 'string'
  | 'uint64'
  | 'int64'
  | 'float64';

/** `gguf_metadata_value_type` enum values (ARRAY = 9 is the array tag). */
export const GGUF_VALUE_TYPE_ID: Readonly<Record<GgufScalarType | 'array', number>> = {
  uint8: 0,
  int8: 1,
  uint16: 2,
  int16: 3,
  uint32: 4,
  int32: 5,
  float32: 6,
  bool: 7,
  string: 8,
  array: 9,
  uint64: 10,
  int64: 11,
  float64: 12,
};

/** Bytes of one value of each fixed-size type (strings: 8-byte length + bytes). */
export const GGUF_SCALAR_SIZE: Readonly<Record<Exclude<GgufScalarType, 'string'>, number>> = {
  uint8: 1, int8: 1, uint16: 2, int16: 2, uint32: 4, int32: 4, float32: 4, bool: 1, uint64: 8, int64: 8, float64: 8,
};

/** One metadata value with its on-disk type, so a file read and written again keeps its types. */
export type GgufValue =
  | { type: 'uint8' | 'int8' | 'uint16' | 'int16' | 'uint32' | 'int32' | 'float32' | 'float64'; value: number }
  | { type: 'uint64' | 'int64'; value: bigint }
  | { type: 'bool'; value: boolean }
  | { type: 'string'; value: string }
  | { type: 'array'; itemType: Exclude<GgufScalarType, 'uint64' | 'int64' | 'bool' | 'string'>; value: number[] }
  | { type: 'array'; itemType: 'uint64' | 'int64'; value: bigint[] }
  | { type: 'array'; itemType: 'bool'; value: boolean[] }
  | { type: 'array'; itemType: 'string'; value: string[] };

/** Metadata in file order (GGUF keys are unique). */
export type GgufMetadata = Map<string, GgufValue>;

/** Constructors of typed metadata values, e.g. `ggufValue.uint32(2048)`, `ggufValue.strings(tokens)`. */
export const ggufValue = {
  uint8: (value: number): GgufValue => ({ type: 'uint8', value }),
  int8: (value: number): GgufValue => ({ type: 'int8', value }),
  uint16: (value: number): GgufValue => ({ type: 'uint16', value }),
  int16: (value: number): GgufValue => ({ type: 'int16', value }),
  uint32: (value: number): GgufValue => ({ type: 'uint32', value }),
  int32: (value: number): GgufValue => ({ type: 'int32', value }),
  float32: (value: number): GgufValue => ({ type: 'float32', value }),
  float64: (value: number): GgufValue => ({ type: 'float64', value }),
  uint64: (value: bigint | number): GgufValue => ({ type: 'uint64', value: BigInt(value) }),
  int64: (value: bigint | number): GgufValue => ({ type: 'int64', value: BigInt(value) }),
  bool: (value: boolean): GgufValue => ({ type: 'bool', value }),
  string: (value: string): GgufValue => ({ type: 'string', value }),
  strings: (value: string[]): GgufValue => ({ type: 'array', itemType: 'string', value }),
  int32s: (value: ArrayLike<number>): GgufValue => ({ type: 'array', itemType: 'int32', value: Array.from(value) }),
  uint32s: (value: ArrayLike<number>): GgufValue => ({ type: 'array', itemType: 'uint32', value: Array.from(value) }),
  float32s: (value: ArrayLike<number>): GgufValue => ({ type: 'array', itemType: 'float32', value: Array.from(value) }),
};

/** The default `general.alignment` (bytes) of tensor data. */
export const GGUF_DEFAULT_ALIGNMENT = 32;

/** Elements per block and bytes per block of every `ggml_type` (ggml.c `type_traits`), to size tensors muse cannot decode. */
export const GGML_TYPE_TRAITS: Readonly<Record<number, [blockSize: number, typeSize: number]>> = {
  0: [1, 4], 1: [1, 2], 2: [32, 18], 3: [32, 20], 6: [32, 22], 7: [32, 24], 8: [32, 34], 9: [32, 36],
  10: [256, 84], 11: [256, 110], 12: [256, 144], 13: [256, 176], 14: [256, 210], 15: [256, 292],
  16: [256, 66], 17: [256, 74], 18: [256, 98], 19: [256, 50], 20: [32, 18], 21: [256, 110], 22: [256, 82],
  23: [256, 136], 24: [1, 1], 25: [1, 2], 26: [1, 4], 27: [1, 8], 28: [1, 8], 29: [256, 56], 30: [1, 2],
  34: [256, 54], 35: [256, 66], 39: [32, 17],
};
