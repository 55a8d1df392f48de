// Static post-training quantization to standard ONNX QDQ (QuantizeLinear/DequantizeLinear) models, in the
// layout ONNX Runtime's QDQ quantizer produces and fuses on x86 (see docs/quantization.md):
//   - activations uint8 asymmetric, one scale/zero point per tensor from calibration;
//   - weights int8 symmetric ([-127, 127], zero point 0), per output channel (Conv axis 0, ConvTranspose
//     axis 1, Gemm axis 0 with transB else 1, MatMul the last axis) or per tensor;
//   - biases of Conv/ConvTranspose/Gemm int32 with scale s_x * s_w (per channel), zero point 0, one bias
//     tensor per node (never shared); Gemm's beta is folded into the bias;
//   - Q/DQ on the activation inputs and the output of Conv, ConvTranspose, Gemm, MatMul, and of Add, Mul,
//     Concat, GlobalAveragePool, Sigmoid, HardSigmoid, HardSwish, LeakyRelu, Tanh, Softmax (every float
//     input, constants too, and the output);
//   - pooling/reshaping ops (MaxPool, AveragePool, Reshape, Flatten, Transpose, Squeeze, Unsqueeze, Resize,
//     Slice, Gather) give their output the Q/DQ parameters of their (quantized) input;
//   - Relu, and Clip with min 0, right after a quantized tensor with one consumer are removed: the uint8
//     range [0, hi] of their output, put on the producer's output, does the clamping.
// Every consumer of a quantized tensor reads its DequantizeLinear output (ONNX Runtime's layout), except
// nodes excluded with --exclude / mixed precision, which keep reading the float tensor.
//
// The model is first optimized at the `basic` level (BatchNorm folding, MatMul+Add -> Gemm, constant
// folding), so tensor names stay the model's. Calibration runs that fp32 model on the calibration samples
// with every candidate tensor exposed as an output.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "ir/graph.h"
#include "quantize/calibrate.h"
#include "verge/tensor.h"

namespace verge::quant {

struct QuantizeOptions {
  CalibConfig calib;
  bool per_channel = true;
  std::vector<std::string> exclude;  // node names kept in float (unknown names are an error)
  int64_t batch = 32;                // calibration batch (when the model's batch dimension is symbolic)
  int threads = 1;
  bool report_sqnr = true;  // run the QDQ model on the calibration data to measure SQNR per tensor
  // Called after each calibration batch with (samples done, total); may be empty.
  std::function<void(int64_t, int64_t)> progress;
  // Statistics by tensor name, reused across calls on the same model and data (mixed-precision search):
  // tensors found here are not calibrated again; new ones are added. Not owned; may be null.
  std::map<std::string, TensorStats>* stats_cache = nullptr;
  // Activation ranges by tensor name used instead of calibration (QAT export keeps the ranges it trained
  // with); tensors not listed are calibrated. Not owned; may be null.
  const std::map<std::string, Range>* fixed_ranges = nullptr;
};

struct TensorQuantInfo {
  std::string tensor;  // name in the fp32 (basic-optimized) model
  std::string kind;    // "activation" | "weight" | "bias" | "constant"
  std::string node;    // activation: producing node; weight/bias: consuming node ("" for graph inputs)
  std::string dtype;   // "uint8" | "int8" | "int32"
  int axis = -1;       // per-channel axis, -1 = per tensor
  float range_lo = 0, range_hi = 0;  // activations: calibrated range; weights: min/max
  std::vector<float> scales;
  std::vector<int32_t> zero_points;
  double sqnr_db =
      0;  // signal-to-quantization-noise ratio vs fp32 (activations: end-to-end in the QDQ model)
};

struct QuantizeReport {
  std::string method;
  bool per_channel = true;
  int64_t calibration_samples = 0;
  int64_t size_fp32 = 0, size_quantized = 0;  // serialized ONNX bytes
  std::vector<std::string> quantized_nodes;
  std::vector<std::string> float_nodes;  // compute nodes left float, with the reason: "name (Op): reason"
  std::vector<std::string> folded_activations;  // Relu/Clip nodes removed into the quantized range
  std::vector<TensorQuantInfo> tensors;
  double output_sqnr_db = 0;                  // of the model's outputs (QDQ vs fp32) on the calibration data
  std::vector<std::string> candidate_layers;  // names of the quantized Conv/Gemm/MatMul/Add/... nodes
  std::string mixed_precision;                // JSON object of the accuracy-aware search ("" when not run)
};

struct QuantizeResult {
  ir::Model model;
  QuantizeReport report;
};

// Quantizes `fp32` using `calibration` (float32 [N, ...sample dims] for the model's single input).
// Errors: models with more than one input or a non-float input (InvalidArgument), unknown --exclude names,
// failures of the optimizer or of the calibration runs (with their message).
Result<QuantizeResult> quantize_static(const ir::Model& fp32, const Tensor& calibration,
                                       const QuantizeOptions& options);

// Dynamic quantization (no calibration): each MatMul / Gemm with a constant 2-D float weight becomes
// DynamicQuantizeLinear(x) -> MatMulInteger(x_q, W_int8, x_zp, 0) -> Cast -> Mul(x_scale * w_scale)
// [-> Add bias], ONNX Runtime's quantize_dynamic layout (QOperator form: there is no QDQ form of run-time
// activation quantization). Weights int8 symmetric, per output column (options.per_channel) or per tensor;
// Gemm needs transA = 0 and alpha = 1. Convolutions stay float. Uses options.per_channel and .exclude.
Result<QuantizeResult> quantize_dynamic(const ir::Model& fp32, const QuantizeOptions& options);

// Weight-only half precision (`--fp16`, `--bf16`): float32 initializers with >= 16 elements are stored as
// float16 / bfloat16 and widened by a Cast node (runtimes fold it at load); compute stays float32.
// Initializers read by options.exclude nodes, and float16 candidates with values beyond +-65504, stay
// float32 (listed in report.float_nodes). storage: kFloat16 or kBFloat16.
Result<QuantizeResult> quantize_half(const ir::Model& fp32, DType storage, const QuantizeOptions& options);

// Per-tensor SQNR helpers: accumulates sum(x^2) and sum((x - y)^2).
struct SqnrAccumulator {
  double signal = 0, noise = 0;
  void add(std::span<const float> reference, std::span<const float> approx);
  double db() const;  // 10*log10(signal/noise); 200 when noise is 0
};

// The report as JSON (one object) and a bar chart of per-tensor SQNR as a standalone SVG document.
std::string report_to_json(const QuantizeReport& report);
std::string sqnr_chart_svg(const QuantizeReport& report);

}  // namespace verge::quant
