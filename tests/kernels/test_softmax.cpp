// Softmax / LogSoftmax: the AVX-512 kernel against the reference on rows, strided axes, tails and
// large-magnitude inputs.
#include "core/cpu_features.h"
#include "kernel_check.h"

namespace verge::test {
namespace {

void check(const char* op, Shape shape, int64_t axis, float lo = -4.f, float hi = 4.f) {
  std::mt19937 rng(static_cast<unsigned>(shape.size() * 131 + static_cast<size_t>(axis + 7)));
  KernelCase kc(op);
  kc.attr_int("axis", axis).input(random_tensor(rng, shape, lo, hi)).tolerance(2e-6, 1e-6);
  const int ran = check_variants(kc, "softmax_f32_avx512");
  if (cpu_has(Isa::kAvx512)) {
    EXPECT_GT(ran, 0);
  }
}

TEST(SoftmaxAvx512, LastAxisTilesAndTails) {
  for (const char* op : {"Softmax", "LogSoftmax"})
    for (int64_t n : {1, 7, 16, 17, 33, 1000}) check(op, {3, n}, -1);
}

TEST(SoftmaxAvx512, InnerAxisTilesAndTails) {
  for (const char* op : {"Softmax", "LogSoftmax"}) {
    check(op, {2, 5, 16}, 1);
    check(op, {2, 21, 3, 7}, 1);  // inner 21: one vector + tail
    check(op, {1, 3, 70, 2}, 1);  // inner 140: several 64-lane tasks
    check(op, {4, 9, 1}, 0);      // axis 0 over [4] x 9
  }
}

TEST(SoftmaxAvx512, LargeMagnitudesStayFinite) {
  check("Softmax", {2, 40}, -1, -1000.f, 1000.f);
  check("LogSoftmax", {2, 40}, 1, -1000.f, 1000.f);
}

}  // namespace
}  // namespace verge::test
