// int8 QLinearConv variants (AVX512-VNNI, AVX2, depthwise) against the reference kernel, bit for bit
// (compare_tensors is exact on integers): 1x1 / 3x3 / 5x5 / 7x7, strides, pads, dilations, groups and
// depthwise, channel counts around the 6-channel tiles and 4-wide reduction groups, pixel counts around the
// 32-pixel tiles, uint8 and int8 activations and outputs, per-tensor and per-channel weight scales, with and
// without bias, multipliers that saturate.
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "core/cpu_features.h"
#include "kernel_check.h"
#include "kernels/cpu/qconv.h"
#include "kernels/ref/quant_math.h"

namespace verge::test {
namespace {

template <class T>
Tensor random_ints(std::mt19937& rng, Shape shape, int lo, int hi) {
  Tensor t = Tensor::allocate(kDTypeOf<T>, std::move(shape)).value();
  std::uniform_int_distribution<int> u(lo, hi);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<T>()[i] = static_cast<T>(u(rng));
  return t;
}

struct QConvSpec {
  int64_t n = 1, c = 8, h = 9, w = 9, m = 8, k = 3, stride = 1, pad = 1, dilation = 1, group = 1;
  bool x_signed = false, y_signed = false, per_channel = true, bias = true;
  float y_scale = 0.05f;
  int w_abs = 127;  // weights uniform in [-w_abs, w_abs]
};

// One QLinearConv case against the reference; without a variant, the generic tile kernels (AVX512-VNNI,
// AVX2 and AMX) are checked.
void check_qconv(const QConvSpec& s, const char* variant = nullptr, uint32_t seed = 1) {
  if (!variant) {
    check_qconv(s, "qlinearconv_avx512vnni", seed);
    check_qconv(s, "qlinearconv_avx2", seed);
    check_qconv(s, "qlinearconv_amx", seed);
    check_qconv(s, "qlinearconv_amx_direct", seed);
    return;
  }
  std::mt19937 rng(seed);
  KernelCase kc("QLinearConv");
  if (s.x_signed)
    kc.input(random_ints<int8_t>(rng, {s.n, s.c, s.h, s.w}, -128, 127))
        .constant(Tensor::scalar<float>(0.02f))
        .constant(Tensor::scalar<int8_t>(-7));
  else
    kc.input(random_ints<uint8_t>(rng, {s.n, s.c, s.h, s.w}, 0, 255))
        .constant(Tensor::scalar<float>(0.02f))
        .constant(Tensor::scalar<uint8_t>(121));
  kc.constant(random_ints<int8_t>(rng, {s.m, s.c / s.group, s.k, s.k}, -s.w_abs, s.w_abs));
  if (s.per_channel) {
    Tensor ws = random_tensor(rng, {s.m}, 0.001f, 0.01f);
    kc.constant(ws).constant(Tensor::allocate(DType::kInt8, {s.m}).value());
    std::fill_n(kc.inputs.back().data<int8_t>(), s.m, int8_t{0});
  } else {
    kc.constant(Tensor::scalar<float>(0.004f)).constant(Tensor::scalar<int8_t>(0));
  }
  kc.constant(Tensor::scalar<float>(s.y_scale));
  if (s.y_signed)
    kc.constant(Tensor::scalar<int8_t>(3));
  else
    kc.constant(Tensor::scalar<uint8_t>(100));
  if (s.bias) kc.constant(random_ints<int32_t>(rng, {s.m}, -20000, 20000));
  kc.attr_ints("kernel_shape", {s.k, s.k})
      .attr_ints("strides", {s.stride, s.stride})
      .attr_ints("pads", {s.pad, s.pad, s.pad, s.pad})
      .attr_ints("dilations", {s.dilation, s.dilation})
      .attr_int("group", s.group);
  SCOPED_TRACE("N=" + std::to_string(s.n) + " C=" + std::to_string(s.c) + " H=" + std::to_string(s.h) +
               " W=" + std::to_string(s.w) + " M=" + std::to_string(s.m) + " k=" + std::to_string(s.k) +
               " s=" + std::to_string(s.stride) + " p=" + std::to_string(s.pad) +
               " d=" + std::to_string(s.dilation) + " g=" + std::to_string(s.group) +
               (s.x_signed ? " s8x" : " u8x") + (s.y_signed ? " s8y" : " u8y"));
  const int ran = check_variants(kc, variant);
  const std::string v = variant;
  if (v == "qlinearconv_amx") {  // AMX takes reductions of 32 and more, not depthwise
    if (cpu_has(Isa::kAmxInt8) && s.c / s.group * s.k * s.k >= 32 && (s.group == 1 || s.c / s.group > 1)) {
      EXPECT_GT(ran, 0) << variant;
    }
  } else if (v == "qlinearconv_amx_direct") {  // stride 1, group 1, chunks of 64 channels 7/8 full, not 1x1
    if (cpu_has(Isa::kAmxInt8) && s.stride == 1 && s.group == 1 && s.c * 8 >= (s.c + 63) / 64 * 448 &&
        s.k > 1) {
      EXPECT_GT(ran, 0) << variant;
    }
  } else if (cpu_has(v == "qlinearconv_avx2" ? Isa::kAvx2Fma : Isa::kAvx512Vnni)) {
    EXPECT_GT(ran, 0) << variant;
  }
}

TEST(QLinearConvVnni, TileAndTailShapes) {
  for (int64_t c : {1, 3, 4, 5, 16, 19})
    for (int64_t m : {1, 5, 6, 7, 8, 9, 13, 17, 32})
      for (int64_t k : {1, 3}) check_qconv({.c = c, .h = 7, .w = 5, .m = m, .k = k, .pad = k / 2});
  for (int64_t hw : {1, 2, 4, 6, 8, 11})  // 1 .. 121 pixels: partial and several 32-pixel tiles
    check_qconv({.c = 9, .h = hw, .w = hw + 1, .m = 11});
  // Padded stride-1 planes whose grid wastes enough for compact (gathered) tiles: 13x13 (tail of 9),
  // 9x5 with a 5x5 window, 7x7 with 17 pixels in the last tile; a 100-wide plane stays on the grid.
  check_qconv({.c = 5, .h = 13, .w = 13, .m = 19, .k = 3, .pad = 1});
  check_qconv({.c = 4, .h = 9, .w = 5, .m = 9, .k = 5, .pad = 2});
  check_qconv({.c = 7, .h = 7, .w = 7, .m = 8, .k = 3, .pad = 1});
  check_qconv({.c = 3, .h = 4, .w = 100, .m = 8, .k = 3, .pad = 1});
}

// Small planes with long reductions take the channels-in-lanes kernel (1-6 pixels x 64 channels): 7x7 with
// a partial last channel block (groups of 6 and 5 pixels), 14x14 from a stride-2 grid, signed activations
// and outputs, batch 2, and planes of 1, 2, 3, 4 and 9 output pixels (groups of 1, 2, 3, 4, 5 + 4).
TEST(QLinearConvVnni, ChannelsInLanesSmallPlanes) {
  for (auto [h, w] : {std::pair<int64_t, int64_t>{1, 1}, {1, 2}, {1, 3}, {2, 2}, {3, 3}})
    check_qconv({.c = 48, .h = h, .w = w, .m = 70, .k = 3, .pad = 1});
  check_qconv({.c = 48, .h = 7, .w = 7, .m = 64, .k = 3, .pad = 1});
  check_qconv({.c = 48, .h = 7, .w = 7, .m = 120, .k = 3, .pad = 1});
  check_qconv({.c = 44, .h = 28, .w = 28, .m = 64, .k = 3, .stride = 2, .pad = 1});
  check_qconv(
      {.n = 2, .c = 40, .h = 14, .w = 14, .m = 72, .k = 3, .pad = 1, .x_signed = true, .y_signed = true});
}

TEST(QLinearConvVnni, StridesPadsDilationsGroups) {
  for (int64_t k : {1, 3, 5, 7})
    for (int64_t stride : {1, 2})
      for (int64_t pad : {0, 1, 3})
        check_qconv({.c = 6, .h = 13, .w = 10, .m = 9, .k = k, .stride = stride, .pad = pad});
  check_qconv({.c = 5, .h = 12, .w = 12, .m = 7, .k = 3, .pad = 2, .dilation = 2});
  check_qconv({.n = 2, .c = 12, .h = 9, .w = 7, .m = 9, .k = 3, .group = 3});
  check_qconv({.c = 16, .h = 10, .w = 10, .m = 16, .k = 3, .group = 16});             // depthwise
  check_qconv({.c = 8, .h = 11, .w = 11, .m = 16, .k = 3, .stride = 2, .group = 8});  // channel multiplier 2
}

// Stride 2's two padded-copy layouts (qconv.cpp, prepare): phase planes (the 7x7, the 3x3 on 131 and
// the 5x5: input rows split into even and odd bytes, 64 or 32 at a time then the tail) and row phases
// (dilation 2, the 1x1: only even padded rows copied); rows of 65 to 150 bytes, odd and even left pads.
TEST(QLinearConvVnni, StrideTwoPhasePlanes) {
  check_qconv({.c = 3, .h = 20, .w = 150, .m = 16, .k = 7, .stride = 2, .pad = 3});
  check_qconv({.c = 5, .h = 9, .w = 131, .m = 8, .k = 3, .stride = 2, .pad = 1});
  check_qconv({.c = 4, .h = 11, .w = 65, .m = 8, .k = 3, .stride = 2, .pad = 2, .dilation = 2});
  check_qconv({.c = 4, .h = 10, .w = 66, .m = 8, .k = 5, .stride = 2, .pad = 0});
  check_qconv({.c = 6, .h = 7, .w = 129, .m = 8, .k = 1, .stride = 2, .pad = 0});
}

TEST(QLinearConvVnni, SignsScalesBiasSaturation) {
  for (bool xs : {false, true})
    for (bool ys : {false, true})
      for (bool pc : {false, true})
        for (bool bias : {false, true})
          check_qconv({.c = 7,
                       .h = 6,
                       .w = 9,
                       .m = 10,
                       .x_signed = xs,
                       .y_signed = ys,
                       .per_channel = pc,
                       .bias = bias});
  check_qconv({.c = 32, .h = 8, .w = 8, .m = 8, .y_scale = 0.0005f});  // most outputs saturate
  check_qconv({.c = 32, .h = 8, .w = 8, .m = 8, .y_scale = 40.f});     // most outputs round to y_zp
}

TEST(QLinearConvVnni, Depthwise3x3And5x5) {
  const char* dw = "qlinearconv_dw_avx512vnni";
  for (int64_t k : {3, 5})
    for (int64_t stride : {1, 2})
      for (int64_t pad : {int64_t{0}, k / 2, k - 1})
        for (auto [h, w] : {std::pair<int64_t, int64_t>{1, 1}, {3, 3}, {5, 17}, {9, 16}, {14, 33}, {20, 7}})
          for (bool xs : {false, true}) {
            if (h + 2 * pad < k || w + 2 * pad < k) continue;
            check_qconv({.n = 2,
                         .c = 5,
                         .h = h,
                         .w = w,
                         .m = 5,
                         .k = k,
                         .stride = stride,
                         .pad = pad,
                         .group = 5,
                         .x_signed = xs,
                         .y_signed = xs},
                        dw);
          }
  check_qconv({.c = 32, .h = 28, .w = 28, .m = 32, .k = 3, .group = 32, .per_channel = false, .bias = false},
              dw);
  check_qconv({.c = 19, .h = 15, .w = 15, .m = 19, .k = 5, .stride = 2, .pad = 2, .group = 19}, dw);
  check_qconv({.c = 16, .h = 12, .w = 12, .m = 16, .k = 3, .group = 16, .y_scale = 0.0005f}, dw);
  check_qconv({.c = 16, .h = 12, .w = 12, .m = 16, .k = 5, .pad = 2, .group = 16, .y_scale = 0.0005f}, dw);
  check_qconv(
      {.c = 8, .h = 13, .w = 11, .m = 8, .k = 5, .pad = 2, .group = 8, .x_signed = true, .y_scale = 40.f},
      dw);
}

// Integer Winograd F(4x4, 3x3): tile (4x4) and tail planes, channel counts around the 32-channel vectors
// and 64-channel output blocks, pads 0-2, int8 / uint8 activations and outputs, batch 2, saturating and
// rounding-to-zero-point multipliers; a plane of 256 channels whose weights exceed the exactness bound
// falls back (not accepted).
TEST(QLinearConvVnni, WinogradTilesTailsChannels) {
  const char* wino = "qlinearconv_winograd_avx512vnni";
  qwino_accept_any_size(true);
  for (auto [h, w] :
       {std::pair<int64_t, int64_t>{1, 1}, {3, 3}, {4, 4}, {5, 7}, {8, 8}, {13, 9}, {14, 14}, {28, 28}})
    for (int64_t pad : {0, 1, 2}) {
      if (h + 2 * pad < 3 || w + 2 * pad < 3) continue;
      check_qconv({.c = 16, .h = h, .w = w, .m = 24, .k = 3, .pad = pad}, wino);
    }
  for (int64_t c : {1, 3, 31, 33, 64})
    for (int64_t m : {1, 17, 64, 65, 130}) check_qconv({.c = c, .h = 9, .w = 10, .m = m, .k = 3}, wino);
  check_qconv({.n = 2, .c = 40, .h = 14, .w = 14, .m = 72, .k = 3, .x_signed = true, .y_signed = true}, wino);
  check_qconv({.c = 64, .h = 56, .w = 56, .m = 64, .k = 3, .w_abs = 40}, wino);
  // Rows of 5 and 9 tiles (four-tile stores, then single tiles with 3 and 2 columns), partial last tile
  // rows, 20 and 24 channels (partial 16-channel groups).
  check_qconv({.c = 8, .h = 18, .w = 21, .m = 20, .k = 3}, wino);
  check_qconv({.c = 16, .h = 17, .w = 34, .m = 24, .k = 3, .pad = 1}, wino);
  check_qconv({.c = 32, .h = 8, .w = 8, .m = 8, .y_scale = 0.0005f}, wino);
  check_qconv({.c = 32, .h = 8, .w = 8, .m = 8, .y_scale = 40.f}, wino);
  for (bool pc : {false, true})
    for (bool bias : {false, true})
      check_qconv({.c = 7, .h = 6, .w = 9, .m = 10, .per_channel = pc, .bias = bias}, wino);
  qwino_accept_any_size(false);
}

// Outputs at the edge of the exactness bound: every weight of channel 0 is +w, of channel 1 -w, of channel
// 2 alternating, with 256 x 9 x w x 255 just below 2^25, on an all-255 input with zero point 0: |Y| reaches
// 2^25 - 2^18 in both signs. Bit-exact against the reference.
TEST(QLinearConvVnni, WinogradAtTheExactnessBound) {
  if (!cpu_has(Isa::kAvx512Vnni)) GTEST_SKIP() << "no AVX512-VNNI";
  const int64_t c = 256, m = 3;
  const int8_t wv = 57;  // 2304 * 57 * 255 = 33,488,640 < 2^25 = 33,554,432
  Tensor x = Tensor::allocate(DType::kUInt8, {1, c, 6, 6}).value();
  std::fill_n(x.data<uint8_t>(), x.numel(), uint8_t{255});
  Tensor w = Tensor::allocate(DType::kInt8, {m, c, 3, 3}).value();
  for (int64_t i = 0; i < c * 9; ++i) {
    w.data<int8_t>()[i] = wv;
    w.data<int8_t>()[c * 9 + i] = static_cast<int8_t>(-wv);
    w.data<int8_t>()[2 * c * 9 + i] = static_cast<int8_t>(i % 2 ? wv : -wv);
  }
  Tensor ws = Tensor::allocate(DType::kFloat32, {m}).value();
  std::fill_n(ws.data<float>(), m, 1e-6f);  // |Y| * 1e-6 / 0.5: ~67, inside the uint8 range around 128
  Tensor wzp = Tensor::allocate(DType::kInt8, {m}).value();
  std::fill_n(wzp.data<int8_t>(), m, int8_t{0});
  KernelCase kc("QLinearConv");
  kc.input(std::move(x))
      .constant(Tensor::scalar<float>(1.f))
      .constant(Tensor::scalar<uint8_t>(0))
      .constant(std::move(w))
      .constant(std::move(ws))
      .constant(std::move(wzp))
      .constant(Tensor::scalar<float>(0.5f))
      .constant(Tensor::scalar<uint8_t>(128));
  kc.attr_ints("kernel_shape", {3, 3}).attr_ints("pads", {1, 1, 1, 1});
  qwino_accept_any_size(true);
  const int ran = check_variants(kc, "qlinearconv_winograd_avx512vnni");
  qwino_accept_any_size(false);
  EXPECT_GT(ran, 0);
}

TEST(QLinearConvVnni, WinogradDeclinesWeightsPastTheBound) {
  if (!cpu_has(Isa::kAvx512Vnni)) GTEST_SKIP() << "no AVX512-VNNI";
  // uniform weights in [-127, 127]: sum |g| ~ 256 * 9 * 64, times 255 far past 2^25
  const QConvSpec s{.c = 256, .h = 6, .w = 6, .m = 4, .k = 3};
  std::mt19937 rng(3);
  KernelCase kc("QLinearConv");
  kc.input(random_ints<uint8_t>(rng, {1, s.c, s.h, s.w}, 0, 255))
      .constant(Tensor::scalar<float>(0.02f))
      .constant(Tensor::scalar<uint8_t>(0))
      .constant(random_ints<int8_t>(rng, {s.m, s.c, 3, 3}, -127, 127))
      .constant(Tensor::scalar<float>(0.004f))
      .constant(Tensor::scalar<int8_t>(0))
      .constant(Tensor::scalar<float>(0.05f))
      .constant(Tensor::scalar<uint8_t>(100));
  kc.attr_ints("kernel_shape", {3, 3}).attr_ints("pads", {1, 1, 1, 1});
  qwino_accept_any_size(true);
  EXPECT_EQ(check_variants(kc, "qlinearconv_winograd_avx512vnni"), 0);
  qwino_accept_any_size(false);
  EXPECT_GT(check_variants(kc, "qlinearconv_avx512vnni"), 0);
}

// With several threads Winograd needs small transformed weights and 16 tiles per thread
// (kernels/cpu/qconv_winograd.cpp): 256 -> 256 channels on 14x14 (4.7 MB) and 64 -> 64 on 13x13 (16
// tiles) are taken at 1 thread and declined at 2; 128 -> 128 on 28x28 (1.2 MB, 49 tiles) keeps it at both.
TEST(QLinearConvVnni, WinogradThreadedNeedsSmallWeightsAndTiles) {
  if (!cpu_has(Isa::kAvx512Vnni) || !__builtin_cpu_supports("avx512vbmi")) GTEST_SKIP() << "no AVX512-VBMI";
  struct Layer {
    int64_t c, hw;
    int runs;  // check_variants counts (variant, thread count) runs: 1 and 2 threads, or 1 thread only
  };
  for (Layer l : {Layer{256, 14, 1}, Layer{64, 13, 1}, Layer{128, 28, 2}}) {
    std::mt19937 rng(5);
    KernelCase kc("QLinearConv");
    kc.input(random_ints<uint8_t>(rng, {1, l.c, l.hw, l.hw}, 0, 255))
        .constant(Tensor::scalar<float>(0.02f))
        .constant(Tensor::scalar<uint8_t>(120))
        .constant(random_ints<int8_t>(rng, {l.c, l.c, 3, 3}, -40, 40))
        .constant(Tensor::scalar<float>(0.004f))
        .constant(Tensor::scalar<int8_t>(0))
        .constant(Tensor::scalar<float>(0.05f))
        .constant(Tensor::scalar<uint8_t>(100));
    kc.attr_ints("kernel_shape", {3, 3}).attr_ints("pads", {1, 1, 1, 1});
    EXPECT_EQ(check_variants(kc, "qlinearconv_winograd_avx512vnni"), l.runs)
        << l.c << " channels on " << l.hw;
  }
}

// The vector requantization schemes (kernels/cpu/qconv.h) against their definitions in
// ref/quant_math.h, bit for bit, on random accumulators plus the int32 extremes.
TEST(QLinearConvVnni, RequantizationSchemes) {
  if (!cpu_has(Isa::kAvx512Vnni)) GTEST_SKIP() << "no AVX512-VNNI";
  std::mt19937 rng(11);
  std::vector<int32_t> acc(4096);
  std::uniform_int_distribution<int32_t> small(-300000, 300000), any(INT32_MIN, INT32_MAX);
  for (size_t i = 0; i < acc.size(); ++i) acc[i] = i % 8 == 7 ? any(rng) : small(rng);
  acc[0] = INT32_MIN, acc[1] = INT32_MAX, acc[2] = 0, acc[3] = -1;
  std::vector<uint8_t> y(acc.size());
  const auto n = static_cast<int64_t>(acc.size());
  for (bool y_signed : {false, true})
    for (int32_t zp : {0, 3, 100})
      for (double mult : {0.9999999, 0.37, 0.0021, 1.7e-5, 3.1e-9, 1e-12}) {
        const int32_t y_zp = y_signed ? zp - 50 : zp;
        SCOPED_TRACE("mult=" + std::to_string(mult) + " zp=" + std::to_string(y_zp));
        auto expect = [&](auto ref_fn) {
          for (size_t i = 0; i < acc.size(); ++i) {
            const int32_t want = y_signed ? ref_fn(int8_t{}, acc[i]) : ref_fn(uint8_t{}, acc[i]);
            const int32_t got = y_signed ? static_cast<int8_t>(y[i]) : y[i];
            ASSERT_EQ(got, want) << "acc=" << acc[i];
          }
        };
        const float scale = static_cast<float>(mult);
        qrequant_f32_avx512vnni(acc.data(), n, scale, y_zp, y_signed, y.data());
        expect([&]<class Q>(Q, int32_t a) { return int32_t{ref::quant::requantize_f32<Q>(a, scale, y_zp)}; });
        const ref::quant::FixedMultiplier f = ref::quant::fixed_multiplier(mult);
        EXPECT_GE(f.shift, 31);
        if (mult >= 0x1p-31) {  // below, every result rounds to 0 and the multiplier is 0
          EXPECT_NEAR(std::ldexp(static_cast<double>(f.mult), -f.shift), mult, mult * 0x1p-31);
        }
        qrequant_fixed_avx512vnni(acc.data(), n, f.mult, f.shift, y_zp, y_signed, y.data());
        expect([&]<class Q>(Q, int32_t a) { return int32_t{ref::quant::requantize_fixed<Q>(a, f, y_zp)}; });
        qrequant_double_avx512vnni(acc.data(), n, mult, y_zp, y_signed, y.data());
        expect([&]<class Q>(Q, int32_t a) { return int32_t{ref::quant::requantize<Q>(a, mult, y_zp)}; });
      }
}

// Classifier Gemms rewritten as 1x1 QLinearConv on 1x1 planes: the matrix-vector kernel, channel counts
// around its 16-lane blocks and 4-block groups, reduction lengths around 4, batches, signs, saturation.
TEST(QLinearConvVnni, GemvOnOnePixel) {
  const char* gemv = "qlinearconv_gemv_avx512vnni";
  for (int64_t c : {1, 3, 4, 5, 64, 1280})
    for (int64_t m : {1, 15, 16, 17, 63, 64, 65, 1000})
      check_qconv({.c = c, .h = 1, .w = 1, .m = m, .k = 1, .pad = 0}, gemv);
  for (bool xs : {false, true})
    for (bool ys : {false, true})
      for (bool bias : {false, true})
        check_qconv({.n = 3,
                     .c = 37,
                     .h = 1,
                     .w = 1,
                     .m = 21,
                     .k = 1,
                     .pad = 0,
                     .x_signed = xs,
                     .y_signed = ys,
                     .bias = bias},
                    gemv);
  check_qconv({.c = 256, .h = 1, .w = 1, .m = 40, .k = 1, .pad = 0, .y_scale = 0.0005f}, gemv);
  check_qconv({.c = 256, .h = 1, .w = 1, .m = 40, .k = 1, .pad = 0, .per_channel = false, .y_scale = 40.f},
              gemv);
}

// The AMX kernels (panel and direct) around their blocks: input channels around the 64-channel chunks and
// the 4-channel quads, output channels around the 32-channel tiles, planes with tails of <= 16 and > 16
// grid points, 1x1 / 3x3 / 5x5 with pads 0-2 and dilation 2, batch 2, int8 activations and outputs.
TEST(QLinearConvVnni, AmxChunksTilesTails) {
  for (int64_t c : {32, 33, 57, 63, 64, 65, 120, 130})
    for (int64_t m : {1, 17, 32, 33, 70}) check_qconv({.c = c, .h = 6, .w = 7, .m = m});
  for (int64_t k : {1, 3, 5})
    for (int64_t pad : {0, 1, 2}) check_qconv({.c = 60, .h = 11, .w = 9, .m = 36, .k = k, .pad = pad});
  check_qconv({.c = 58, .h = 12, .w = 12, .m = 40, .k = 3, .pad = 2, .dilation = 2});
  check_qconv({.n = 2, .c = 61, .h = 5, .w = 13, .m = 33, .x_signed = true, .y_signed = true});
  check_qconv({.c = 64, .h = 3, .w = 3, .m = 64, .k = 3, .pad = 1, .x_signed = true});
  check_qconv({.c = 96, .h = 14, .w = 14, .m = 64, .k = 1, .pad = 0, .per_channel = false, .bias = false});
}

TEST(QLinearConvVnni, ResNetLayers) {
  check_qconv({.c = 64, .h = 14, .w = 14, .m = 64});
  check_qconv({.c = 64, .h = 15, .w = 15, .m = 128, .k = 1, .stride = 2, .pad = 0});
  check_qconv({.c = 3, .h = 32, .w = 32, .m = 64, .k = 7, .stride = 2, .pad = 3});
}

}  // namespace
}  // namespace verge::test

