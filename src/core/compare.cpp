#include "core/compare.h"

#include <fmt/format.h>

#include <cmath>

namespace verge {
namespace {
Comparison check_meta(const Tensor& a, const Tensor& e) {
  Comparison c;
  if (a.dtype() != e.dtype()) {
    c.ok = false;
    c.message = fmt::format("dtype {} vs expected {}", dtype_name(a.dtype()), dtype_name(e.dtype()));
  } else if (a.shape() != e.shape()) {
    c.ok = false;
    c.message = fmt::format("shape {} vs expected {}", shape_to_string(a.shape()), shape_to_string(e.shape()));
  }
  return c;
}
}  // namespace

Comparison compare_tensors(const Tensor& a, const Tensor& e, double rtol, double atol) {
  Comparison c = check_meta(a, e);
  if (!c.ok) return c;
  const bool is_float = dtype_is_float(a.dtype());
  for (int64_t i = 0; i < a.numel(); ++i) {
    bool good;
    if (is_float) {
      const double x = a.get_as_double(i), y = e.get_as_double(i);
      if (std::isnan(y) || std::isnan(x)) good = std::isnan(x) && std::isnan(y);
      else if (std::isinf(y) || std::isinf(x)) good = x == y;
      else {
        const double err = std::fabs(x - y);
        c.max_abs_err = std::max(c.max_abs_err, err);
        good = err <= atol + rtol * std::fabs(y);
      }
      c.max_abs_ref = std::max(c.max_abs_ref, std::isfinite(y) ? std::fabs(y) : 0.0);
      if (!good && c.mismatches == 0) c.message = fmt::format("element {}: {:.9g} vs expected {:.9g}", i, x, y);
    } else {
      const int64_t x = a.get_as_int64(i), y = e.get_as_int64(i);
      good = a.dtype() == DType::kUInt64 ? a.data<uint64_t>()[i] == e.data<uint64_t>()[i] : x == y;
      if (!good && c.mismatches == 0) c.message = fmt::format("element {}: {} vs expected {}", i, x, y);
    }
    if (!good) {
      c.ok = false;
      ++c.mismatches;
    }
  }
  if (!c.ok) c.message = fmt::format("{} of {} elements differ; first: {}", c.mismatches, a.numel(), c.message);
  return c;
}

Comparison compare_relative_to_max(const Tensor& a, const Tensor& e, double tol) {
  Comparison c = check_meta(a, e);
  if (!c.ok) return c;
  int64_t worst = 0;
  for (int64_t i = 0; i < a.numel(); ++i) {
    const double x = a.get_as_double(i), y = e.get_as_double(i);
    const double err = std::fabs(x - y);
    if (err > c.max_abs_err || std::isnan(err)) {
      c.max_abs_err = std::isnan(err) ? INFINITY : err;
      worst = i;
    }
    c.max_abs_ref = std::max(c.max_abs_ref, std::fabs(y));
  }
  c.ok = c.max_abs_err <= tol * c.max_abs_ref;
  c.message = fmt::format("max|err| = {:.3g} at element {}, max|ref| = {:.3g}, ratio {:.3g} (limit {:.3g})", c.max_abs_err,
                          worst, c.max_abs_ref, c.max_abs_ref > 0 ? c.max_abs_err / c.max_abs_ref : c.max_abs_err, tol);
  return c;
}

}  // namespace verge
