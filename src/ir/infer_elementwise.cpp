// Shape inference for elementwise ops (unary, broadcasting binary/variadic, comparisons, Where, Cast).
#include "ir/infer.h"

namespace verge {

Status infer_unary(InferContext& c) {
  if (!c.has_input(0)) return c.invalid("input 0 is required");
  c.set_output(0, c.input(0));
  return Status::ok();
}

Status infer_unary_bool(InferContext& c) {
  if (!c.has_input(0)) return c.invalid("input 0 is required");
  c.set_output(0, DType::kBool, c.shape(0));
  return Status::ok();
}

namespace {
Result<Shape> broadcast_all(InferContext& c, bool same_dtype) {
  if (!c.has_input(0)) return c.invalid("input 0 is required");
  Shape out = c.shape(0);
  for (size_t i = 1; i < c.num_inputs(); ++i) {
    if (!c.has_input(i)) return c.invalid("input {} is required", i);
    if (same_dtype) VERGE_RETURN_IF_ERROR(c.expect_same_dtype(0, i));
    auto b = broadcast_shapes(out, c.shape(i));
    if (!b.is_ok()) return b.status();
    out = std::move(b).value();
  }
  return out;
}
}  // namespace

Status infer_broadcast(InferContext& c) {
  VERGE_ASSIGN_OR_RETURN(Shape out, broadcast_all(c, true));
  if (c.node().op == OpId::PRelu && out != c.shape(0))
    return c.invalid("slope shape {} must broadcast to X shape {}", shape_to_string(c.shape(1)), shape_to_string(c.shape(0)));
  c.set_output(0, c.dtype(0), std::move(out));
  return Status::ok();
}

Status infer_pow(InferContext& c) {
  VERGE_ASSIGN_OR_RETURN(Shape out, broadcast_all(c, false));
  c.set_output(0, c.dtype(0), std::move(out));
  return Status::ok();
}

Status infer_compare(InferContext& c) {
  VERGE_ASSIGN_OR_RETURN(Shape out, broadcast_all(c, true));
  c.set_output(0, DType::kBool, std::move(out));
  return Status::ok();
}

Status infer_where(InferContext& c) {
  if (c.num_inputs() != 3 || !c.has_input(0) || !c.has_input(1) || !c.has_input(2))
    return c.invalid("Where takes 3 inputs (condition, X, Y)");
  if (c.dtype(0) != DType::kBool) return c.invalid("condition must be bool, got {}", dtype_name(c.dtype(0)));
  VERGE_RETURN_IF_ERROR(c.expect_same_dtype(1, 2));
  VERGE_ASSIGN_OR_RETURN(Shape s, broadcast_shapes(c.shape(0), c.shape(1)));
  VERGE_ASSIGN_OR_RETURN(Shape out, broadcast_shapes(s, c.shape(2)));
  c.set_output(0, c.dtype(1), std::move(out));
  return Status::ok();
}

Status infer_cast(InferContext& c) {
  if (!c.has_input(0)) return c.invalid("input 0 is required");
  const int64_t to = c.node().get_int("to", -1);
  const DType t = dtype_from_onnx(static_cast<int32_t>(to));
  if (to == 8) return c.unsupported("cast to string is not supported");
  if (!dtype_supported(t)) return c.invalid("attribute 'to' = {} is not a supported data type", to);
  c.set_output(0, t, c.shape(0));
  return Status::ok();
}

Status infer_cast_like(InferContext& c) {
  if (!c.has_input(0) || !c.has_input(1)) return c.invalid("CastLike takes 2 inputs");
  c.set_output(0, c.dtype(1), c.shape(0));
  return Status::ok();
}

}  // namespace verge
