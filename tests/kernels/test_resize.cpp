// Resize: the precomputed-taps float32 and 8-bit kernels against the reference over every coordinate
// transformation and nearest mode they accept, up- and downsampling, scales and sizes, odd sizes.
#include <cstring>

#include "kernel_check.h"

namespace verge::test {
namespace {

Tensor floats(std::vector<float> v) {
  Tensor t = Tensor::allocate(DType::kFloat32, {static_cast<int64_t>(v.size())}).value();
  std::copy(v.begin(), v.end(), t.data<float>());
  return t;
}
Tensor int64s(std::vector<int64_t> v) {
  Tensor t = Tensor::allocate(DType::kInt64, {static_cast<int64_t>(v.size())}).value();
  std::copy(v.begin(), v.end(), t.data<int64_t>());
  return t;
}

// scales_or_sizes: 4 scale factors (as floats) when `sizes` is empty.
void check(const std::string& mode, const std::string& coord, const std::string& nearest, Shape in,
           std::vector<float> scales, std::vector<int64_t> sizes = {}) {
  std::mt19937 rng(static_cast<unsigned>(in[2] * 31 + in[3]));
  KernelCase kc("Resize");
  kc.attr_string("mode", mode)
      .attr_string("coordinate_transformation_mode", coord)
      .attr_string("nearest_mode", nearest);
  kc.input(random_tensor(rng, in)).omitted();
  if (sizes.empty())
    kc.constant(floats(scales));
  else
    kc.omitted().constant(int64s(sizes));
  kc.tolerance(1e-6, 1e-6);
  EXPECT_GT(check_variants(kc, "resize_f32_2d"), 0) << mode << " " << coord << " " << nearest;
}

TEST(ResizeF32, NearestEveryModeUpAndDown) {
  for (const char* coord : {"half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric"})
    for (const char* nearest : {"round_prefer_floor", "round_prefer_ceil", "floor", "ceil"}) {
      check("nearest", coord, nearest, {1, 3, 7, 5}, {1, 1, 2, 3});
      check("nearest", coord, nearest, {2, 2, 9, 11}, {1, 1, 0.5f, 0.6f});
      check("nearest", coord, nearest, {1, 1, 5, 4}, {}, {1, 1, 13, 3});
    }
}

TEST(ResizeF32, LinearEveryModeUpAndDown) {
  for (const char* coord : {"half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric"}) {
    check("linear", coord, "floor", {1, 3, 7, 5}, {1, 1, 2, 3});
    check("linear", coord, "floor", {2, 2, 9, 11}, {1, 1, 0.5f, 0.75f});
    check("linear", coord, "floor", {1, 4, 5, 4}, {}, {1, 4, 13, 1});
    check("linear", coord, "floor", {1, 1, 1, 1}, {1, 1, 3, 2});
  }
}

// The 8-bit kernel (nearest only): uint8 and int8 tensors, bit for bit.
TEST(Resize8bit, NearestEveryModeUpAndDown) {
  for (DType type : {DType::kUInt8, DType::kInt8})
    for (const char* coord : {"half_pixel", "align_corners", "asymmetric"})
      for (const char* nearest : {"round_prefer_floor", "floor", "ceil"})
        for (auto [in, scales] : {std::pair<Shape, std::vector<float>>{{1, 3, 7, 5}, {1, 1, 2, 3}},
                                  {{2, 2, 9, 11}, {1, 1, 0.5f, 0.6f}}}) {
          std::mt19937 rng(static_cast<unsigned>(in[2] * 31 + in[3]));
          Tensor x = Tensor::allocate(type, in).value();
          std::uniform_int_distribution<int> u(0, 255);
          for (int64_t i = 0; i < x.numel(); ++i)
            static_cast<uint8_t*>(x.raw())[i] = static_cast<uint8_t>(u(rng));
          KernelCase kc("Resize");
          kc.attr_string("mode", "nearest")
              .attr_string("coordinate_transformation_mode", coord)
              .attr_string("nearest_mode", nearest);
          kc.input(std::move(x)).omitted().constant(floats(scales));
          EXPECT_GT(check_variants(kc, "resize_8bit_2d"), 0) << coord << " " << nearest;
        }
  KernelCase linear("Resize");
  Tensor x = Tensor::allocate(DType::kUInt8, {1, 1, 4, 4}).value();
  std::memset(x.raw(), 7, x.nbytes());
  linear.attr_string("mode", "linear").input(std::move(x)).omitted().constant(floats({1, 1, 2, 2}));
  EXPECT_EQ(check_variants(linear, "resize_8bit_2d"), 0);  // linear on bytes: not this kernel
}

TEST(ResizeF32, RejectsWhatItDoesNotCover) {
  std::mt19937 rng(3);
  KernelCase cubic("Resize");
  cubic.attr_string("mode", "cubic")
      .input(random_tensor(rng, {1, 1, 4, 4}))
      .omitted()
      .constant(floats({1, 1, 2, 2}));
  EXPECT_EQ(check_variants(cubic, "resize_f32_2d"), 0);
  KernelCase channels("Resize");
  channels.attr_string("mode", "nearest")
      .input(random_tensor(rng, {1, 2, 4, 4}))
      .omitted()
      .constant(floats({1, 2, 1, 1}));
  EXPECT_EQ(check_variants(channels, "resize_f32_2d"), 0);
}

}  // namespace
}  // namespace verge::test
