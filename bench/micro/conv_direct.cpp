// verge.BlockedConv (group 1) on real layer shapes: the direct kernels vs the reference kernel.
//   verge_micro --benchmark_filter=ConvDirect        optimized (best ISA), 1 thread
//   verge_micro --benchmark_filter=ConvDirect2T      optimized, 2 threads (wall-clock rates)
//   verge_micro --benchmark_filter=ConvDirectAvx2    the AVX2 kernel (block 8) on an AVX-512 machine
//   verge_micro --benchmark_filter=ConvDirectRef     reference
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "core/cpu_features.h"
#include "core/thread_pool.h"
#include "ir/infer.h"
#include "kernels/registry.h"
#include "micro.h"
#include "runtime/exec_options.h"

namespace verge::bench {
namespace {

struct Layer {
  const char* name;
  int64_t c, m, h, w, k, stride, pad;
  bool sum = false;
  const char* act = "Relu";
};

// clang-format off
const Layer kLayers[] = {
    // ResNet-18
    {"r18_conv1_3_64_224_k7s2", 3, 64, 224, 224, 7, 2, 3},
    {"r18_l1_64_64_56_k3", 64, 64, 56, 56, 3, 1, 1, true},
    {"r18_l2_64_128_56_k3s2", 64, 128, 56, 56, 3, 2, 1},
    {"r18_l2_128_128_28_k3", 128, 128, 28, 28, 3, 1, 1, true},
    {"r18_l2_ds_64_128_56_k1s2", 64, 128, 56, 56, 1, 2, 0},
    {"r18_l3_128_256_28_k3s2", 128, 256, 28, 28, 3, 2, 1},
    {"r18_l3_256_256_14_k3", 256, 256, 14, 14, 3, 1, 1, true},
    {"r18_l4_256_512_14_k3s2", 256, 512, 14, 14, 3, 2, 1},
    {"r18_l4_512_512_7_k3", 512, 512, 7, 7, 3, 1, 1, true},
    // MobileNetV2
    {"mv2_conv1_3_32_224_k3s2", 3, 32, 224, 224, 3, 2, 1},
    {"mv2_32_16_112", 32, 16, 112, 112, 1, 1, 0},
    {"mv2_16_96_112", 16, 96, 112, 112, 1, 1, 0},
    {"mv2_96_24_56", 96, 24, 56, 56, 1, 1, 0},
    {"mv2_24_144_56", 24, 144, 56, 56, 1, 1, 0},
    {"mv2_144_24_56_sum", 144, 24, 56, 56, 1, 1, 0, true},
    {"mv2_144_32_28", 144, 32, 28, 28, 1, 1, 0},
    {"mv2_32_192_28", 32, 192, 28, 28, 1, 1, 0},
    {"mv2_384_64_14", 384, 64, 14, 14, 1, 1, 0},
    {"mv2_64_384_14", 64, 384, 14, 14, 1, 1, 0},
    {"mv2_576_96_14", 576, 96, 14, 14, 1, 1, 0},
    {"mv2_960_160_7", 960, 160, 7, 7, 1, 1, 0},
    {"mv2_160_960_7", 160, 960, 7, 7, 1, 1, 0},
    {"mv2_320_1280_7", 320, 1280, 7, 7, 1, 1, 0},
    // SqueezeNet 1.1
    {"sq_conv1_3_64_224_k3s2", 3, 64, 224, 224, 3, 2, 0},
    {"sq_fire2_sq_64_16_55", 64, 16, 55, 55, 1, 1, 0},
    {"sq_fire2_e1_16_64_55", 16, 64, 55, 55, 1, 1, 0},
    {"sq_fire2_e3_16_64_55", 16, 64, 55, 55, 3, 1, 1},
    {"sq_fire4_sq_128_32_27", 128, 32, 27, 27, 1, 1, 0},
    {"sq_fire4_e3_32_128_27", 32, 128, 27, 27, 3, 1, 1},
    {"sq_fire9_sq_512_64_13", 512, 64, 13, 13, 1, 1, 0},
    {"sq_fire9_e1_64_256_13", 64, 256, 13, 13, 1, 1, 0},
    {"sq_fire9_e3_64_256_13", 64, 256, 13, 13, 3, 1, 1},
    // EfficientNet-B0 / MobileNetV3: SiLU / HardSwish epilogues, squeeze-excitation convs on 1x1 maps
    {"eff_40_240_28_silu", 40, 240, 28, 28, 1, 1, 0, false, "SiLU"},
    {"eff_240_40_28_sum", 240, 40, 28, 28, 1, 1, 0, true, ""},
    {"shuf_116_116_28", 116, 116, 28, 28, 1, 1, 0},
    {"eff_se_1152_48_1_silu", 1152, 48, 1, 1, 1, 1, 0, false, "SiLU"},
    {"eff_se_48_1152_1_sigmoid", 48, 1152, 1, 1, 1, 1, 0, false, "Sigmoid"},
    {"mv3_se_576_144_1", 576, 144, 1, 1, 1, 1, 0, false, "Relu"},
    {"mv3_96_576_7_hswish", 96, 576, 7, 7, 1, 1, 0, false, "HardSwish"},
    // Stems of the other models
    {"mv3_conv1_3_16_224_k3s2", 3, 16, 224, 224, 3, 2, 1, false, "HardSwish"},
    {"eff_conv1_3_32_224_k3s2", 3, 32, 224, 224, 3, 2, 1, false, "SiLU"},
    {"shuf_conv1_3_24_224_k3s2", 3, 24, 224, 224, 3, 2, 1},
};
// clang-format on

double flops_of(const Layer& l) {
  const int64_t oh = (l.h + 2 * l.pad - l.k) / l.stride + 1, ow = (l.w + 2 * l.pad - l.k) / l.stride + 1;
  return 2.0 * static_cast<double>(l.c * l.m * l.k * l.k * oh * ow);
}

Tensor random_tensor(std::mt19937& rng, Shape shape) {
  Tensor t = Tensor::allocate(DType::kFloat32, std::move(shape)).value();
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = u(rng);
  return t;
}

// One prepared BlockedConv node (reference or best variant) with its tensors.
struct ConvRun {
  ir::Graph graph;
  ir::Node node;
  std::vector<Tensor> inputs;
  std::vector<TensorType> in_types, out_types;
  std::vector<Tensor> outputs;
  std::unique_ptr<Kernel> kernel;
  std::unique_ptr<ThreadPool> pool;
  ExecOptions eo;
  void* scratch = nullptr;
  std::string variant;

