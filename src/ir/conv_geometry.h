// Window geometry shared by Conv, ConvInteger, QLinearConv and the pooling ops: parses kernel_shape,
// strides, dilations, pads / auto_pad (and ceil_mode for pools), validates them and computes the output
// spatial size. ConvTranspose has its own rules (output_padding, output_shape) and does not use this.
#pragma once

#include <span>
#include <vector>

#include "ir/graph.h"

namespace verge {

struct ConvGeometry {
  std::vector<int64_t> kernel;     // window size per spatial dim
  std::vector<int64_t> strides;    // >= 1
  std::vector<int64_t> dilations;  // >= 1
  std::vector<int64_t> pads_begin;
  std::vector<int64_t> pads_end;
  std::vector<int64_t> out;  // output spatial dims
  int spatial() const { return static_cast<int>(kernel.size()); }
};

// `in_spatial`: the input's spatial dims (after N, C). `kernel`: the window from the weights' shape
// (convs) or empty to read the `kernel_shape` attribute (pools, required there). For convs a
// `kernel_shape` attribute, if present, must agree with the weights. `ceil_mode` applies to pools.
Result<ConvGeometry> conv_geometry(const ir::Node& node, std::span<const int64_t> in_spatial,
                                   std::span<const int64_t> kernel, bool ceil_mode = false);

}  // namespace verge
