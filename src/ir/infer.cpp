#include "ir/infer.h"

#include <fmt/ranges.h>

namespace verge {

std::string TensorType::to_string() const {
  return fmt::format("{}[{}]", dtype_name(dtype), shape_to_string(shape));
}

std::string InferContext::input_name(size_t i) const {
  const ir::ValueId id = node_.input(i);
  return id == ir::kNoValue ? fmt::format("#{}", i) : graph_.value(id).name;
}

Result<const Tensor*> InferContext::require_value(size_t i) const {
  if (const Tensor* t = value(i)) return t;
  return Status(StatusCode::kNeedsValue, fmt::format("needs the value of input '{}'", input_name(i)));
}

Status InferContext::expect_dtype(size_t i, std::initializer_list<DType> allowed) const {
  const DType t = dtype(i);
  for (DType a : allowed)
    if (a == t) return Status::ok();
  std::string names;
  for (DType a : allowed) names += fmt::format("{}{}", names.empty() ? "" : ", ", dtype_name(a));
  return Status::unsupported(
      fmt::format("input '{}' has dtype {}; supported: {}", input_name(i), dtype_name(t), names));
}

Status InferContext::expect_same_dtype(size_t i, size_t j) const {
  if (dtype(i) == dtype(j)) return Status::ok();
  return invalid("inputs '{}' ({}) and '{}' ({}) must have the same dtype", input_name(i), dtype_name(dtype(i)),
                 input_name(j), dtype_name(dtype(j)));
}

Result<Shape> broadcast_shapes(const Shape& a, const Shape& b) {
  const size_t r = std::max(a.size(), b.size());
  Shape out(r);
  for (size_t k = 0; k < r; ++k) {
    const int64_t da = k < r - a.size() ? 1 : a[k - (r - a.size())];
    const int64_t db = k < r - b.size() ? 1 : b[k - (r - b.size())];
    if (da == db || db == 1) out[k] = da;
    else if (da == 1) out[k] = db;
    else
      return Status::invalid_model(
          fmt::format("shapes {} and {} are not broadcastable", shape_to_string(a), shape_to_string(b)));
  }
  return out;
}

Result<int> normalize_axis(int64_t axis, int rank, std::string_view what) {
  if (axis < -rank || axis >= rank)
    return Status::invalid_model(fmt::format("{} {} is out of range for rank {}", what, axis, rank));
  return static_cast<int>(axis < 0 ? axis + rank : axis);
}

}  // namespace verge