  ~ConvRun() { std::free(scratch); }

  Status setup(const Layer& l, bool reference, int threads, bool avx2) {
    const int64_t b = cpu_has(Isa::kAvx512) && !avx2 ? 16 : 8;
    node.op_type = "BlockedConv";
    node.domain = "verge";
    node.name = l.name;
    node.op = *find_op("verge", "BlockedConv");
    auto set = [&](const char* name, ir::AttrType type, std::vector<int64_t> ints, int64_t i,
                   const char* str) {
      ir::Attribute a;
      a.name = name;
      a.type = type;
      a.ints = std::move(ints);
      a.i = i;
      a.s = str;
      node.set_attr(std::move(a));
    };
    set("kernel_shape", ir::AttrType::kInts, {l.k, l.k}, 0, "");
    set("strides", ir::AttrType::kInts, {l.stride, l.stride}, 0, "");
    set("pads", ir::AttrType::kInts, {l.pad, l.pad, l.pad, l.pad}, 0, "");
    set("block", ir::AttrType::kInt, {}, b, "");
    set("activation", ir::AttrType::kString, {}, 0, l.act);
    std::mt19937 rng(7);
    const int64_t oh = (l.h + 2 * l.pad - l.k) / l.stride + 1, ow = (l.w + 2 * l.pad - l.k) / l.stride + 1;
    inputs.push_back(random_tensor(rng, {1, (l.c + b - 1) / b, l.h, l.w, b}));
    inputs.push_back(random_tensor(rng, {l.m, l.c, l.k, l.k}));
    inputs.push_back(random_tensor(rng, {l.m}));
    if (l.sum) inputs.push_back(random_tensor(rng, {1, (l.m + b - 1) / b, oh, ow, b}));
    for (size_t i = 0; i < inputs.size(); ++i)
      node.inputs.push_back(graph.add_value("in" + std::to_string(i)));
    node.outputs.push_back(graph.add_value("out"));
    std::vector<const TensorType*> type_ptrs;
    std::vector<const Tensor*> constants;
    in_types.resize(inputs.size());
    for (size_t i = 0; i < inputs.size(); ++i) {
      in_types[i] = {DType::kFloat32, inputs[i].shape()};
      type_ptrs.push_back(&in_types[i]);
      constants.push_back(i == 1 || i == 2 ? &inputs[i] : nullptr);
    }
    out_types.resize(1);
    InferContext ic(graph, node, type_ptrs, constants, out_types);
    VERGE_RETURN_IF_ERROR(op_info(node.op).infer(ic));
    if (threads > 1) pool = std::make_unique<ThreadPool>(threads);
    eo.pool = pool.get();
    eo.kernels = reference ? KernelPolicy::kReference : KernelPolicy::kBest;
    PrepareContext pc(graph, node, type_ptrs, constants, out_types, eo);
    if (reference) {
      kernel = select_kernel(pc, eo.kernels);
    } else {  // this family's variant even where a higher-priority one (Winograd) would win
      const char* want = b == 16 ? "conv_nchw16c_direct_avx512" : "conv_nchw8c_direct_avx2";
      for (const KernelVariant& v : kernel_variants())
        if (v.op == node.op && std::strcmp(v.name, want) == 0 && cpu_has(v.isa) && v.accepts(pc))
          kernel = v.make(node);
      if (!kernel) return Status::unsupported("the direct variant does not take this layer");
    }
    VERGE_RETURN_IF_ERROR(kernel->prepare(pc));
    variant = kernel->name();
    scratch = std::aligned_alloc(64, (pc.scratch_bytes() + 64) / 64 * 64);
    outputs.push_back(Tensor::allocate(out_types[0].dtype, out_types[0].shape).value());
    return Status::ok();
  }

