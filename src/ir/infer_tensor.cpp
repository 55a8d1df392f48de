// Shape inference for shape and data-movement ops: Dropout, Constant, ConstantOfShape, EyeLike, Range,
// Shape, Size, Reshape, Flatten, Squeeze, Unsqueeze, Transpose, Concat, Split, Slice (Identity uses
// infer_unary). Shape-carrying inputs (shapes, axes, splits, slice bounds, range bounds) are read with
// require_value; at run time the planner calls these functions again with every value known, so all
// validation of those values happens here.
#include <fmt/ranges.h>

#include <cmath>
#include <limits>
#include <vector>

#include "ir/infer.h"
#include "kernels/ref/tensor_slice.h"

namespace verge {
namespace {

// Ops that create tensors from values (Range, ConstantOfShape) refuse outputs larger than this.
constexpr int64_t kMaxCreatedElements = int64_t{1} << 31;

Status require_input(const InferContext& c, size_t i, std::string_view what) {
  if (!c.has_input(i)) return c.invalid("input {} ({}) is required", i, what);
  return Status::ok();
}

// Checks that input i is an integer list (int64, or int32 where `allow_int32`) of rank 1 (or a scalar
// where `allow_scalar`), then returns its value, or kNeedsValue when it is only known at run time.
Result<std::vector<int64_t>> int_list(const InferContext& c, size_t i, std::string_view what,
                                      bool allow_int32, bool allow_scalar = false) {
  const DType t = c.dtype(i);
  if (t != DType::kInt64 && !(allow_int32 && t == DType::kInt32))
    return c.invalid("'{}' must be {}, got {}", what, allow_int32 ? "int32 or int64" : "int64",
                     dtype_name(t));
  if (c.rank(i) != 1 && !(allow_scalar && c.rank(i) == 0))
    return c.invalid("'{}' must be a 1-D tensor, got shape {}", what, shape_to_string(c.shape(i)));
  VERGE_ASSIGN_OR_RETURN(const Tensor* v, c.require_value(i));
  return v->to_int64_vector();
}

// Error unless input i holds exactly one element (a scalar; shape [1] is tolerated).
Status expect_scalar(const InferContext& c, size_t i, std::string_view what) {
  if (shape_numel(c.shape(i)) != 1 || c.rank(i) > 1)
    return c.invalid("'{}' must be a scalar, got shape {}", what, shape_to_string(c.shape(i)));
  return Status::ok();
}

// Product of dims with overflow detection.
Result<int64_t> checked_numel(const Shape& s) {
  int64_t n = 1;
  for (int64_t d : s)
    if (__builtin_mul_overflow(n, d, &n))
      return Status::invalid_model(fmt::format("shape {} has too many elements", shape_to_string(s)));
  return n;
}

// Normalizes a list of axes for `rank`, rejecting duplicates.
Result<std::vector<int>> normalize_axes(const InferContext& c, const std::vector<int64_t>& axes, int rank) {
  std::vector<int> out;
  std::vector<bool> seen(static_cast<size_t>(rank), false);
  for (int64_t a : axes) {
    VERGE_ASSIGN_OR_RETURN(int n, normalize_axis(a, rank));
    if (seen[static_cast<size_t>(n)]) return c.invalid("axis {} is given more than once in axes {}", a, axes);
    seen[static_cast<size_t>(n)] = true;
    out.push_back(n);
  }
  return out;
}

}  // namespace

// Dropout(data, ratio?, training_mode?) -> output, mask?. The mask is bool (Dropout-7..9: same dtype as
// data).
Status infer_dropout(InferContext& c) {
  VERGE_RETURN_IF_ERROR(require_input(c, 0, "data"));
  VERGE_RETURN_IF_ERROR(
      c.expect_dtype(0, {DType::kFloat32, DType::kFloat64, DType::kFloat16, DType::kBFloat16}));
  if (c.has_input(1)) {
    VERGE_RETURN_IF_ERROR(
        c.expect_dtype(1, {DType::kFloat32, DType::kFloat64, DType::kFloat16, DType::kBFloat16}));
    VERGE_RETURN_IF_ERROR(expect_scalar(c, 1, "ratio"));
  }
  if (c.has_input(2)) {
    if (c.dtype(2) != DType::kBool)
      return c.invalid("'training_mode' must be bool, got {}", dtype_name(c.dtype(2)));
    VERGE_RETURN_IF_ERROR(expect_scalar(c, 2, "training_mode"));
  }
  c.set_output(0, c.input(0));
  if (c.has_output(1)) c.set_output(1, c.node().since_version < 10 ? c.dtype(0) : DType::kBool, c.shape(0));
  return Status::ok();
}

Status infer_constant(InferContext& c) {
  static constexpr std::string_view kValueAttrs[] = {"value",         "value_float", "value_floats",
                                                     "value_int",     "value_ints",  "value_string",
                                                     "value_strings", "sparse_value"};
  const ir::Attribute* a = nullptr;
  int count = 0;
  for (std::string_view name : kValueAttrs)
    if (const ir::Attribute* x = c.node().attr(name)) {
      a = x;
      ++count;
    }
  if (count != 1)
    return c.invalid(
        "Constant needs exactly one of the attributes value, value_float(s), value_int(s), "
        "value_string(s), sparse_value; got {}",
        count);
  const std::string& name = a->name;
  if (name == "value_string" || name == "value_strings")
    return c.unsupported("Constant with attribute '{}' is not supported: Verge has no string tensors", name);
  if (name == "sparse_value") return c.unsupported("Constant with a sparse_value is not supported");
  if (name == "value") {
    if (a->type != ir::AttrType::kTensor) return c.invalid("attribute 'value' must be a tensor");
    if (!dtype_supported(a->t.dtype()))
      return c.unsupported("Constant of dtype {} is not supported", dtype_name(a->t.dtype()));
    c.set_output(0, a->t.dtype(), a->t.shape());
  } else if (name == "value_float") {
    c.set_output(0, DType::kFloat32, {});
  } else if (name == "value_floats") {
    c.set_output(0, DType::kFloat32, {static_cast<int64_t>(a->floats.size())});
  } else if (name == "value_int") {
    c.set_output(0, DType::kInt64, {});
  } else {
    c.set_output(0, DType::kInt64, {static_cast<int64_t>(a->ints.size())});
  }
  return Status::ok();
}

Status infer_constant_of_shape(InferContext& c) {
  VERGE_RETURN_IF_ERROR(require_input(c, 0, "input"));
  DType out = DType::kFloat32;
  if (const ir::Attribute* a = c.node().attr("value")) {
    if (a->type != ir::AttrType::kTensor) return c.invalid("attribute 'value' must be a tensor");
    if (a->t.numel() != 1)
      return c.invalid("attribute 'value' must hold exactly one element, got shape {}",
                       shape_to_string(a->t.shape()));
    out = a->t.dtype();
  }
  VERGE_ASSIGN_OR_RETURN(std::vector<int64_t> dims, int_list(c, 0, "input", false));
  for (size_t i = 0; i < dims.size(); ++i)
    if (dims[i] < 0) return c.invalid("shape {} has a negative dimension (index {})", dims, i);
  VERGE_ASSIGN_OR_RETURN(int64_t n, checked_numel(dims));
  if (n > kMaxCreatedElements)
    return Status::out_of_range(fmt::format("ConstantOfShape output shape {} has {} elements (limit {})",
                                            shape_to_string(dims), n, kMaxCreatedElements));
  c.set_output(0, out, std::move(dims));
  return Status::ok();
}

Status infer_eye_like(InferContext& c) {
  VERGE_RETURN_IF_ERROR(require_input(c, 0, "input"));
  if (c.rank(0) != 2)
    return c.invalid("EyeLike input must be 2-D, got shape {}", shape_to_string(c.shape(0)));
  DType out = c.dtype(0);
  if (c.node().has_attr("dtype")) {
    const int64_t d = c.node().get_int("dtype", 0);
    out = dtype_from_onnx(static_cast<int32_t>(d));
    if (d != static_cast<int32_t>(d) || !dtype_supported(out))
      return c.invalid("attribute 'dtype' = {} is not a data type EyeLike can produce", d);
  }
  c.set_output(0, out, c.shape(0));
  return Status::ok();
}

Status infer_range(InferContext& c) {
  static constexpr std::string_view kNames[] = {"start", "limit", "delta"};
  for (size_t i = 0; i < 3; ++i) VERGE_RETURN_IF_ERROR(require_input(c, i, kNames[i]));
  VERGE_RETURN_IF_ERROR(
      c.expect_dtype(0, {DType::kFloat32, DType::kFloat64, DType::kInt16, DType::kInt32, DType::kInt64}));
  for (size_t i = 0; i < 3; ++i) {
    if (i > 0) VERGE_RETURN_IF_ERROR(c.expect_same_dtype(0, i));
    VERGE_RETURN_IF_ERROR(expect_scalar(c, i, kNames[i]));
  }
  const Tensor* v[3];
  for (size_t i = 0; i < 3; ++i) {
    VERGE_ASSIGN_OR_RETURN(v[i], c.require_value(i));
  }
  int64_t n = 0;
  if (dtype_is_float(c.dtype(0))) {
    const double s = v[0]->get_as_double(0), l = v[1]->get_as_double(0), d = v[2]->get_as_double(0);
    if (!std::isfinite(s) || !std::isfinite(l) || !std::isfinite(d))
      return Status::out_of_range(
          fmt::format("Range bounds must be finite, got start {}, limit {}, delta {}", s, l, d));
    if (d == 0) return Status::out_of_range("Range delta must not be zero");
    // Count in the input's own precision, as ONNX's reference and other runtimes do.
    const double q = c.dtype(0) == DType::kFloat32
                         ? static_cast<double>(std::ceil((static_cast<float>(l) - static_cast<float>(s)) /
                                                         static_cast<float>(d)))
                         : std::ceil((l - s) / d);
    if (q > static_cast<double>(kMaxCreatedElements))
      return Status::out_of_range(
          fmt::format("Range(start {}, limit {}, delta {}) would produce more than {} elements", s, l, d,
                      kMaxCreatedElements));
    n = q > 0 ? static_cast<int64_t>(q) : 0;
  } else {
    const int64_t s = v[0]->get_as_int64(0), l = v[1]->get_as_int64(0), d = v[2]->get_as_int64(0);
    if (d == 0) return Status::out_of_range("Range delta must not be zero");
    const __int128 span = static_cast<__int128>(l) - s;
    __int128 q = span / d;
    if (span % d != 0 && ((span > 0) == (d > 0))) ++q;  // ceil
    if (q > kMaxCreatedElements)
      return Status::out_of_range(
          fmt::format("Range(start {}, limit {}, delta {}) would produce more than {} elements", s, l, d,
                      kMaxCreatedElements));
    n = q > 0 ? static_cast<int64_t>(q) : 0;
  }
  c.set_output(0, c.dtype(0), {n});
  return Status::ok();
}

Status infer_shape(InferContext& c) {
  VERGE_RETURN_IF_ERROR(require_input(c, 0, "data"));
  const int64_t r = c.rank(0);
  auto clamp_axis = [r](int64_t a) {
    if (a < 0) a += r;
    return a < 0 ? 0 : (a > r ? r : a);
  };
  const int64_t start = clamp_axis(c.node().get_int("start", 0));
  const int64_t end = clamp_axis(c.node().get_int("end", r));
  c.set_output(0, DType::kInt64, {end > start ? end - start : 0});
  return Status::ok();
}

Status infer_size(InferContext& c) {
  VERGE_RETURN_IF_ERROR(require_input(c, 0, "data"));
  c.set_output(0, DType::kInt64, {});
  return Status::ok();
}

Status infer_reshape(InferContext& c) {
  VERGE_RETURN_IF_ERROR(require_input(c, 0, "data"));
  VERGE_RETURN_IF_ERROR(require_input(c, 1, "shape"));
  const bool allow_zero = c.node().get_int("allowzero", 0) != 0;
  VERGE_ASSIGN_OR_RETURN(std::vector<int64_t> target, int_list(c, 1, "shape", false));
  const Shape& in = c.shape(0);
  Shape out(target.size());
  int infer_at = -1;
  bool has_zero = false;
  for (size_t i = 0; i < target.size(); ++i) {
    const int64_t v = target[i];
    if (v == -1) {
      if (infer_at >= 0) return c.invalid("shape {} has more than one -1", target);
      infer_at = static_cast<int>(i);
      out[i] = 1;
    } else if (v < -1) {
      return c.invalid("shape {} has an invalid dimension {}", target, v);
    } else if (v == 0 && !allow_zero) {
      if (i >= in.size())
        return c.invalid("shape {}: 0 at index {} copies an input dimension, but the input has rank {}",
                         target, i, in.size());
      out[i] = in[i];
    } else {
      has_zero = has_zero || v == 0;
      out[i] = v;
    }
  }
  if (allow_zero && has_zero && infer_at >= 0)
    return c.invalid("shape {} has both 0 and -1, which is invalid with allowzero=1", target);
  const int64_t in_n = shape_numel(in);
  VERGE_ASSIGN_OR_RETURN(int64_t known, checked_numel(out));
  if (infer_at >= 0) {
    if (known == 0 || in_n % known != 0)
      return c.invalid(
          "cannot reshape input of shape {} ({} elements) into shape {}: the -1 dimension cannot be inferred",
          shape_to_string(in), in_n, target);
    out[static_cast<size_t>(infer_at)] = in_n / known;
  } else if (known != in_n) {
    return c.invalid("cannot reshape input of shape {} ({} elements) into shape {} ({} elements)",
                     shape_to_string(in), in_n, shape_to_string(out), known);
  }
  c.set_output(0, c.dtype(0), std::move(out));
  return Status::ok();
}

Status infer_flatten(InferContext& c) {
  VERGE_RETURN_IF_ERROR(require_input(c, 0, "input"));
  const int r = c.rank(0);
  const int64_t axis = c.node().get_int("axis", 1);
  if (axis < -r || axis > r)
    return c.invalid("axis {} is out of range for rank {} (allowed: [{}, {}])", axis, r, -r, r);
  const size_t a = static_cast<size_t>(axis < 0 ? axis + r : axis);
  const Shape& s = c.shape(0);
  int64_t outer = 1, inner = 1;
  for (size_t d = 0; d < s.size(); ++d) (d < a ? outer : inner) *= s[d];
  c.set_output(0, c.dtype(0), {outer, inner});
  return Status::ok();
}

Status infer_squeeze(InferContext& c) {
  VERGE_RETURN_IF_ERROR(require_input(c, 0, "data"));
  const Shape& in = c.shape(0);
  const int r = c.rank(0);
  std::vector<bool> drop(in.size(), false);
  if (c.has_input(1)) {
    VERGE_ASSIGN_OR_RETURN(std::vector<int64_t> axes, int_list(c, 1, "axes", false, true));
    VERGE_ASSIGN_OR_RETURN(std::vector<int> norm, normalize_axes(c, axes, r));
    for (int a : norm) {
      if (in[static_cast<size_t>(a)] != 1)
        return c.invalid("cannot squeeze axis {} of size {} (input shape {})", a, in[static_cast<size_t>(a)],
                         shape_to_string(in));
      drop[static_cast<size_t>(a)] = true;
    }
  } else {
    for (size_t d = 0; d < in.size(); ++d) drop[d] = in[d] == 1;
  }
  Shape out;
  for (size_t d = 0; d < in.size(); ++d)
    if (!drop[d]) out.push_back(in[d]);
  c.set_output(0, c.dtype(0), std::move(out));
  return Status::ok();
}

Status infer_unsqueeze(InferContext& c) {
  VERGE_RETURN_IF_ERROR(require_input(c, 0, "data"));
  VERGE_RETURN_IF_ERROR(require_input(c, 1, "axes"));
  VERGE_ASSIGN_OR_RETURN(std::vector<int64_t> axes, int_list(c, 1, "axes", false, true));
  const Shape& in = c.shape(0);
  const int out_rank = c.rank(0) + static_cast<int>(axes.size());
  VERGE_ASSIGN_OR_RETURN(std::vector<int> norm, normalize_axes(c, axes, out_rank));
  std::vector<bool> inserted(static_cast<size_t>(out_rank), false);
  for (int a : norm) inserted[static_cast<size_t>(a)] = true;
  Shape out(static_cast<size_t>(out_rank));
  size_t k = 0;
  for (size_t d = 0; d < out.size(); ++d) out[d] = inserted[d] ? 1 : in[k++];
  c.set_output(0, c.dtype(0), std::move(out));
  return Status::ok();
}

Status infer_transpose(InferContext& c) {
  VERGE_RETURN_IF_ERROR(require_input(c, 0, "data"));
  const Shape& in = c.shape(0);
  const int64_t r = c.rank(0);
  std::vector<int64_t> perm = c.node().get_ints("perm");
  if (!c.node().has_attr("perm"))
    for (int64_t d = r; d-- > 0;) perm.push_back(d);
  if (static_cast<int64_t>(perm.size()) != r)
    return c.invalid("perm {} has {} entries, but the input has rank {}", perm, perm.size(), r);
  std::vector<bool> seen(perm.size(), false);
  Shape out(perm.size());
  for (size_t i = 0; i < perm.size(); ++i) {
    const int64_t p = perm[i];
    if (p < 0 || p >= r) return c.invalid("perm {}: entry {} is out of range for rank {}", perm, p, r);
    if (seen[static_cast<size_t>(p)])
      return c.invalid("perm {} is not a permutation: {} appears twice", perm, p);
    seen[static_cast<size_t>(p)] = true;
    out[i] = in[static_cast<size_t>(p)];
  }
  c.set_output(0, c.dtype(0), std::move(out));
  return Status::ok();
}

Status infer_concat(InferContext& c) {
  if (c.num_inputs() == 0) return c.invalid("Concat needs at least one input");
  for (size_t i = 0; i < c.num_inputs(); ++i) VERGE_RETURN_IF_ERROR(require_input(c, i, "inputs"));
  if (!c.node().has_attr("axis")) return c.invalid("attribute 'axis' is required");
  const int r = c.rank(0);
  if (r == 0) return c.invalid("Concat inputs must have rank >= 1, got a scalar '{}'", c.input_name(0));
  VERGE_ASSIGN_OR_RETURN(int axis, normalize_axis(c.node().get_int("axis", 0), r));
  Shape out = c.shape(0);
  for (size_t i = 1; i < c.num_inputs(); ++i) {
    VERGE_RETURN_IF_ERROR(c.expect_same_dtype(0, i));
    const Shape& s = c.shape(i);
    bool ok = c.rank(static_cast<size_t>(i)) == r;
    for (int d = 0; ok && d < r; ++d)
      ok = d == axis || s[static_cast<size_t>(d)] == out[static_cast<size_t>(d)];
    if (!ok)
      return c.invalid(
          "input '{}' has shape {}, incompatible with '{}' of shape {} for concatenation on axis {}",
          c.input_name(i), shape_to_string(s), c.input_name(0), shape_to_string(c.shape(0)), axis);
    out[static_cast<size_t>(axis)] += s[static_cast<size_t>(axis)];
  }
  c.set_output(0, c.dtype(0), std::move(out));
  return Status::ok();
}

Status infer_split(InferContext& c) {
  VERGE_RETURN_IF_ERROR(require_input(c, 0, "input"));
  const size_t n = c.num_outputs();
  if (n == 0) return c.invalid("Split needs at least one output");
  const Shape& in = c.shape(0);
  if (in.empty()) return c.invalid("Split input must have rank >= 1, got a scalar");
  VERGE_ASSIGN_OR_RETURN(int axis, normalize_axis(c.node().get_int("axis", 0), c.rank(0)));
  const int64_t dim = in[static_cast<size_t>(axis)];
  std::vector<int64_t> split;
  if (c.has_input(1)) {
    VERGE_ASSIGN_OR_RETURN(split, int_list(c, 1, "split", false));
    if (split.size() != n)
      return c.invalid("'split' has {} values {}, but the node has {} outputs", split.size(), split, n);
    int64_t sum = 0;
    for (int64_t v : split) {
      if (v < 0) return c.invalid("'split' {} has a negative size", split);
      if (__builtin_add_overflow(sum, v, &sum)) return c.invalid("'split' {} sums past int64", split);
    }
    if (sum != dim)
      return c.invalid("'split' {} sums to {}, but axis {} of input shape {} has size {}", split, sum, axis,
                       shape_to_string(in), dim);
  } else {
    if (dim % static_cast<int64_t>(n) != 0)
      return c.invalid("cannot split axis {} of size {} into {} equal parts (give 'split' for uneven parts)",
                       axis, dim, n);
    split.assign(n, dim / static_cast<int64_t>(n));
  }
  for (size_t i = 0; i < n; ++i) {
    Shape s = in;
    s[static_cast<size_t>(axis)] = split[i];
    c.set_output(i, c.dtype(0), std::move(s));
  }
  return Status::ok();
}

Status infer_slice(InferContext& c) {
  VERGE_RETURN_IF_ERROR(require_input(c, 0, "data"));
  VERGE_RETURN_IF_ERROR(require_input(c, 1, "starts"));
  VERGE_RETURN_IF_ERROR(require_input(c, 2, "ends"));
  static constexpr std::string_view kNames[] = {"data", "starts", "ends", "axes", "steps"};
  for (size_t i = 2; i < 5; ++i)
    if (c.has_input(i) && c.dtype(i) != c.dtype(1))
      return c.invalid("'{}' ({}) must have the same dtype as 'starts' ({})", kNames[i],
                       dtype_name(c.dtype(i)), dtype_name(c.dtype(1)));
  // Check dtypes and ranks of every present input before asking for any value.
  for (size_t i = 1; i < 5; ++i)
    if (c.has_input(i) && ((c.dtype(i) != DType::kInt64 && c.dtype(i) != DType::kInt32) || c.rank(i) != 1))
      return c.invalid("'{}' must be a 1-D int32 or int64 tensor, got {}", kNames[i], c.input(i).to_string());
  std::vector<int64_t> lists[5];
  for (size_t i = 1; i < 5; ++i) {
    if (!c.has_input(i)) continue;
    VERGE_ASSIGN_OR_RETURN(lists[i], int_list(c, i, kNames[i], true));
  }
  const std::vector<int64_t>& starts = lists[1];
  const std::vector<int64_t>& ends = lists[2];
  const size_t n = starts.size();
  for (size_t i = 2; i < 5; ++i)
    if (c.has_input(i) && lists[i].size() != n)
      return c.invalid("'{}' has {} values, but 'starts' has {}", kNames[i], lists[i].size(), n);
  const Shape& in = c.shape(0);
  std::vector<int> axes;
  if (c.has_input(3)) {
    VERGE_ASSIGN_OR_RETURN(axes, normalize_axes(c, lists[3], c.rank(0)));
  } else {
    if (n > in.size()) return c.invalid("'starts' has {} values, but the input has rank {}", n, in.size());
    for (size_t i = 0; i < n; ++i) axes.push_back(static_cast<int>(i));
  }
  Shape out = in;
  for (size_t i = 0; i < n; ++i) {
    const int64_t step = c.has_input(4) ? lists[4][i] : 1;
    if (step == 0) return c.invalid("'steps' {} contains 0", lists[4]);
    const auto a = static_cast<size_t>(axes[i]);
    out[a] = resolve_slice(starts[i], ends[i], step, in[a]).count;
  }
  c.set_output(0, c.dtype(0), std::move(out));
  return Status::ok();
}

}  // namespace verge
