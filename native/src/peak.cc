#include "peak.h"

#include <chrono>

#include "common.h"
#include "simd.h"

namespace muse {
namespace {

// 12 independent accumulators cover FMA latency × throughput on current cores
// (4 cycles × 2 pipes = 8 in flight), with room to spare.
constexpr int CHAINS = 12;
constexpr long INNER = 4096;

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
  int threads = max_threads();
  double flops = 0, elapsed = 0, sink = 0;
  // Calibrate one repetition count, then run every thread for ~seconds.
  auto t0 = clock::now();
  sink += run_chains(64, 1.0f);
  double per = std::chrono::duration<double>(clock::now() - t0).count() / 64;
  long reps = (long)(seconds / (per > 0 ? per : 1e-6));
  if (reps < 1) reps = 1;
  t0 = clock::now();
#ifdef _OPENMP
#pragma omp parallel num_threads(threads) reduction(+ : sink)
#endif
  sink += run_chains(reps, 1.0f + thread_id());
  elapsed = std::chrono::duration<double>(clock::now() - t0).count();
  flops = (double)threads * reps * INNER * CHAINS * VW * 2.0;
  if (sink == 12345.678) flops += 1;  // use the result
  return flops / elapsed / 1e9;
}

}  // namespace muse
