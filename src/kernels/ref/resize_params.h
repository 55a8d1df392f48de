// Resize / Upsample attributes and where their scale factors come from; shared by infer_resize and the
// reference kernel so both accept and reject exactly the same nodes.
#pragma once

#include <fmt/format.h>

#include <string>

#include "ir/graph.h"

namespace verge::ref {

enum class ResizeMode { kNearest, kLinear, kCubic };
enum class ResizeCoord {
  kHalfPixel,
  kPytorchHalfPixel,
  kAlignCorners,
  kAsymmetric,
  kTfCropAndResize,
  kTfHalfPixelForNN
};
// kLegacy is Upsample's own rule (as ONNX Runtime implements Upsample-7/9 and Resize-10): floor on
// axes that are upsampled, ceil on axes that are downsampled.
enum class ResizeNearest { kRoundPreferFloor, kRoundPreferCeil, kFloor, kCeil, kLegacy };

struct ResizeParams {
  ResizeMode mode = ResizeMode::kNearest;
  ResizeCoord coord = ResizeCoord::kHalfPixel;
  ResizeNearest nearest = ResizeNearest::kRoundPreferFloor;
  double cubic_a = -0.75;
  bool exclude_outside = false;
  double extrapolation_value = 0;
  bool upsample = false;  // an IR Upsample node: inputs (X, scales) or the opset-7 'scales' attribute
};

inline Status parse_resize_params(const ir::Node& n, ResizeParams& p) {
  p = ResizeParams{};
  p.upsample = n.op == OpId::Upsample;
  const std::string mode = n.get_string("mode", "nearest");
  if (mode == "nearest")
    p.mode = ResizeMode::kNearest;
  else if (mode == "linear" || (p.upsample && mode == "bilinear"))
    p.mode = ResizeMode::kLinear;
  else if (mode == "cubic" && !p.upsample)
    p.mode = ResizeMode::kCubic;
  else
    return Status::invalid_model(fmt::format("mode '{}' is not one of nearest, linear, cubic", mode));
  if (p.upsample) {
    p.coord = ResizeCoord::kAsymmetric;
    p.nearest = ResizeNearest::kLegacy;
    return Status::ok();
  }
  const std::string coord = n.get_string("coordinate_transformation_mode", "half_pixel");
  if (coord == "half_pixel")
    p.coord = ResizeCoord::kHalfPixel;
  else if (coord == "pytorch_half_pixel")
    p.coord = ResizeCoord::kPytorchHalfPixel;
  else if (coord == "align_corners")
    p.coord = ResizeCoord::kAlignCorners;
  else if (coord == "asymmetric")
    p.coord = ResizeCoord::kAsymmetric;
  else if (coord == "tf_crop_and_resize")
    p.coord = ResizeCoord::kTfCropAndResize;
  else if (coord == "tf_half_pixel_for_nn")
    p.coord = ResizeCoord::kTfHalfPixelForNN;  // Resize-11 only
  else
    return Status::invalid_model(fmt::format(
        "coordinate_transformation_mode '{}' is not one of half_pixel, pytorch_half_pixel, align_corners, "
        "asymmetric, tf_crop_and_resize",
        coord));
  const std::string nearest = n.get_string("nearest_mode", "round_prefer_floor");
  if (nearest == "round_prefer_floor")
    p.nearest = ResizeNearest::kRoundPreferFloor;
  else if (nearest == "round_prefer_ceil")
    p.nearest = ResizeNearest::kRoundPreferCeil;
  else if (nearest == "floor")
    p.nearest = ResizeNearest::kFloor;
  else if (nearest == "ceil")
    p.nearest = ResizeNearest::kCeil;
  else
    return Status::invalid_model(fmt::format(
        "nearest_mode '{}' is not one of round_prefer_floor, round_prefer_ceil, floor, ceil", nearest));
  p.cubic_a = n.get_float("cubic_coeff_a", -0.75f);
  const int64_t exclude = n.get_int("exclude_outside", 0);
  if (exclude != 0 && exclude != 1)
    return Status::invalid_model(fmt::format("exclude_outside must be 0 or 1, got {}", exclude));
  p.exclude_outside = exclude == 1;
  p.extrapolation_value = n.get_float("extrapolation_value", 0.f);
  return Status::ok();
}

// Input indices of the scale sources. An input that is present but has no elements counts as absent
// (Resize-11 passes an empty 'scales' when 'sizes' is used, and an empty 'roi').
inline constexpr size_t kResizeRoi = 1, kResizeScales = 2, kResizeSizes = 3, kUpsampleScales = 1;

}  // namespace verge::ref
