// Accuracy-aware mixed precision: quantize, measure the top-1 drop on labeled evaluation data, and keep
// the most sensitive layers in float until the drop is within budget.
//
// Sensitivity of a layer (a node the quantizer would quantize: Conv, Gemm, MatMul, Add, ...) = how many dB
// the SQNR of the model's outputs on the calibration data improves when only that layer is left float
// (leave-one-out; calibration statistics are collected once and reused). Layers are then tried float in
// decreasing sensitivity, re-evaluating top-1 each time; a layer stays float only when that raised top-1.
// The search stops as soon as fp32 top-1 - int8 top-1 <= max drop (or every layer was tried).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "quantize/quantize.h"

namespace verge::quant {

// Top-1 accuracy of a classifier (one float input [N, ...], first output [N, classes]) on samples/labels.
Result<double> top1_accuracy(const ir::Model& model, const Tensor& samples,
                             const std::vector<int64_t>& labels, int64_t batch = 100, int threads = 1);

struct LayerSensitivity {
  std::string node;
  double sqnr_gain_db = 0;  // output SQNR with this layer float minus with everything quantized
  bool tried = false;       // evaluated with this layer float (on top of the layers already kept float)
  bool kept_float = false;  // kept: that raised top-1
  double top1_after = 0;    // top-1 of that trial
};

struct MixedPrecisionResult {
  QuantizeResult quantized;  // the chosen model; its report carries the search as JSON (mixed_precision)
  double fp32_top1 = 0, full_int8_top1 = 0, final_top1 = 0;
  std::vector<LayerSensitivity> layers;  // in decreasing sensitivity
};

// max_drop_points: allowed top-1 drop in percentage points (0.3 = 0.3 pt). eval_samples/eval_labels: the
// labeled evaluation data. log (may be empty) receives one line per step.
Result<MixedPrecisionResult> quantize_mixed_precision(
    const ir::Model& fp32, const Tensor& calibration, const QuantizeOptions& options,
    const Tensor& eval_samples, const std::vector<int64_t>& eval_labels, double max_drop_points,
    const std::function<void(const std::string&)>& log = {});

}  // namespace verge::quant
