// Gemm / FusedGemm microbenchmarks on the classifier layers of the benchmark models and the Fashion-MNIST
// MLP: reference kernel (Arg kernel=0) vs gemm_f32_avx512 (1) / gemm_f32_avx2 (2), 1 and 2 threads.
// Counters: GFLOPS and pct_peak; wGB/s = packed-weight bytes streamed per second (the matrix-vector bound).
#include <vector>

#include "micro.h"
#include "node_runner.h"

namespace verge::bench {
namespace {

const char* variant_of(int64_t arg) { return arg == 0 ? "" : arg == 1 ? "gemm_f32_avx512" : "gemm_f32_avx2"; }

// Args: M, K, N, kernel (0 ref, 1 avx512, 2 avx2), threads, activation (0 none, 1 Relu, 2 HardSwish),
// cold (1: caches flushed before every run).
void BM_Gemm(benchmark::State& state) {
  const int64_t m = state.range(0), k = state.range(1), n = state.range(2);
  const int64_t act = state.range(5);
  NodeRunner r(act ? "FusedGemm" : "Gemm", act ? "verge" : "");
  r.attr_int("transB", 1);
  if (act) r.attr_string("activation", act == 1 ? "Relu" : "HardSwish");
  r.input(bench_tensor({m, k}, 1));
  r.input(bench_tensor({n, k}, 2), true);
  r.input(bench_tensor({n}, 3), true);
  if (std::string err = r.prepare(variant_of(state.range(3)), static_cast<int>(state.range(4)));
      !err.empty()) {
    state.SkipWithError(err.c_str());
    return;
  }
  // Cold weights (range 6): as in a whole model where the classifier's weights were pushed out of L2/L3
  // by the layers before it.
  run_iterations(state, state.range(6) != 0, [&] { r.run(); });
  report_flops(state, 2.0 * static_cast<double>(m * k * n));
  state.counters["wGB/s"] =
      benchmark::Counter(static_cast<double>(k * n) * 4 / 1e9, benchmark::Counter::kIsIterationInvariantRate);
}

void gemm_args(benchmark::internal::Benchmark* b) {
  b->ArgNames({"M", "K", "N", "kernel", "threads", "act", "cold"});
  const std::vector<std::vector<int64_t>> shapes = {
      {1, 512, 1000, 0},                          // ResNet-18 fc
      {1, 1280, 1000, 0},                         // MobileNetV2 / EfficientNet-B0 classifier
      {1, 576, 1024, 2},                          // MobileNetV3-Small head (+HardSwish)
      {1, 1024, 1000, 0},                         // MobileNetV3-Small classifier
      {1, 1600, 128, 1},                          // Fashion-MNIST MLP, batch 1
      {64, 1600, 128, 1},                         // batch 64
      {500, 1600, 128, 1},                        // batch 500
      {500, 128, 10, 0},   {256, 1024, 1024, 0},  // compute-bound reference point
  };
  for (const auto& s : shapes)
    for (int64_t kernel : {0, 1, 2})
      for (int64_t threads : {1, 2}) {
        if (kernel == 0 && s[0] * s[1] * s[2] > 100'000'000) continue;  // the reference takes seconds there
        b->Args({s[0], s[1], s[2], kernel, threads, s[3], 0});
        if (s[0] == 1 && kernel > 0) b->Args({s[0], s[1], s[2], kernel, threads, s[3], 1});
      }
}
BENCHMARK(BM_Gemm)->Apply(gemm_args)->UseRealTime();

}  // namespace
}  // namespace verge::bench
