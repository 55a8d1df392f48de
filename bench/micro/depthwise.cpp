// Depthwise verge.BlockedConv on real layer shapes (MobileNetV2, EfficientNet-B0, MobileNetV3-small,
// ShuffleNetV2): reference kernel vs the AVX-512 / AVX2 variants, GFLOP/s and % of the FMA peak.
//   verge_micro --benchmark_filter=Depthwise
#include <string>
#include <vector>

#include "core/cpu_features.h"
#include "micro.h"
#include "node_runner.h"

namespace verge::bench {
namespace {

struct DwLayer {
  const char* model;
  int64_t c, hw, k, s;
  const char* act;  // "" / Relu / Clip / HardSwish / SiLU
};

const DwLayer kLayers[] = {
    {"mbv2", 32, 112, 3, 1, "Clip"},      {"mbv2", 96, 112, 3, 2, "Clip"},
    {"mbv2", 144, 56, 3, 1, "Clip"},      {"mbv2", 144, 56, 3, 2, "Clip"},
    {"mbv2", 192, 28, 3, 1, "Clip"},      {"mbv2", 384, 14, 3, 1, "Clip"},
    {"mbv2", 576, 14, 3, 1, "Clip"},      {"mbv2", 576, 14, 3, 2, "Clip"},
    {"mbv2", 960, 7, 3, 1, "Clip"},       {"effb0", 32, 112, 3, 1, "SiLU"},
    {"effb0", 144, 56, 5, 2, "SiLU"},     {"effb0", 240, 28, 5, 2, "SiLU"},
    {"effb0", 480, 14, 5, 1, "SiLU"},     {"effb0", 672, 14, 5, 2, "SiLU"},
    {"effb0", 1152, 7, 5, 1, "SiLU"},     {"mbv3s", 16, 112, 3, 2, "Relu"},
    {"mbv3s", 72, 56, 3, 2, "Relu"},      {"mbv3s", 88, 28, 3, 1, "Relu"},
    {"mbv3s", 96, 28, 5, 2, "HardSwish"}, {"mbv3s", 240, 14, 5, 1, "HardSwish"},
    {"mbv3s", 576, 7, 5, 1, "HardSwish"}, {"shufv2", 58, 28, 3, 1, ""},
    {"shufv2", 116, 28, 3, 2, ""},        {"shufv2", 232, 7, 3, 1, ""},
};

void BM_Depthwise(benchmark::State& state, DwLayer l, int64_t block, std::string variant, int threads) {
  NodeRunner r("BlockedConv", "verge");
  const int64_t p = l.k / 2;
  r.attr_int("block", block);
  r.attr_int("group", l.c);
  r.attr_ints("kernel_shape", {l.k, l.k});
  r.attr_ints("strides", {l.s, l.s});
  r.attr_ints("pads", {p, p, p, p});
  const std::string act = l.act;
  if (!act.empty()) r.attr_string("activation", act);
  if (act == "Clip") r.attr_floats("activation_params", {0.f, 6.f});
  r.input(bench_tensor({1, (l.c + block - 1) / block, l.hw, l.hw, block}));
  r.input(bench_tensor({l.c, 1, l.k, l.k}, 2), true);
  r.input(bench_tensor({l.c}, 3), true);
  const std::string err = r.prepare(variant, threads);
  if (!err.empty()) {
    state.SkipWithError(err.c_str());
    return;
  }
  for (auto _ : state) {
    r.run();
    benchmark::ClobberMemory();
  }
  const int64_t o = (l.hw + 2 * p - l.k) / l.s + 1;
  report_flops(state, 2.0 * static_cast<double>(l.c * o * o * l.k * l.k));
}

const bool kRegistered = [] {
  for (const DwLayer& l : kLayers) {
    const std::string name = std::string("Depthwise/") + l.model + "/c" + std::to_string(l.c) + "_" +
                             std::to_string(l.hw) + "_k" + std::to_string(l.k) + "s" + std::to_string(l.s);
    benchmark::RegisterBenchmark((name + "/ref").c_str(), BM_Depthwise, l, 16, std::string(), 1)
        ->Unit(benchmark::kMicrosecond);
    if (cpu_has(Isa::kAvx512)) {
      benchmark::RegisterBenchmark((name + "/avx512").c_str(), BM_Depthwise, l, 16,
                                   "conv_nchw16c_depthwise_avx512", 1)
          ->Unit(benchmark::kMicrosecond);
      benchmark::RegisterBenchmark((name + "/avx512_2t").c_str(), BM_Depthwise, l, 16,
                                   "conv_nchw16c_depthwise_avx512", 2)
          ->Unit(benchmark::kMicrosecond)
          ->UseRealTime();
    }
    if (cpu_has(Isa::kAvx2Fma))
      benchmark::RegisterBenchmark((name + "/avx2").c_str(), BM_Depthwise, l, 8, "conv_nchw8c_depthwise_avx2",
                                   1)
          ->Unit(benchmark::kMicrosecond);
  }
  return true;
}();

}  // namespace
}  // namespace verge::bench
