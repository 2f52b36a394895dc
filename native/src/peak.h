// Register-only FMA throughput probe: the machine's fp32 ceiling for GEMM.
#pragma once

namespace muse {

/**
 * Runs independent FMA chains that never touch memory on every OpenMP thread,
 * in ~0.5 ms bursts between barriers, for about `seconds`, and returns the
 * GFLOP/s (2 flops per lane per FMA, all threads together) of the fastest
 * burst.
 */
double fma_peak(double seconds);

}  // namespace muse
