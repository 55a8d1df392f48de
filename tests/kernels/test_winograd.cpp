// verge.BlockedConv by Winograd F(4x4, 3x3) against the reference kernel.
//
// Tolerance: Winograd's error scales with the largest output, not elementwise. Weights have a realistic
// scale (uniform, variance 1/(9C)): outputs reach ~1-4 and the measured max|err| over these cases is
// 3.5e-6..5e-6 (max|err|/max|ref| ~2e-6; the planar reference's own rounding is part of it); cases use
// an absolute tolerance of 1.5e-5 (3x the worst measured) and no relative term.
#include <cmath>
#include <string>

#include "core/cpu_features.h"
#include "kernel_check.h"
#include "kernels/cpu/conv_winograd.h"

namespace verge::test {
namespace {

constexpr double kAtol = 1.5e-5;

struct Conv {
  Conv(int64_t c_, int64_t m_, int64_t h_, int64_t w_) : c(c_), m(m_), h(h_), w(w_) {}
  Conv& pad(std::vector<int64_t> p) { return pads = std::move(p), *this; }
  Conv& no_bias() { return bias = false, *this; }
  Conv& with_sum() { return sum = true, *this; }
  Conv& activation(std::string a, std::vector<float> params = {}) {
    act = std::move(a);
    act_params = std::move(params);
    return *this;
  }
  Conv& batch(int64_t images) { return n = images, *this; }

