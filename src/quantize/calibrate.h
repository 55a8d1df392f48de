// Calibration statistics: per-tensor value histograms collected in one pass over the calibration data,
// and the methods that turn them into a quantization range [lo, hi] (always containing 0).
//
// Histogram range refinement (one pass, exact): the first batch sets the range to [min(x,0), max(x,0)]
// split into `bins` equal bins. When a later value falls outside, the bin width is doubled — adjacent
// pairs of bins merge exactly — and the range grows towards the side that overflowed, repeated until
// every value fits. No count is ever re-distributed by interpolation, so a histogram only loses
// resolution (never mass or ordering); the exact min and max are tracked separately.
//
// Methods (see docs/quantization.md):
//   minmax      [min, max] of everything seen.
//   percentile  keeps the central p % of the values (p = 99.999 by default): (100 - p)/2 % is clipped off
//               each tail, or (100 - p) % off the only tail of one-sided data (min >= 0 or max <= 0);
//               read from the histogram with linear interpolation inside a bin.
//   entropy     TensorRT-style KL divergence: candidate windows [f*lo, f*hi] of the range (zero stays at
//               the same relative position, so uint8's zero point is preserved) with at least 256 bins;
//               P = window histogram with the clipped mass folded into the edge bins, Q = P merged into 256
//               levels and spread back over the non-empty bins; the window with the least KL(P||Q) wins.
//   mse         the window [f*lo, f*hi] whose uint8 quantize/dequantize gives the least squared error over
//               the histogram (bin centres weighted by counts).
// Thread-safety: a TensorStats is not synchronized; one per tensor, fed by one thread.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "verge/status.h"

namespace verge::quant {

enum class CalibMethod : uint8_t { kMinMax, kPercentile, kEntropy, kMse };
Result<CalibMethod> parse_calib_method(std::string_view s);  // "minmax|percentile|entropy|mse"
std::string_view calib_method_name(CalibMethod m);

class TensorStats {
 public:
  explicit TensorStats(int bins = 2048);  // bins must be even and >= 256
  // Adds values (non-finite values are ignored and counted in skipped()).
  void add(std::span<const float> values);

  bool empty() const { return count_ == 0; }
  int64_t count() const { return count_; }
  int64_t skipped() const { return skipped_; }
  float min() const { return min_; }
  float max() const { return max_; }
  // Histogram: bin i covers [lo + i*width, lo + (i+1)*width).
  const std::vector<double>& bins() const { return hist_; }
  double lo() const { return lo_; }
  double width() const { return width_; }

 private:
  void grow_to(double lo, double hi);
  std::vector<double> hist_;
  double lo_ = 0, width_ = 0;
  float min_ = 0, max_ = 0;
  int64_t count_ = 0, skipped_ = 0;
};

struct Range {
  float lo = 0, hi = 0;  // lo <= 0 <= hi
};

struct CalibConfig {
  CalibMethod method = CalibMethod::kMinMax;
  double percentile = 99.999;  // for kPercentile, in (50, 100]
};

// The quantization range of a tensor from its statistics. An empty TensorStats gives [0, 0].
Range compute_range(const TensorStats& stats, const CalibConfig& config);

// uint8 asymmetric parameters for a range (ONNX Runtime's compute_scale_zp: scale = (hi - lo)/255,
// zero point = round(-lo/scale); a zero-width range gives scale 1, zero point 0).
struct QParams {
  float scale = 1;
  int32_t zero_point = 0;
};
QParams uint8_params(Range r);
// int8 symmetric parameters (range [-127, 127], zero point 0) for values with this absolute maximum.
QParams int8_symmetric_params(float absmax);

}  // namespace verge::quant
