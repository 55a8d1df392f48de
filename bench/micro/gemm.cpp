// Gemm / FusedGemm microbenchmarks on the classifier layers of the benchmark models and the Fashion-MNIST
// MLP: reference kernel (Arg kernel=0) vs gemm_f32_avx512 (1) / gemm_f32_avx2 (2), 1 and 2 threads.
// Counters: GFLOPS and pct_peak; wGB/s = packed-weight bytes streamed per second (the matrix-vector bound).
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

const char* variant_of(int64_t arg) {
  return arg == 0 ? nullptr : arg == 1 ? "gemm_f32_avx512" : "gemm_f32_avx2";
}

// Args: M, K, N, kernel (0 ref, 1 avx512, 2 avx2), threads, activation (0 none, 1 Relu, 2 HardSwish),
// cold (1: caches flushed before every run).
void BM_Gemm(benchmark::State& state) {
  const int64_t m = state.range(0), k = state.range(1), n = state.range(2);
  const int64_t act = state.range(5);
  std::mt19937 rng(1);
  ir::Node node;
  node.name = "gemm";
  node.domain = act ? "verge" : "";
  node.op_type = act ? "FusedGemm" : "Gemm";
  node.op = *find_op(node.domain, node.op_type);
  node.set_attr(ir::Attribute{.name = "transB", .type = ir::AttrType::kInt, .i = 1});
  if (act)
    node.set_attr(ir::Attribute{
        .name = "activation", .type = ir::AttrType::kString, .s = act == 1 ? "Relu" : "HardSwish"});
  NodeRunner r(node, {random_tensor(rng, {m, k}), random_tensor(rng, {n, k}), random_tensor(rng, {n})},
               {false, true, true});
  if (std::string err = r.prepare(variant_of(state.range(3)), static_cast<int>(state.range(4)));
      !err.empty()) {
    state.SkipWithError(err.c_str());
    return;
  }
  if (state.range(6)) {
    // Cold weights: evict the caches (a 64 MiB sweep) before every timed run, as in a whole model where
    // the classifier's weights were pushed out of L2/L3 by the layers before it.
    static std::vector<float> sweep(16 << 20, 1.f);
    float acc = 0;
    for (auto _ : state) {
      state.PauseTiming();
      for (size_t i = 0; i < sweep.size(); i += 16) acc += sweep[i]++;
      state.ResumeTiming();
      r.run();
    }
    benchmark::DoNotOptimize(acc);
  } else {
    for (auto _ : state) r.run();
  }
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
