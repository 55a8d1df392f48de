// Quantization-aware training (QAT) with the post-training quantizer's scheme (src/quantize, `verge
// quantize`): the same tensors are quantized, with the same parameters, and the result is written by the
// quantizer itself.
//
// 1. `verge quantize`'s static path (quantize_static) runs on the model with the calibration data: it
//    optimizes the model at the basic level (BatchNorm folding, ...), chooses the quantized tensors,
//    calibrates the activation ranges and writes the QDQ model.
// 2. The training graph is that QDQ model with the weights' and biases' DequantizeLinear nodes replaced
//    by the float weights and biases (the trainable parameters); the activations' QuantizeLinear ->
//    DequantizeLinear pairs stay and train with a straight-through estimator (train/fake_quant.h). Before
//    every forward pass the float ("master") weights are fake-quantized into the network exactly as the
//    quantizer quantizes them (int8 symmetric per channel, re-quantized each step; int32 biases); after
//    backward the masters are put back and the optimizer updates them with the gradient computed at the
//    fake-quantized point (straight-through).
// 3. Activation ranges stay fixed at their calibrated values during training (no EMA), so the training
//    forward is the exported model's arithmetic.
// 4. Export: the trained float parameters replace those of the basic-optimized model and quantize_static
//    runs again with the calibrated ranges given (QuantizeOptions::fixed_ranges): a standard QDQ ONNX
//    model that `verge run` / `verge eval` and ONNX Runtime load.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "io/idx.h"
#include "quantize/quantize.h"
#include "train/trainer.h"

namespace verge::train {

// The training graph and what is needed to fake-quantize its parameters and export the result.
struct QatGraph {
  ir::Model train_model;                       // QDQ activations, float Conv/Gemm/MatMul parameters
  ir::Model basic;                             // the fp32 model after basic optimization (export source)
  std::map<std::string, quant::Range> ranges;  // calibrated activation ranges by tensor name
  quant::QuantizeReport ptq_report;            // of the post-training quantization done in step 1
  struct Param {
    bool bias = false;
    int axis = -1;                    // weights: per-channel axis (-1 per tensor)
    std::string weight;               // biases: the weight of the same node (its scales scale the bias)
    float input_scale = 1, beta = 1;  // biases
  };
  std::map<std::string, Param> params;  // quantized trainable tensors by name
};

// Steps 1-2. Errors: those of quantize_static; InvalidModel when the QDQ model does not have the layout
// the quantizer writes.
Result<QatGraph> build_qat_graph(const ir::Model& fp32, const Tensor& calibration,
                                 const quant::QuantizeOptions& options);

// Fake-quantizes (or restores) the parameters of a network built from QatGraph::train_model.
class WeightFakeQuantizer {
 public:
  explicit WeightFakeQuantizer(const QatGraph& g) : g_(g) {}
  // Saves the float parameters and replaces the quantized ones by their fake-quantized values.
  Status quantize(Network<float>& net);
  // Puts the saved float parameters back.
  Status restore(Network<float>& net);

 private:
  const QatGraph& g_;
  std::vector<std::vector<float>> master_;
};

// Step 4: the QDQ model of `trained` (train_model with trained parameters) through quantize_static.
Result<quant::QuantizeResult> export_qat(const QatGraph& g, const ir::Model& trained,
                                         const Tensor& calibration, quant::QuantizeOptions options);

struct QatOptions {
  TrainOptions train;
  quant::QuantizeOptions quant;
  // Self-distillation: with teacher_logits (run_teacher of the fp32 model on the training data, row i
  // for sample i) the loss is distillation_loss (train/distill.h) against them, with `alpha` and
  // `temperature`, instead of cross-entropy; the teacher is then the float function QAT should keep.
  const Buf<float>* teacher_logits = nullptr;
  double alpha = 0.5, temperature = 4.0;
};

struct QatResult {
  quant::QuantizeResult quantized;   // the exported QDQ model and its report
  quant::QuantizeReport ptq_report;  // of the post-training quantization the ranges come from
  std::vector<EpochStats> epochs;
};

// Steps 1-4 with `data` for training and `calibration` for the ranges. Errors: those of the steps, of
// train_classifier, and of distillation_hook with teacher_logits.
Result<QatResult> quantization_aware_training(const ir::Model& fp32, const LabeledImages& data,
                                              const Tensor& calibration, const QatOptions& options,
                                              const StepCallback& on_step = {});

}  // namespace verge::train
