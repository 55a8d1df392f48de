// Resize / Upsample sampling geometry, shared by the reference kernel and the optimized ones so they map
// output coordinates to input taps identically. Per axis, an output coordinate maps to an input
// coordinate (coordinate_transformation_mode), which gives up to 4 taps (clamped input index, weight):
// 1 for nearest, 2 for linear, 4 for cubic. Indices outside the input are clamped to the edge, except
// that cubic with exclude_outside drops those taps and renormalizes; tf_crop_and_resize marks a
// coordinate mapping outside the input (-> extrapolation_value).
#pragma once

#include <cmath>
#include <cstdint>

#include "kernels/ref/resize_params.h"

namespace verge::ref {

struct ResizeAxis {
  int64_t in = 1;
  double scale = 1;           // output / input
  double length_resized = 1;  // in * scale: fractional when given by 'scales' (as in the ONNX reference)
  double roi_start = 0, roi_end = 1;
};

struct ResizeTaps {
  int n = 0;
  int64_t idx[4] = {};
  double w[4] = {};
  bool outside = false;  // tf_crop_and_resize: maps outside the input -> extrapolation_value
};

// Keys cubic convolution kernel with coefficient a.
inline double resize_cubic_weight(double t, double a) {
  t = std::fabs(t);
  if (t <= 1) return ((a + 2) * t - (a + 3)) * t * t + 1;
  if (t < 2) return ((a * t - 5 * a) * t + 8 * a) * t - 4 * a;
  return 0;
}

// Input coordinate of output coordinate x_out on an axis.
inline double resize_original_coordinate(const ResizeParams& p, const ResizeAxis& g, int64_t x_out) {
  const double x = static_cast<double>(x_out);
  const double in = static_cast<double>(g.in);
  switch (p.coord) {
    case ResizeCoord::kHalfPixel:
      return (x + 0.5) / g.scale - 0.5;
    case ResizeCoord::kPytorchHalfPixel:
      return g.length_resized > 1 ? (x + 0.5) / g.scale - 0.5 : 0.0;
    case ResizeCoord::kAlignCorners:
      return g.length_resized == 1 ? 0.0 : x * (in - 1) / (g.length_resized - 1);
    case ResizeCoord::kAsymmetric:
      return x / g.scale;
    case ResizeCoord::kTfHalfPixelForNN:
      return (x + 0.5) / g.scale;
    case ResizeCoord::kTfCropAndResize:
      return g.length_resized > 1
                 ? g.roi_start * (in - 1) + x * (g.roi_end - g.roi_start) * (in - 1) / (g.length_resized - 1)
                 : 0.5 * (g.roi_start + g.roi_end) * (in - 1);
  }
  return 0;
}

inline int64_t resize_clamp_index(double i, int64_t in) {
  if (!(i > 0)) return 0;  // also NaN
  if (i >= static_cast<double>(in - 1)) return in - 1;
  return static_cast<int64_t>(i);
}

// The taps of output coordinate x_out on an axis.
inline ResizeTaps resize_taps(const ResizeParams& p, const ResizeAxis& g, int64_t x_out) {
  ResizeTaps t;
  auto add_tap = [&](double index, double w) {
    if (w == 0) return;  // taps that cannot contribute (also keeps a 0 * inf neighbour out)
    t.idx[t.n] = resize_clamp_index(index, g.in);
    t.w[t.n] = w;
    ++t.n;
  };
  const double x = resize_original_coordinate(p, g, x_out);
  if (p.coord == ResizeCoord::kTfCropAndResize && !(x >= 0 && x <= static_cast<double>(g.in - 1))) {
    t.outside = true;
    return t;
  }
  const double x0 = std::floor(x);
  const double r = x - x0;  // in [0, 1)
  switch (p.mode) {
    case ResizeMode::kNearest: {
      bool up = false;  // round up to x0 + 1?
      if (r != 0) {
        switch (p.nearest) {
          case ResizeNearest::kRoundPreferFloor:
            up = r > 0.5;
            break;
          case ResizeNearest::kRoundPreferCeil:
            up = r >= 0.5;
            break;
          case ResizeNearest::kFloor:
            up = false;
            break;
          case ResizeNearest::kCeil:
            up = true;
            break;
          case ResizeNearest::kLegacy:
            up = g.scale < 1;
            break;
        }
      }
      add_tap(up ? x0 + 1 : x0, 1.0);
      break;
    }
    case ResizeMode::kLinear:
      add_tap(x0, 1 - r);
      add_tap(x0 + 1, r);
      break;
    case ResizeMode::kCubic: {
      double w[4];
      double sum = 0;
      for (int k = 0; k < 4; ++k) {
        const double i = x0 - 1 + k;
        w[k] = resize_cubic_weight(x - i, p.cubic_a);
        if (p.exclude_outside && (i < 0 || i > static_cast<double>(g.in - 1))) w[k] = 0;
        sum += w[k];
      }
      for (int k = 0; k < 4; ++k) add_tap(x0 - 1 + k, p.exclude_outside && sum != 0 ? w[k] / sum : w[k]);
      break;
    }
  }
  return t;
}

}  // namespace verge::ref
