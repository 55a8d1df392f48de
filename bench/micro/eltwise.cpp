// Elementwise microbenchmarks (memory-bound: GB/s = bytes read + written per second): reference kernel
// (Arg kernel=0) vs binary_f32_avx512 / unary_f32_avx512 (1), 1 and 2 threads, on the SE-gate shapes of
// EfficientNet-B0 / MobileNetV3 (blocked x[N,Cb,H,W,16] * g[N,Cb,1,1,16]) and generic large tensors;
// Softmax/LogSoftmax (softmax_f32_avx512) on classifier logits; Resize (resize_f32_2d) 2x upsampling.
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>

#include "core/cpu_features.h"
#include "core/thread_pool.h"
#include "ir/infer.h"
#include "kernels/registry.h"
#include "micro.h"
#include "runtime/exec_options.h"

namespace verge::bench {
namespace {

// Prepares one node with the reference kernel or a named variant and runs it on fixed random data.
class NodeRunner {
 public:
  NodeRunner(ir::Node node, std::vector<Tensor> inputs, std::vector<bool> constant)
      : node_(std::move(node)), inputs_(std::move(inputs)), constant_(std::move(constant)) {
    for (size_t i = 0; i < inputs_.size(); ++i)
      node_.inputs.push_back(g_.add_value("in" + std::to_string(i)));
    node_.outputs.push_back(g_.add_value("out"));
  }
  ~NodeRunner() { std::free(scratch_); }
  // Returns an error message, or "" when ready.
  std::string prepare(const char* variant, int threads) {
    pool_ = std::make_unique<ThreadPool>(threads);
    eo_.pool = threads > 1 ? pool_.get() : nullptr;
    types_.resize(inputs_.size());
    for (size_t i = 0; i < inputs_.size(); ++i) {
      types_[i] = {inputs_[i].dtype(), inputs_[i].shape()};
      tptr_.push_back(&types_[i]);
      values_.push_back(&inputs_[i]);
      consts_.push_back(constant_[i] ? &inputs_[i] : nullptr);
    }
    out_types_.resize(1);
    InferContext ic(g_, node_, tptr_, consts_, out_types_);
    if (Status s = op_info(node_.op).infer(ic); !s.is_ok()) return s.to_string();
    PrepareContext pc(g_, node_, tptr_, consts_, out_types_, eo_);
    if (!variant) {
      kernel_ = op_info(node_.op).make_reference(node_);
    } else {
      for (const KernelVariant& v : kernel_variants())
        if (v.op == node_.op && std::strcmp(v.name, variant) == 0 && cpu_has(v.isa) && v.accepts(pc)) {
          kernel_ = v.make(node_);
          break;
        }
      if (!kernel_) return std::string("variant not available: ") + variant;
    }
    if (Status s = kernel_->prepare(pc); !s.is_ok()) return s.to_string();
    scratch_ = std::aligned_alloc(64, (pc.scratch_bytes() + 64) / 64 * 64);
    out_ = Tensor::allocate(out_types_[0].dtype, out_types_[0].shape).value();
    out_ptr_ = &out_;
    return "";
  }
  void run() {
    RunContext rc{values_, std::span<Tensor* const>(&out_ptr_, 1), scratch_, eo_.pool, &eo_};
    (void)kernel_->run(rc);
  }

 private:
  ir::Graph g_;
  ir::Node node_;
  std::vector<Tensor> inputs_;
  std::vector<bool> constant_;
  std::vector<TensorType> types_, out_types_;
  std::vector<const TensorType*> tptr_;
  std::vector<const Tensor*> values_, consts_;
  std::unique_ptr<ThreadPool> pool_;
  ExecOptions eo_;
  std::unique_ptr<Kernel> kernel_;
  void* scratch_ = nullptr;
  Tensor out_;
  Tensor* out_ptr_ = nullptr;
};

Tensor random_tensor(std::mt19937& rng, Shape shape) {
  Tensor t = Tensor::allocate(DType::kFloat32, std::move(shape)).value();
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = u(rng);
  return t;
}

ir::Node make_node(const char* op) {
  ir::Node node;
  node.name = "n";
  node.op_type = op;
  node.op = *find_op("", op);
  return node;
}

void run_case(benchmark::State& state, const char* op, const char* variant, std::vector<Tensor> inputs) {
  double bytes = 0;
  for (const Tensor& t : inputs) bytes += static_cast<double>(t.nbytes());
  bytes += static_cast<double>(std::max(inputs[0].nbytes(), inputs.size() > 1 ? inputs[1].nbytes() : 0));
  const std::vector<bool> constant(inputs.size(), false);
  NodeRunner r(make_node(op), std::move(inputs), constant);
  if (std::string err = r.prepare(state.range(0) ? variant : nullptr, static_cast<int>(state.range(1)));
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
  std::mt19937 rng(1);
  ir::Node node = make_node("Resize");
  ir::Attribute mode;
  mode.name = "mode";
  mode.type = ir::AttrType::kString;
  mode.s = state.range(2) ? "linear" : "nearest";
  node.set_attr(mode);
  Tensor x = random_tensor(rng, {1, 64, 56, 56});
  const double bytes = static_cast<double>(x.nbytes()) * 5;  // read once, write 4x
  Tensor scales = Tensor::allocate(DType::kFloat32, {4}).value();
  const float s[4] = {1, 1, 2, 2};
  std::copy(s, s + 4, scales.data<float>());
  Tensor roi = Tensor::allocate(DType::kFloat32, {0}).value();
  NodeRunner r(std::move(node), {std::move(x), std::move(roi), std::move(scales)}, {false, true, true});
  if (std::string err =
          r.prepare(state.range(0) ? "resize_f32_2d" : nullptr, static_cast<int>(state.range(1)));
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