namespace verge::test {
namespace {

// The AVX-512 and AVX2 variants base_avx512 / base_avx2 of a node, each where the CPU has its ISA.
void check_avx512_and_avx2(const KernelCase& kc, const std::string& base) {
  for (auto [suffix, isa] : {std::pair{"_avx512", Isa::kAvx512}, std::pair{"_avx2", Isa::kAvx2Fma}}) {
    const int ran = check_variants(kc, base + suffix);
    if (cpu_has(isa)) {
      EXPECT_GT(ran, 0) << base + suffix;
    }
  }
}

TEST(QuantizedOps, QuantizeLinearAvx512) {
  std::mt19937 rng(3);
  for (int64_t n : {1, 15, 16, 17, 1000, 40000})
    for (bool s8 : {false, true}) {
      Tensor x = random_tensor(rng, {n}, -20.f, 20.f);
      if (n > 20) {  // exact ties, NaN, infinities, values that saturate
        x.data<float>()[0] = 0.25f, x.data<float>()[1] = 0.75f, x.data<float>()[2] = NAN;
        x.data<float>()[3] = INFINITY, x.data<float>()[4] = -INFINITY, x.data<float>()[5] = -1e30f;
      }
      KernelCase kc("QuantizeLinear");
      kc.input(x).constant(Tensor::scalar<float>(0.1f));
      if (s8)
        kc.constant(Tensor::scalar<int8_t>(-3));
      else
        kc.constant(Tensor::scalar<uint8_t>(131));
      check_avx512_and_avx2(kc, "quantize_f32");
    }
}

// verge.QGlobalAveragePool: the AVX-512 byte sums against the reference, planes around the 64-byte vectors,
// int8 / uint8 in and out, sums that saturate the output.
// verge.QAveragePool's separable kernel against its reference, bit for bit: windows 2-7, strides 1-3, pads
// 0-3, count_include_pad and ceil_mode on and off, odd planes, uint8 / int8 in and out, batch 2.
TEST(QuantizedOps, QAveragePoolRows) {
  std::mt19937 rng(9);
  struct Case {
    Shape shape;
    int64_t k, stride, pad;
  };
  for (const Case& cs :
       {Case{{2, 3, 11, 13}, 3, 1, 1}, Case{{1, 4, 12, 12}, 2, 2, 0}, Case{{1, 2, 17, 9}, 5, 3, 2},
        Case{{1, 3, 35, 35}, 3, 1, 1}, Case{{1, 2, 8, 8}, 7, 1, 3}, Case{{1, 1, 1, 5}, 3, 2, 1}})
    for (int64_t include_pad : {0, 1})
      for (int64_t ceil : {0, 1})
        for (bool xs8 : {false, true})
          for (bool ys8 : {false, true}) {
            SCOPED_TRACE(shape_to_string(cs.shape) + " k" + std::to_string(cs.k) + " s" +
                         std::to_string(cs.stride) + " p" + std::to_string(cs.pad) + " cip" +
                         std::to_string(include_pad) + " ceil" + std::to_string(ceil) +
                         (xs8 ? " s8x" : " u8x") + (ys8 ? " s8y" : " u8y"));
            KernelCase kc("QAveragePool", "verge");
            if (xs8)
              kc.input(random_ints<int8_t>(rng, cs.shape, -128, 127))
                  .constant(Tensor::scalar<float>(0.05f))
                  .constant(Tensor::scalar<int8_t>(-9));
            else
              kc.input(random_ints<uint8_t>(rng, cs.shape, 0, 255))
                  .constant(Tensor::scalar<float>(0.05f))
                  .constant(Tensor::scalar<uint8_t>(131));
            kc.constant(Tensor::scalar<float>(0.03f));
            if (ys8)
              kc.constant(Tensor::scalar<int8_t>(3));
            else
              kc.constant(Tensor::scalar<uint8_t>(90));
            kc.attr_ints("kernel_shape", {cs.k, cs.k})
                .attr_ints("strides", {cs.stride, cs.stride})
                .attr_ints("pads", {cs.pad, cs.pad, cs.pad, cs.pad})
                .attr_int("count_include_pad", include_pad)
                .attr_int("ceil_mode", ceil);
            EXPECT_GT(check_variants(kc, "qaverage_pool_rows"), 0);
          }
}

TEST(QuantizedOps, QGlobalAveragePoolAvx512) {
  std::mt19937 rng(8);
  for (Shape shape :
       {Shape{1, 3, 1, 1}, Shape{2, 5, 7, 9}, Shape{1, 4, 8, 8}, Shape{1, 2, 13, 13}, Shape{1, 2, 56, 56}})
    for (bool xs8 : {false, true})
      for (bool ys8 : {false, true})
        for (float y_scale : {0.02f, 0.002f}) {
          KernelCase kc("QGlobalAveragePool", "verge");
          if (xs8)
            kc.input(random_ints<int8_t>(rng, shape, -128, 127))
                .constant(Tensor::scalar<float>(0.05f))
                .constant(Tensor::scalar<int8_t>(-9));
          else
            kc.input(random_ints<uint8_t>(rng, shape, 0, 255))
                .constant(Tensor::scalar<float>(0.05f))
                .constant(Tensor::scalar<uint8_t>(131));
          kc.constant(Tensor::scalar<float>(y_scale));
          if (ys8)
            kc.constant(Tensor::scalar<int8_t>(3));
          else
            kc.constant(Tensor::scalar<uint8_t>(90));
          const int ran = check_variants(kc, "qglobal_average_pool_avx512");
          if (cpu_has(Isa::kAvx512)) {
            EXPECT_GT(ran, 0);
          }
        }
}

// Both int8 max-pool variants (portable, AVX-512) against the reference: widths around the 64-byte
// vectors (8, 63, 111 = SqueezeNet's first pool, 130), strides 1-3 (3: the scalar window pass), pads,
// ceil_mode, int8 and uint8.
TEST(QuantizedOps, MaxPoolInt8) {
  std::mt19937 rng(4);
  for (const char* variant : {"maxpool_int8", "maxpool_int8_avx512"})
    for (Shape shape : {Shape{2, 3, 11, 8}, Shape{1, 2, 13, 63}, Shape{1, 2, 111, 111}, Shape{1, 1, 7, 130},
                        Shape{1, 1, 5, 200}})
      for (bool s8 : {false, true})
        for (int64_t k : {2, 3, 5})
          for (int64_t s : {1, 2, 3})
            for (int64_t p : {0, 1, 2})
              for (int64_t ceil : {0, 1}) {
                if (p >= k) continue;
                KernelCase kc("MaxPool");
                if (s8)
                  kc.input(random_ints<int8_t>(rng, shape, -128, 127));
                else
                  kc.input(random_ints<uint8_t>(rng, shape, 0, 255));
                kc.attr_ints("kernel_shape", {k, k})
                    .attr_ints("strides", {s, s})
                    .attr_ints("pads", {p, p, p, p});
                kc.attr_int("ceil_mode", ceil);
                const int ran = check_variants(kc, variant);
                if (std::string(variant) == "maxpool_int8" || cpu_has(Isa::kAvx512)) {
                  EXPECT_GT(ran, 0) << variant;
                }
              }
}

}  // namespace
}  // namespace verge::test

