// float32 elementwise variants (binary_f32_avx512, unary_f32_avx512) against the reference kernels:
// tails, every broadcast pattern (same shape, scalar, planar and blocked per-channel, general numpy),
// NaN / inf / division by zero, threading, and in-place execution.
#include <cmath>
#include <cstring>
#include <limits>

#include "core/cpu_features.h"
#include "core/thread_pool.h"
#include "kernel_check.h"
#include "kernels/registry.h"
#include "runtime/exec_options.h"

namespace verge::test {
namespace {

const char* const kBinaryOps[] = {"Add", "Sub", "Mul", "Div", "Max", "Min"};

Tensor with_specials(Tensor t) {
  // NaN, infinities, signed zeros at the start, the middle and the end (tails).
  const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
  const float specials[] = {nan, inf, -inf, 0.f, -0.f, 1e30f, -1e-30f};
  float* p = t.data<float>();
  const int64_t n = t.numel();
  for (int64_t k = 0; k < 7; ++k) {
    if (k < n) p[k * 3 % n] = specials[k];
    if (n > 20) p[n - 1 - k * 2] = specials[(k + 3) % 7];
  }
  return t;
}

void check_binary(const std::string& op, const Tensor& a, const Tensor& b, bool b_constant = false) {
  KernelCase kc(op);
  kc.input(a);
  if (b_constant)
    kc.constant(b);
  else
    kc.input(b);
  const int ran = check_variants(kc, "binary_f32_avx512");
  if (cpu_has(Isa::kAvx512)) {
    EXPECT_GT(ran, 0) << op;
  }
}

void check_all_binary(const Shape& sa, const Shape& sb, uint32_t seed = 1) {
  std::mt19937 rng(seed);
  const Tensor a = random_tensor(rng, sa, -2.f, 2.f);
  const Tensor b = random_tensor(rng, sb, 0.5f, 2.f);  // no accidental division by ~0
  for (const char* op : kBinaryOps) {
    SCOPED_TRACE(std::string(op) + " " + shape_to_string(sa) + " op " + shape_to_string(sb));
    check_binary(op, a, b);
    check_binary(op, a, b, /*b_constant=*/true);
  }
}

TEST(Eltwise, BinarySameShapeTails) {
  for (int64_t n : {1, 15, 16, 17, 63, 64, 65, 1000, 1000003}) check_all_binary({n}, {n});
  check_all_binary({2, 3, 5, 7}, {2, 3, 5, 7});
}

TEST(Eltwise, BinaryScalar) {
  for (int64_t n : {1, 15, 17, 1000003}) {
    check_all_binary({n}, {});
    check_all_binary({n}, {1});
    check_all_binary({}, {n});
    check_all_binary({1}, {n});
  }
  check_all_binary({2, 3, 5, 7}, {1, 1, 1, 1});
  check_all_binary({}, {});
}

TEST(Eltwise, BinaryPlanarPerChannel) {
  for (const Shape& s : {Shape{2, 5, 7, 9}, Shape{1, 17, 3, 1}, Shape{1, 32, 1, 1}, Shape{1, 3, 150, 130}}) {
    const int64_t n = s[0], c = s[1];
    check_all_binary(s, {1, c, 1, 1});
    check_all_binary(s, {c, 1, 1});
    check_all_binary(s, {n, c, 1, 1});
    check_all_binary({1, c, 1, 1}, s);
    check_all_binary({n, c, 1, 1}, s);
  }
}

TEST(Eltwise, BinaryBlockedPerChannel) {
  // SE gate: x[N, Cb, H, W, 16] * g[N, Cb, 1, 1, 16]; per-channel constants [1, Cb, 1, 1, 16].
  for (const Shape& s :
       {Shape{2, 3, 7, 5, 16}, Shape{1, 1, 1, 1, 16}, Shape{1, 6, 28, 28, 16}, Shape{2, 2, 3, 3, 8}}) {
    const int64_t n = s[0], cb = s[1], b = s[4];
    check_all_binary(s, {n, cb, 1, 1, b});
    check_all_binary(s, {1, cb, 1, 1, b});
    check_all_binary({n, cb, 1, 1, b}, s);
    check_all_binary({1, cb, 1, 1, b}, s);
  }
}

TEST(Eltwise, BinaryGeneralBroadcast) {
  check_all_binary({3, 1, 5}, {1, 4, 1});
  check_all_binary({4, 1}, {3});
  check_all_binary({2, 3, 4, 5}, {3, 1, 5});
  check_all_binary({1}, {2, 1, 1});
  check_all_binary({2, 1, 4, 1, 3}, {1, 5, 4, 7, 1});
  check_all_binary({2, 3, 4, 17}, {2, 1, 4, 17});  // per-pixel (one channel broadcast)
  check_all_binary({1, 1, 30000}, {7, 1, 1});      // long broadcast rows cut into chunks
  check_all_binary({3, 0, 4}, {3, 1, 4});          // empty output
}

TEST(Eltwise, BinarySpecialValues) {
  // NaN and infinities propagate like the reference (Max/Min return NaN when either operand is NaN).
  std::mt19937 rng(7);
  for (int64_t n : {1, 15, 17, 100}) {
    const Tensor a = with_specials(random_tensor(rng, {n}));
    Tensor b = with_specials(random_tensor(rng, {n}));
    for (int64_t i = 0; i < n; i += 5) b.data<float>()[i] = 0.f;  // x / 0 = +-inf, 0 / 0 = NaN
    for (const char* op : kBinaryOps) {
      SCOPED_TRACE(op);
      check_binary(op, a, b);
      check_binary(op, b, a);
      check_binary(op, a, Tensor::scalar(std::numeric_limits<float>::quiet_NaN()));
      check_binary(op, a, Tensor::scalar(0.f));
      check_binary(op, Tensor::scalar(-std::numeric_limits<float>::infinity()), a);
    }
  }
}

TEST(Eltwise, BinaryRejectsOtherCases) {
  std::mt19937 rng(3);
  KernelCase max3("Max");
  max3.input(random_tensor(rng, {5})).input(random_tensor(rng, {5})).input(random_tensor(rng, {5}));
  EXPECT_EQ(check_variants(max3, "binary_f32_avx512"), 0);
  KernelCase add_int("Add");
  add_int.input(Tensor::from_vector<int32_t>({2}, {1, 2})).input(Tensor::from_vector<int32_t>({2}, {3, 4}));
  EXPECT_EQ(check_variants(add_int, "binary_f32_avx512"), 0);
}

// ---------------------------------------------------------------------------------------------------
struct UnaryCase {
  const char* op;
  std::vector<std::pair<const char*, float>> attrs;
};
const UnaryCase kUnaryOps[] = {
    {"Relu", {}},      {"LeakyRelu", {}},   {"LeakyRelu", {{"alpha", 0.2f}}},
    {"Sigmoid", {}},   {"HardSigmoid", {}}, {"HardSigmoid", {{"alpha", 1.f / 6.f}, {"beta", 0.5f}}},
    {"HardSwish", {}}, {"Tanh", {}},        {"Clip", {}},
};

void check_unary(const UnaryCase& u, const Tensor& x) {
  KernelCase kc(u.op);
  for (const auto& [name, v] : u.attrs) kc.attr_float(name, v);
  kc.input(x);
  const int ran = check_variants(kc, "unary_f32_avx512");
  if (cpu_has(Isa::kAvx512)) {
    EXPECT_GT(ran, 0) << u.op;
  }
}

TEST(Eltwise, UnaryTails) {
  std::mt19937 rng(5);
  for (int64_t n : {1, 15, 16, 17, 63, 64, 65, 1000, 1000003}) {
    const Tensor x = random_tensor(rng, {n}, -10.f, 10.f);
    for (const UnaryCase& u : kUnaryOps) {
      SCOPED_TRACE(std::string(u.op) + " n=" + std::to_string(n));
      check_unary(u, x);
    }
  }
  const Tensor x4 = random_tensor(rng, {2, 3, 7, 5, 16}, -4.f, 4.f);
  for (const UnaryCase& u : kUnaryOps) check_unary(u, x4);
}

TEST(Eltwise, UnarySpecialValues) {
  std::mt19937 rng(9);
  for (int64_t n : {1, 17, 100}) {
    const Tensor x = with_specials(random_tensor(rng, {n}, -100.f, 100.f));
    for (const UnaryCase& u : kUnaryOps) {
      SCOPED_TRACE(std::string(u.op) + " n=" + std::to_string(n));
      check_unary(u, x);
    }
  }
}

TEST(Eltwise, ClipBounds) {
  std::mt19937 rng(13);
  for (int64_t n : {1, 17, 1000003}) {
    const Tensor x = with_specials(random_tensor(rng, {n}, -10.f, 10.f));
    const Tensor lo = Tensor::scalar(-1.5f), hi = Tensor::from_vector<float>({1}, {6.f});
    for (int variant = 0; variant < 6; ++variant) {
      SCOPED_TRACE("variant " + std::to_string(variant) + " n=" + std::to_string(n));
      KernelCase kc("Clip");
      kc.input(x);
      switch (variant) {
        case 0:
          kc.constant(lo).constant(hi);
          break;
        case 1:
          kc.input(lo).input(hi);
          break;  // runtime bounds
        case 2:
          kc.constant(lo);
          break;  // max omitted
        case 3:
          kc.omitted().constant(hi);
          break;  // min omitted
        case 4:
          break;
        case 5:
          kc.constant(Tensor::scalar(std::numeric_limits<float>::quiet_NaN())).input(hi);
          break;
      }
      const int ran = check_variants(kc, "unary_f32_avx512");
      if (cpu_has(Isa::kAvx512)) {
        EXPECT_GT(ran, 0);
      }
    }
  }
  // Bounds of another dtype go to the reference.
  KernelCase kc("Clip");
  kc.input(random_tensor(rng, {4})).constant(Tensor::scalar(1.0));
  EXPECT_EQ(check_variants(kc, "unary_f32_avx512"), 0);
}

// ---------------------------------------------------------------------------------------------------
// In place: the output shares the first operand's buffer (what the memory planner does when allowed).
Tensor run_variant_in_place(const KernelCase& kc, const char* variant, const Tensor& out_init, int threads) {
  ir::Graph g;
  ir::Node node = kc.node;
  std::vector<TensorType> types(kc.inputs.size());
  std::vector<const TensorType*> tptr;
  std::vector<const Tensor*> consts(kc.inputs.size(), nullptr);
  for (size_t i = 0; i < kc.inputs.size(); ++i) {
    types[i] = {kc.inputs[i].dtype(), kc.inputs[i].shape()};
    tptr.push_back(&types[i]);
  }
  std::vector<TensorType> out_types = {{DType::kFloat32, out_init.shape()}};
  ThreadPool pool(threads);
  ExecOptions eo;
  eo.pool = threads > 1 ? &pool : nullptr;
  PrepareContext pc(g, node, tptr, consts, out_types, eo);
  for (const KernelVariant& v : kernel_variants()) {
    if (v.op != node.op || std::strcmp(v.name, variant) != 0 || !v.accepts(pc)) continue;
    auto k = v.make(node);
    EXPECT_TRUE(k->prepare(pc).is_ok());
    EXPECT_EQ(pc.in_place_input(), 0);
    Tensor buf = Tensor::allocate(DType::kFloat32, out_init.shape()).value();
    std::memcpy(buf.raw(), out_init.raw(), buf.nbytes());
    std::vector<const Tensor*> ins;
    ins.push_back(&buf);
    for (size_t i = 1; i < kc.inputs.size(); ++i) ins.push_back(&kc.inputs[i]);
    Tensor* outs[1] = {&buf};
    RunContext rc{ins, outs, nullptr, eo.pool, &eo};
    EXPECT_TRUE(k->run(rc).is_ok());
    return buf;
  }
  return {};
}

TEST(Eltwise, InPlace) {
  if (!cpu_has(Isa::kAvx512)) GTEST_SKIP();
  std::mt19937 rng(17);
  for (int threads : {1, 2}) {
    for (const Shape& sb : {Shape{100003}, Shape{}, Shape{1, 3, 1, 1, 16}}) {
      const Shape sa = sb.size() == 5 ? Shape{2, 3, 9, 9, 16} : Shape{100003};
      const Tensor a = random_tensor(rng, sa), b = random_tensor(rng, sb, 0.5f, 1.f);
      KernelCase kc("Div");
      kc.input(a).input(b);
      const Tensor got = run_variant_in_place(kc, "binary_f32_avx512", a, threads);
      ASSERT_TRUE(got.defined());
      const int64_t bn = b.numel();
      for (int64_t i = 0; i < a.numel(); ++i) {
        const float bv = bn == 1          ? b.data<float>()[0]
                         : sb.size() == 5 ? b.data<float>()[(i / (81 * 16)) % 3 * 16 + i % 16]
                                          : b.data<float>()[i];
        ASSERT_EQ(got.data<float>()[i], a.data<float>()[i] / bv) << i;
      }
    }
    const Tensor x = random_tensor(rng, {100003}, -5.f, 5.f);
    KernelCase kc("HardSwish");
    kc.input(x);
    const Tensor got = run_variant_in_place(kc, "unary_f32_avx512", x, threads);
    ASSERT_TRUE(got.defined());
    for (int64_t i = 0; i < x.numel(); ++i) {
      const float v = x.data<float>()[i];
      ASSERT_NEAR(got.data<float>()[i], v * std::max(0.f, std::min(1.f, v / 6.f + 0.5f)), 1e-6f) << i;
    }
  }
}

}  // namespace
}  // namespace verge::test
