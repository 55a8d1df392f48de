#include "ir/conv_geometry.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace verge {

Result<ConvGeometry> conv_geometry(const ir::Node& node, std::span<const int64_t> in_spatial,
                                   std::span<const int64_t> kernel, bool ceil_mode) {
  const size_t n = in_spatial.size();
  ConvGeometry g;
  const std::vector<int64_t> ks = node.get_ints("kernel_shape");
  if (kernel.empty()) {
    if (ks.empty()) return Status::invalid_model("attribute 'kernel_shape' is required");
    g.kernel = ks;
  } else {
    g.kernel.assign(kernel.begin(), kernel.end());
    if (!ks.empty() && ks != g.kernel)
      return Status::invalid_model(fmt::format("kernel_shape {} does not match the weights' spatial shape {}", ks, g.kernel));
  }
  if (g.kernel.size() != n)
    return Status::invalid_model(fmt::format("kernel has {} spatial dims but the input has {}", g.kernel.size(), n));
  g.strides = node.get_ints("strides", std::vector<int64_t>(n, 1));
  g.dilations = node.get_ints("dilations", std::vector<int64_t>(n, 1));
  std::vector<int64_t> pads = node.get_ints("pads", std::vector<int64_t>(2 * n, 0));
  if (g.strides.size() != n) return Status::invalid_model(fmt::format("'strides' has {} values, expected {}", g.strides.size(), n));
  if (g.dilations.size() != n)
    return Status::invalid_model(fmt::format("'dilations' has {} values, expected {}", g.dilations.size(), n));
  if (pads.size() != 2 * n) return Status::invalid_model(fmt::format("'pads' has {} values, expected {}", pads.size(), 2 * n));
  constexpr int64_t kMax = int64_t{1} << 31;  // keeps every product below int64 overflow
  for (size_t d = 0; d < n; ++d) {
    if (g.kernel[d] > kMax || g.strides[d] > kMax || g.dilations[d] > kMax || pads[d] > kMax || pads[d + n] > kMax)
      return Status::invalid_model("kernel_shape, strides, dilations and pads must be at most 2^31");
    if (g.kernel[d] < 1) return Status::invalid_model(fmt::format("kernel size {} must be >= 1", g.kernel[d]));
    if (g.strides[d] < 1) return Status::invalid_model(fmt::format("stride {} must be >= 1", g.strides[d]));
    if (g.dilations[d] < 1) return Status::invalid_model(fmt::format("dilation {} must be >= 1", g.dilations[d]));
    if (pads[d] < 0 || pads[d + n] < 0) return Status::invalid_model(fmt::format("pads {} must be >= 0", pads));
  }
  const std::string auto_pad = node.get_string("auto_pad", "NOTSET");
  g.pads_begin.assign(pads.begin(), pads.begin() + static_cast<long>(n));
  g.pads_end.assign(pads.begin() + static_cast<long>(n), pads.end());
  g.out.resize(n);
  for (size_t d = 0; d < n; ++d) {
    const int64_t in = in_spatial[d];
    const int64_t extent = (g.kernel[d] - 1) * g.dilations[d] + 1;
    const int64_t s = g.strides[d];
    if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
      g.out[d] = (in + s - 1) / s;
      const int64_t total = std::max<int64_t>(0, (g.out[d] - 1) * s + extent - in);
      g.pads_begin[d] = auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
      g.pads_end[d] = total - g.pads_begin[d];
    } else if (auto_pad == "VALID") {
      g.pads_begin[d] = g.pads_end[d] = 0;
      g.out[d] = in >= extent ? (in - extent) / s + 1 : 0;
      if (ceil_mode && in >= extent) g.out[d] = (in - extent + s - 1) / s + 1;
    } else if (auto_pad == "NOTSET") {
      const int64_t span = in + g.pads_begin[d] + g.pads_end[d] - extent;
      if (span < 0) {
        g.out[d] = 0;
      } else if (ceil_mode) {
        g.out[d] = (span + s - 1) / s + 1;
        // The last window must start inside the input or its leading padding (PyTorch / ORT rule).
        if ((g.out[d] - 1) * s >= in + g.pads_begin[d]) --g.out[d];
      } else {
        g.out[d] = span / s + 1;
      }
    } else {
      return Status::invalid_model(fmt::format("auto_pad '{}' is not one of NOTSET, SAME_UPPER, SAME_LOWER, VALID", auto_pad));
    }
    if (g.out[d] < 1)
      return Status::invalid_model(fmt::format("input spatial size {} (padded {}+{}) is smaller than the window extent {}",
                                               in, g.pads_begin[d], g.pads_end[d], extent));
  }
  return g;
}

}  // namespace verge
