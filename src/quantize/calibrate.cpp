#include "quantize/calibrate.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>

namespace verge::quant {

Result<CalibMethod> parse_calib_method(std::string_view s) {
  for (CalibMethod m :
       {CalibMethod::kMinMax, CalibMethod::kPercentile, CalibMethod::kEntropy, CalibMethod::kMse})
    if (calib_method_name(m) == s) return m;
  return Status::invalid_argument(
      fmt::format("unknown calibration method '{}' (minmax, percentile, entropy, mse)", s));
}

std::string_view calib_method_name(CalibMethod m) {
  switch (m) {
    case CalibMethod::kMinMax:
      return "minmax";
    case CalibMethod::kPercentile:
      return "percentile";
    case CalibMethod::kEntropy:
      return "entropy";
    case CalibMethod::kMse:
      return "mse";
  }
  return "?";
}

TensorStats::TensorStats(int bins) : hist_(static_cast<size_t>(std::max(256, bins + (bins & 1))), 0.0) {}

void TensorStats::grow_to(double lo, double hi) {
  const size_t n = hist_.size();
  while (lo < lo_ || hi >= lo_ + width_ * static_cast<double>(n)) {
    std::vector<double> merged(n, 0.0);
    const bool extend_down = lo < lo_;
    // Pairs of old bins become one new bin; the old range occupies the upper half when growing down.
    const size_t offset = extend_down ? n / 2 : 0;
    for (size_t i = 0; i < n; ++i) merged[offset + i / 2] += hist_[i];
    if (extend_down) lo_ -= width_ * static_cast<double>(n);
    width_ *= 2;
    hist_.swap(merged);
  }
}

void TensorStats::add(std::span<const float> values) {
  float bmin = std::numeric_limits<float>::infinity(), bmax = -bmin;
  int64_t finite = 0;
  for (float v : values) {
    if (!std::isfinite(v)) continue;
    bmin = std::min(bmin, v);
    bmax = std::max(bmax, v);
    ++finite;
  }
  skipped_ += static_cast<int64_t>(values.size()) - finite;
  if (finite == 0) return;
  const size_t n = hist_.size();
  if (count_ == 0) {
    min_ = bmin;
    max_ = bmax;
    const double lo = std::min<double>(bmin, 0), hi = std::max<double>(bmax, 0);
    lo_ = lo;
    // Slightly wider than the data so the maximum falls inside the last bin.
    width_ = hi > lo ? (hi - lo) / static_cast<double>(n) * (1 + 1e-6) : 1e-6;
  } else {
    min_ = std::min(min_, bmin);
    max_ = std::max(max_, bmax);
    grow_to(bmin, bmax);
  }
  count_ += finite;
  const double inv = 1.0 / width_;
  for (float v : values) {
    if (!std::isfinite(v)) continue;
    const auto b = static_cast<int64_t>((static_cast<double>(v) - lo_) * inv);
    hist_[static_cast<size_t>(std::clamp<int64_t>(b, 0, static_cast<int64_t>(n) - 1))] += 1;
  }
}

QParams uint8_params(Range r) {
  const double lo = std::min(0.0, static_cast<double>(r.lo)), hi = std::max(0.0, static_cast<double>(r.hi));
  const double scale = (hi - lo) / 255.0;
  if (scale < std::numeric_limits<float>::min()) return {1.0f, 0};
  const auto s = static_cast<float>(scale);
  return {s, static_cast<int32_t>(std::clamp(std::nearbyint(-lo / static_cast<double>(s)), 0.0, 255.0))};
}

QParams int8_symmetric_params(float absmax) {
  const double scale = static_cast<double>(absmax) * 2.0 / 254.0;
  if (scale < std::numeric_limits<float>::min()) return {1.0f, 0};
  return {static_cast<float>(scale), 0};
}

namespace {

// The histogram resampled onto `m` equal bins over exactly [lo, hi] (mass split by overlap).
std::vector<double> resample(const TensorStats& s, double lo, double hi, size_t m) {
  std::vector<double> out(m, 0.0);
  const double w = (hi - lo) / static_cast<double>(m);
  const auto& h = s.bins();
  for (size_t i = 0; i < h.size(); ++i) {
    if (h[i] == 0) continue;
    const double a = s.lo() + s.width() * static_cast<double>(i), b = a + s.width();
    // Clip the source bin to the data range; mass outside it (only resolution slack) stays in the bin.
    const double ca = std::clamp(a, lo, hi), cb = std::clamp(b, lo, hi);
    if (cb <= ca) {
      out[a >= hi ? m - 1 : 0] += h[i];
      continue;
    }
    const double per = h[i] / (cb - ca);
    auto j = static_cast<size_t>(std::clamp((ca - lo) / w, 0.0, static_cast<double>(m - 1)));
    for (double x = ca; x < cb && j < m; ++j) {
      const double end = std::min(cb, lo + w * static_cast<double>(j + 1));
      out[j] += per * (end - x);
      x = end;
    }
  }
  return out;
}

double quantile(const TensorStats& s, double q) {
  const auto& h = s.bins();
  double total = 0;
  for (double c : h) total += c;
  const double target = q * total;
  double cum = 0;
  for (size_t i = 0; i < h.size(); ++i) {
    if (cum + h[i] >= target && h[i] > 0) {
      const double frac = (target - cum) / h[i];
      return s.lo() + s.width() * (static_cast<double>(i) + frac);
    }
    cum += h[i];
  }
  return s.lo() + s.width() * static_cast<double>(h.size());
}

// Candidate windows over `m` working bins: k bins wide, placed so the zero position z keeps its
// relative place. Returns the first bin.
size_t window_start(double z, size_t k, size_t m) {
  const double start = z * (1.0 - static_cast<double>(k) / static_cast<double>(m));
  return std::min(static_cast<size_t>(std::max(0.0, std::nearbyint(start))), m - k);
}

double kl_divergence(const std::vector<double>& w, size_t a, size_t k, size_t levels) {
  std::vector<double> p(w.begin() + static_cast<std::ptrdiff_t>(a),
                        w.begin() + static_cast<std::ptrdiff_t>(a + k));
  const std::vector<double> window = p;
  for (size_t i = 0; i < a; ++i) p[0] += w[i];
  for (size_t i = a + k; i < w.size(); ++i) p[k - 1] += w[i];
  std::vector<double> q(k, 0.0);
  for (size_t j = 0; j < levels; ++j) {
    const size_t b0 = j * k / levels, b1 = (j + 1) * k / levels;
    double sum = 0;
    size_t nonzero = 0;
    for (size_t i = b0; i < b1; ++i) {
      sum += window[i];
      nonzero += window[i] != 0;
    }
    if (nonzero == 0) continue;
    for (size_t i = b0; i < b1; ++i)
      if (window[i] != 0) q[i] = sum / static_cast<double>(nonzero);
  }
  double ps = 0, qs = 0;
  for (size_t i = 0; i < k; ++i) {
    ps += p[i];
    qs += q[i];
  }
  if (ps <= 0 || qs <= 0) return std::numeric_limits<double>::infinity();
  double kl = 0;
  for (size_t i = 0; i < k; ++i) {
    if (p[i] <= 0) continue;
    const double pi = p[i] / ps, qi = q[i] > 0 ? q[i] / qs : 1e-12;  // clipped mass where Q is empty
    kl += pi * std::log(pi / qi);
  }
  return kl;
}

// Expected squared uint8 quantize/dequantize error of the histogram's values for range r. Each bin's
// mass is spread evenly over 16 points inside it, so bins as wide as a quantization step still see their
// rounding error.
double quantization_mse(const std::vector<double>& w, double lo, double bin, Range r) {
  const QParams qp = uint8_params(r);
  const double s = qp.scale;
  constexpr int kSub = 16;
  double err = 0;
  for (size_t i = 0; i < w.size(); ++i) {
    if (w[i] == 0) continue;
    double e = 0;
    for (int k = 0; k < kSub; ++k) {
      const double x = lo + bin * (static_cast<double>(i) + (k + 0.5) / kSub);
      const double q = std::clamp(std::nearbyint(x / s) + qp.zero_point, 0.0, 255.0);
      const double d = (q - qp.zero_point) * s - x;
      e += d * d;
    }
    err += w[i] * e / kSub;
  }
  return err;
}

}  // namespace

Range compute_range(const TensorStats& stats, const CalibConfig& config) {
  if (stats.empty()) return {};
  const double rmin = std::min(0.0f, stats.min()), rmax = std::max(0.0f, stats.max());
  if (config.method == CalibMethod::kMinMax || rmax <= rmin)
    return {static_cast<float>(rmin), static_cast<float>(rmax)};
  if (config.method == CalibMethod::kPercentile) {
    const double p = std::clamp(config.percentile, 50.0, 100.0) / 100.0;
    double lo = rmin, hi = rmax;
    if (stats.min() >= 0) {
      hi = quantile(stats, p);
    } else if (stats.max() <= 0) {
      lo = quantile(stats, 1 - p);
    } else {
      lo = quantile(stats, (1 - p) / 2);
      hi = quantile(stats, 1 - (1 - p) / 2);
    }
    lo = std::clamp(lo, rmin, 0.0);
    hi = std::clamp(hi, 0.0, rmax);
    return {static_cast<float>(lo), static_cast<float>(hi)};
  }
  constexpr size_t kBins = 2048, kLevels = 256;
  const std::vector<double> w = resample(stats, rmin, rmax, kBins);
  const double bin = (rmax - rmin) / static_cast<double>(kBins);
  const double z = -rmin / bin;
  double best = std::numeric_limits<double>::infinity();
  Range best_range{static_cast<float>(rmin), static_cast<float>(rmax)};
  const size_t min_k = config.method == CalibMethod::kEntropy ? kLevels : 64;
  for (size_t k = kBins; k >= min_k; k -= 8) {
    const size_t a = window_start(z, k, kBins);
    Range r{static_cast<float>(std::min(0.0, rmin + bin * static_cast<double>(a))),
            static_cast<float>(std::max(0.0, rmin + bin * static_cast<double>(a + k)))};
    const double cost = config.method == CalibMethod::kEntropy ? kl_divergence(w, a, k, kLevels)
                                                               : quantization_mse(w, rmin, bin, r);
    if (cost < best) {  // ties keep the wider window
      best = cost;
      best_range = r;
    }
  }
  return best_range;
}

}  // namespace verge::quant
