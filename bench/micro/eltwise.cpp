// Elementwise microbenchmarks (memory-bound: GB/s = bytes read + written per second): reference kernel
// (Arg kernel=0) vs binary_f32_avx512 / unary_f32_avx512 (1), 1 and 2 threads, on the SE-gate shapes of
// EfficientNet-B0 / MobileNetV3 (blocked x[N,Cb,H,W,16] * g[N,Cb,1,1,16]) and generic large tensors;
// Softmax/LogSoftmax (softmax_f32_avx512) on classifier logits; Resize (resize_f32_2d) 2x upsampling.
#include <algorithm>
#include <random>
#include <vector>

#include "micro.h"
#include "node_runner.h"

namespace verge::bench {
namespace {

Tensor random_tensor(std::mt19937& rng, Shape shape) { return bench_tensor(std::move(shape), rng()); }

void run_case(benchmark::State& state, const char* op, const char* variant, std::vector<Tensor> inputs) {
  double bytes = 0;
  for (const Tensor& t : inputs) bytes += static_cast<double>(t.nbytes());
  bytes += static_cast<double>(std::max(inputs[0].nbytes(), inputs.size() > 1 ? inputs[1].nbytes() : 0));
  NodeRunner r(op, "");
  for (Tensor& t : inputs) r.input(std::move(t));
  if (std::string err = r.prepare(state.range(0) ? variant : "", static_cast<int>(state.range(1)));
      !err.empty()) {
    state.SkipWithError(err.c_str());
    return;
  }
  for (auto _ : state) r.run();
  state.SetBytesProcessed(static_cast<int64_t>(bytes) * state.iterations());
}

// Blocked SE gate: x[1, Cb, H, H, 16] * g[1, Cb, 1, 1, 16]. Args: H, C, kernel, threads.
void BM_EltwiseSeGate(benchmark::State& state) {
  std::mt19937 rng(1);
  const int64_t h = state.range(2), cb = (state.range(3) + 15) / 16;
  run_case(state, "Mul", "binary_f32_avx512",
           {random_tensor(rng, {1, cb, h, h, 16}), random_tensor(rng, {1, cb, 1, 1, 16})});
}
void se_args(benchmark::internal::Benchmark* b) {
  b->ArgNames({"kernel", "threads", "H", "C"});
  // EfficientNet-B0 (112x112x32 ... 7x7x1152) and MobileNetV3-Small (56x56x16, 7x7x576) SE blocks.
  for (auto [h, c] : {std::pair{112, 32}, {56, 144}, {28, 240}, {14, 480}, {7, 1152}, {56, 16}, {7, 576}})
    for (int64_t kernel : {0, 1})
      for (int64_t threads : {1, 2}) b->Args({kernel, threads, h, c});
}

void BM_EltwiseAddSame(benchmark::State& state) {
  std::mt19937 rng(1);
  run_case(state, "Add", "binary_f32_avx512", {random_tensor(rng, {1 << 20}), random_tensor(rng, {1 << 20})});
}
void BM_EltwiseMulScalar(benchmark::State& state) {
  std::mt19937 rng(1);
  run_case(state, "Mul", "binary_f32_avx512", {random_tensor(rng, {1 << 20}), random_tensor(rng, {})});
}
void BM_EltwiseAddPlanarChannel(benchmark::State& state) {
  std::mt19937 rng(1);
  run_case(state, "Add", "binary_f32_avx512",
           {random_tensor(rng, {1, 64, 56, 56}), random_tensor(rng, {1, 64, 1, 1})});
}
void BM_EltwiseMaxSame(benchmark::State& state) {
  std::mt19937 rng(1);
  run_case(state, "Max", "binary_f32_avx512", {random_tensor(rng, {1 << 20}), random_tensor(rng, {1 << 20})});
}
template <const char* Op>
void BM_EltwiseUnary(benchmark::State& state) {
  std::mt19937 rng(1);
  run_case(state, Op, "unary_f32_avx512", {random_tensor(rng, {1 << 20})});
}
constexpr char kRelu[] = "Relu", kHardSwish[] = "HardSwish", kSigmoid[] = "Sigmoid", kTanh[] = "Tanh";
// Softmax over the last axis of a batch of classifier logits [64, 1000].
template <const char* Op>
void BM_Softmax(benchmark::State& state) {
  std::mt19937 rng(1);
  run_case(state, Op, "softmax_f32_avx512", {random_tensor(rng, {64, 1000})});
}
constexpr char kSoftmax[] = "Softmax", kLogSoftmax[] = "LogSoftmax";

// Resize 2x upsampling of a [1, 64, 56, 56] feature map (FPN/YOLO neck): Arg mode 0 nearest, 1 linear.
void BM_Resize2x(benchmark::State& state) {
  NodeRunner r("Resize", "");
  r.attr_string("mode", state.range(2) ? "linear" : "nearest");
  r.input(bench_tensor({1, 64, 56, 56}));
  const double bytes = 64.0 * 56 * 56 * 4 * 5;  // read once, write 4x
  Tensor scales = Tensor::allocate(DType::kFloat32, {4}).value();
  const float s[4] = {1, 1, 2, 2};
  std::copy(s, s + 4, scales.data<float>());
  r.omitted();
  r.input(std::move(scales), true);
  if (std::string err = r.prepare(state.range(0) ? "resize_f32_2d" : "", static_cast<int>(state.range(1)));
      !err.empty()) {
    state.SkipWithError(err.c_str());
    return;
  }
  for (auto _ : state) r.run();
  state.SetBytesProcessed(static_cast<int64_t>(bytes) * state.iterations());
}
void resize_args(benchmark::internal::Benchmark* b) {
  b->ArgNames({"kernel", "threads", "linear"});
  for (int64_t linear : {0, 1})
    for (int64_t kernel : {0, 1})
      for (int64_t threads : {1, 2}) b->Args({kernel, threads, linear});
}

void args(benchmark::internal::Benchmark* b) {
  b->ArgNames({"kernel", "threads"});
  for (int64_t kernel : {0, 1})
    for (int64_t threads : {1, 2}) b->Args({kernel, threads});
}
BENCHMARK(BM_EltwiseSeGate)->Apply(se_args)->UseRealTime();
BENCHMARK(BM_EltwiseAddSame)->Apply(args)->UseRealTime();
BENCHMARK(BM_EltwiseMulScalar)->Apply(args)->UseRealTime();
BENCHMARK(BM_EltwiseAddPlanarChannel)->Apply(args)->UseRealTime();
BENCHMARK(BM_EltwiseMaxSame)->Apply(args)->UseRealTime();
BENCHMARK(BM_EltwiseUnary<kRelu>)->Apply(args)->UseRealTime();
BENCHMARK(BM_EltwiseUnary<kHardSwish>)->Apply(args)->UseRealTime();
BENCHMARK(BM_EltwiseUnary<kSigmoid>)->Apply(args)->UseRealTime();
BENCHMARK(BM_EltwiseUnary<kTanh>)->Apply(args)->UseRealTime();
BENCHMARK(BM_Softmax<kSoftmax>)->Apply(args)->UseRealTime();
BENCHMARK(BM_Softmax<kLogSoftmax>)->Apply(args)->UseRealTime();
BENCHMARK(BM_Resize2x)->Apply(resize_args)->UseRealTime();

}  // namespace
}  // namespace verge::bench
