// Shape inference for resampling (Resize, Upsample) and detection (NonMaxSuppression).
#include <cmath>
#include <vector>

#include "ir/infer.h"
#include "kernels/ref/detection_nms.h"
#include "kernels/ref/resize_params.h"

namespace verge {

namespace {
bool has_elements(const InferContext& c, size_t i) { return c.has_input(i) && shape_numel(c.shape(i)) > 0; }
}  // namespace

// Resize (opset 11+ form: X, roi, scales, sizes) and the IR Upsample node (X, scales | 'scales' attr).
// Output dims: floor(in * scale) for scales, the values of sizes otherwise.
Status infer_resize(InferContext& c) {
  if (!c.has_input(0)) return c.invalid("input X is required");
  ref::ResizeParams p;
  VERGE_RETURN_IF_ERROR(parse_resize_params(c.node(), p));
  const Shape& in = c.shape(0);
  const int rank = c.rank(0);
  const size_t scales_at = p.upsample ? ref::kUpsampleScales : ref::kResizeScales;
  const bool has_scales = has_elements(c, scales_at);
  const bool has_sizes = !p.upsample && has_elements(c, ref::kResizeSizes);
  if (p.coord == ref::ResizeCoord::kTfCropAndResize) {
    if (!has_elements(c, ref::kResizeRoi))
      return c.invalid("coordinate_transformation_mode tf_crop_and_resize requires the 'roi' input");
    if (shape_numel(c.shape(ref::kResizeRoi)) != 2 * rank)
      return c.invalid("roi must have 2 * rank = {} values, got shape {}", 2 * rank,
                       shape_to_string(c.shape(ref::kResizeRoi)));
    VERGE_RETURN_IF_ERROR(
        c.expect_dtype(ref::kResizeRoi, {DType::kFloat32, DType::kFloat64, DType::kFloat16}));
  }

  Shape out(in.size());
  if (has_scales && has_sizes) return c.invalid("only one of 'scales' and 'sizes' may be given");
  if (has_sizes) {
    VERGE_RETURN_IF_ERROR(c.expect_dtype(ref::kResizeSizes, {DType::kInt64}));
    if (shape_numel(c.shape(ref::kResizeSizes)) != rank)
      return c.invalid("sizes must have {} values (the rank of X), got shape {}", rank,
                       shape_to_string(c.shape(ref::kResizeSizes)));
    VERGE_ASSIGN_OR_RETURN(const Tensor* sizes, c.require_value(ref::kResizeSizes));
    for (int d = 0; d < rank; ++d) {
      out[d] = sizes->get_as_int64(d);
      if (out[d] < 0) return c.invalid("sizes[{}] = {} is negative", d, out[d]);
      if (in[d] == 0 && out[d] != 0)
        return c.invalid("axis {} of X is empty and cannot be resized to {}", d, out[d]);
    }
  } else {
    std::vector<double> scales;
    if (has_scales) {
      VERGE_RETURN_IF_ERROR(c.expect_dtype(scales_at, {DType::kFloat32, DType::kFloat64, DType::kFloat16}));
      if (shape_numel(c.shape(scales_at)) != rank)
        return c.invalid("scales must have {} values (the rank of X), got shape {}", rank,
                         shape_to_string(c.shape(scales_at)));
      VERGE_ASSIGN_OR_RETURN(const Tensor* t, c.require_value(scales_at));
      for (int d = 0; d < rank; ++d) scales.push_back(t->get_as_double(d));
    } else if (p.upsample && c.node().has_attr("scales")) {
      for (float s : c.node().get_floats("scales")) scales.push_back(s);
      if (static_cast<int>(scales.size()) != rank)
        return c.invalid("scales must have {} values (the rank of X), got {}", rank, scales.size());
    } else {
      return c.invalid("one of 'scales' and 'sizes' must be given");
    }
    for (int d = 0; d < rank; ++d) {
      if (!(scales[d] > 0) || !std::isfinite(scales[d]))
        return c.invalid("scales[{}] = {} must be a positive finite number", d, scales[d]);
      const double dim = std::floor(static_cast<double>(in[d]) * scales[d]);
      if (dim > 9.0e15) return c.invalid("scales[{}] = {} makes axis {} too large", d, scales[d], d);
      out[d] = static_cast<int64_t>(dim);
    }
  }
  c.set_output(0, c.dtype(0), std::move(out));
  return Status::ok();
}

// NonMaxSuppression: selected_indices [num_selected, 3] int64; num_selected depends on every input value,
// so this runs the selection itself (at run time, when the planner has the values).
Status infer_non_max_suppression(InferContext& c) {
  if (!c.has_input(0) || !c.has_input(1)) return c.invalid("inputs 'boxes' and 'scores' are required");
  VERGE_RETURN_IF_ERROR(c.expect_dtype(0, {DType::kFloat32}));
  VERGE_RETURN_IF_ERROR(c.expect_dtype(1, {DType::kFloat32}));
  const Shape& bs = c.shape(0);
  const Shape& ss = c.shape(1);
  if (bs.size() != 3 || bs[2] != 4)
    return c.invalid("boxes must have shape [num_batches, spatial_dimension, 4], got {}",
                     shape_to_string(bs));
  if (ss.size() != 3)
    return c.invalid("scores must have shape [num_batches, num_classes, spatial_dimension], got {}",
                     shape_to_string(ss));
  if (ss[0] != bs[0] || ss[2] != bs[1])
    return c.invalid(
        "scores shape {} does not match boxes shape {} (num_batches and spatial_dimension must agree)",
        shape_to_string(ss), shape_to_string(bs));
  const int64_t center = c.node().get_int("center_point_box", 0);
  if (center != 0 && center != 1) return c.invalid("center_point_box must be 0 or 1, got {}", center);
  static constexpr const char* kNames[] = {"", "", "max_output_boxes_per_class", "iou_threshold",
                                           "score_threshold"};
  for (size_t i = 2; i < 5; ++i) {
    if (!c.has_input(i)) continue;
    VERGE_RETURN_IF_ERROR(c.expect_dtype(i, {i == 2 ? DType::kInt64 : DType::kFloat32}));
    if (shape_numel(c.shape(i)) > 1)
      return c.invalid("{} must be a scalar, got shape {}", kNames[i], shape_to_string(c.shape(i)));
  }

  const Tensor* values[5] = {};
  for (size_t i = 0; i < 5; ++i) {
    if (!c.has_input(i)) continue;
    VERGE_ASSIGN_OR_RETURN(values[i], c.require_value(i));
  }
  const ref::NmsParams p = ref::nms_params(values[2], values[3], values[4], center == 1);
  if (!(p.iou_threshold >= 0 && p.iou_threshold <= 1))
    return c.invalid("iou_threshold must be in [0, 1], got {}", p.iou_threshold);
  std::vector<int64_t> order(static_cast<size_t>(bs[1])), kept(static_cast<size_t>(bs[1]));
  const int64_t n = ref::nms_select(values[0]->data<float>(), values[1]->data<float>(), bs[0], ss[1], bs[1],
                                    p, order, kept, [](int64_t, int64_t, int64_t) {});
  c.set_output(0, DType::kInt64, {n, 3});
  return Status::ok();
}

}  // namespace verge
