// float32 Gemm / FusedGemm / MatMul variants against the reference kernels: row-block and panel tails,
// transA/transB, alpha/beta, every C broadcast (constant and runtime), fused activations, the classifier
// shapes of the benchmark models, batched and 1-D MatMul.
#include <cmath>
#include <cstdlib>
#include <cstring>

#include "core/cpu_features.h"
#include "core/thread_pool.h"
#include "ir/infer.h"
#include "kernel_check.h"
#include "kernels/registry.h"
#include "runtime/exec_options.h"

namespace verge::test {
namespace {

const char* const kGemmVariants[] = {"gemm_f32_avx512", "gemm_f32_avx2"};

bool has_isa(const std::string& variant) {
  return variant == "gemm_f32_avx2" ? cpu_has(Isa::kAvx2Fma) : cpu_has(Isa::kAvx512);
}

// The reference accumulates in double; the kernels in float (error grows ~ sqrt(K)).
double atol_for(int64_t k) { return 1e-5 + 2e-6 * std::sqrt(static_cast<double>(k)); }

enum class CKind { kNone, kRow, kRow2D, kCol, kFull, kScalar, kScalar1 };

struct GemmSpec {
  int64_t m, k, n;
  bool ta = false, tb = false;
  float alpha = 1.f, beta = 1.f;
  CKind c = CKind::kNone;
  bool c_runtime = false;
};

Shape c_shape(const GemmSpec& g) {
  switch (g.c) {
    case CKind::kRow:
      return {g.n};
    case CKind::kRow2D:
      return {1, g.n};
    case CKind::kCol:
      return {g.m, 1};
    case CKind::kFull:
      return {g.m, g.n};
    case CKind::kScalar:
      return {};
    case CKind::kScalar1:
      return {1};
    case CKind::kNone:
      break;
  }
  return {};
}

void check_gemm(const GemmSpec& g, const std::string& act = "", std::vector<float> act_params = {},
                uint32_t seed = 1) {
  std::mt19937 rng(seed);
  KernelCase kc(act.empty() ? "Gemm" : "FusedGemm", act.empty() ? "" : "verge");
  kc.input(random_tensor(rng, g.ta ? Shape{g.k, g.m} : Shape{g.m, g.k}));
  kc.constant(random_tensor(rng, g.tb ? Shape{g.n, g.k} : Shape{g.k, g.n}));
  if (g.c != CKind::kNone) {
    Tensor ct = random_tensor(rng, c_shape(g), -2.f, 2.f);
    if (g.c_runtime)
      kc.input(ct);
    else
      kc.constant(ct);
  }
  if (g.ta) kc.attr_int("transA", 1);
  if (g.tb) kc.attr_int("transB", 1);
  if (g.alpha != 1.f) kc.attr_float("alpha", g.alpha);
  if (g.beta != 1.f) kc.attr_float("beta", g.beta);
  if (!act.empty()) {
    kc.attr_string("activation", act);
    if (!act_params.empty()) kc.attr_floats("activation_params", act_params);
  }
  kc.tolerance(1e-4, atol_for(g.k));
  for (const char* v : kGemmVariants) {
    SCOPED_TRACE(std::string(v) + " M=" + std::to_string(g.m) + " K=" + std::to_string(g.k) +
                 " N=" + std::to_string(g.n) + " ta=" + std::to_string(g.ta) + " tb=" + std::to_string(g.tb) +
                 " C=" + std::to_string(static_cast<int>(g.c)) + (g.c_runtime ? " runtime" : "") + " " + act);
    const int ran = check_variants(kc, v);
    if (has_isa(v)) {
      EXPECT_GT(ran, 0);
    }
  }
}

TEST(Gemm, TileAndTailShapes) {
  // M around the row blocks (6 / 12), N around the panels (16 / 32), odd K.
  for (int64_t m : {1, 2, 5, 6, 7, 11, 12, 13, 25, 37})
    for (int64_t n : {1, 10, 15, 16, 17, 31, 32, 33, 100})
      for (int64_t k : {1, 3, 17, 64}) check_gemm({m, k, n, false, true, 1.f, 1.f, CKind::kRow});
}

TEST(Gemm, TransposesAlphaBeta) {
  for (bool ta : {false, true})
    for (bool tb : {false, true})
      for (auto [alpha, beta] : {std::pair{1.f, 1.f}, std::pair{0.5f, -2.f}, std::pair{-1.25f, 0.f}}) {
        check_gemm({13, 29, 45, ta, tb, alpha, beta, CKind::kRow});
        check_gemm({1, 29, 45, ta, tb, alpha, beta, CKind::kFull});
        check_gemm({7, 5, 33, ta, tb, alpha, beta, CKind::kNone});
      }
}

TEST(Gemm, CBroadcasts) {
  for (CKind c :
       {CKind::kNone, CKind::kRow, CKind::kRow2D, CKind::kCol, CKind::kFull, CKind::kScalar, CKind::kScalar1})
    for (bool runtime : {false, true})
      for (int64_t m : {1, 14}) {
        GemmSpec g{m, 23, 37, false, false, 0.75f, 1.5f, c, runtime};
        check_gemm(g);
      }
}

TEST(Gemm, FusedActivations) {
  const std::vector<std::pair<std::string, std::vector<float>>> acts = {
      {"Relu", {}},      {"Clip", {0.f, 6.f}}, {"LeakyRelu", {0.1f}}, {"HardSigmoid", {0.2f, 0.5f}},
      {"HardSwish", {}}, {"Sigmoid", {}},      {"SiLU", {}},          {"Tanh", {}}};
  for (const auto& [act, params] : acts) {
    check_gemm({1, 64, 100, false, true, 1.f, 1.f, CKind::kRow}, act, params);
    check_gemm({15, 40, 33, false, false, 2.f, 1.f, CKind::kFull, true}, act, params);
  }
}

TEST(Gemm, ClassifierShapes) {
  // ResNet-18 fc, MobileNetV2 / EfficientNet-B0 classifier, MobileNetV3-Small head, Fashion-MNIST MLP.
  check_gemm({1, 512, 1000, false, true, 1.f, 1.f, CKind::kRow});
  check_gemm({1, 1280, 1000, false, true, 1.f, 1.f, CKind::kRow});
  check_gemm({1, 576, 1024, false, true, 1.f, 1.f, CKind::kRow}, "HardSwish");
  check_gemm({1, 1024, 1000, false, true, 1.f, 1.f, CKind::kRow});
  check_gemm({2, 1280, 1000, false, true, 1.f, 1.f, CKind::kRow});
  for (int64_t batch : {1, 3, 64, 500}) {
    check_gemm({batch, 1600, 128, false, true, 1.f, 1.f, CKind::kRow}, "Relu");
    check_gemm({batch, 128, 10, false, true, 1.f, 1.f, CKind::kRow});
  }
}

TEST(Gemm, EmptyInnerDimension) {
  check_gemm({4, 0, 20, false, true, 1.f, 0.5f, CKind::kRow});
  check_gemm({3, 0, 5, false, false, 1.f, 1.f, CKind::kNone});
}

TEST(Gemm, RejectsRuntimeWeightsAndOtherTypes) {
  std::mt19937 rng(3);
  KernelCase kc("Gemm");
  kc.input(random_tensor(rng, {3, 4})).input(random_tensor(rng, {4, 5}));  // B not constant
  for (const char* v : kGemmVariants) EXPECT_EQ(check_variants(kc, v), 0);
}

void check_matmul(const Shape& sa, int64_t n, uint32_t seed = 2) {
  std::mt19937 rng(seed);
  const int64_t k = sa.back();
  KernelCase kc("MatMul");
  kc.input(random_tensor(rng, sa)).constant(random_tensor(rng, {k, n}));
  kc.tolerance(1e-4, atol_for(k));
  SCOPED_TRACE(shape_to_string(sa) + " x " + std::to_string(k) + "x" + std::to_string(n));
  const int ran = check_variants(kc, "matmul_f32_avx512");
  if (cpu_has(Isa::kAvx512)) {
    EXPECT_GT(ran, 0);
  }
}

TEST(Gemm, MatMul) {
  check_matmul({37}, 45);  // 1-D A: [K] x [K, N] -> [N]
  check_matmul({1, 512}, 1000);
  check_matmul({13, 29}, 33);
  check_matmul({2, 3, 7, 19}, 17);  // batched A folds into rows
  check_matmul({4, 1, 64}, 100);
  check_matmul({25, 1}, 1);
  std::mt19937 rng(4);
  KernelCase runtime_b("MatMul");
  runtime_b.input(random_tensor(rng, {3, 4})).input(random_tensor(rng, {4, 5}));
  EXPECT_EQ(check_variants(runtime_b, "matmul_f32_avx512"), 0);
  KernelCase batched_b("MatMul");
  batched_b.input(random_tensor(rng, {2, 3, 4})).constant(random_tensor(rng, {2, 4, 5}));
  EXPECT_EQ(check_variants(batched_b, "matmul_f32_avx512"), 0);
  KernelCase vector_b("MatMul");
  vector_b.input(random_tensor(rng, {3, 4})).constant(random_tensor(rng, {4}));
  EXPECT_EQ(check_variants(vector_b, "matmul_f32_avx512"), 0);
}

// Runs a variant on a Gemm case (A runtime, B and C constant) and returns Y.
Tensor run_gemm_variant(const char* variant, const Tensor& a, const Tensor& b, const Tensor& c, int threads) {
  ir::Graph g;
  ir::Node node;
  node.op_type = "Gemm";
  node.op = OpId::Gemm;
  node.set_attr(ir::Attribute{.name = "transB", .type = ir::AttrType::kInt, .i = 1});
  for (int i = 0; i < 3; ++i) node.inputs.push_back(g.add_value("in" + std::to_string(i)));
  node.outputs.push_back(g.add_value("out"));
  std::vector<TensorType> types = {{a.dtype(), a.shape()}, {b.dtype(), b.shape()}, {c.dtype(), c.shape()}};
  std::vector<const TensorType*> tptr = {&types[0], &types[1], &types[2]};
  std::vector<const Tensor*> values = {&a, &b, &c}, consts = {nullptr, &b, &c};
  std::vector<TensorType> out_types(1);
  InferContext ic(g, node, tptr, consts, out_types);
  EXPECT_TRUE(op_info(node.op).infer(ic).is_ok());
  ThreadPool pool(threads);
  ExecOptions eo;
  eo.pool = threads > 1 ? &pool : nullptr;
  PrepareContext pc(g, node, tptr, consts, out_types, eo);
  for (const KernelVariant& v : kernel_variants()) {
    if (v.op != node.op || std::strcmp(v.name, variant) != 0 || !v.accepts(pc)) continue;
    auto k = v.make(node);
    EXPECT_TRUE(k->prepare(pc).is_ok());
    void* scratch = std::aligned_alloc(64, (pc.scratch_bytes() + 64) / 64 * 64);
    Tensor y = Tensor::allocate(DType::kFloat32, out_types[0].shape).value();
    Tensor* outs[1] = {&y};
    RunContext rc{values, outs, scratch, eo.pool, &eo};
    EXPECT_TRUE(k->run(rc).is_ok());
    std::free(scratch);
    return y;
  }
  return {};
}

TEST(Gemm, RowResultsDoNotDependOnBatchSize) {
  // A row of a batch gives bit-identical results alone (matrix-vector path) and in any row block.
  std::mt19937 rng(21);
  const int64_t k = 300, n = 150, m = 29;
  const Tensor a = random_tensor(rng, {m, k}), b = random_tensor(rng, {n, k}), c = random_tensor(rng, {n});
  for (const char* v : kGemmVariants) {
    if (!has_isa(v)) continue;
    for (int threads : {1, 2}) {
      const Tensor full = run_gemm_variant(v, a, b, c, threads);
      ASSERT_TRUE(full.defined()) << v;
      for (int64_t row : {0, 5, 13, 28}) {
        const Tensor one = run_gemm_variant(
            v, Tensor::wrap(DType::kFloat32, {1, k}, a.data<float>() + row * k), b, c, threads);
        ASSERT_TRUE(one.defined());
        EXPECT_EQ(std::memcmp(one.data<float>(), full.data<float>() + row * n, n * sizeof(float)), 0)
            << v << " row " << row << " threads " << threads;
      }
    }
  }
}

}  // namespace
}  // namespace verge::test