namespace verge::test {
namespace {

// SE gate: B [N, C, 1, 1] over A [N, C, H, W]; runs of 45 elements (arithmetic per element) and of 576
// and 1 x 24 x 24 (a table per run of at least 512, then lookups).
TEST(QuantizedOps, QMulBroadcastGate) {
  std::mt19937 rng(6);
  for (const char* op : {"QAdd", "QMul"})
    for (auto [as, bs] :
         {std::pair{Shape{2, 19, 5, 9}, Shape{2, 19, 1, 1}}, std::pair{Shape{2, 19, 5, 9}, Shape{2, 1, 1, 1}},
          std::pair{Shape{2, 19, 5, 9}, Shape{2, 19, 5, 1}},
          std::pair{Shape{1, 5, 24, 24}, Shape{1, 5, 1, 1}},
          std::pair{Shape{2, 3, 24, 24}, Shape{2, 1, 1, 1}}}) {
      KernelCase kc(op, "verge");
      kc.input(random_ints<uint8_t>(rng, as, 0, 255))
          .constant(Tensor::scalar<float>(0.05f))
          .constant(Tensor::scalar<uint8_t>(120));
      kc.input(random_ints<uint8_t>(rng, bs, 0, 255))
          .constant(Tensor::scalar<float>(1.f / 255))
          .constant(Tensor::scalar<uint8_t>(0));
      kc.constant(Tensor::scalar<float>(0.04f)).constant(Tensor::scalar<uint8_t>(128));
      check_avx512_and_avx2(kc, "qbinary");
    }
}

TEST(QuantizedOps, QAddQMulAvx512) {
  std::mt19937 rng(5);
  for (const char* op : {"QAdd", "QMul"})
    for (int64_t n : {1, 16, 37, 5000})
      for (bool s8 : {false, true})
        for (bool relu : {false, true}) {
          KernelCase kc(op, "verge");
          if (s8)
            kc.input(random_ints<int8_t>(rng, {n}, -128, 127))
                .constant(Tensor::scalar<float>(0.05f))
                .constant(Tensor::scalar<int8_t>(5));
          else
            kc.input(random_ints<uint8_t>(rng, {n}, 0, 255))
                .constant(Tensor::scalar<float>(0.05f))
                .constant(Tensor::scalar<uint8_t>(120));
          kc.input(random_ints<uint8_t>(rng, {n}, 0, 255))
              .constant(Tensor::scalar<float>(0.03f))
              .constant(Tensor::scalar<uint8_t>(0));
          kc.constant(Tensor::scalar<float>(s8 ? 0.02f : 0.07f));  // 0.02: many outputs saturate
          if (s8)
            kc.constant(Tensor::scalar<int8_t>(-10));
          else
            kc.constant(Tensor::scalar<uint8_t>(128));
          if (relu) kc.attr_string("activation", "Relu");
          check_avx512_and_avx2(kc, "qbinary");
        }
}

}  // namespace
// verge.QLut with the table in registers against the reference loop: every byte value, tails, signed
// and unsigned inputs and tables.
TEST(QuantizedOps, QLutVbmi) {
  std::mt19937 rng(9);
  for (int64_t n : {1, 63, 64, 65, 256, 20000})
    for (bool s8 : {false, true}) {
      KernelCase kc("QLut", "verge");
      Tensor x = s8 ? random_ints<int8_t>(rng, {n}, -128, 127) : random_ints<uint8_t>(rng, {n}, 0, 255);
      if (n >= 256)
        for (int64_t i = 0; i < 256; ++i) static_cast<uint8_t*>(x.raw())[i] = static_cast<uint8_t>(i);
      kc.input(std::move(x));
      kc.constant(s8 ? random_ints<int8_t>(rng, {256}, -128, 127) : random_ints<uint8_t>(rng, {256}, 0, 255));
      const int ran = check_variants(kc, "qlut_avx512vbmi");
      if (__builtin_cpu_supports("avx512vbmi")) {
        EXPECT_GT(ran, 0);
      }
    }
}

}  // namespace verge::test
