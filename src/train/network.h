// Network<T>: a differentiable copy of an ONNX model (ir::Model) for training.
//
// - create() checks every node has a row in the training op table (grad_ops.def) and that graph inputs
//   are float; errors (Unsupported) name the node.
// - Trainable parameters are the float32 initializers consumed as a weight or bias: inputs 1 and 2 of
//   Conv, ConvTranspose and Gemm, scale and B (inputs 1, 2) of BatchNormalization, and either input of
//   MatMul. BatchNormalization's input_mean/input_var initializers are state: updated by forward() in
//   training mode (running statistics), never trained. Other float initializers are constants; non-float
//   ones (Reshape shapes) are read from the graph.
// - Mode: training (the default; BatchNormalization normalizes with batch statistics, Dropout drops with
//   a mask seeded from Options::seed, the forward count and the node) or evaluation (running statistics,
//   Dropout is the identity), like PyTorch's module.train() / eval().
// - forward() keeps every intermediate value for backward(); backward() recomputes all gradients from
//   zero (no accumulation across calls) for parameters and, with Options::input_grads, graph inputs.
// - T = float for training, double for gradient checks (initializers are converted on create).
// Not thread-safe; one forward/backward at a time. The network copies the model's graph (initializers
// are shared, read-only), so the model may go away after create().
#pragma once

#include <memory>
#include <span>
#include <string>
#include <vector>

#include "ir/graph.h"
#include "train/buffer.h"

namespace verge::train {

template <class T>
class Network {
 public:
  struct Options {
    bool input_grads = false;    // also compute gradients of the graph inputs (gradient checks)
    ThreadPool* pool = nullptr;  // borrowed; nullptr = single-threaded
    uint64_t seed = 0;           // Dropout masks
  };

  static Result<std::unique_ptr<Network>> create(const ir::Model& model, Options options);

  size_t num_inputs() const { return graph_.inputs.size(); }
  size_t num_outputs() const { return graph_.outputs.size(); }
  // Declared type of graph input i (dims may be symbolic).
  const ir::ValueType& input_type(size_t i) const { return graph_.value(graph_.inputs[i]).type; }

  // inputs[i] feeds graph input i (copied). Errors name the failing node.
  Status forward(std::span<const Buf<T>> inputs);
  const Buf<T>& output(size_t i) const { return values_[static_cast<size_t>(graph_.outputs[i])]; }
  // output_grads[i]: d(loss)/d(output i), shaped like output(i), or empty for an output the loss does
  // not use. Call after forward().
  Status backward(std::span<const Buf<T>> output_grads);

  size_t num_params() const { return params_.size(); }
  const std::string& param_name(size_t i) const { return graph_.value(params_[i]).name; }
  Buf<T>& param(size_t i) { return values_[static_cast<size_t>(params_[i])]; }
  const Buf<T>& param_grad(size_t i) const { return grads_[static_cast<size_t>(params_[i])]; }
  const Buf<T>& input_grad(size_t i) const { return grads_[static_cast<size_t>(graph_.inputs[i])]; }

  void set_training(bool training) { training_ = training; }
  // Restarts the Dropout mask sequence: the next forward() draws the masks the first forward() after
  // create() with Options::seed = `seed` drew (gradient checks repeat one mask this way).
  void reseed(uint64_t seed) { options_.seed = seed, forward_calls_ = 0; }
  bool training() const { return training_; }
  size_t num_state() const { return state_.size(); }
  const std::string& state_name(size_t i) const { return graph_.value(state_[i]).name; }
  const Buf<T>& state(size_t i) const { return values_[static_cast<size_t>(state_[i])]; }

  // Writes the current parameter and state values (as float32) into `model`'s initializers of the same
  // names.
  Status store_params(ir::Model& model) const;

 private:
  Network() = default;
  ir::Graph graph_;
  Options options_;
  std::vector<ir::ValueId> params_, state_;
  std::vector<bool> requires_grad_, is_state_;
  bool training_ = true;
  uint64_t forward_calls_ = 0;
  std::vector<Buf<T>> values_, grads_;
  std::vector<std::vector<int64_t>> saved_;  // per node
};

extern template class Network<float>;
extern template class Network<double>;

}  // namespace verge::train
