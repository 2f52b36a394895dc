// Register-only FMA throughput probe: the machine's fp32 ceiling for GEMM.
#pragma once

namespace muse {

/**
 * Runs independent FMA chains that never touch memory on every OpenMP thread
 * for about `seconds`, and returns the measured GFLOP/s (2 flops per lane per
 * FMA) summed over threads.
 */
double fma_peak(double seconds);

}  // namespace muse