  Status run() {
    std::vector<const Tensor*> in;
    for (const Tensor& t : inputs) in.push_back(&t);
    Tensor* out[1] = {&outputs[0]};
    RunContext rc{in, out, scratch, eo.pool, &eo};
    return kernel->run(rc);
  }
};

void bm_conv(benchmark::State& state, const Layer& l, bool reference, int threads, bool avx2 = false) {
  ConvRun r;
  Status s = r.setup(l, reference, threads, avx2);
  if (!s.is_ok()) {
    state.SkipWithError(s.to_string().c_str());
    return;
  }
  state.SetLabel(r.variant);
  for (auto _ : state) {
    Status st = r.run();
    benchmark::DoNotOptimize(st);
  }
  report_flops(state, flops_of(l));
}

[[maybe_unused]] const bool kRegistered = [] {
  for (const Layer& l : kLayers) {
    const std::string name = l.name;
    benchmark::RegisterBenchmark(("ConvDirect/" + name).c_str(), [&l](benchmark::State& s) {
      bm_conv(s, l, false, 1);
    })->Unit(benchmark::kMicrosecond);
    // Wall-clock rates: the pool's second thread does half the work.
    benchmark::RegisterBenchmark(("ConvDirect2T/" + name).c_str(),
                                 [&l](benchmark::State& s) { bm_conv(s, l, false, 2); })
        ->Unit(benchmark::kMicrosecond)
        ->UseRealTime();
    if (cpu_has(Isa::kAvx512) && cpu_has(Isa::kAvx2Fma))
      benchmark::RegisterBenchmark(("ConvDirectAvx2/" + name).c_str(), [&l](benchmark::State& s) {
        bm_conv(s, l, false, 1, true);
      })->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark(("ConvDirectRef/" + name).c_str(),
                                 [&l](benchmark::State& s) { bm_conv(s, l, true, 1); })
        ->Unit(benchmark::kMicrosecond)
        ->MinTime(0.05);
  }
  return true;
}();

}  // namespace
}  // namespace verge::bench
