// What every int8 QLinearConv kernel (kernels/cpu/qconv.cpp, qconv_winograd.cpp) reads from its node's
// constant inputs at prepare.
#pragma once

#include <algorithm>
#include <initializer_list>
#include <memory>

#include "ir/conv_geometry.h"
#include "kernels/kernel.h"
#include "kernels/ref/quant_math.h"

namespace verge {

inline bool is_constant_of(const PrepareContext& c, size_t i, std::initializer_list<DType> types) {
  if (!c.has_input(i) || !c.constant(i)) return false;
  return std::find(types.begin(), types.end(), c.dtype(i)) != types.end();
}

// The quantization constants of a QLinearConv node (constant inputs 1, 2, 4, 6, 8) as every kernel here
// folds them per output channel m.
struct QConvConstants {
  explicit QConvConstants(const PrepareContext& c)
      : x_zp_u(c.constant(2)->get_as_int64(0) + (c.dtype(0) == DType::kInt8 ? 128 : 0)),
        x_scale(c.constant(1)->data<float>()[0]),
        y_scale(c.constant(6)->data<float>()[0]),
        w_scale(c.constant(4)),
        bias(c.has_input(8) ? c.constant(8) : nullptr) {}
  // bias[m] - x_zp * (the sum of channel m's weights), wrapping like the int32 accumulator; x_zp in the
  // uint8 domain (int8 activations are shifted by 128).
  int32_t comp(int64_t m, int64_t weight_sum) const {
    const int64_t b = bias ? bias->data<int32_t>()[m] : 0;
    return static_cast<int32_t>(static_cast<uint32_t>(b - x_zp_u * weight_sum));
  }
  // The float32 requantization multiplier of channel m.
  float scale(int64_t m) const {
    return ref::quant::requant_scale_f32(x_scale, w_scale->data<float>()[w_scale->numel() == 1 ? 0 : m],
                                         y_scale);
  }
  // build() (packed weights and these constants) shared by the session's plans (one per batch size when
  // served with dynamic batching): it depends on constant inputs only.
  template <class T, class Build>
  std::shared_ptr<const T> share(const PrepareContext& c, const char* kernel, Build&& build) const {
    return bias ? c.shared_constant<T>(kernel, "", {1, 2, 3, 4, 6, 8}, build)
                : c.shared_constant<T>(kernel, "", {1, 2, 3, 4, 6}, build);
  }

  int64_t x_zp_u;
  float x_scale, y_scale;
  const Tensor* w_scale;
  const Tensor* bias;  // nullptr when absent
};

// The geometry of a QLinearConv node: X's and W's spatial dims (inputs 0 and 3) with its attributes.
inline Result<ConvGeometry> qconv_geometry(const PrepareContext& c) {
  return conv_geometry(c.node(), std::span(c.shape(0)).subspan(2), std::span(c.shape(3)).subspan(2));
}

// Constant symmetric int8 weights and constant quantization parameters with finite positive float32
// requantization multipliers, 2-D convolution (kernels/cpu/qconv.cpp).
bool accepts_qlinear_conv_tiles(const PrepareContext& c);

}  // namespace verge
