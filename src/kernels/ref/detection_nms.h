// NonMaxSuppression selection, shared by its InferFn (which must count the selected boxes to size the
// output) and its reference kernel (which writes them). Follows the ONNX reference implementation:
// per batch, per class: drop boxes whose score is not > score_threshold (only when a threshold is given),
// visit the rest by descending score (ties: lower box index first), keep a box unless its IoU with an
// already kept box of the same class is > iou_threshold, stop after max_output_boxes_per_class boxes.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <span>

#include "verge/tensor.h"

namespace verge::ref {

struct NmsParams {
  int64_t max_per_class = 0;  // <= 0: nothing is selected
  float iou_threshold = 0;
  bool has_score_threshold = false;
  float score_threshold = 0;
  bool center_point_box = false;  // false: [y1, x1, y2, x2] (any corner order); true: [xc, yc, w, h]
};

// Reads the optional scalar inputs; nullptr or an empty tensor means absent, as in the ONNX reference
// (max_output_boxes_per_class then 0, iou_threshold 0, no score filtering). Shapes are checked by the
// InferFn.
inline NmsParams nms_params(const Tensor* max_out, const Tensor* iou, const Tensor* score,
                            bool center_point_box) {
  NmsParams p;
  if (max_out && max_out->numel() > 0) p.max_per_class = max_out->get_as_int64(0);
  if (iou && iou->numel() > 0) p.iou_threshold = static_cast<float>(iou->get_as_double(0));
  if (score && score->numel() > 0) {
    p.has_score_threshold = true;
    p.score_threshold = static_cast<float>(score->get_as_double(0));
  }
  p.center_point_box = center_point_box;
  return p;
}

struct NmsCorners {
  float x0, y0, x1, y1;
};
inline NmsCorners nms_corners(const float* b, bool center_point_box) {
  if (center_point_box) return {b[0] - b[2] / 2, b[1] - b[3] / 2, b[0] + b[2] / 2, b[1] + b[3] / 2};
  return {std::min(b[1], b[3]), std::min(b[0], b[2]), std::max(b[1], b[3]), std::max(b[0], b[2])};
}

// True when boxes a and b (4 floats each) overlap with IoU > threshold.
inline bool nms_suppresses(const float* box_a, const float* box_b, bool center_point_box, float threshold) {
  const NmsCorners a = nms_corners(box_a, center_point_box), b = nms_corners(box_b, center_point_box);
  const float ix0 = std::max(a.x0, b.x0), ix1 = std::min(a.x1, b.x1);
  if (!(ix1 > ix0)) return false;
  const float iy0 = std::max(a.y0, b.y0), iy1 = std::min(a.y1, b.y1);
  if (!(iy1 > iy0)) return false;
  const float inter = (ix1 - ix0) * (iy1 - iy0);
  const float area_a = (a.x1 - a.x0) * (a.y1 - a.y0);
  const float area_b = (b.x1 - b.x0) * (b.y1 - b.y0);
  const float uni = area_a + area_b - inter;
  if (!(inter > 0) || !(area_a > 0) || !(area_b > 0) || !(uni > 0)) return false;
  return inter / uni > threshold;
}

// Runs the selection over boxes [batches, num_boxes, 4] and scores [batches, classes, num_boxes].
// `order` and `kept` are caller-provided buffers of at least num_boxes entries (no allocation here).
// Calls emit(batch, class, box) for each selected box in output order; returns the number selected.
template <class Emit>
int64_t nms_select(const float* boxes, const float* scores, int64_t batches, int64_t classes,
                   int64_t num_boxes, const NmsParams& p, std::span<int64_t> order, std::span<int64_t> kept,
                   Emit&& emit) {
  int64_t total = 0;
  if (p.max_per_class <= 0) return 0;
  for (int64_t b = 0; b < batches; ++b) {
    const float* batch_boxes = boxes + b * num_boxes * 4;
    for (int64_t c = 0; c < classes; ++c) {
      const float* s = scores + (b * classes + c) * num_boxes;
      size_t n = 0;
      for (int64_t i = 0; i < num_boxes; ++i)
        if (!p.has_score_threshold || s[i] > p.score_threshold) order[n++] = i;
      // Descending score, ties by ascending index; NaN scores (possible only without a threshold) last.
      std::sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(n), [s](int64_t x, int64_t y) {
        const bool nx = std::isnan(s[x]), ny = std::isnan(s[y]);
        if (nx != ny) return ny;
        if (!nx && s[x] != s[y]) return s[x] > s[y];
        return x < y;
      });
      int64_t num_kept = 0;
      for (size_t k = 0; k < n && num_kept < p.max_per_class; ++k) {
        const int64_t i = order[k];
        bool keep = true;
        for (int64_t j = 0; j < num_kept && keep; ++j)
          keep = !nms_suppresses(batch_boxes + i * 4, batch_boxes + kept[j] * 4, p.center_point_box,
                                 p.iou_threshold);
        if (!keep) continue;
        kept[num_kept++] = i;
        emit(b, c, i);
        ++total;
      }
    }
  }
  return total;
}

}  // namespace verge::ref
