// verge.BlockedConv, group 1: the direct AVX-512 (block 16) and AVX2 (block 8) kernels against the
// reference on tile, tail and border shapes.
#include <cmath>

#include "core/cpu_features.h"
#include "kernel_check.h"

namespace verge::test {
namespace {

struct Geometry {
  int64_t kh, kw;
  std::vector<int64_t> strides, pads, dilations;  // pads: top, left, bottom, right
};

struct Epilogue {
  bool bias = true, sum = false;
  std::string act;
  std::vector<float> params;
};

const Geometry kGeometries[] = {
    {1, 1, {1, 1}, {0, 0, 0, 0}, {1, 1}},  // pointwise (one long row)
    {1, 1, {2, 2}, {0, 0, 0, 0}, {1, 1}},  // ResNet downsample
    {3, 3, {1, 1}, {1, 1, 1, 1}, {1, 1}}, {3, 3, {2, 2}, {1, 1, 1, 1}, {1, 1}},
    {3, 3, {1, 1}, {0, 0, 0, 0}, {1, 1}}, {3, 3, {1, 1}, {0, 1, 1, 0}, {1, 1}},  // asymmetric
    {3, 3, {2, 2}, {0, 0, 1, 1}, {1, 1}},                                        // TF-style SAME for stride 2
    {3, 3, {1, 1}, {2, 2, 2, 2}, {2, 2}},                                        // dilated
    {3, 3, {2, 1}, {1, 2, 0, 1}, {1, 2}}, {5, 5, {1, 1}, {2, 2, 2, 2}, {1, 1}},
    {7, 7, {2, 2}, {3, 3, 3, 3}, {1, 1}},  // stem
    {1, 3, {1, 1}, {0, 1, 0, 1}, {1, 1}}, {3, 1, {1, 2}, {1, 0, 1, 0}, {1, 1}},
    {3, 3, {3, 3}, {1, 1, 1, 1}, {1, 1}},  // stride 3: one-pixel tiles
    {1, 1, {1, 1}, {3, 2, 1, 4}, {1, 1}},  // padding wider than the window: all-padding tiles
    {2, 2, {2, 2}, {0, 0, 0, 0}, {1, 1}},
};

int check(int64_t block, int64_t n, int64_t c, int64_t m, int64_t h, int64_t w, const Geometry& g,
          const Epilogue& e, uint32_t seed) {
  std::mt19937 rng(seed);
  KernelCase kc("BlockedConv", "verge");
  kc.attr_int("block", block)
      .attr_ints("kernel_shape", {g.kh, g.kw})
      .attr_ints("strides", g.strides)
      .attr_ints("pads", g.pads)
      .attr_ints("dilations", g.dilations);
  if (!e.act.empty()) kc.attr_string("activation", e.act);
  if (!e.params.empty()) kc.attr_floats("activation_params", e.params);
  kc.input(random_blocked(rng, n, c, h, w, block));
  kc.constant(random_tensor(rng, {m, c, g.kh, g.kw}));
  if (e.bias)
    kc.constant(random_tensor(rng, {m}));
  else
    kc.omitted();
  if (e.sum) {
    const int64_t oh = (h + g.pads[0] + g.pads[2] - g.dilations[0] * (g.kh - 1) - 1) / g.strides[0] + 1;
    const int64_t ow = (w + g.pads[1] + g.pads[3] - g.dilations[1] * (g.kw - 1) - 1) / g.strides[1] + 1;
    kc.input(random_blocked(rng, n, m, oh, ow, block));
  }
  // Sums of c*kh*kw products of values in [-1, 1], accumulated in a different order.
  kc.blocked_channels(0, m).tolerance(1e-4, 2e-6 * std::sqrt(static_cast<double>(c * g.kh * g.kw)) + 1e-6);
  return check_variants(kc, block == 16 ? "conv_nchw16c_direct_avx512" : "conv_nchw8c_direct_avx2");
}

bool has_isa(int64_t block) { return cpu_has(block == 16 ? Isa::kAvx512 : Isa::kAvx2Fma); }

// The variant must have taken the case wherever the CPU has its ISA.
void expect_ran(int ran, int64_t block) {
  if (has_isa(block)) {
    EXPECT_GT(ran, 0);
  }
}

// Output height/width of a geometry must be >= 1: skip sizes too small for the window.
bool fits(const Geometry& g, int64_t h, int64_t w) {
  return h + g.pads[0] + g.pads[2] >= g.dilations[0] * (g.kh - 1) + 1 &&
         w + g.pads[1] + g.pads[3] >= g.dilations[1] * (g.kw - 1) + 1;
}

class ConvDirectBlock : public ::testing::TestWithParam<int64_t> {};

TEST_P(ConvDirectBlock, GeometriesAndChannelTails) {
  const int64_t block = GetParam();
  const int64_t channels[] = {3, 16, 17, 40};
  const int64_t outputs[] = {8, 16, 24, 29, 33};  // 8, 24, 33: last block on half vectors (AVX-512)
  const int64_t sizes[][2] = {{1, 1}, {5, 5}, {7, 7}, {13, 13}, {5, 13}, {7, 1}};
  uint32_t seed = 1;
  for (const Geometry& g : kGeometries) {
    for (int64_t c : channels)
      for (int64_t m : outputs) {
        const int64_t* hw = sizes[seed % std::size(sizes)];
        ++seed;
        if (!fits(g, hw[0], hw[1])) continue;
        SCOPED_TRACE(testing::Message()
                     << "k " << g.kh << "x" << g.kw << " s " << g.strides[0] << "," << g.strides[1] << " C "
                     << c << " M " << m << " HW " << hw[0] << "x" << hw[1]);
        const int ran = check(block, 1, c, m, hw[0], hw[1], g, Epilogue{}, seed);
        expect_ran(ran, block);
      }
  }
}

// Rows wide enough for interior (border-free) tiles, several tiles per row, each group size, and
// one-pixel maps (squeeze-excitation) with long input-channel sums; the last ones are large enough to be
// split over 2 threads.
TEST_P(ConvDirectBlock, WideRows) {
  const int64_t block = GetParam();
  const Geometry g3 = kGeometries[2], g3s2 = kGeometries[3], g1 = kGeometries[0], g7 = kGeometries[10];
  struct Case {
    int64_t c, m, h, w;
    Geometry g;
  };
  const Case cases[] = {
      {16, 32, 4, 56, g3},   {17, 16, 3, 30, g3}, {40, 8, 3, 29, g3},    {24, 48, 9, 11, g3},
      {16, 33, 5, 28, g3s2}, {8, 24, 2, 40, g1},  {32, 16, 6, 37, g1},   {5, 40, 3, 61, g1},
      {3, 24, 13, 45, g7},   {33, 40, 7, 7, g1},  {20, 50, 8, 23, g3s2}, {16, 16, 1, 100, g3},
      {100, 40, 1, 1, g1},   {37, 72, 1, 1, g1},  {150, 20, 2, 1, g3},
  };
  uint32_t seed = 100;
  for (const Case& k : cases) {
    SCOPED_TRACE(testing::Message() << "C " << k.c << " M " << k.m << " HW " << k.h << "x" << k.w << " k "
                                    << k.g.kh);
    const int ran = check(block, 1, k.c, k.m, k.h, k.w, k.g, Epilogue{}, ++seed);
    expect_ran(ran, block);
  }
}

TEST_P(ConvDirectBlock, EpilogueBiasSumActivation) {
  const int64_t block = GetParam();
  const Epilogue acts[] = {
      {true, false, "", {}},
      {true, false, "Relu", {}},
      {true, false, "Clip", {0.f, 6.f}},
      {true, false, "Clip", {-0.5f, 0.25f}},
      {true, false, "LeakyRelu", {0.1f}},
      {true, false, "HardSigmoid", {0.2f, 0.5f}},
      {true, false, "HardSwish", {}},
      {true, false, "Sigmoid", {}},
      {true, false, "SiLU", {}},
      {true, false, "Tanh", {}},
  };
  uint32_t seed = 200;
  for (const Epilogue& base : acts)
    for (bool bias : {false, true})
      for (bool sum : {false, true}) {
        Epilogue e = base;
        e.bias = bias;
        e.sum = sum;
        SCOPED_TRACE(testing::Message() << "act '" << e.act << "' bias " << bias << " sum " << sum);
        // A border-only small map and a pointwise layer with interior tiles.
        int ran = check(block, 1, 17, 33, 7, 5, kGeometries[2], e, ++seed);
        expect_ran(ran, block);
        ran = check(block, 1, 24, 20, 6, 9, kGeometries[0], e, ++seed);
        expect_ran(ran, block);
      }
}

TEST_P(ConvDirectBlock, Batch) {
  const int64_t block = GetParam();
  Epilogue e{true, true, "Relu", {}};
  int ran = check(block, 3, 19, 24, 6, 7, kGeometries[3], e, 300);
  expect_ran(ran, block);
  ran = check(block, 2, 16, 16, 5, 5, kGeometries[0], e, 301);
  expect_ran(ran, block);
}

TEST_P(ConvDirectBlock, AutoPadSameUpper) {
  const int64_t block = GetParam();
  std::mt19937 rng(400);
  KernelCase kc("BlockedConv", "verge");
  kc.attr_int("block", block).attr_string("auto_pad", "SAME_UPPER").attr_ints("strides", {2, 2});
  kc.input(random_blocked(rng, 1, 10, 8, 9, block)).constant(random_tensor(rng, {12, 10, 4, 4}));
  kc.blocked_channels(0, 12);
  const int ran = check_variants(kc, block == 16 ? "conv_nchw16c_direct_avx512" : "conv_nchw8c_direct_avx2");
  expect_ran(ran, block);
}

INSTANTIATE_TEST_SUITE_P(ConvDirect, ConvDirectBlock, ::testing::Values(16, 8),
                         [](const ::testing::TestParamInfo<int64_t>& i) {
                           return "Block" + std::to_string(i.param);
                         });

}  // namespace
}  // namespace verge::test
