// Shape inference for indexing and tiling ops: Gather, GatherElements, GatherND, ScatterElements,
// ScatterND, Tile, Expand, Pad, DepthToSpace, SpaceToDepth, OneHot, NonZero (Trilu uses infer_unary).
// Shape-carrying inputs (Tile repeats, Expand shape, Pad pads/axes, OneHot depth, NonZero data) are read
// with require_value; at run time the planner calls these functions again with every value known, so all
// validation of those values happens here. Index *values* of Gather/Scatter are checked by the kernels.
#include <fmt/ranges.h>

#include <cmath>
#include <vector>

#include "core/dispatch.h"
#include "ir/infer.h"

namespace verge {
namespace {

// Outputs computed from runtime values (repeats, shapes, pads, depth) and gathers may not be larger
// than this: an absurd request is an error, not an allocation attempt.
constexpr int64_t kMaxOutputElements = int64_t{1} << 31;

Status require_input(const InferContext& c, size_t i, std::string_view what) {
  if (!c.has_input(i)) return c.invalid("input {} ({}) is required", i, what);
  return Status::ok();
}

Status expect_index_dtype(const InferContext& c, size_t i, std::string_view what) {
  const DType t = c.dtype(i);
  if (t != DType::kInt32 && t != DType::kInt64)
    return c.invalid("'{}' must be int32 or int64, got {}", what, dtype_name(t));
  return Status::ok();
}

// Error unless `s` has at most kMaxOutputElements elements (dims are >= 0).
Status check_output_size(const Shape& s) {
  int64_t n = 1;
  for (int64_t d : s) {
    if (d == 0) return Status::ok();
  }
  for (int64_t d : s) {
    if (__builtin_mul_overflow(n, d, &n) || n > kMaxOutputElements)
      return Status::out_of_range(
          fmt::format("output shape {} has more than 2^31 elements", shape_to_string(s)));
  }
  return Status::ok();
}

// Checks that input i is a 1-D int64 tensor and returns its value (kNeedsValue when not known yet).
Result<std::vector<int64_t>> int64_list(const InferContext& c, size_t i, std::string_view what) {
  if (c.dtype(i) != DType::kInt64)
    return c.invalid("'{}' must be int64, got {}", what, dtype_name(c.dtype(i)));
  if (c.rank(i) != 1)
    return c.invalid("'{}' must be a 1-D tensor, got shape {}", what, shape_to_string(c.shape(i)));
  VERGE_ASSIGN_OR_RETURN(const Tensor* v, c.require_value(i));
  return v->to_int64_vector();
}

}  // namespace

// Gather(data, indices; axis): data.shape[:axis] + indices.shape + data.shape[axis+1:].
Status infer_gather(InferContext& c) {
  VERGE_RETURN_IF_ERROR(require_input(c, 0, "data"));
  VERGE_RETURN_IF_ERROR(require_input(c, 1, "indices"));
  VERGE_RETURN_IF_ERROR(expect_index_dtype(c, 1, "indices"));
  if (c.rank(0) < 1) return c.invalid("'data' must have rank >= 1, got a scalar");
  VERGE_ASSIGN_OR_RETURN(const int axis, normalize_axis(c.node().get_int("axis", 0), c.rank(0)));
  const Shape& data = c.shape(0);
  Shape out(data.begin(), data.begin() + axis);
  out.insert(out.end(), c.shape(1).begin(), c.shape(1).end());
  out.insert(out.end(), data.begin() + axis + 1, data.end());
  VERGE_RETURN_IF_ERROR(check_output_size(out));
  c.set_output(0, c.dtype(0), std::move(out));
  return Status::ok();
}

// GatherElements(data, indices; axis): output has the shape of indices.
Status infer_gather_elements(InferContext& c) {
  VERGE_RETURN_IF_ERROR(require_input(c, 0, "data"));
  VERGE_RETURN_IF_ERROR(require_input(c, 1, "indices"));
  VERGE_RETURN_IF_ERROR(expect_index_dtype(c, 1, "indices"));
  const int r = c.rank(0);
  if (r < 1) return c.invalid("'data' must have rank >= 1, got a scalar");
  if (c.rank(1) != r)
    return c.invalid("'indices' must have the rank of 'data' ({}), got shape {}", r,
                     shape_to_string(c.shape(1)));
  VERGE_ASSIGN_OR_RETURN(const int axis, normalize_axis(c.node().get_int("axis", 0), r));
  for (int d = 0; d < r; ++d)
    if (d != axis && c.shape(1)[d] > c.shape(0)[d])
      return c.invalid("'indices' shape {} exceeds 'data' shape {} in dimension {}",
                       shape_to_string(c.shape(1)), shape_to_string(c.shape(0)), d);
  c.set_output(0, c.dtype(0), c.shape(1));
  return Status::ok();
}

// GatherND(data, indices; batch_dims=b): indices.shape[:-1] + data.shape[b + indices.shape[-1]:].
Status infer_gather_nd(InferContext& c) {
  VERGE_RETURN_IF_ERROR(require_input(c, 0, "data"));
  VERGE_RETURN_IF_ERROR(require_input(c, 1, "indices"));
  VERGE_RETURN_IF_ERROR(expect_index_dtype(c, 1, "indices"));
  const int r = c.rank(0), q = c.rank(1);
  const Shape& data = c.shape(0);
  const Shape& indices = c.shape(1);
  if (r < 1 || q < 1)
    return c.invalid("'data' and 'indices' must have rank >= 1, got shapes {} and {}", shape_to_string(data),
                     shape_to_string(indices));
  const int64_t b = c.node().get_int("batch_dims", 0);
  if (b < 0 || b >= std::min(r, q))
    return c.invalid("batch_dims {} must be in [0, {}) for data rank {} and indices rank {}", b,
                     std::min(r, q), r, q);
  for (int64_t d = 0; d < b; ++d)
    if (data[d] != indices[d])
      return c.invalid("batch dimension {} differs: data shape {}, indices shape {}", d,
                       shape_to_string(data), shape_to_string(indices));
  const int64_t k = indices.back();
  if (k < 1 || k > r - b)
    return c.invalid("the last dimension of 'indices' ({}) must be in [1, {}] (data rank {} - batch_dims {})",
                     k, r - b, r, b);
  Shape out(indices.begin(), indices.end() - 1);
  out.insert(out.end(), data.begin() + b + k, data.end());
  VERGE_RETURN_IF_ERROR(check_output_size(out));
  c.set_output(0, c.dtype(0), std::move(out));
  return Status::ok();
}

// ScatterElements(data, indices, updates; axis) / ScatterND(data, indices, updates): output = data's type.
Status infer_scatter(InferContext& c) {
  VERGE_RETURN_IF_ERROR(require_input(c, 0, "data"));
  VERGE_RETURN_IF_ERROR(require_input(c, 1, "indices"));
  VERGE_RETURN_IF_ERROR(require_input(c, 2, "updates"));
  VERGE_RETURN_IF_ERROR(expect_index_dtype(c, 1, "indices"));
  VERGE_RETURN_IF_ERROR(c.expect_same_dtype(0, 2));
  const Shape& data = c.shape(0);
  const Shape& indices = c.shape(1);
  const Shape& updates = c.shape(2);
  const int r = c.rank(0);
  if (r < 1) return c.invalid("'data' must have rank >= 1, got a scalar");
  if (c.node().op == OpId::ScatterElements) {
    if (c.rank(1) != r)
      return c.invalid("'indices' must have the rank of 'data' ({}), got shape {}", r,
                       shape_to_string(indices));
    if (updates != indices)
      return c.invalid("'updates' shape {} must equal 'indices' shape {}", shape_to_string(updates),
                       shape_to_string(indices));
    VERGE_ASSIGN_OR_RETURN(const int axis, normalize_axis(c.node().get_int("axis", 0), r));
    for (int d = 0; d < r; ++d)
      if (d != axis && indices[d] > data[d])
        return c.invalid("'indices' shape {} exceeds 'data' shape {} in dimension {}",
                         shape_to_string(indices), shape_to_string(data), d);
  } else {
    if (indices.empty()) return c.invalid("'indices' must have rank >= 1, got a scalar");
    const int64_t k = indices.back();
    if (k < 1 || k > r)
      return c.invalid("the last dimension of 'indices' ({}) must be in [1, {}] (the rank of 'data')", k, r);
    Shape expect(indices.begin(), indices.end() - 1);
    expect.insert(expect.end(), data.begin() + k, data.end());
    if (updates != expect)
      return c.invalid("'updates' must have shape {} (indices.shape[:-1] + data.shape[{}:]), got {}",
                       shape_to_string(expect), k, shape_to_string(updates));
  }
  c.set_output(0, c.input(0));
  return Status::ok();
}

// Tile(input, repeats): out[d] = in[d] * repeats[d].
Status infer_tile(InferContext& c) {
  VERGE_RETURN_IF_ERROR(require_input(c, 0, "input"));
  VERGE_RETURN_IF_ERROR(require_input(c, 1, "repeats"));
  const int r = c.rank(0);
  if (c.dtype(1) != DType::kInt64)
    return c.invalid("'repeats' must be int64, got {}", dtype_name(c.dtype(1)));
  if (c.rank(1) != 1 || c.shape(1)[0] != r)
    return c.invalid("'repeats' must be a 1-D tensor of {} values (the input rank), got shape {}", r,
                     shape_to_string(c.shape(1)));
  VERGE_ASSIGN_OR_RETURN(std::vector<int64_t> repeats, int64_list(c, 1, "repeats"));
  Shape out(static_cast<size_t>(r));
  for (int d = 0; d < r; ++d) {
    if (repeats[d] < 0) return c.invalid("repeats must be >= 0, got {}", repeats);
    if (__builtin_mul_overflow(c.shape(0)[d], repeats[d], &out[d]))
      return Status::out_of_range(
          fmt::format("Tile of shape {} by repeats {} overflows", shape_to_string(c.shape(0)), repeats));
  }
  VERGE_RETURN_IF_ERROR(check_output_size(out));
  c.set_output(0, c.dtype(0), std::move(out));
  return Status::ok();
}

// Expand(input, shape): bidirectional (numpy) broadcast of input.shape and shape.
Status infer_expand(InferContext& c) {
  VERGE_RETURN_IF_ERROR(require_input(c, 0, "input"));
  VERGE_RETURN_IF_ERROR(require_input(c, 1, "shape"));
  VERGE_ASSIGN_OR_RETURN(std::vector<int64_t> shape, int64_list(c, 1, "shape"));
  for (int64_t d : shape)
    if (d < 0) return c.invalid("'shape' must not have negative dimensions, got {}", shape);
  auto out = broadcast_shapes(c.shape(0), shape);
  if (!out.is_ok())
    return c.invalid("input shape {} cannot be expanded to shape {}", shape_to_string(c.shape(0)), shape);
  VERGE_RETURN_IF_ERROR(check_output_size(*out));
  c.set_output(0, c.dtype(0), std::move(out).value());
  return Status::ok();
}

// Pad(data, pads, constant_value?, axes?; mode): out[d] = in[d] + pads[begin d] + pads[end d]; negative
// pads crop. (axes is the Pad-18 input; accepted when present.)
Status infer_pad(InferContext& c) {
  VERGE_RETURN_IF_ERROR(require_input(c, 0, "data"));
  VERGE_RETURN_IF_ERROR(require_input(c, 1, "pads"));
  const std::string mode = c.node().get_string("mode", "constant");
  if (mode != "constant" && mode != "reflect" && mode != "edge")
    return c.invalid("mode '{}' is not one of constant, reflect, edge", mode);
  const int r = c.rank(0);
  const Shape& in = c.shape(0);
  if (c.has_input(2)) {
    const DType t = c.dtype(2);
    if (!dtype_supported(t))
      return c.unsupported("'constant_value' of dtype {} is not supported", dtype_name(t));
    if (shape_numel(c.shape(2)) != 1 || c.rank(2) > 1)
      return c.invalid("'constant_value' must be a scalar, got shape {}", shape_to_string(c.shape(2)));
  }
  if (c.dtype(1) != DType::kInt64) return c.invalid("'pads' must be int64, got {}", dtype_name(c.dtype(1)));
  if (c.rank(1) != 1)
    return c.invalid("'pads' must be a 1-D tensor, got shape {}", shape_to_string(c.shape(1)));
  std::vector<int> axes;
  if (c.has_input(3)) {
    if (c.dtype(3) != DType::kInt64 && c.dtype(3) != DType::kInt32)
      return c.invalid("'axes' must be int32 or int64, got {}", dtype_name(c.dtype(3)));
    if (c.rank(3) != 1)
      return c.invalid("'axes' must be a 1-D tensor, got shape {}", shape_to_string(c.shape(3)));
    VERGE_ASSIGN_OR_RETURN(const Tensor* av, c.require_value(3));
    std::vector<bool> seen(static_cast<size_t>(r), false);
    for (int64_t a : av->to_int64_vector()) {
      VERGE_ASSIGN_OR_RETURN(const int n, normalize_axis(a, r));
      if (seen[n]) return c.invalid("axis {} is given more than once in 'axes'", a);
      seen[n] = true;
      axes.push_back(n);
    }
  } else {
    for (int d = 0; d < r; ++d) axes.push_back(d);
  }
  const auto na = static_cast<int64_t>(axes.size());
  if (c.shape(1)[0] != 2 * na)
    return c.invalid("pads must have {} values (2 per padded axis), got {}", 2 * na, c.shape(1)[0]);
  VERGE_ASSIGN_OR_RETURN(const Tensor* pv, c.require_value(1));
  const std::vector<int64_t> pads = pv->to_int64_vector();
  Shape out = in;
  for (int64_t k = 0; k < na; ++k) {
    const int d = axes[k];
    const int64_t b = pads[k], e = pads[k + na];
    constexpr int64_t kPadLimit = int64_t{1} << 62;  // keeps the kernel's index arithmetic far from overflow
    if (b < -kPadLimit || b > kPadLimit || e < -kPadLimit || e > kPadLimit)
      return Status::out_of_range(fmt::format("pads {} has values out of range", pads));
    int64_t n = 0;
    if (__builtin_add_overflow(in[d], b, &n) || __builtin_add_overflow(n, e, &n))
      return Status::out_of_range(fmt::format("pads {} overflow the output shape", pads));
    if (n < 0)
      return c.invalid("pads {} and {} crop dimension {} of size {} to a negative size", b, e, d, in[d]);
    if (mode != "constant" && in[d] == 0 && (b > 0 || e > 0))
      return c.invalid("mode '{}' cannot pad dimension {} of size 0", mode, d);
    out[d] = n;
  }
  VERGE_RETURN_IF_ERROR(check_output_size(out));
  c.set_output(0, c.dtype(0), std::move(out));
  return Status::ok();
}

namespace {
Result<int64_t> blocksize_of(const InferContext& c) {
  if (!c.node().has_attr("blocksize")) return c.invalid("attribute 'blocksize' is required");
  const int64_t b = c.node().get_int("blocksize", 0);
  if (b < 1) return c.invalid("blocksize must be >= 1, got {}", b);
  if (c.rank(0) != 4)
    return c.invalid("input must have rank 4 (N, C, H, W), got shape {}", shape_to_string(c.shape(0)));
  return b;
}
}  // namespace

// DepthToSpace(input [N, C, H, W]; blocksize b, mode DCR|CRD): [N, C/(b*b), H*b, W*b].
Status infer_depth_to_space(InferContext& c) {
  VERGE_RETURN_IF_ERROR(require_input(c, 0, "input"));
  VERGE_ASSIGN_OR_RETURN(const int64_t b, blocksize_of(c));
  const std::string mode = c.node().get_string("mode", "DCR");
  if (mode != "DCR" && mode != "CRD") return c.invalid("mode '{}' is not DCR or CRD", mode);
  const Shape& in = c.shape(0);
  int64_t bb = 0;
  if (__builtin_mul_overflow(b, b, &bb) || in[1] % bb != 0)
    return c.invalid("channels ({}) must be a multiple of blocksize * blocksize ({} * {})", in[1], b, b);
  Shape out = {in[0], in[1] / bb, 0, 0};
  if (__builtin_mul_overflow(in[2], b, &out[2]) || __builtin_mul_overflow(in[3], b, &out[3]))
    return c.invalid("blocksize {} is too large for shape {}", b, shape_to_string(in));
  VERGE_RETURN_IF_ERROR(check_output_size(out));
  c.set_output(0, c.dtype(0), std::move(out));
  return Status::ok();
}

// SpaceToDepth(input [N, C, H, W]; blocksize b): [N, C*b*b, H/b, W/b].
Status infer_space_to_depth(InferContext& c) {
  VERGE_RETURN_IF_ERROR(require_input(c, 0, "input"));
  VERGE_ASSIGN_OR_RETURN(const int64_t b, blocksize_of(c));
  const Shape& in = c.shape(0);
  if (in[2] % b != 0 || in[3] % b != 0)
    return c.invalid("height ({}) and width ({}) must be multiples of blocksize {}", in[2], in[3], b);
  Shape out = {in[0], 0, in[2] / b, in[3] / b};
  if (__builtin_mul_overflow(in[1], b, &out[1]) || __builtin_mul_overflow(out[1], b, &out[1]))
    return c.invalid("blocksize {} is too large for shape {}", b, shape_to_string(in));
  VERGE_RETURN_IF_ERROR(check_output_size(out));
  c.set_output(0, c.dtype(0), std::move(out));
  return Status::ok();
}

// OneHot(indices, depth, values [off, on]; axis): indices.shape with `depth` inserted at axis.
Status infer_one_hot(InferContext& c) {
  VERGE_RETURN_IF_ERROR(require_input(c, 0, "indices"));
  VERGE_RETURN_IF_ERROR(require_input(c, 1, "depth"));
  VERGE_RETURN_IF_ERROR(require_input(c, 2, "values"));
  for (size_t i : {size_t{0}, size_t{1}})
    if (c.dtype(i) == DType::kBool || !dtype_supported(c.dtype(i)))
      return c.invalid("'{}' must be a numeric tensor, got {}", i == 0 ? "indices" : "depth",
                       dtype_name(c.dtype(i)));
  if (c.rank(1) > 1 || shape_numel(c.shape(1)) != 1)
    return c.invalid("'depth' must be a scalar or a 1-element 1-D tensor, got shape {}",
                     shape_to_string(c.shape(1)));
  if (c.rank(2) != 1 || c.shape(2)[0] != 2)
    return c.invalid("'values' must be a 1-D tensor of 2 values [off, on], got shape {}",
                     shape_to_string(c.shape(2)));
  const int r = c.rank(0);
  const int64_t axis_attr = c.node().get_int("axis", -1);
  VERGE_ASSIGN_OR_RETURN(const int axis, normalize_axis(axis_attr, r + 1));
  VERGE_ASSIGN_OR_RETURN(const Tensor* dv, c.require_value(1));
  const double dd = dv->get_as_double(0);
  if (!std::isfinite(dd) || dd < 0 || dd >= static_cast<double>(kMaxOutputElements))
    return Status::out_of_range(fmt::format("depth must be in [0, 2^31), got {}", dd));
  const auto depth = static_cast<int64_t>(dd);  // truncates a fractional float depth
  Shape out = c.shape(0);
  out.insert(out.begin() + axis, depth);
  VERGE_RETURN_IF_ERROR(check_output_size(out));
  c.set_output(0, c.dtype(2), std::move(out));
  return Status::ok();
}

// NonZero(X): int64 [rank, count] (a scalar counts as rank 1, like numpy).
Status infer_non_zero(InferContext& c) {
  VERGE_RETURN_IF_ERROR(require_input(c, 0, "X"));
  VERGE_ASSIGN_OR_RETURN(const Tensor* x, c.require_value(0));
  int64_t count = 0;
  const bool ok = dispatch_all(x->dtype(), [&]<class T>() {
    const T* p = x->data<T>();
    for (int64_t i = 0; i < x->numel(); ++i) {
      if constexpr (kIsHalf<T>)
        count += static_cast<float>(p[i]) != 0.0f;
      else
        count += p[i] != T(0);
    }
  });
  if (!ok) return c.unsupported("NonZero does not support dtype {}", dtype_name(x->dtype()));
  c.set_output(0, DType::kInt64, {std::max<int64_t>(c.rank(0), 1), count});
  return Status::ok();
}

}  // namespace verge
