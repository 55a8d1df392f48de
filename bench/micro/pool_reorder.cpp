// Blocked pools and layout kernels on real layer shapes (ResNet-18, SqueezeNet 1.1, ShuffleNetV2,
// MobileNetV2, EfficientNet-B0 / MobileNetV3 SE pools): reference kernel vs the optimized variants.
// These are memory-bound: GBps counts the bytes read and written per run (FLOP/s for windowed pools).
//   verge_micro --benchmark_filter=PoolReorder
#include <string>
#include <vector>

#include "core/cpu_features.h"
#include "micro.h"
#include "node_runner.h"

namespace verge::bench {
namespace {

void report_bytes(benchmark::State& state, double bytes) {
  state.counters["GBps"] = benchmark::Counter(bytes / 1e9, benchmark::Counter::kIsIterationInvariantRate);
}

void run_loop(benchmark::State& state, NodeRunner& r, const std::string& variant, int threads) {
  const std::string err = r.prepare(variant, threads);
  if (!err.empty()) {
    state.SkipWithError(err.c_str());
    return;
  }
  for (auto _ : state) {
    r.run();
    benchmark::ClobberMemory();
  }
}

struct PoolShape {
  const char* name;
  int64_t c, h, w;
  bool global, max;
  int64_t k, s, pad, ceil;
};

const PoolShape kPools[] = {
    {"resnet18_maxpool", 64, 112, 112, false, true, 3, 2, 1, 0},
    {"squeezenet_maxpool1", 64, 111, 111, false, true, 3, 2, 0, 1},
    {"squeezenet_maxpool2", 128, 55, 55, false, true, 3, 2, 0, 1},
    {"squeezenet_maxpool3", 256, 27, 27, false, true, 3, 2, 0, 1},
    {"shufflenet_maxpool", 24, 112, 112, false, true, 3, 2, 1, 0},
    {"resnet18_gap", 512, 7, 7, true, false, 0, 0, 0, 0},
    {"mbv2_gap", 1280, 7, 7, true, false, 0, 0, 0, 0},
    {"squeezenet_gap", 1000, 13, 13, true, false, 0, 0, 0, 0},
    {"effb0_se_gap_112", 32, 112, 112, true, false, 0, 0, 0, 0},
    {"effb0_se_gap_56", 144, 56, 56, true, false, 0, 0, 0, 0},
    {"effb0_se_gap_14", 672, 14, 14, true, false, 0, 0, 0, 0},
    {"mbv3s_se_gap_56", 16, 56, 56, true, false, 0, 0, 0, 0},
    {"avgpool_3x3_s1", 128, 28, 28, false, false, 3, 1, 1, 0},
};

void BM_Pool(benchmark::State& state, PoolShape p, int64_t block, std::string variant, int threads) {
  NodeRunner r("BlockedPool", "verge");
  r.attr_int("block", block);
  r.attr_string("mode", p.max ? "max" : "average");
  r.attr_int("global", p.global ? 1 : 0);
  if (!p.global) {
    r.attr_ints("kernel_shape", {p.k, p.k});
    r.attr_ints("strides", {p.s, p.s});
    r.attr_ints("pads", {p.pad, p.pad, p.pad, p.pad});
    r.attr_int("ceil_mode", p.ceil);
  }
  const int64_t cb = (p.c + block - 1) / block;
  r.input(bench_tensor({1, cb, p.h, p.w, block}));
  run_loop(state, r, variant, threads);
  const Tensor& y = r.output();
  report_bytes(state, 4.0 * static_cast<double>(cb * block * p.h * p.w + y.numel()));
  if (!p.global) report_flops(state, static_cast<double>(y.numel() * p.k * p.k));  // one max/add per tap
}

struct Reorder {
  const char* name;
  bool to;  // ToBlocked (else FromBlocked)
  int64_t c, h, w;
};
const Reorder kReorders[] = {
    {"to_blocked_image", true, 3, 224, 224},
    {"to_blocked_64x56", true, 64, 56, 56},
    {"from_blocked_1024x7", false, 1024, 7, 7},
    {"from_blocked_64x56", false, 64, 56, 56},
};

void BM_Reorder(benchmark::State& state, Reorder o, int64_t block, std::string variant, int threads) {
  NodeRunner r(o.to ? "ToBlocked" : "FromBlocked", "verge");
  const int64_t cb = (o.c + block - 1) / block;
  if (o.to) {
    r.attr_int("block", block);
    r.input(bench_tensor({1, o.c, o.h, o.w}));
  } else {
    r.attr_int("channels", o.c);
    r.input(bench_tensor({1, cb, o.h, o.w, block}));
  }
  run_loop(state, r, variant, threads);
  report_bytes(state, 4.0 * static_cast<double>((o.c + cb * block) * o.h * o.w));
}

struct Concat {
  const char* name;
  std::vector<int64_t> channels;
  int64_t hw;
};
const Concat kConcats[] = {
    {"squeezenet_fire2", {64, 64}, 55},
    {"squeezenet_fire4", {128, 128}, 27},
    {"squeezenet_fire8", {256, 256}, 13},
    {"unaligned_58_58", {58, 58}, 28},
};

void BM_Concat(benchmark::State& state, Concat cc, int64_t block, std::string variant, int threads) {
  NodeRunner r("BlockedConcat", "verge");
  r.attr_int("block", block);
  r.attr_ints("channels", cc.channels);
  int64_t floats = 0;
  for (int64_t c : cc.channels) {
    const int64_t cb = (c + block - 1) / block;
    r.input(bench_tensor({1, cb, cc.hw, cc.hw, block}));
    floats += cb * block * cc.hw * cc.hw;
  }
  run_loop(state, r, variant, threads);
  report_bytes(state, 4.0 * static_cast<double>(floats + r.output().numel()));
}

template <class Fn, class Arg>
void register_all(const std::string& name, Fn fn, Arg arg, const char* avx512, const char* avx2,
                  bool scalar) {
  benchmark::RegisterBenchmark((name + "/ref").c_str(), fn, arg, 16, std::string(), 1)
      ->Unit(benchmark::kMicrosecond);
  if (scalar || cpu_has(Isa::kAvx512)) {
    benchmark::RegisterBenchmark((name + "/fast").c_str(), fn, arg, 16, avx512, 1)
        ->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark((name + "/fast_2t").c_str(), fn, arg, 16, avx512, 2)
        ->Unit(benchmark::kMicrosecond)
        ->UseRealTime();
  }
  if (scalar || cpu_has(Isa::kAvx2Fma))
    benchmark::RegisterBenchmark((name + "/fast_b8").c_str(), fn, arg, 8, avx2, 1)
        ->Unit(benchmark::kMicrosecond);
}

const bool kRegistered = [] {
  for (const PoolShape& p : kPools)
    register_all(std::string("PoolReorder/pool/") + p.name, BM_Pool, p, "pool_nchw16c_avx512",
                 "pool_nchw8c_avx2", false);
  for (const Reorder& o : kReorders) {
    const char* v = o.to ? "to_blocked_fast" : "from_blocked_fast";
    register_all(std::string("PoolReorder/reorder/") + o.name, BM_Reorder, o, v, v, true);
  }
  for (const Concat& c : kConcats)
    register_all(std::string("PoolReorder/concat/") + c.name, BM_Concat, c, "concat_nchwc_fast",
                 "concat_nchwc_fast", true);
  return true;
}();

}  // namespace
}  // namespace verge::bench
