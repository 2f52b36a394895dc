// The kernel signature table of the N-API seam: for every function the addon
// exports, its arguments in order (name, kind, and for arrays their role and
// the length the kernel needs) and what it returns. src/backend/native-signatures.ts
// holds the same table; the addon exports this one (`signatures()`), and
// src/backend/native.ts compares the two when it loads the addon, throwing a
// NativeSignatureError naming the kernel and argument on any difference. In
// here, every argument accessor of addon.cc checks that the argument it reads
// has the kind this table declares, so the table cannot drift from the code
// that reads the arguments either. How to add a kernel: docs/native.md.
#pragma once

#include <cstddef>
#include <vector>

namespace muse {

/** How one argument crosses the seam (the `kind` strings of the table). */
enum class ArgKind {
  F32,           // "f32": Float32Array
  F32_OR_NULL,   // "f32?": Float32Array or null
  I32,           // "i32": Int32Array
  I32_OR_NULL,   // "i32?": Int32Array or null
  U32,           // "u32": Uint32Array
  F64,           // "f64": Float64Array
  F32_OR_I32,    // "f32|i32": Float32Array or Int32Array (4-byte words)
  COUNT,         // "count": a non-negative integer
  INT,           // "int": an integer
  NUM,           // "num": a number
  NUM_OPTIONAL,  // "num?": a number or nothing (trailing arguments only)
  BOOL,          // "bool": a boolean
  OP,            // "op": an op code (a non-negative integer below the enum's count)
  F32_LIST,      // "f32[]": an array of Float32Array
  NUM_LIST,      // "num[]": an array of numbers
  HANDLE,        // "handle": a workspace handle made by the addon
  U8,            // "u8": Uint8Array (raw stored-weight bytes)
  STR,           // "str": a string
  OBJECT,        // "object": a plain object the kernel reads field by field
  F32_OR_U16_LIST,  // "f32[]|u16[]": an array of Float32Array or of Uint16Array (half-precision caches)
};

struct ArgSig {
  const char* name;
  const char* kind;
  /** Arrays: "in" (read), "out" (written) or "inout" (read and written); "" for scalars. */
  const char* role;
  /** Arrays: the elements (or tensors) the kernel needs, in terms of other arguments; "" for scalars. */
  const char* length;
};

struct KernelSig {
  const char* name;
  /** "void", "num", "str", "handle", "info" or "quantInfo". */
  const char* returns;
  std::vector<ArgSig> args;
  /** args[i].kind parsed (filled once, by kernel_signatures()). */
  std::vector<ArgKind> kinds = {};
  /** Arguments a caller must pass (all but trailing optional ones). */
  size_t required = 0;
};

/** The table, in export order; its kinds are validated when first built (std::logic_error on an unknown kind). */
const std::vector<KernelSig>& kernel_signatures();

/** The row of `name`; std::logic_error when the table has none (an addon bug, caught when the addon loads). */
const KernelSig& kernel_signature(const char* name);

/** The table's string for a kind, e.g. "f32?". */
const char* kind_name(ArgKind k);

}  // namespace muse
