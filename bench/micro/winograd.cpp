// verge.BlockedConv 3x3 stride 1 on ResNet-18's and SqueezeNet 1.1's layers: the reference kernel, the
// Winograd F(4x4, 3x3) variant and (when it accepts the layer) the direct variant. GFLOP/s count the
// direct convolution's FLOPs (2 * N * M * C * 9 * OH * OW), so Winograd reports "effective" GFLOP/s.
// Counter rel_err: max|err| / max|ref| of the variant against the reference kernel on the same data
// (post-ReLU-like inputs in [0, 1), He-scaled normal weights, small bias).
// BM_Conv3x3Cold evicts the caches before every run, as in a whole model whose weights exceed L3.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "core/thread_pool.h"
#include "ir/graph.h"
#include "ir/infer.h"
#include "kernels/blocked.h"
#include "kernels/cpu/conv_winograd.h"
#include "kernels/registry.h"
#include "micro.h"
#include "runtime/exec_options.h"

namespace verge::bench {
namespace {

struct Layer {
  const char* name;
  int64_t c, m, hw, pad;
};

// ResNet-18's stride-1 3x3 convolutions and SqueezeNet 1.1's fire expand3x3 layers (batch 1).
const Layer kLayers[] = {
    {"resnet18_64x56", 64, 64, 56, 1},
    {"resnet18_128x28", 128, 128, 28, 1},
    {"resnet18_256x14", 256, 256, 14, 1},
    {"resnet18_512x7", 512, 512, 7, 1},
    {"squeezenet_16to64x55", 16, 64, 55, 1},
    {"squeezenet_32to128x27", 32, 128, 27, 1},
    {"squeezenet_48to192x13", 48, 192, 13, 1},
    {"squeezenet_64to256x13", 64, 256, 13, 1},
    // Boundaries of the speed rules (conv_winograd.cpp accepts()): Winograd vs direct ties or wins.
    {"edge_c3_m64_56x56", 3, 64, 56, 1},
    {"edge_c8_m64_56x56", 8, 64, 56, 1},
    {"edge_c16_m16_56x56", 16, 16, 56, 1},
    {"edge_c64_m64_4x4", 64, 64, 4, 1},
    {"edge_c64_m64_5x5", 64, 64, 5, 1},
    {"edge_c128_m128_6x6", 128, 128, 6, 1},
    {"edge_c256_m256_9x9", 256, 256, 9, 1},
};

struct Runner {
  ir::Graph g;
  ir::Node node;
  std::vector<Tensor> in;
  std::vector<TensorType> in_types, out_types;
  std::vector<const TensorType*> type_ptrs;
  std::vector<const Tensor*> values, constants;
  std::unique_ptr<ThreadPool> pool;
  ExecOptions eo;
  std::unique_ptr<Kernel> k;
  void* scratch = nullptr;
  Tensor out;
  std::vector<Tensor*> outs;
  bool ok = false;

