// Shared helpers for microbenchmarks: measured single-core FMA peak and a counter setter that reports
// GFLOP/s and % of that peak.
#pragma once

#include <benchmark/benchmark.h>

namespace verge::bench {

// Measured fp32 FMA peak of one core in GFLOP/s for the best ISA available (cached; measured once).
double fma_peak_gflops();
// Sets counters GFLOPS (rate) and pct_peak on `state` for `flops` floating-point ops per iteration.
void report_flops(benchmark::State& state, double flops_per_iter);
// Evicts the caches (a 96 MiB read sweep): in a whole model a layer's weights are not cached when it runs.
// Call with the timing paused.
void evict_caches();
// The benchmark loop: run() per iteration, after an untimed evict_caches() when `cold`.
template <class Run>
void run_iterations(benchmark::State& state, bool cold, Run&& run) {
  for (auto _ : state) {
    if (cold) {
      state.PauseTiming();
      evict_caches();
      state.ResumeTiming();
    }
    run();
  }
}

}  // namespace verge::bench
