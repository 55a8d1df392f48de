// Shape inference for the integer / quantized ops: QuantizeLinear, DequantizeLinear, DynamicQuantizeLinear,
// ConvInteger, QLinearConv, MatMulInteger, QLinearMatMul (opset-13 / opset-10 / opset-11 forms).
//
// Besides output shapes these validate every scale / zero-point shape and dtype, so the kernels only
// compute. Accepted quantization-parameter layouts:
//   QuantizeLinear / DequantizeLinear  scale and zero point: one value (scalar or 1-D of length 1) =
//       per tensor, or 1-D of length dim[axis] = per axis.
//   ConvInteger / QLinearConv  x (and y) parameters: one value; w parameters: one value or 1-D of length M
//       (output channels); B: 1-D of length M.
//   MatMulInteger / QLinearMatMul  a parameters: one value, 1-D of length M (per row), or N-D that
//       broadcasts to [batch..., M, 1]; b parameters: one value, 1-D of length N (per column), or N-D
//       that broadcasts to [batch..., 1, N]; y parameters: one value.
#include <fmt/ranges.h>

#include "ir/conv_geometry.h"
#include "ir/infer.h"

namespace verge {
namespace {

constexpr std::initializer_list<DType> kInt8Types = {DType::kUInt8, DType::kInt8};

Status require_inputs(const InferContext& c, std::initializer_list<size_t> indices) {
  for (size_t i : indices)
    if (!c.has_input(i)) return c.invalid("input #{} is required", i);
  return Status::ok();
}

Status expect_float_scale(const InferContext& c, size_t i) {
  if (c.dtype(i) != DType::kFloat32)
    return c.invalid("scale '{}' must be float32, got {}", c.input_name(i), dtype_name(c.dtype(i)));
  return Status::ok();
}

// Zero point i must have the dtype of data input `data`.
Status expect_zero_point_dtype(const InferContext& c, size_t zp, size_t data) {
  if (c.dtype(zp) != c.dtype(data))
    return c.invalid("zero point '{}' ({}) must have the dtype of '{}' ({})", c.input_name(zp),
                     dtype_name(c.dtype(zp)), c.input_name(data), dtype_name(c.dtype(data)));
  return Status::ok();
}

bool is_single_value(const Shape& s) { return s.size() <= 1 && shape_numel(s) == 1; }

// A per-tensor parameter: a scalar or a 1-D tensor with one value.
Status expect_single(const InferContext& c, size_t i) {
  if (!is_single_value(c.shape(i)))
    return c.invalid("'{}' must be a scalar (one value), got shape {}", c.input_name(i),
                     shape_to_string(c.shape(i)));
  return Status::ok();
}

// A parameter that is one value or a 1-D vector of `n` values (`what` names n).
Status expect_single_or_vector(const InferContext& c, size_t i, int64_t n, std::string_view what) {
  const Shape& s = c.shape(i);
  if (is_single_value(s) || (s.size() == 1 && s[0] == n)) return Status::ok();
  if (s.size() > 1)
    return c.invalid("'{}' must be a scalar or 1-D, got shape {}", c.input_name(i), shape_to_string(s));
  return c.invalid("'{}' has {} values, expected 1 or {} ({})", c.input_name(i), shape_numel(s), n, what);
}

// ---------------------------------------------------------------------------------------------------
// QuantizeLinear / DequantizeLinear: inputs (data, scale, zero_point?), attribute axis.
Status check_linear_params(const InferContext& c) {
  const Shape& scale = c.shape(1);
  if (scale.size() > 1)
    return c.invalid("'{}' must be a scalar or 1-D, got shape {}", c.input_name(1), shape_to_string(scale));
  if (c.has_input(2) && c.shape(2) != scale && !(is_single_value(c.shape(2)) && is_single_value(scale)))
    return c.invalid("zero point shape {} must match scale shape {}", shape_to_string(c.shape(2)),
                     shape_to_string(scale));
  if (is_single_value(scale)) return Status::ok();  // per tensor: axis is ignored
  VERGE_ASSIGN_OR_RETURN(int axis, normalize_axis(c.node().get_int("axis", 1), c.rank(0)));
  if (scale[0] != c.shape(0)[static_cast<size_t>(axis)])
    return c.invalid("'{}' has {} values, expected 1 or {} (dim {} of the input)", c.input_name(1), scale[0],
                     c.shape(0)[static_cast<size_t>(axis)], axis);
  return Status::ok();
}

// ---------------------------------------------------------------------------------------------------
// Convolutions: validates x (input xi) against w (input wi) and the window attributes; returns the
// output shape [N, M, spatial...].
Result<Shape> conv_output_shape(const InferContext& c, size_t xi, size_t wi) {
  const Shape& x = c.shape(xi);
  const Shape& w = c.shape(wi);
  if (x.size() < 3)
    return c.invalid("input must have rank >= 3 (N, C, spatial...), got shape {}", shape_to_string(x));
  if (w.size() != x.size())
    return c.invalid("weights shape {} must have the rank of the input shape {}", shape_to_string(w),
                     shape_to_string(x));
  const int64_t group = c.node().get_int("group", 1);
  if (group < 1) return c.invalid("group {} must be >= 1", group);
  const int64_t C = x[1], M = w[0];
  if (C % group != 0) return c.invalid("input channels {} are not divisible by group {}", C, group);
  if (M % group != 0) return c.invalid("output channels {} are not divisible by group {}", M, group);
  if (w[1] * group != C)
    return c.invalid("weights have {} input channels per group, expected {} (input channels {} / group {})",
                     w[1], C / group, C, group);
  const std::span<const int64_t> in_spatial(x.data() + 2, x.size() - 2);
  const std::span<const int64_t> kernel(w.data() + 2, w.size() - 2);
  VERGE_ASSIGN_OR_RETURN(ConvGeometry g, conv_geometry(c.node(), in_spatial, kernel));
  Shape out = {x[0], M};
  out.insert(out.end(), g.out.begin(), g.out.end());
  return out;
}

// ---------------------------------------------------------------------------------------------------
// Matrix products with numpy matmul semantics.
struct MatMulDims {
  Shape a_batch, b_batch;  // batch dims of the (1-D promoted) operands
  int64_t M = 1, K = 1, N = 1;
  Shape out;
};

Result<MatMulDims> matmul_dims(const InferContext& c, size_t ai, size_t bi) {
  const Shape& a = c.shape(ai);
  const Shape& b = c.shape(bi);
  if (a.empty() || b.empty())
    return c.invalid("matmul operands must have rank >= 1, got shapes {} and {}", shape_to_string(a),
                     shape_to_string(b));
  MatMulDims d;
  const Shape ap = a.size() == 1 ? Shape{1, a[0]} : a;
  const Shape bp = b.size() == 1 ? Shape{b[0], 1} : b;
  d.M = ap[ap.size() - 2];
  d.K = ap.back();
  d.N = bp.back();
  if (bp[bp.size() - 2] != d.K)
    return c.invalid("matmul inner dimensions do not match: A {} and B {}", shape_to_string(a),
                     shape_to_string(b));
  d.a_batch.assign(ap.begin(), ap.end() - 2);
  d.b_batch.assign(bp.begin(), bp.end() - 2);
  VERGE_ASSIGN_OR_RETURN(d.out, broadcast_shapes(d.a_batch, d.b_batch));
  if (a.size() > 1) d.out.push_back(d.M);
  if (b.size() > 1) d.out.push_back(d.N);
  return d;
}

// Per-row (a) or per-column (b) parameter: one value, a 1-D vector of `n` values, or a tensor that
// unidirectionally broadcasts to `target` = batch + [M, 1] (rows) / batch + [1, N] (columns).
Status check_matmul_param(const InferContext& c, size_t i, const Shape& batch, int64_t M, int64_t N,
                          bool rows) {
  const Shape& s = c.shape(i);
  if (shape_numel(s) == 1 && s.size() <= batch.size() + 2) return Status::ok();
  const int64_t n = rows ? M : N;
  const char* what = rows ? "rows of A" : "columns of B";
  if (s.size() == 1) {
    if (s[0] == n) return Status::ok();
    return c.invalid("'{}' has {} values, expected 1 or {} ({})", c.input_name(i), s[0], n, what);
  }
  Shape target = batch;
  target.push_back(rows ? M : 1);
  target.push_back(rows ? 1 : N);
  bool ok = !s.empty() && s.size() <= target.size();
  for (size_t k = 0; ok && k < s.size(); ++k) {
    const int64_t t = target[target.size() - s.size() + k];
    ok = s[k] == t || s[k] == 1;
  }
  if (!ok)
    return c.invalid("'{}' has shape {}; expected one value, {} values or a shape broadcastable to {} ({})",
                     c.input_name(i), shape_to_string(s), n, shape_to_string(target), what);
  return Status::ok();
}

}  // namespace

// QuantizeLinear(x, y_scale, y_zero_point?) -> y (dtype of y_zero_point, uint8 when absent).
Status infer_quantize_linear(InferContext& c) {
  VERGE_RETURN_IF_ERROR(require_inputs(c, {0, 1}));
  VERGE_RETURN_IF_ERROR(c.expect_dtype(0, {DType::kFloat32, DType::kInt32}));
  VERGE_RETURN_IF_ERROR(expect_float_scale(c, 1));
  DType out = DType::kUInt8;
  if (c.has_input(2)) {
    VERGE_RETURN_IF_ERROR(c.expect_dtype(2, kInt8Types));
    out = c.dtype(2);
  }
  VERGE_RETURN_IF_ERROR(check_linear_params(c));
  c.set_output(0, out, c.shape(0));
  return Status::ok();
}

// DequantizeLinear(x, x_scale, x_zero_point?) -> float32 y.
Status infer_dequantize_linear(InferContext& c) {
  VERGE_RETURN_IF_ERROR(require_inputs(c, {0, 1}));
  VERGE_RETURN_IF_ERROR(c.expect_dtype(0, {DType::kUInt8, DType::kInt8, DType::kInt32}));
  VERGE_RETURN_IF_ERROR(expect_float_scale(c, 1));
  if (c.has_input(2)) VERGE_RETURN_IF_ERROR(expect_zero_point_dtype(c, 2, 0));
  VERGE_RETURN_IF_ERROR(check_linear_params(c));
  c.set_output(0, DType::kFloat32, c.shape(0));
  return Status::ok();
}

// DynamicQuantizeLinear(x) -> (y uint8, y_scale float32 scalar, y_zero_point uint8 scalar).
Status infer_dynamic_quantize_linear(InferContext& c) {
  VERGE_RETURN_IF_ERROR(require_inputs(c, {0}));
  VERGE_RETURN_IF_ERROR(c.expect_dtype(0, {DType::kFloat32}));
  c.set_output(0, DType::kUInt8, c.shape(0));
  c.set_output(1, DType::kFloat32, {});
  c.set_output(2, DType::kUInt8, {});
  return Status::ok();
}

// ConvInteger(x, w, x_zero_point?, w_zero_point?) -> int32 y.
Status infer_conv_integer(InferContext& c) {
  VERGE_RETURN_IF_ERROR(require_inputs(c, {0, 1}));
  VERGE_RETURN_IF_ERROR(c.expect_dtype(0, kInt8Types));
  VERGE_RETURN_IF_ERROR(c.expect_dtype(1, kInt8Types));
  VERGE_ASSIGN_OR_RETURN(Shape out, conv_output_shape(c, 0, 1));
  if (c.has_input(2)) {
    VERGE_RETURN_IF_ERROR(expect_zero_point_dtype(c, 2, 0));
    VERGE_RETURN_IF_ERROR(expect_single(c, 2));
  }
  if (c.has_input(3)) {
    VERGE_RETURN_IF_ERROR(expect_zero_point_dtype(c, 3, 1));
    VERGE_RETURN_IF_ERROR(expect_single_or_vector(c, 3, out[1], "output channels"));
  }
  c.set_output(0, DType::kInt32, std::move(out));
  return Status::ok();
}

// QLinearConv(x, x_scale, x_zp, w, w_scale, w_zp, y_scale, y_zp, B?) -> y (dtype of y_zp).
Status infer_qlinear_conv(InferContext& c) {
  VERGE_RETURN_IF_ERROR(require_inputs(c, {0, 1, 2, 3, 4, 5, 6, 7}));
  VERGE_RETURN_IF_ERROR(c.expect_dtype(0, kInt8Types));
  VERGE_RETURN_IF_ERROR(c.expect_dtype(3, kInt8Types));
  VERGE_RETURN_IF_ERROR(c.expect_dtype(7, kInt8Types));
  for (size_t i : {1, 4, 6}) VERGE_RETURN_IF_ERROR(expect_float_scale(c, i));
  VERGE_RETURN_IF_ERROR(expect_zero_point_dtype(c, 2, 0));
  VERGE_RETURN_IF_ERROR(expect_zero_point_dtype(c, 5, 3));
  VERGE_ASSIGN_OR_RETURN(Shape out, conv_output_shape(c, 0, 3));
  const int64_t M = out[1];
  for (size_t i : {1, 2, 6, 7}) VERGE_RETURN_IF_ERROR(expect_single(c, i));
  for (size_t i : {4, 5}) VERGE_RETURN_IF_ERROR(expect_single_or_vector(c, i, M, "output channels"));
  if (c.has_input(8)) {
    if (c.dtype(8) != DType::kInt32) return c.invalid("bias must be int32, got {}", dtype_name(c.dtype(8)));
    if (c.shape(8) != Shape{M})
      return c.invalid("bias has shape {}, expected {} (output channels)", shape_to_string(c.shape(8)), M);
  }
  c.set_output(0, c.dtype(7), std::move(out));
  return Status::ok();
}

// MatMulInteger(A, B, a_zero_point?, b_zero_point?) -> int32 Y.
Status infer_matmul_integer(InferContext& c) {
  VERGE_RETURN_IF_ERROR(require_inputs(c, {0, 1}));
  VERGE_RETURN_IF_ERROR(c.expect_dtype(0, kInt8Types));
  VERGE_RETURN_IF_ERROR(c.expect_dtype(1, kInt8Types));
  VERGE_ASSIGN_OR_RETURN(MatMulDims d, matmul_dims(c, 0, 1));
  if (c.has_input(2)) {
    VERGE_RETURN_IF_ERROR(expect_zero_point_dtype(c, 2, 0));
    VERGE_RETURN_IF_ERROR(check_matmul_param(c, 2, d.a_batch, d.M, d.N, true));
  }
  if (c.has_input(3)) {
    VERGE_RETURN_IF_ERROR(expect_zero_point_dtype(c, 3, 1));
    VERGE_RETURN_IF_ERROR(check_matmul_param(c, 3, d.b_batch, d.M, d.N, false));
  }
  c.set_output(0, DType::kInt32, std::move(d.out));
  return Status::ok();
}

// QLinearMatMul(a, a_scale, a_zp, b, b_scale, b_zp, y_scale, y_zp) -> y (dtype of y_zp).
Status infer_qlinear_matmul(InferContext& c) {
  VERGE_RETURN_IF_ERROR(require_inputs(c, {0, 1, 2, 3, 4, 5, 6, 7}));
  VERGE_RETURN_IF_ERROR(c.expect_dtype(0, kInt8Types));
  VERGE_RETURN_IF_ERROR(c.expect_dtype(3, kInt8Types));
  VERGE_RETURN_IF_ERROR(c.expect_dtype(7, kInt8Types));
  for (size_t i : {1, 4, 6}) VERGE_RETURN_IF_ERROR(expect_float_scale(c, i));
  VERGE_RETURN_IF_ERROR(expect_zero_point_dtype(c, 2, 0));
  VERGE_RETURN_IF_ERROR(expect_zero_point_dtype(c, 5, 3));
  VERGE_ASSIGN_OR_RETURN(MatMulDims d, matmul_dims(c, 0, 3));
  for (size_t i : {1, 2}) VERGE_RETURN_IF_ERROR(check_matmul_param(c, i, d.a_batch, d.M, d.N, true));
  for (size_t i : {4, 5}) VERGE_RETURN_IF_ERROR(check_matmul_param(c, i, d.b_batch, d.M, d.N, false));
  for (size_t i : {6, 7}) VERGE_RETURN_IF_ERROR(expect_single(c, i));
  c.set_output(0, c.dtype(7), std::move(d.out));
  return Status::ok();
}

}  // namespace verge
