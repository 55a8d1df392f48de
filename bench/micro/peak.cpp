// Measures the single-core fp32 FMA peak: independent FMA chains (enough to cover latency x throughput)
// on the widest vectors the CPU has, in a tight loop.
#include <chrono>
#include <vector>

#include "core/cpu_features.h"
#include "micro.h"

namespace verge::bench {

double peak_avx512_gflops();
double peak_avx2_gflops();

double fma_peak_gflops() {
  static const double peak = [] {
    double best = 0;
    for (int rep = 0; rep < 5; ++rep) {
      double p = cpu_has(Isa::kAvx512)    ? peak_avx512_gflops()
                 : cpu_has(Isa::kAvx2Fma) ? peak_avx2_gflops()
                                          : 0;
      best = std::max(best, p);
    }
    return best;
  }();
  return peak;
}

void report_flops(benchmark::State& state, double flops) {
  // Iteration-invariant rates: value * iterations / seconds.
  state.counters["GFLOPS"] = benchmark::Counter(flops / 1e9, benchmark::Counter::kIsIterationInvariantRate);
  const double peak = fma_peak_gflops();
  if (peak > 0) {
    state.counters["pct_peak"] =
        benchmark::Counter(flops / 1e9 / peak * 100.0, benchmark::Counter::kIsIterationInvariantRate);
  }
}

static void BM_FmaPeak(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(fma_peak_gflops());
  state.counters["peak_GFLOPS"] = fma_peak_gflops();
}
BENCHMARK(BM_FmaPeak)->Iterations(1);

void evict_caches() {
  static std::vector<float> junk(24u << 20, 1.f);  // 96 MiB
  float s = 0;
  for (size_t i = 0; i < junk.size(); i += 16) s += junk[i];
  benchmark::DoNotOptimize(s);
}

}  // namespace verge::bench
