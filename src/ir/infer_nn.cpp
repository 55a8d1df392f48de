// Shape inference for convolution, pooling and matrix products: Conv, ConvTranspose, AveragePool,
// MaxPool, GlobalAveragePool, GlobalMaxPool, Gemm, MatMul, Einsum.
#include <fmt/ranges.h>

#include "ir/conv_geometry.h"
#include "ir/infer.h"
#include "kernels/ref/nn_shapes.h"

namespace verge {

namespace {

constexpr std::initializer_list<DType> kConvTypes = {DType::kFloat16, DType::kFloat32, DType::kFloat64};

std::span<const int64_t> spatial_dims(const Shape& s) { return std::span<const int64_t>(s).subspan(2); }

// Common checks of Conv / ConvTranspose: X, W (same dtype, same rank >= 3), optional bias of length M.
Status check_conv_inputs(InferContext& c) {
  if (!c.has_input(0) || !c.has_input(1)) return c.invalid("inputs X and W are required");
  VERGE_RETURN_IF_ERROR(c.expect_dtype(0, kConvTypes));
  VERGE_RETURN_IF_ERROR(c.expect_same_dtype(0, 1));
  if (c.rank(0) < 3)
    return c.invalid("X must have rank >= 3 (N, C, spatial...), got shape {}", shape_to_string(c.shape(0)));
  if (c.rank(1) != c.rank(0))
    return c.invalid("W has rank {} but X has rank {}; they must be equal", c.rank(1), c.rank(0));
  if (c.node().get_int("group", 1) < 1)
    return c.invalid("group {} must be >= 1", c.node().get_int("group", 1));
  return Status::ok();
}

Status check_bias(InferContext& c, int64_t m) {
  if (!c.has_input(2)) return Status::ok();
  VERGE_RETURN_IF_ERROR(c.expect_same_dtype(0, 2));
  if (c.rank(2) != 1 || c.shape(2)[0] != m)
    return c.invalid("bias B must have shape [{}] (one value per output channel), got {}", m,
                     shape_to_string(c.shape(2)));
  return Status::ok();
}

}  // namespace

Status infer_conv(InferContext& c) {
  VERGE_RETURN_IF_ERROR(check_conv_inputs(c));
  const Shape& x = c.shape(0);
  const Shape& w = c.shape(1);
  const int64_t group = c.node().get_int("group", 1);
  if (x[1] != w[1] * group)
    return c.invalid("X has {} channels but W expects {} (W.shape[1] {} x group {})", x[1], w[1] * group,
                     w[1], group);
  if (w[0] % group != 0)
    return c.invalid("the number of output channels {} (W.shape[0]) is not divisible by group {}", w[0],
                     group);
  VERGE_RETURN_IF_ERROR(check_bias(c, w[0]));
  VERGE_ASSIGN_OR_RETURN(ConvGeometry g, conv_geometry(c.node(), spatial_dims(x), spatial_dims(w)));
  Shape out = {x[0], w[0]};
  out.insert(out.end(), g.out.begin(), g.out.end());
  c.set_output(0, c.dtype(0), std::move(out));
  return Status::ok();
}

Status infer_conv_transpose(InferContext& c) {
  VERGE_RETURN_IF_ERROR(check_conv_inputs(c));
  const Shape& x = c.shape(0);
  const Shape& w = c.shape(1);
  const int64_t group = c.node().get_int("group", 1);
  if (x[1] != w[0])
    return c.invalid("X has {} channels but W.shape[0] is {}; they must be equal", x[1], w[0]);
  if (x[1] % group != 0)
    return c.invalid("the number of input channels {} is not divisible by group {}", x[1], group);
  const int64_t m = w[1] * group;
  VERGE_RETURN_IF_ERROR(check_bias(c, m));
  VERGE_ASSIGN_OR_RETURN(ConvTransposeGeometry g,
                         conv_transpose_geometry(c.node(), spatial_dims(x), spatial_dims(w)));
  Shape out = {x[0], m};
  out.insert(out.end(), g.out.begin(), g.out.end());
  c.set_output(0, c.dtype(0), std::move(out));
  return Status::ok();
}

Status infer_pool(InferContext& c) {
  if (!c.has_input(0)) return c.invalid("input X is required");
  const bool is_max = c.node().op == OpId::MaxPool;
  if (is_max)
    VERGE_RETURN_IF_ERROR(
        c.expect_dtype(0, {DType::kFloat16, DType::kFloat32, DType::kFloat64, DType::kInt8, DType::kUInt8}));
  else
    VERGE_RETURN_IF_ERROR(c.expect_dtype(0, kConvTypes));
  const Shape& x = c.shape(0);
  if (c.rank(0) < 3)
    return c.invalid("X must have rank >= 3 (N, C, spatial...), got shape {}", shape_to_string(x));
  const int64_t ceil_mode = c.node().get_int("ceil_mode", 0);
  if (ceil_mode != 0 && ceil_mode != 1) return c.invalid("ceil_mode must be 0 or 1, got {}", ceil_mode);
  if (is_max) {
    const int64_t order = c.node().get_int("storage_order", 0);
    if (order != 0 && order != 1) return c.invalid("storage_order must be 0 or 1, got {}", order);
  } else {
    const int64_t cip = c.node().get_int("count_include_pad", 0);
    if (cip != 0 && cip != 1) return c.invalid("count_include_pad must be 0 or 1, got {}", cip);
  }
  VERGE_ASSIGN_OR_RETURN(ConvGeometry g, conv_geometry(c.node(), spatial_dims(x), {}, ceil_mode != 0));
  Shape out = {x[0], x[1]};
  out.insert(out.end(), g.out.begin(), g.out.end());
  c.set_output(0, c.dtype(0), out);
  if (c.has_output(1)) {
    if (!is_max) return c.invalid("AveragePool has one output");
    c.set_output(1, DType::kInt64, out);
  }
  return Status::ok();
}

Status infer_global_pool(InferContext& c) {
  if (!c.has_input(0)) return c.invalid("input X is required");
  VERGE_RETURN_IF_ERROR(c.expect_dtype(0, kConvTypes));
  if (c.rank(0) < 3)
    return c.invalid("X must have rank >= 3 (N, C, spatial...), got shape {}", shape_to_string(c.shape(0)));
  Shape out = c.shape(0);
  std::fill(out.begin() + 2, out.end(), 1);
  c.set_output(0, c.dtype(0), std::move(out));
  return Status::ok();
}

namespace {
constexpr std::initializer_list<DType> kMatMulTypes = {DType::kFloat16,  DType::kFloat32, DType::kFloat64,
                                                       DType::kBFloat16, DType::kInt32,   DType::kInt64,
                                                       DType::kUInt32,   DType::kUInt64};
}  // namespace

Status infer_gemm(InferContext& c) {
  if (!c.has_input(0) || !c.has_input(1)) return c.invalid("inputs A and B are required");
  VERGE_RETURN_IF_ERROR(c.expect_dtype(0, kMatMulTypes));
  VERGE_RETURN_IF_ERROR(c.expect_same_dtype(0, 1));
  if (c.rank(0) != 2) return c.invalid("A must be 2-D, got shape {}", shape_to_string(c.shape(0)));
  if (c.rank(1) != 2) return c.invalid("B must be 2-D, got shape {}", shape_to_string(c.shape(1)));
  const bool ta = c.node().get_int("transA", 0) != 0;
  const bool tb = c.node().get_int("transB", 0) != 0;
  const Shape& a = c.shape(0);
  const Shape& b = c.shape(1);
  const int64_t m = ta ? a[1] : a[0], k = ta ? a[0] : a[1];
  const int64_t kb = tb ? b[1] : b[0], n = tb ? b[0] : b[1];
  if (k != kb)
    return c.invalid("inner dimensions differ: A{} is {}x{} and B{} is {}x{}", ta ? "^T" : "", m, k,
                     tb ? "^T" : "", kb, n);
  if (c.has_input(2)) {
    VERGE_RETURN_IF_ERROR(c.expect_same_dtype(0, 2));
    const Shape& cs = c.shape(2);
    bool ok = cs.size() <= 2;
    if (ok && cs.size() == 2) ok = (cs[0] == 1 || cs[0] == m) && (cs[1] == 1 || cs[1] == n);
    if (ok && cs.size() == 1) ok = cs[0] == 1 || cs[0] == n;
    if (!ok)
      return c.invalid("C of shape {} does not broadcast to the output shape {}x{}", shape_to_string(cs), m,
                       n);
  }
  c.set_output(0, c.dtype(0), Shape{m, n});
  return Status::ok();
}

Status infer_matmul(InferContext& c) {
  if (!c.has_input(0) || !c.has_input(1)) return c.invalid("inputs A and B are required");
  VERGE_RETURN_IF_ERROR(c.expect_dtype(0, kMatMulTypes));
  VERGE_RETURN_IF_ERROR(c.expect_same_dtype(0, 1));
  const Shape& a = c.shape(0);
  const Shape& b = c.shape(1);
  if (a.empty() || b.empty())
    return c.invalid("MatMul inputs must have rank >= 1, got {} and {}", shape_to_string(a),
                     shape_to_string(b));
  // numpy: a 1-D A is a row vector, a 1-D B a column vector; the added dim is dropped again.
  const int64_t k_a = a.back();
  const int64_t k_b = b.size() == 1 ? b[0] : b[b.size() - 2];
  if (k_a != k_b)
    return c.invalid("inner dimensions differ: A {} has {} columns, B {} has {} rows", shape_to_string(a),
                     k_a, shape_to_string(b), k_b);
  const Shape batch_a(a.begin(), a.end() - std::min<long>(2, static_cast<long>(a.size())));
  const Shape batch_b(b.begin(), b.end() - std::min<long>(2, static_cast<long>(b.size())));
  auto batch = broadcast_shapes(batch_a, batch_b);
  if (!batch.is_ok())
    return c.invalid("batch dimensions of {} and {} are not broadcastable", shape_to_string(a),
                     shape_to_string(b));
  Shape out = std::move(batch).value();
  if (a.size() >= 2) out.push_back(a[a.size() - 2]);
  if (b.size() >= 2) out.push_back(b.back());
  c.set_output(0, c.dtype(0), std::move(out));
  return Status::ok();
}

Status infer_einsum(InferContext& c) {
  if (c.num_inputs() == 0) return c.invalid("Einsum needs at least one input");
  std::vector<const Shape*> shapes;
  for (size_t i = 0; i < c.num_inputs(); ++i) {
    if (!c.has_input(i)) return c.invalid("input {} is required", i);
    if (i > 0) VERGE_RETURN_IF_ERROR(c.expect_same_dtype(0, i));
    shapes.push_back(&c.shape(i));
  }
  VERGE_RETURN_IF_ERROR(c.expect_dtype(
      0, {DType::kFloat16, DType::kFloat32, DType::kFloat64, DType::kInt8, DType::kInt16, DType::kInt32,
          DType::kInt64, DType::kUInt8, DType::kUInt16, DType::kUInt32, DType::kUInt64}));
  if (!c.node().has_attr("equation")) return c.invalid("attribute 'equation' is required");
  VERGE_ASSIGN_OR_RETURN(EinsumSpec spec, parse_einsum(c.node().get_string("equation", ""), shapes));
  c.set_output(0, c.dtype(0), std::move(spec.out_shape));
  return Status::ok();
}

}  // namespace verge
