// Small shared helpers: OpenMP wrappers (the addon also builds without
// OpenMP, e.g. Apple clang) and per-thread scratch buffers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>

#ifdef _OPENMP
#include <omp.h>
#endif

namespace muse {

using i64 = int64_t;

/** Threads OpenMP would use for a parallel region (1 without OpenMP). */
inline int max_threads() {
#ifdef _OPENMP
  return omp_get_max_threads();
#else
  return 1;
#endif
}

inline int thread_id() {
#ifdef _OPENMP
  return omp_get_thread_num();
#else
  return 0;
#endif
}

/**
 * Threads worth using for `work` units of roughly one FMA-vector each: waking a
 * second thread costs a few microseconds, so small problems stay on one.
 */
inline int threads_for(double work, double minPerThread = 32768.0) {
  int t = max_threads();
  if (t <= 1) return 1;
  int want = (int)(work / minPerThread);
  if (want < 1) want = 1;
  return want < t ? want : t;
}

/**
 * A growable 64-byte-aligned float buffer owned by the calling thread. `slot`
 * separates buffers used at the same time (e.g. packed A and packed B).
 * Contents are unspecified on return.
 */
float* scratch(size_t count, int slot);

/**
 * Runs f(begin, end) over [0, n) split into contiguous ranges, one per thread,
 * using as many threads as `n / grain` justifies (1 for small n).
 */
template <class F>
void parallel_ranges(i64 n, double grain, F&& f) {
  if (n <= 0) return;
  int T = threads_for((double)n, grain);
#ifdef _OPENMP
  if (T > 1) {
#pragma omp parallel num_threads(T)
    {
      const int t = omp_get_thread_num(), nt = omp_get_num_threads();
      const i64 a = n * t / nt, b = n * (t + 1) / nt;
      if (a < b) f(a, b);
    }
    return;
  }
#endif
  f((i64)0, n);
}

}  // namespace muse