  int64_t n = 1, c, m, h, w;
  std::vector<int64_t> pads = {1, 1, 1, 1};
  bool bias = true, sum = false;
  std::string act;
  std::vector<float> act_params;
};

void set_options(bool accept_any_size, int mode = -1) {
  WinogradTestOptions o;
  o.accept_any_size = accept_any_size;
  o.mode = mode;
  winograd_set_test_options(o);
}

int check(const Conv& p, const std::string& variant, int64_t block, uint32_t seed = 5) {
  std::mt19937 rng(seed);
  KernelCase kc("BlockedConv", "verge");
  kc.attr_ints("kernel_shape", {3, 3}).attr_ints("pads", p.pads).attr_int("block", block);
  if (!p.act.empty()) kc.attr_string("activation", p.act);
  if (!p.act_params.empty()) kc.attr_floats("activation_params", p.act_params);
  const float scale = std::sqrt(3.f / (9.f * static_cast<float>(p.c)));
  kc.input(random_blocked(rng, p.n, p.c, p.h, p.w, block));
  kc.constant(random_tensor(rng, {p.m, p.c, 3, 3}, -scale, scale));
  if (p.bias) {
    kc.constant(random_tensor(rng, {p.m}, -0.5f, 0.5f));
  } else if (p.sum) {
    kc.omitted();
  }
  const int64_t oh = p.h + p.pads[0] + p.pads[2] - 2, ow = p.w + p.pads[1] + p.pads[3] - 2;
  if (p.sum) kc.input(random_blocked(rng, p.n, p.m, oh, ow, block, -3.5f));
  kc.blocked_channels(0, p.m).tolerance(0, kAtol);
  return check_variants(kc, variant);
}

void check512(const Conv& p) {
  const int ran = check(p, "conv_nchw16c_winograd_avx512", 16);
  if (cpu_has(Isa::kAvx512)) {
    EXPECT_GT(ran, 0);
  }
}

void check_avx2(const Conv& p) {
  const int ran = check(p, "conv_nchw8c_winograd_avx2", 8);
  if (cpu_has(Isa::kAvx2Fma)) {
    EXPECT_GT(ran, 0);
  }
}

// Every case runs with the planned mode, then forced to each mode (weights packed at prepare, weights
// streamed and transformed per run). The speed rules are off (test SpeedRules checks
// them): tails such as 1-pixel outputs or 3 input channels are checked too.
void both(const Conv& p) {
  for (int mode : {-1, 0, 1}) {
    SCOPED_TRACE(mode < 0 ? "planned mode" : mode == 0 ? "packed weights" : "streamed weights");
    set_options(true, mode);
    check512(p);
    check_avx2(p);
  }
  set_options(false);
}

TEST(Winograd, ResNetLikeTile) { both(Conv(64, 64, 16, 16)); }

TEST(Winograd, ChannelTails) {
  for (int64_t c : {17, 40})
    for (int64_t m : {17, 40, 64}) both(Conv(c, m, 9, 7));
}

TEST(Winograd, ChannelTailsAnySize) {
  for (int64_t c : {1, 3, 8, 17})
    for (int64_t m : {1, 3, 16, 17}) both(Conv(c, m, 9, 7));
}

TEST(Winograd, SpatialTailsAnySize) {
  for (int64_t h : {1, 2, 5, 9, 13})
    for (int64_t w : {1, 3, 6, 11}) both(Conv(32, 20, h, w));
}

TEST(Winograd, Pads) {
  both(Conv(24, 32, 10, 9).pad({0, 0, 0, 0}));
  both(Conv(24, 32, 7, 8).pad({2, 2, 2, 2}));
  both(Conv(24, 32, 9, 10).pad({0, 1, 2, 0}));
  both(Conv(24, 32, 6, 11).pad({2, 0, 1, 2}));
  both(Conv(24, 32, 3, 3).pad({0, 0, 0, 0}));  // a single output pixel
}

TEST(Winograd, SumAndBias) {
  both(Conv(32, 48, 11, 13).no_bias());
  both(Conv(32, 48, 11, 13).with_sum().activation("Relu"));
  both(Conv(40, 17, 8, 5).no_bias().with_sum());
}

TEST(Winograd, Activations) {
  const std::vector<std::pair<std::string, std::vector<float>>> acts = {
      {"Relu", {}},      {"Clip", {0.f, 6.f}}, {"LeakyRelu", {0.1f}}, {"HardSigmoid", {0.2f, 0.5f}},
      {"HardSwish", {}}, {"Sigmoid", {}},      {"SiLU", {}},          {"Tanh", {}}};
  for (const auto& [act, params] : acts) both(Conv(24, 24, 7, 9).activation(act, params));
}

TEST(Winograd, Batch) { both(Conv(20, 36, 10, 6).with_sum().batch(3)); }

TEST(Winograd, ManyTilesAndBlocks) {
  // Several batches and output-block ranges per run (the plan splits work across threads).
  both(Conv(48, 96, 40, 37));
  both(Conv(160, 176, 14, 14).with_sum().activation("Relu"));
}

int accepted(int64_t c, int64_t m, int64_t h, int64_t w, const std::vector<int64_t>& strides = {1, 1},
             const std::vector<int64_t>& dil = {1, 1}, int64_t k = 3, int64_t group = 1, int64_t n = 1) {
  std::mt19937 rng(3);
  KernelCase kc("BlockedConv", "verge");
  kc.attr_ints("strides", strides).attr_ints("dilations", dil).attr_int("group", group).attr_int("block", 16);
  kc.attr_ints("pads", {1, 1, 1, 1});
  const float scale = std::sqrt(3.f / (9.f * static_cast<float>(c)));
  kc.input(random_blocked(rng, n, c, h, w, 16))
      .constant(random_tensor(rng, {m, c / group, k, k}, -scale, scale));
  kc.blocked_channels(0, m).tolerance(0, kAtol);
  return check_variants(kc, "conv_nchw16c_winograd_avx512");
}

TEST(Winograd, RejectsOtherConvs) {
  set_options(true);
  EXPECT_EQ(accepted(32, 32, 9, 9, {2, 2}), 0);
  EXPECT_EQ(accepted(32, 32, 9, 9, {1, 1}, {2, 2}), 0);
  EXPECT_EQ(accepted(32, 32, 9, 9, {1, 1}, {1, 1}, 1), 0);
  EXPECT_EQ(accepted(32, 32, 9, 9, {1, 1}, {1, 1}, 5), 0);
  EXPECT_EQ(accepted(32, 32, 9, 9, {1, 1}, {1, 1}, 3, 2), 0);
  set_options(false);
}

TEST(Winograd, SpeedRules) {
  if (!cpu_has(Isa::kAvx512)) GTEST_SKIP();
  EXPECT_GT(accepted(64, 64, 56, 56), 0);
  EXPECT_GT(accepted(256, 256, 7, 7), 0);
  EXPECT_GT(accepted(16, 64, 6, 6), 0);
  EXPECT_GT(accepted(64, 64, 4, 4, {1, 1}, {1, 1}, 3, 1, 4), 0);  // 4 images: 4 tiles
  EXPECT_EQ(accepted(3, 64, 56, 56), 0);                          // too few input channels
  EXPECT_EQ(accepted(64, 4, 56, 56), 0);                          // too few output channels
  EXPECT_EQ(accepted(64, 64, 5, 5), 0);                           // 39% of the computed outputs used
  EXPECT_EQ(accepted(64, 64, 4, 4), 0);                           // a single tile
  EXPECT_EQ(accepted(64, 64, 1, 30), 0);
}

}  // namespace
}  // namespace verge::test
