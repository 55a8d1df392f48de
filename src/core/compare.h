// Tensor comparison used by conformance runs and tests.
#pragma once

#include <string>

#include "verge/tensor.h"

namespace verge {

struct Comparison {
  bool ok = true;
  std::string message;     // first mismatch, e.g. "element 17 (index [0,17]): 0.5 vs expected 0.25"
  double max_abs_err = 0;  // over all elements (floats)
  double max_abs_ref = 0;
  int64_t mismatches = 0;
};

// dtype and shape must match exactly. Floats: |a - e| <= atol + rtol * |e| (numpy.allclose; NaN equals
// NaN, infinities must match). Integers and bool: exact.
Comparison compare_tensors(const Tensor& actual, const Tensor& expected, double rtol = 1e-3, double atol = 1e-7);

// max|a - e| <= tol * max|e| (the model-level criterion: relative to the output's scale).
Comparison compare_relative_to_max(const Tensor& actual, const Tensor& expected, double tol);

}  // namespace verge
