#include "peak.h"

#include <atomic>
#include <chrono>

#include "common.h"
#include "simd.h"

namespace muse {
namespace {

// 12 independent accumulators cover FMA latency × throughput on current cores
// (4 cycles × 2 pipes = 8 in flight), with room to spare.
constexpr int CHAINS = 12;
constexpr long INNER = 4096;

std::atomic<bool>& stopFlag() {
  static std::atomic<bool> f{false};
  return f;
}

double run_chains(long reps, float seed) {
  vf acc[CHAINS];
  for (int i = 0; i < CHAINS; i++) acc[i] = vset1(seed + 0.001f * i);
  const vf mul = vset1(0.999999f), add = vset1(1e-7f);
  for (long r = 0; r < reps; r++) {
    for (long it = 0; it < INNER; it++) {
#pragma GCC unroll 12
      for (int i = 0; i < CHAINS; i++) acc[i] = vfma(acc[i], mul, add);
    }
    // An opaque use per repetition keeps the chains in registers and alive.
#pragma GCC unroll 12
    for (int i = 0; i < CHAINS; i++) __asm__ volatile("" : "+x"(acc[i]));
  }
  vf s = acc[0];
  for (int i = 1; i < CHAINS; i++) s = vadd(s, acc[i]);
  return (double)vhsum(s);
}

}  // namespace

double fma_peak(double seconds) {
  using clock = std::chrono::steady_clock;
  if (seconds <= 0) seconds = 0.2;
  const int threads = max_threads();
  // Calibrate a burst of about half a millisecond.
  auto t0 = clock::now();
  double sink = run_chains(16, 1.0f);
  double per = std::chrono::duration<double>(clock::now() - t0).count() / 16;
  long reps = (long)(5e-4 / (per > 0 ? per : 1e-6));
  if (reps < 1) reps = 1;
  // All threads run a burst between two barriers; the fastest burst (wall
  // time of the slowest thread) counts. On a shared machine a burst in which
  // every thread had its core shows what the cores can do together — the
  // same condition a multi-threaded kernel needs — where an average would
  // mostly measure the other processes.
  double best = 1e30;
  const auto end = clock::now() + std::chrono::duration<double>(seconds);
#ifdef _OPENMP
#pragma omp parallel num_threads(threads) reduction(+ : sink)
#endif
  {
    for (;;) {
      bool stop = false;
      clock::time_point b0;
#ifdef _OPENMP
#pragma omp barrier
#pragma omp master
#endif
      b0 = clock::now();
      sink += run_chains(reps, 1.0f + thread_id());
#ifdef _OPENMP
#pragma omp barrier
#pragma omp master
#endif
      {
        const auto b1 = clock::now();
        const double dt = std::chrono::duration<double>(b1 - b0).count();
        if (dt < best) best = dt;
        stop = b1 >= end;
        stopFlag().store(stop, std::memory_order_relaxed);
      }
#ifdef _OPENMP
#pragma omp barrier
#endif
      if (stopFlag().load(std::memory_order_relaxed)) break;
    }
  }
  stopFlag().store(false, std::memory_order_relaxed);
  const double total = (double)threads * reps * INNER * CHAINS * VW * 2.0 / best;
  if (sink == 12345.678) return total;  // keep the chains' results alive
  return total / 1e9;
}

}  // namespace muse
