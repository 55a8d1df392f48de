// int8 depthwise vs fp32 depthwise on the same layer shapes, in the same run (a ratio that survives a
// loaded machine): QLinearConv depthwise (`qlinearconv_dw_avx512vnni`, NCHW uint8) next to the fp32
// BlockedConv depthwise (`conv_nchw16c_depthwise_avx512`, NCHW16c), one thread each. The fp32 kernel
// gets Clip for MobileNetV2 layers (fused, as in the model) and no activation elsewhere (SiLU /
// HardSwish are separate ops in the int8 graph). Also the requantization schemes alone
// (ref/quant_math.h) over 64 Ki accumulators: float32 (used), fixed point, double; and verge.QLut.
//   verge_micro --benchmark_filter='QDw|QRequant|QLut'
#include <random>
#include <string>
#include <vector>

#include "core/cpu_features.h"
#include "kernels/cpu/qconv.h"
#include "kernels/ref/quant_math.h"
#include "micro.h"
#include "node_runner.h"

namespace verge::bench {
namespace {

struct QDwLayer {
  const char* model;
  int64_t c, hw, k, s;
};

const QDwLayer kQDwLayers[] = {
    {"mbv2", 32, 112, 3, 1},  {"mbv2", 96, 112, 3, 2},  {"mbv2", 144, 56, 3, 1},  {"mbv2", 144, 56, 3, 2},
    {"mbv2", 192, 28, 3, 1},  {"mbv2", 384, 14, 3, 1},  {"mbv2", 576, 14, 3, 2},  {"mbv2", 960, 7, 3, 1},
    {"effb0", 144, 56, 5, 2}, {"effb0", 240, 28, 5, 2}, {"effb0", 480, 14, 5, 1}, {"effb0", 672, 14, 5, 2},
    {"effb0", 1152, 7, 5, 1}, {"mbv3s", 96, 28, 5, 2},  {"mbv3s", 240, 14, 5, 1}, {"mbv3s", 88, 28, 3, 1},
};

Tensor random_bytes(std::mt19937& rng, DType dt, Shape shape, int lo, int hi) {
  Tensor t = Tensor::allocate(dt, std::move(shape)).value();
  std::uniform_int_distribution<int> u(lo, hi);
  auto* p = static_cast<uint8_t*>(t.raw());
  for (int64_t i = 0; i < t.numel(); ++i) p[i] = static_cast<uint8_t>(u(rng));
  return t;
}

void finish(benchmark::State& state, const QDwLayer& l) {
  const int64_t o = (l.hw + 2 * (l.k / 2) - l.k) / l.s + 1;
  state.counters["Mpix"] = benchmark::Counter(static_cast<double>(l.c * o * o) / 1e6,
                                              benchmark::Counter::kIsIterationInvariantRate);
}

void BM_QDwFp32(benchmark::State& state, QDwLayer l) {
  NodeRunner r("BlockedConv", "verge");
  const int64_t p = l.k / 2;
  r.attr_int("block", 16);
  r.attr_int("group", l.c);
  r.attr_ints("kernel_shape", {l.k, l.k});
  r.attr_ints("strides", {l.s, l.s});
  r.attr_ints("pads", {p, p, p, p});
  if (std::string(l.model) == "mbv2") {
    r.attr_string("activation", "Clip");
    r.attr_floats("activation_params", {0.f, 6.f});
  }
  r.input(bench_tensor({1, (l.c + 15) / 16, l.hw, l.hw, 16}));
  r.input(bench_tensor({l.c, 1, l.k, l.k}, 2), true);
  r.input(bench_tensor({l.c}, 3), true);
  if (std::string err = r.prepare("conv_nchw16c_depthwise_avx512", 1); !err.empty()) {
    state.SkipWithError(err.c_str());
    return;
  }
  for (auto _ : state) {
    r.run();
    benchmark::ClobberMemory();
  }
  finish(state, l);
}

void BM_QDwInt8(benchmark::State& state, QDwLayer l) {
  std::mt19937 rng(1);
  NodeRunner r("QLinearConv", "");
  const int64_t p = l.k / 2;
  r.attr_ints("kernel_shape", {l.k, l.k});
  r.attr_ints("strides", {l.s, l.s});
  r.attr_ints("pads", {p, p, p, p});
  r.attr_int("group", l.c);
  r.input(random_bytes(rng, DType::kUInt8, {1, l.c, l.hw, l.hw}, 0, 255));
  r.input(Tensor::scalar<float>(0.02f), true);
  r.input(Tensor::scalar<uint8_t>(120), true);
  r.input(random_bytes(rng, DType::kInt8, {l.c, 1, l.k, l.k}, 0, 255), true);
  Tensor ws = Tensor::allocate(DType::kFloat32, {l.c}).value();
  for (int64_t i = 0; i < l.c; ++i) ws.data<float>()[i] = 0.001f + 0.0001f * static_cast<float>(i % 7);
  r.input(std::move(ws), true);
  Tensor wzp = Tensor::allocate(DType::kInt8, {l.c}).value();
  for (int64_t i = 0; i < l.c; ++i) wzp.data<int8_t>()[i] = 0;
  r.input(std::move(wzp), true);
  r.input(Tensor::scalar<float>(0.1f), true);
  r.input(Tensor::scalar<uint8_t>(0), true);
  Tensor bias = Tensor::allocate(DType::kInt32, {l.c}).value();
  for (int64_t i = 0; i < l.c; ++i) bias.data<int32_t>()[i] = static_cast<int32_t>(i * 37 % 2001) - 1000;
  r.input(std::move(bias), true);
  if (std::string err = r.prepare("qlinearconv_dw_avx512vnni", 1); !err.empty()) {
    state.SkipWithError(err.c_str());
    return;
  }
  for (auto _ : state) {
    r.run();
    benchmark::ClobberMemory();
  }
  finish(state, l);
}

// Requantization alone: 64 Ki int32 accumulators -> uint8 (arg: 0 float32, 1 fixed point, 2 double).
void BM_QRequant(benchmark::State& state) {
  std::mt19937 rng(2);
  std::vector<int32_t> acc(65536);
  std::uniform_int_distribution<int32_t> u(-200000, 200000);
  for (int32_t& a : acc) a = u(rng);
  std::vector<uint8_t> y(acc.size());
  const double mult = 0.00137;
  const ref::quant::FixedMultiplier f = ref::quant::fixed_multiplier(mult);
  const auto n = static_cast<int64_t>(acc.size());
  for (auto _ : state) {
    if (state.range(0) == 0)
      qrequant_f32_avx512vnni(acc.data(), n, static_cast<float>(mult), 7, false, y.data());
    else if (state.range(0) == 1)
      qrequant_fixed_avx512vnni(acc.data(), n, f.mult, f.shift, 7, false, y.data());
    else
      qrequant_double_avx512vnni(acc.data(), n, mult, 7, false, y.data());
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  state.counters["Gvals"] =
      benchmark::Counter(static_cast<double>(n) / 1e9, benchmark::Counter::kIsIterationInvariantRate);
}

// verge.QLut on an EfficientNet-B0 activation (96 x 112 x 112 bytes): reference loop vs qlut_avx512vbmi.
void BM_QLut(benchmark::State& state) {
  std::mt19937 rng(3);
  NodeRunner r("QLut", "verge");
  r.input(random_bytes(rng, DType::kUInt8, {1, 96, 112, 112}, 0, 255));
  r.input(random_bytes(rng, DType::kUInt8, {256}, 0, 255), true);
  if (std::string err = r.prepare(state.range(0) ? "qlut_avx512vbmi" : "", 1); !err.empty()) {
    state.SkipWithError(err.c_str());
    return;
  }
  for (auto _ : state) {
    r.run();
    benchmark::ClobberMemory();
  }
  state.counters["GB/s"] =
      benchmark::Counter(96.0 * 112 * 112 / 1e9, benchmark::Counter::kIsIterationInvariantRate);
}

const bool kRegistered = [] {
  if (!cpu_has(Isa::kAvx512Vnni)) return false;
  for (const QDwLayer& l : kQDwLayers) {
    const std::string name = std::string("QDw/") + l.model + "/c" + std::to_string(l.c) + "_" +
                             std::to_string(l.hw) + "_k" + std::to_string(l.k) + "s" + std::to_string(l.s);
    benchmark::RegisterBenchmark((name + "/fp32").c_str(), BM_QDwFp32, l)->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark((name + "/int8").c_str(), BM_QDwInt8, l)->Unit(benchmark::kMicrosecond);
  }
  benchmark::RegisterBenchmark("QRequant", BM_QRequant)
      ->ArgName("scheme")
      ->Arg(0)
      ->Arg(1)
      ->Arg(2)
      ->Unit(benchmark::kMicrosecond);
  benchmark::RegisterBenchmark("QLut", BM_QLut)
      ->ArgName("vbmi")
      ->Arg(0)
      ->Arg(1)
      ->Unit(benchmark::kMicrosecond);
  return true;
}();

}  // namespace
}  // namespace verge::bench
