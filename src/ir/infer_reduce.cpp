// Shape inference for reductions (Reduce*, ArgMax/ArgMin), TopK, BatchNormalization and
// LayerNormalization. Softmax/LogSoftmax/Hardmax/CumSum/InstanceNormalization/LRN/MVN use infer_unary;
// their kernels validate attributes in prepare().
#include <vector>

#include "ir/infer.h"

namespace verge {
namespace {

// True when input i is a value that only exists at run time (not an initializer): errors in its value
// are data-dependent (OutOfRange), not a malformed model.
bool runtime_value(const InferContext& c, size_t i) { return !c.graph().is_constant(c.node().input(i)); }

Status value_error(const InferContext& c, size_t i, std::string message) {
  return runtime_value(c, i) ? Status::out_of_range(std::move(message))
                             : Status::invalid_model(std::move(message));
}

// Output shape of a reduction over `mask`ed axes.
Shape reduced_shape(const Shape& in, const std::vector<bool>& mask, bool keepdims) {
  Shape out;
  for (size_t d = 0; d < in.size(); ++d) {
    if (!mask[d])
      out.push_back(in[d]);
    else if (keepdims)
      out.push_back(1);
  }
  return out;
}

}  // namespace

Status infer_reduce(InferContext& c) {
  if (!c.has_input(0)) return c.invalid("input 0 (data) is required");
  const int rank = c.rank(0);
  const bool keepdims = c.node().get_int("keepdims", 1) != 0;
  std::vector<int64_t> axes;
  bool noop = false;
  size_t axes_input = 0;  // 1 when the axes came from input 1 (ReduceSum)
  if (c.node().op == OpId::ReduceSum) {
    noop = c.node().get_int("noop_with_empty_axes", 0) != 0;
    if (c.has_input(1)) {
      if (c.dtype(1) != DType::kInt64) return c.invalid("axes must be int64, got {}", dtype_name(c.dtype(1)));
      if (c.rank(1) > 1)
        return c.invalid("axes must be a 1-D tensor, got shape {}", shape_to_string(c.shape(1)));
      if (shape_numel(c.shape(1)) > 0) {
        VERGE_ASSIGN_OR_RETURN(const Tensor* t, c.require_value(1));
        axes = t->to_int64_vector();
        axes_input = 1;
      }
    }
  } else {
    axes = c.node().get_ints("axes");
  }
  if (axes.empty()) {
    if (noop) {
      c.set_output(0, c.input(0));
      return Status::ok();
    }
    c.set_output(0, c.dtype(0),
                 reduced_shape(c.shape(0), std::vector<bool>(static_cast<size_t>(rank), true), keepdims));
    return Status::ok();
  }
  std::vector<bool> mask(static_cast<size_t>(rank), false);
  for (int64_t a : axes) {
    if (a < -rank || a >= rank) {
      std::string m = fmt::format("axis {} is out of range for rank {}", a, rank);
      return axes_input ? value_error(c, 1, std::move(m)) : Status::invalid_model(std::move(m));
    }
    const size_t d = static_cast<size_t>(a < 0 ? a + rank : a);
    if (mask[d]) {
      std::string m = fmt::format("axis {} appears more than once in axes", a);
      return axes_input ? value_error(c, 1, std::move(m)) : Status::invalid_model(std::move(m));
    }
    mask[d] = true;
  }
  c.set_output(0, c.dtype(0), reduced_shape(c.shape(0), mask, keepdims));
  return Status::ok();
}

Status infer_arg_reduce(InferContext& c) {
  if (!c.has_input(0)) return c.invalid("input 0 (data) is required");
  const int rank = c.rank(0);
  VERGE_ASSIGN_OR_RETURN(const int axis, normalize_axis(c.node().get_int("axis", 0), rank));
  const bool keepdims = c.node().get_int("keepdims", 1) != 0;
  std::vector<bool> mask(static_cast<size_t>(rank), false);
  mask[static_cast<size_t>(axis)] = true;
  Shape out = reduced_shape(c.shape(0), mask, keepdims);
  if (c.shape(0)[static_cast<size_t>(axis)] == 0 && shape_numel(out) > 0)
    return c.invalid("cannot take {} over axis {} of size 0", c.node().op_type, axis);
  c.set_output(0, DType::kInt64, std::move(out));
  return Status::ok();
}

Status infer_topk(InferContext& c) {
  if (!c.has_input(0) || !c.has_input(1)) return c.invalid("TopK takes 2 inputs (X, K)");
  const int rank = c.rank(0);
  if (rank == 0) return c.invalid("X must have rank >= 1, got a scalar");
  VERGE_ASSIGN_OR_RETURN(const int axis, normalize_axis(c.node().get_int("axis", -1), rank));
  if (c.dtype(1) != DType::kInt64) return c.invalid("K must be int64, got {}", dtype_name(c.dtype(1)));
  if (c.rank(1) > 1 || shape_numel(c.shape(1)) != 1)
    return c.invalid("K must be a 1-D tensor with one element, got shape {}", shape_to_string(c.shape(1)));
  VERGE_ASSIGN_OR_RETURN(const Tensor* kt, c.require_value(1));
  const int64_t k = kt->get_as_int64(0);
  Shape out = c.shape(0);
  const int64_t dim = out[static_cast<size_t>(axis)];
  if (k < 0 || k > dim)
    return value_error(c, 1, fmt::format("K = {} is out of range for axis {} of size {}", k, axis, dim));
  out[static_cast<size_t>(axis)] = k;
  c.set_output(0, c.dtype(0), out);
  c.set_output(1, DType::kInt64, std::move(out));
  return Status::ok();
}

Status infer_batch_norm(InferContext& c) {
  static constexpr const char* kNames[] = {"X", "scale", "B", "input_mean", "input_var"};
  for (size_t i = 0; i < 5; ++i)
    if (!c.has_input(i)) return c.invalid("input {} ({}) is required", i, kNames[i]);
  const int rank = c.rank(0);
  if (rank < 2)
    return c.invalid("X must have rank >= 2 (N x C x ...), got shape {}", shape_to_string(c.shape(0)));
  for (size_t i = 0; i < 5; ++i)
    if (!dtype_is_float(c.dtype(i)))
      return c.unsupported("{} has dtype {}; BatchNormalization supports float types", kNames[i],
                           dtype_name(c.dtype(i)));
  const int64_t channels = c.shape(0)[1];
  for (size_t i = 1; i < 5; ++i)
    if (c.shape(i) != Shape{channels})
      return c.invalid("{} must have shape [{}] (the channel count of X), got {}", kNames[i], channels,
                       shape_to_string(c.shape(i)));
  const bool training = c.node().get_int("training_mode", 0) != 0;
  const bool extra_outputs = c.has_output(1) || c.has_output(2) || c.has_output(3) || c.has_output(4);
  if (c.node().since_version < 14) {
    if (extra_outputs)
      return c.unsupported(
          "BatchNormalization-{} training outputs (mean, var, saved_mean, saved_var) are not supported",
          c.node().since_version);
  } else {
    if (c.num_outputs() > 3)
      return c.invalid("BatchNormalization has at most 3 outputs, got {}", c.num_outputs());
    if (!training && extra_outputs)
      return c.invalid("outputs running_mean and running_var are only allowed with training_mode=1");
  }
  c.set_output(0, c.input(0));
  if (c.has_output(1)) c.set_output(1, c.dtype(3), Shape{channels});
  if (c.has_output(2)) c.set_output(2, c.dtype(4), Shape{channels});
  return Status::ok();
}

Status infer_layer_norm(InferContext& c) {
  if (!c.has_input(0) || !c.has_input(1)) return c.invalid("LayerNormalization requires inputs X and Scale");
  const int rank = c.rank(0);
  if (rank == 0) return c.invalid("X must have rank >= 1, got a scalar");
  if (!dtype_is_float(c.dtype(0)))
    return c.unsupported("LayerNormalization does not support dtype {}", dtype_name(c.dtype(0)));
  VERGE_ASSIGN_OR_RETURN(const int axis, normalize_axis(c.node().get_int("axis", -1), rank));
  const Shape norm(c.shape(0).begin() + axis, c.shape(0).end());
  for (size_t i = 1; i < 3; ++i) {
    if (!c.has_input(i)) continue;
    VERGE_RETURN_IF_ERROR(c.expect_same_dtype(0, i));
    auto b = broadcast_shapes(norm, c.shape(i));
    if (!b.is_ok() || *b != norm)
      return c.invalid("{} shape {} does not broadcast to the normalized shape {}", i == 1 ? "Scale" : "B",
                       shape_to_string(c.shape(i)), shape_to_string(norm));
  }
  const int64_t stash = c.node().get_int("stash_type", 1);
  const DType stash_type = dtype_from_onnx(static_cast<int32_t>(stash));
  if (stash_type != DType::kFloat32 && stash_type != DType::kBFloat16)
    return c.invalid("stash_type {} is not allowed; use 1 (float) or 16 (bfloat16)", stash);
  c.set_output(0, c.input(0));
  Shape stat = c.shape(0);
  for (size_t d = static_cast<size_t>(axis); d < stat.size(); ++d) stat[d] = 1;
  if (c.has_output(1)) c.set_output(1, stash_type, stat);
  if (c.has_output(2)) c.set_output(2, stash_type, std::move(stat));
  return Status::ok();
}

}  // namespace verge
