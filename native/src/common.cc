#include "common.h"

#include <new>

namespace muse {

namespace {
constexpr int kSlots = 8;

struct ScratchSet {
  float* ptr[kSlots] = {};
  size_t cap[kSlots] = {};
  ~ScratchSet() {
    for (int i = 0; i < kSlots; i++) std::free(ptr[i]);
  }
};

thread_local ScratchSet tlsScratch;
}  // namespace

float* scratch(size_t count, int slot) {
  ScratchSet& s = tlsScratch;
  if (count > s.cap[slot]) {
    std::free(s.ptr[slot]);
    // Grow geometrically and round to whole cache lines (aligned_alloc needs a
    // multiple of the alignment). Extra 64 floats let kernels read a little past
    // the end of a packed panel without faulting.
    size_t want = count + count / 4 + 64;
    size_t bytes = ((want * sizeof(float)) + 63) / 64 * 64;
    s.ptr[slot] = static_cast<float*>(std::aligned_alloc(64, bytes));
    if (!s.ptr[slot]) {
      s.cap[slot] = 0;
      throw std::bad_alloc();
    }
    s.cap[slot] = bytes / sizeof(float) - 64;
  }
  return s.ptr[slot];
}

}  // namespace muse
