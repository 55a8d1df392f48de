// Shape inference for Verge's own ops (domain "verge"): fused ops and the blocked (NCHWc) layout.
#include "ir/conv_geometry.h"
#include "ir/infer.h"
#include "kernels/activation.h"

namespace verge {

Status infer_conv(InferContext& c);
Status infer_gemm(InferContext& c);

namespace {
int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

Result<int64_t> block_of(const InferContext& c) {
  const int64_t b = c.node().get_int("block", 0);
  if (b != 4 && b != 8 && b != 16) return c.invalid("block must be 4, 8 or 16, got {}", b);
  return b;
}

// Checks a blocked tensor [N, Cb, spatial..., block] and returns its spatial dims.
Result<Shape> blocked_spatial(const InferContext& c, size_t i, int64_t block) {
  const Shape& s = c.shape(i);
  if (s.size() < 4 || s.back() != block)
    return c.invalid("input '{}' must be blocked [N, C/{}, spatial..., {}], got shape {}", c.input_name(i),
                     block, block, shape_to_string(s));
  return Shape(s.begin() + 2, s.end() - 1);
}

Status check_sum_input(const InferContext& c, size_t i, const Shape& out) {
  if (!c.has_input(i)) return Status::ok();
  VERGE_RETURN_IF_ERROR(c.expect_same_dtype(0, i));
  if (c.shape(i) != out)
    return c.invalid("Sum input shape {} must equal the output shape {}", shape_to_string(c.shape(i)),
                     shape_to_string(out));
  return Status::ok();
}
}  // namespace

Status infer_fused_conv(InferContext& c) {
  VERGE_RETURN_IF_ERROR(infer_conv(c));
  VERGE_RETURN_IF_ERROR(parse_activation(c.node()).status());
  TensorType out;
  {  // infer_conv set output 0; re-derive it to check Sum
    const Shape& x = c.shape(0);
    const Shape& w = c.shape(1);
    VERGE_ASSIGN_OR_RETURN(ConvGeometry g,
                           conv_geometry(c.node(), std::span(x).subspan(2), std::span(w).subspan(2)));
    out.shape = {x[0], w[0]};
    out.shape.insert(out.shape.end(), g.out.begin(), g.out.end());
  }
  return check_sum_input(c, 3, out.shape);
}

Status infer_fused_gemm(InferContext& c) {
  VERGE_RETURN_IF_ERROR(infer_gemm(c));
  return parse_activation(c.node()).status();
}

Status infer_qbinary(InferContext& c) {
  for (size_t i = 0; i < 8; ++i)
    if (!c.has_input(i)) return c.invalid("all 8 inputs are required");
  for (size_t i : {0, 2, 3, 5, 7}) VERGE_RETURN_IF_ERROR(c.expect_dtype(i, {DType::kUInt8, DType::kInt8}));
  for (size_t i : {1, 4, 6}) VERGE_RETURN_IF_ERROR(c.expect_dtype(i, {DType::kFloat32}));
  for (size_t i : {1, 2, 4, 5, 6, 7})
    if (shape_numel(c.shape(i)) != 1)
      return c.invalid("input {} must hold one value (per-tensor quantization)", i);
  if (c.dtype(2) != c.dtype(0) || c.dtype(5) != c.dtype(3))
    return c.invalid("zero points must have their tensor's type");
  // B: A's shape, or A's leading dims followed by 1s (one value per run of A's trailing elements).
  const Shape &a = c.shape(0), &bs = c.shape(3);
  bool ok = a.size() == bs.size();
  size_t lead = 0;
  while (ok && lead < a.size() && bs[lead] == a[lead]) ++lead;
  for (size_t d = lead; ok && d < bs.size(); ++d) ok = bs[d] == 1;
  if (!ok)
    return c.invalid("B {} must be A's shape {} or its leading dims followed by 1s", shape_to_string(bs),
                     shape_to_string(a));
  const std::string act = c.node().get_string("activation", "");
  if (!act.empty() && act != "Relu") return c.invalid("activation must be empty or Relu, got '{}'", act);
  c.set_output(0, c.dtype(7), c.shape(0));
  return Status::ok();
}

Status infer_qlut(InferContext& c) {
  if (!c.has_input(0) || !c.has_input(1)) return c.invalid("inputs X and Table are required");
  VERGE_RETURN_IF_ERROR(c.expect_dtype(0, {DType::kUInt8, DType::kInt8}));
  VERGE_RETURN_IF_ERROR(c.expect_dtype(1, {DType::kUInt8, DType::kInt8}));
  if (c.shape(1) != Shape{256})
    return c.invalid("Table must have shape [256], got {}", shape_to_string(c.shape(1)));
  c.set_output(0, c.dtype(1), c.shape(0));
  return Status::ok();
}

namespace {
// X, X_scale, X_zp, Y_scale, Y_zp of the quantized average pools: 8-bit X and zero points, float32 scales,
// one value each (per tensor).
Status check_qpool_inputs(InferContext& c) {
  for (size_t i = 0; i < 5; ++i)
    if (!c.has_input(i)) return c.invalid("inputs X, X_scale, X_zp, Y_scale, Y_zp are required");
  for (size_t i : {0, 2, 4}) VERGE_RETURN_IF_ERROR(c.expect_dtype(i, {DType::kUInt8, DType::kInt8}));
  for (size_t i : {1, 3}) VERGE_RETURN_IF_ERROR(c.expect_dtype(i, {DType::kFloat32}));
  for (size_t i = 1; i < 5; ++i)
    if (shape_numel(c.shape(i)) != 1)
      return c.invalid("input {} must hold one value (per-tensor quantization)", i);
  if (c.dtype(2) != c.dtype(0)) return c.invalid("X_zp must have X's type");
  return Status::ok();
}
}  // namespace

Status infer_qglobal_average_pool(InferContext& c) {
  VERGE_RETURN_IF_ERROR(check_qpool_inputs(c));
  if (c.rank(0) < 3) return c.invalid("X must be [N, C, spatial...], got {}", shape_to_string(c.shape(0)));
  Shape y = c.shape(0);
  std::fill(y.begin() + 2, y.end(), 1);
  c.set_output(0, c.dtype(4), std::move(y));
  return Status::ok();
}

Status infer_qaverage_pool(InferContext& c) {
  VERGE_RETURN_IF_ERROR(check_qpool_inputs(c));
  const Shape& x = c.shape(0);
  if (c.rank(0) != 4) return c.invalid("X must be [N, C, H, W], got {}", shape_to_string(x));
  const int64_t ceil_mode = c.node().get_int("ceil_mode", 0), cip = c.node().get_int("count_include_pad", 0);
  if (ceil_mode != 0 && ceil_mode != 1) return c.invalid("ceil_mode must be 0 or 1, got {}", ceil_mode);
  if (cip != 0 && cip != 1) return c.invalid("count_include_pad must be 0 or 1, got {}", cip);
  VERGE_ASSIGN_OR_RETURN(ConvGeometry g,
                         conv_geometry(c.node(), std::span(x).subspan(2), {}, ceil_mode != 0));
  c.set_output(0, c.dtype(4), Shape{x[0], x[1], g.out[0], g.out[1]});
  return Status::ok();
}

Status infer_to_blocked(InferContext& c) {
  VERGE_ASSIGN_OR_RETURN(int64_t b, block_of(c));
  if (!c.has_input(0) || c.rank(0) < 3) return c.invalid("ToBlocked needs an [N, C, spatial...] input");
  if (c.dtype(0) != DType::kFloat32)
    return c.unsupported("blocked layouts hold float32, got {}", dtype_name(c.dtype(0)));
  const Shape& x = c.shape(0);
  Shape out = {x[0], ceil_div(x[1], b)};
  out.insert(out.end(), x.begin() + 2, x.end());
  out.push_back(b);
  c.set_output(0, c.dtype(0), std::move(out));
  return Status::ok();
}

Status infer_from_blocked(InferContext& c) {
  const Shape& x = c.shape(0);
  if (x.size() < 4) return c.invalid("FromBlocked needs a blocked input, got shape {}", shape_to_string(x));
  const int64_t b = x.back();
  const int64_t ch = c.node().get_int("channels", -1);
  if (ch < 0 || ceil_div(ch, b) != x[1])
    return c.invalid("channels {} does not fit {} blocks of {}", ch, x[1], b);
  Shape out = {x[0], ch};
  out.insert(out.end(), x.begin() + 2, x.end() - 1);
  c.set_output(0, c.dtype(0), std::move(out));
  return Status::ok();
}

Status infer_blocked_conv(InferContext& c) {
  VERGE_ASSIGN_OR_RETURN(int64_t b, block_of(c));
  if (!c.has_input(0) || !c.has_input(1)) return c.invalid("inputs X and W are required");
  if (c.dtype(0) != DType::kFloat32 || c.dtype(1) != DType::kFloat32)
    return c.unsupported("BlockedConv is float32 only");
  VERGE_ASSIGN_OR_RETURN(Shape spatial, blocked_spatial(c, 0, b));
  const Shape& w = c.shape(1);
  if (w.size() != spatial.size() + 2)
    return c.invalid("W rank {} does not match the input's spatial rank", w.size());
  const int64_t group = c.node().get_int("group", 1);
  if (group < 1 || w[0] % group != 0)
    return c.invalid("group {} must divide the {} output channels", group, w[0]);
  if (ceil_div(w[1] * group, b) != c.shape(0)[1])
    return c.invalid("W expects {} input channels; the input has {} blocks of {}", w[1] * group,
                     c.shape(0)[1], b);
  if (c.has_input(2) && (c.rank(2) != 1 || c.shape(2)[0] != w[0]))
    return c.invalid("bias must have shape [{}], got {}", w[0], shape_to_string(c.shape(2)));
  VERGE_ASSIGN_OR_RETURN(ConvGeometry g, conv_geometry(c.node(), spatial, std::span(w).subspan(2)));
  VERGE_RETURN_IF_ERROR(parse_activation(c.node()).status());
  Shape out = {c.shape(0)[0], ceil_div(w[0], b)};
  out.insert(out.end(), g.out.begin(), g.out.end());
  out.push_back(b);
  VERGE_RETURN_IF_ERROR(check_sum_input(c, 3, out));
  c.set_output(0, c.dtype(0), std::move(out));
  return Status::ok();
}

Status infer_blocked_pool(InferContext& c) {
  VERGE_ASSIGN_OR_RETURN(int64_t b, block_of(c));
  VERGE_ASSIGN_OR_RETURN(Shape spatial, blocked_spatial(c, 0, b));
  const std::string mode = c.node().get_string("mode", "");
  if (mode != "max" && mode != "average") return c.invalid("mode must be 'max' or 'average', got '{}'", mode);
  Shape out = {c.shape(0)[0], c.shape(0)[1]};
  if (c.node().get_int("global", 0)) {
    out.insert(out.end(), spatial.size(), 1);
  } else {
    VERGE_ASSIGN_OR_RETURN(ConvGeometry g,
                           conv_geometry(c.node(), spatial, {}, c.node().get_int("ceil_mode", 0) != 0));
    out.insert(out.end(), g.out.begin(), g.out.end());
  }
  out.push_back(b);
  c.set_output(0, c.dtype(0), std::move(out));
  return Status::ok();
}

Status infer_blocked_concat(InferContext& c) {
  VERGE_ASSIGN_OR_RETURN(int64_t b, block_of(c));
  const std::vector<int64_t> ch = c.node().get_ints("channels");
  if (ch.size() != c.num_inputs() || ch.empty())
    return c.invalid("'channels' must give the channel count of each of the {} inputs", c.num_inputs());
  int64_t total = 0;
  for (size_t i = 0; i < c.num_inputs(); ++i) {
    VERGE_ASSIGN_OR_RETURN(Shape sp, blocked_spatial(c, i, b));
    const Shape& s = c.shape(i);
    if (ch[i] < 0 || ceil_div(ch[i], b) != s[1])
      return c.invalid("input {} has {} blocks, not {} channels", i, s[1], ch[i]);
    if (s[0] != c.shape(0)[0] || !std::equal(s.begin() + 2, s.end(), c.shape(0).begin() + 2))
      return c.invalid("input {} shape {} does not match input 0 shape {} outside the channels", i,
                       shape_to_string(s), shape_to_string(c.shape(0)));
    total += ch[i];
  }
  Shape out = c.shape(0);
  out[1] = ceil_div(total, b);
  c.set_output(0, c.dtype(0), std::move(out));
  return Status::ok();
}

Status infer_channel_gather(InferContext& c) {
  VERGE_ASSIGN_OR_RETURN(int64_t b, block_of(c));
  const std::vector<int64_t> src = c.node().get_ints("sources");
  if (src.empty() || src.size() % 2) return c.invalid("'sources' must hold (input, channel) pairs");
  for (size_t i = 0; i < c.num_inputs(); ++i) {
    VERGE_ASSIGN_OR_RETURN(Shape sp, blocked_spatial(c, i, b));
    const Shape& s = c.shape(i);
    if (s[0] != c.shape(0)[0] || !std::equal(s.begin() + 2, s.end(), c.shape(0).begin() + 2))
      return c.invalid("input {} shape {} does not match input 0 shape {} outside the channels", i,
                       shape_to_string(s), shape_to_string(c.shape(0)));
  }
  for (size_t k = 0; k < src.size(); k += 2) {
    if (src[k] < 0 || static_cast<size_t>(src[k]) >= c.num_inputs())
      return c.invalid("source input {} does not exist", src[k]);
    if (src[k + 1] < 0 || src[k + 1] >= c.shape(static_cast<size_t>(src[k]))[1] * b)
      return c.invalid("source channel {} is outside input {}", src[k + 1], src[k]);
  }
  Shape out = c.shape(0);
  out[1] = ceil_div(static_cast<int64_t>(src.size() / 2), b);
  c.set_output(0, c.dtype(0), std::move(out));
  return Status::ok();
}

}  // namespace verge
