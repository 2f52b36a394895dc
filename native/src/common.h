// Small shared helpers: OpenMP wrappers (the addon also builds without
// OpenMP, e.g. Apple clang), contention-aware thread counts and per-thread
// scratch buffers.
#pragma once

#include <atomic>
#include <chrono>
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

/** Whether the caller runs inside an OpenMP parallel region (kernels then stay on one thread). */
inline bool in_parallel() {
#ifdef _OPENMP
  return omp_in_parallel() != 0;
#else
  return false;
#endif
}

inline int thread_id() {
#ifdef _OPENMP
  return omp_get_thread_num();
#else
  return 0;
#endif
}

inline i64 now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

/**
 * Contention back-off. A parallel region needs all its threads on a core at
 * once; on a machine where other processes hold the cores (more runnable
 * threads than cores), the calling thread can wait milliseconds at the
 * closing barrier for a partner that the scheduler has not run yet, which
 * makes a 100 µs kernel take 5 ms. parallel_run() measures that wait; when it
 * exceeds what the partner saved, kernels run single-threaded for a back-off
 * period (doubling while it keeps happening, up to 1 s), then try again.
 */
struct Contention {
  static std::atomic<i64>& until() {
    static std::atomic<i64> u{0};
    return u;
  }
  static std::atomic<i64>& backoff() {
    static std::atomic<i64> b{0};
    return b;
  }
  /** MUSE_NATIVE_BACKOFF=0 turns the back-off off (benchmarks of the 2-thread kernels). */
  static bool enabled() {
    static const bool on = [] {
      const char* e = std::getenv("MUSE_NATIVE_BACKOFF");
      return !(e && e[0] == '0');
    }();
    return on;
  }
  static bool active() { return enabled() && now_ns() < until().load(std::memory_order_relaxed); }
  /** Records one region: `wall` ns in total, of which the caller computed `own` ns, with T threads. */
  static void record(i64 wall, i64 own, int T) {
    // With an even split, running alone would have taken about T·own.
    // Waiting more than that (plus 50 µs of slack for wake-ups) lost time.
    if (wall > (i64)T * own + 50000) {
      i64 b = backoff().load(std::memory_order_relaxed);
      b = b == 0 ? 20000000 : (b * 2 > 1000000000 ? 1000000000 : b * 2);  // 20 ms … 1 s
      backoff().store(b, std::memory_order_relaxed);
      until().store(now_ns() + b, std::memory_order_relaxed);
    } else {
      backoff().store(0, std::memory_order_relaxed);
    }
  }
};

/**
 * Threads worth using for `work` units (about one FMA or element each) when a
 * thread should get at least `minPerThread` of them: waking a second thread
 * costs microseconds, so small problems stay on one. Returns 1 during a
 * contention back-off.
 */
inline int threads_for(double work, double minPerThread = 32768.0) {
  int t = max_threads();
  if (t <= 1 || in_parallel()) return 1;
  int want = (int)(work / minPerThread);
  if (want < 2) return 1;
  if (Contention::active()) return 1;
  return want < t ? want : t;
}

/**
 * Runs f(t, T) on T threads (t = 0 is the caller) and feeds the contention
 * back-off with how long the caller waited for the others. T ≤ 1 runs f(0, 1)
 * inline. Call from outside any parallel region.
 */
template <class F>
void parallel_run(int T, F&& f) {
#ifdef _OPENMP
  if (T > 1) {
    const i64 t0 = now_ns();
    i64 own = 0;
#pragma omp parallel num_threads(T)
    {
      const int t = omp_get_thread_num(), nt = omp_get_num_threads();
      if (t == 0) {
        const i64 s = now_ns();
        f(0, nt);
        own = now_ns() - s;
      } else {
        f(t, nt);
      }
    }
    Contention::record(now_ns() - t0, own, T);
    return;
  }
#endif
  f(0, 1);
}

/**
 * Runs f(i) for every i in [0, n) on T threads, items claimed one at a time
 * from a shared counter: uneven items balance, and a thread that starts late
 * simply finds less left to do.
 */
template <class F>
void parallel_items(int T, i64 n, F&& f) {
  if (n <= 0) return;
  if (T <= 1 || n == 1) {
    for (i64 i = 0; i < n; i++) f(i);
    return;
  }
  std::atomic<i64> next{0};
  parallel_run(T, [&](int, int) {
    for (i64 i = next.fetch_add(1, std::memory_order_relaxed); i < n; i = next.fetch_add(1, std::memory_order_relaxed))
      f(i);
  });
}

/**
 * A growable 64-byte-aligned float buffer owned by the calling thread. `slot`
 * separates buffers used at the same time (e.g. packed A and packed B).
 * Contents are unspecified on return.
 */
float* scratch(size_t count, int slot);

/**
 * Runs f(begin, end) over [0, n) in contiguous ranges on as many threads as
 * `n / grain` justifies (1 for small n). Ranges are claimed from a shared
 * counter (four per thread), so a late or preempted thread does not hold the
 * others up.
 */
template <class F>
void parallel_ranges(i64 n, double grain, F&& f) {
  if (n <= 0) return;
  const int T = threads_for((double)n, grain);
  if (T <= 1) {
    f((i64)0, n);
    return;
  }
  const i64 pieces = n < 4 * T ? n : 4 * T;
  parallel_items(T, pieces, [&](i64 p) {
    const i64 a = n * p / pieces, b = n * (p + 1) / pieces;
    if (a < b) f(a, b);
  });
}

}  // namespace muse