  // variant: "" = reference kernel.
  Runner(const Layer& l, const std::string& variant, int threads, int64_t block) {
    std::mt19937 rng(42);
    node.op_type = "BlockedConv";
    node.domain = "verge";
    node.op = *find_op("verge", "BlockedConv");
    ir::Attribute a;
    a.name = "kernel_shape";
    a.type = ir::AttrType::kInts;
    a.ints = {3, 3};
    node.set_attr(a);
    a.name = "pads";
    a.ints = {l.pad, l.pad, l.pad, l.pad};
    node.set_attr(a);
    a = ir::Attribute();
    a.name = "block";
    a.type = ir::AttrType::kInt;
    a.i = block;
    node.set_attr(a);
    a = ir::Attribute();
    a.name = "activation";
    a.type = ir::AttrType::kString;
    a.s = "Relu";
    node.set_attr(a);
    const int64_t cb = blocks_of(l.c, block);
    Tensor x = Tensor::allocate(DType::kFloat32, {1, cb, l.hw, l.hw, block}).value();
    std::uniform_real_distribution<float> u01(0.f, 1.f);
    for (int64_t i = 0; i < x.numel(); ++i)
      x.data<float>()[i] = i % block + (i / (l.hw * l.hw * block)) * block < l.c ? u01(rng) : 0.f;
    Tensor w = Tensor::allocate(DType::kFloat32, {l.m, l.c, 3, 3}).value();
    std::normal_distribution<float> he(0.f, std::sqrt(2.f / (9.f * static_cast<float>(l.c))));
    for (int64_t i = 0; i < w.numel(); ++i) w.data<float>()[i] = he(rng);
    Tensor b = Tensor::allocate(DType::kFloat32, {l.m}).value();
    std::uniform_real_distribution<float> ub(-0.1f, 0.1f);
    for (int64_t i = 0; i < b.numel(); ++i) b.data<float>()[i] = ub(rng);
    in = {x, w, b};
    for (size_t i = 0; i < in.size(); ++i) node.inputs.push_back(g.add_value("in" + std::to_string(i)));
    node.outputs.push_back(g.add_value("out"));
    for (const Tensor& t : in) in_types.push_back({t.dtype(), t.shape()});
    for (size_t i = 0; i < in.size(); ++i) {
      type_ptrs.push_back(&in_types[i]);
      values.push_back(&in[i]);
      constants.push_back(i == 0 ? nullptr : &in[i]);
    }
    out_types.resize(1);
    InferContext ic(g, node, type_ptrs, constants, out_types);
    if (!op_info(node.op).infer(ic).is_ok()) return;
    if (threads > 1) {
      pool = std::make_unique<ThreadPool>(threads);
      eo.pool = pool.get();
    }
    PrepareContext pc(g, node, type_ptrs, constants, out_types, eo);
    if (variant.empty()) {
      k = op_info(node.op).make_reference(node);
    } else {
      for (const KernelVariant& v : kernel_variants())
        if (v.name == variant && cpu_has(v.isa) && v.accepts(pc)) k = v.make(node);
      if (!k) return;
    }
    if (!k->prepare(pc).is_ok()) return;
    scratch = std::aligned_alloc(64, (pc.scratch_bytes() + 64) / 64 * 64);
    out = Tensor::allocate(out_types[0].dtype, out_types[0].shape).value();
    outs = {&out};
    ok = true;
  }
  ~Runner() { std::free(scratch); }
  void run() {
    RunContext rc{values, outs, scratch, eo.pool, &eo};
    (void)k->run(rc);
  }
};

// max|err| / max|ref| over the real output channels.
double rel_error(const Layer& l, Runner& r, int64_t block) {
  Runner ref(l, "", 1, block);
  ref.run();
  r.run();
  const int64_t total = r.out.numel();
  double err = 0, mx = 0;
  for (int64_t i = 0; i < total; ++i) {
    if (i % block + (i / (r.out.numel() / r.out.dim(1))) * block >= l.m) continue;
    const double e = ref.out.data<float>()[i];
    err = std::max(err, std::fabs(static_cast<double>(r.out.data<float>()[i]) - e));
    mx = std::max(mx, std::fabs(e));
  }
  return err / mx;
}

void BM_Conv3x3(benchmark::State& state, Layer l, std::string variant, int threads, bool cold) {
  const int64_t block = variant.find("nchw8c") != std::string::npos ? 8 : 16;
  // Winograd on the edge cases even where its speed rules would leave them to the direct kernel.
  WinogradTestOptions options;
  options.accept_any_size = std::string(l.name).starts_with("edge_");
  winograd_set_test_options(options);
  Runner r(l, variant, threads, block);
  winograd_set_test_options(WinogradTestOptions());
  if (!r.ok) {
    state.SkipWithError("variant not available for this layer");
    return;
  }
  if (!variant.empty()) state.counters["rel_err"] = rel_error(l, r, block);
  run_iterations(state, cold, [&] { r.run(); });
  report_flops(state, 2.0 * l.m * l.c * 9 * l.hw * l.hw);
}

// The least disturbed repetition on a shared machine (use with --benchmark_repetitions).
double min_of(const std::vector<double>& v) { return *std::min_element(v.begin(), v.end()); }

const int kRegistered = [] {
  const std::pair<const char*, const char*> variants[] = {{"winograd_avx512", "conv_nchw16c_winograd_avx512"},
                                                          {"direct_avx512", "conv_nchw16c_direct_avx512"},
                                                          {"winograd_avx2", "conv_nchw8c_winograd_avx2"},
                                                          {"direct_avx2", "conv_nchw8c_direct_avx2"}};
  for (const Layer& l : kLayers) {
    for (const auto& [label, variant] : variants)
      for (int threads : {1, 2})
        for (bool cold : {false, true}) {
          const std::string name = std::string(cold ? "BM_Conv3x3Cold/" : "BM_Conv3x3/") + label + "/" +
                                   l.name + "/threads:" + std::to_string(threads);
          benchmark::RegisterBenchmark(name.c_str(), BM_Conv3x3, l, variant, threads, cold)
              ->Unit(benchmark::kMillisecond)
              ->UseRealTime()
              ->ComputeStatistics("min", min_of);
        }
    benchmark::RegisterBenchmark(("BM_Conv3x3/reference/" + std::string(l.name)).c_str(), BM_Conv3x3, l, "",
                                 1, false)
        ->Unit(benchmark::kMillisecond)
        ->Iterations(2);
  }
  return 0;
}();

}  // namespace
}  // namespace verge::bench
