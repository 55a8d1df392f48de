// int8 QLinearConv microbenchmarks on ResNet-18 / MobileNetV2 layer shapes: reference kernel (kernel=0)
// vs qlinearconv_avx512vnni (1) vs qlinearconv_winograd_avx512vnni (2, 3x3 stride 1) vs qlinearconv_amx
// (3) vs qlinearconv_amx_direct (4, stride 1, not 1x1), 1 and 2 threads (AMX: skipped without it).
// Counters: GOPS (2 ops per multiply-add) and pct_vnni_peak = % of 4x the measured fp32 FMA peak (vpdpbusd
// does 4 multiply-adds per lane per instruction where an FMA does 1: ~469 GOP/s per core on this machine).
#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#if __has_include("node_runner.h")  // main renamed depthwise_runner.h to node_runner.h
#include "node_runner.h"
#else
#include "depthwise_runner.h"
#endif
#include "micro.h"

namespace verge::bench {
namespace {

template <class T>
Tensor random_ints(std::mt19937& rng, Shape shape, int lo, int hi) {
  Tensor t = Tensor::allocate(kDTypeOf<T>, std::move(shape)).value();
  std::uniform_int_distribution<int> u(lo, hi);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<T>()[i] = static_cast<T>(u(rng));
  return t;
}

// Args: C, H (= W), M, kernel size, stride, group, kernel (0 ref, 1 vnni, 2 Winograd, 3 AMX, 4 AMX direct),
// threads, cold caches.
void BM_QLinearConv(benchmark::State& state) {
  const int64_t c = state.range(0), hw = state.range(1), m = state.range(2), k = state.range(3);
  const int64_t stride = state.range(4), group = state.range(5);
  std::mt19937 rng(1);
  NodeRunner r("QLinearConv", "");
  r.attr_ints("kernel_shape", {k, k});
  r.attr_ints("strides", {stride, stride});
  r.attr_ints("pads", {k / 2, k / 2, k / 2, k / 2});
  r.attr_int("group", group);
  r.input(random_ints<uint8_t>(rng, {1, c, hw, hw}, 0, 255));
  r.input(Tensor::scalar<float>(0.02f), true);
  r.input(Tensor::scalar<uint8_t>(120), true);
  // Weights like a trained layer's per-channel int8 ones: normal, the largest near 127.
  Tensor w = Tensor::allocate(DType::kInt8, {m, c / group, k, k}).value();
  std::normal_distribution<float> normal(0.f, 127.f / 3.5f);
  for (int64_t i = 0; i < w.numel(); ++i)
    w.data<int8_t>()[i] = static_cast<int8_t>(std::clamp(std::nearbyint(normal(rng)), -127.f, 127.f));
  r.input(std::move(w), true);
  Tensor ws = Tensor::allocate(DType::kFloat32, {m}).value();
  for (int64_t i = 0; i < m; ++i) ws.data<float>()[i] = 0.001f + 0.0001f * static_cast<float>(i % 7);
  r.input(std::move(ws), true);
  r.input(random_ints<int8_t>(rng, {m}, 0, 0), true);
  r.input(Tensor::scalar<float>(0.1f), true);
  r.input(Tensor::scalar<uint8_t>(0), true);
  r.input(random_ints<int32_t>(rng, {m}, -1000, 1000), true);
  const char* variants[] = {"", group == c ? "qlinearconv_dw_avx512vnni" : "qlinearconv_avx512vnni",
                            "qlinearconv_winograd_avx512vnni", "qlinearconv_amx", "qlinearconv_amx_direct"};
  if (std::string err = r.prepare(variants[state.range(6)], static_cast<int>(state.range(7))); !err.empty()) {
    state.SkipWithError(err.c_str());
    return;
  }
  // Cold (range 8): as in a whole model whose weights (resnet18 int8 with Winograd: ~27 MB) exceed what
  // L3 keeps between two uses of a layer.
  run_iterations(state, state.range(8) != 0, [&] { r.run(); });
  const int64_t out_hw = (hw + 2 * (k / 2) - k) / stride + 1;
  const double ops = 2.0 * static_cast<double>(m * out_hw * out_hw * (c / group) * k * k);
  state.counters["GOPS"] = benchmark::Counter(ops / 1e9, benchmark::Counter::kIsIterationInvariantRate);
  if (const double peak = 4 * fma_peak_gflops(); peak > 0)
    state.counters["pct_vnni_peak"] =
        benchmark::Counter(ops / 1e9 / peak * 100.0, benchmark::Counter::kIsIterationInvariantRate);
}

void qconv_args(benchmark::internal::Benchmark* b) {
  b->ArgNames({"C", "HW", "M", "k", "s", "g", "kernel", "threads", "cold"});
  const std::vector<std::vector<int64_t>> layers = {
      {64, 56, 64, 3, 1, 1},   {128, 28, 128, 3, 1, 1}, {256, 14, 256, 3, 1, 1},   {512, 7, 512, 3, 1, 1},
      {64, 56, 128, 1, 2, 1},  {128, 28, 128, 3, 2, 1}, {3, 224, 64, 7, 2, 1},      // ResNet-18
      {32, 112, 32, 3, 1, 32}, {96, 56, 24, 1, 1, 1},   {144, 56, 144, 3, 1, 144},  // MobileNetV2
      {16, 55, 64, 3, 1, 1},   {32, 27, 128, 3, 1, 1},  {48, 13, 192, 3, 1, 1},    {64, 13, 256, 3, 1, 1},
      {3, 224, 64, 3, 2, 1},  // SqueezeNet 1.1
  };
  for (const auto& l : layers)
    for (int64_t kernel : {0, 1, 2, 3, 4})
      for (int64_t threads : {1, 2}) {
        if (kernel == 0 && threads == 2) continue;
        if (kernel == 2 && (l[3] != 3 || l[4] != 1 || l[5] != 1)) continue;
        if (kernel >= 3 && l[5] != 1) continue;                              // AMX: no depthwise
        if (kernel == 4 && (l[3] == 1 || l[4] != 1 || l[0] < 56)) continue;  // direct: stride 1, KxK, C >= 56
        b->Args({l[0], l[1], l[2], l[3], l[4], l[5], kernel, threads, 0});
        if (kernel != 0 && l[0] >= 128 && l[5] == 1)
          b->Args({l[0], l[1], l[2], l[3], l[4], l[5], kernel, threads, 1});
      }
}
BENCHMARK(BM_QLinearConv)->Apply(qconv_args)->UseRealTime();

}  // namespace
}  // namespace verge::bench
