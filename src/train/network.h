// Network<T>: a differentiable copy of an ONNX model (ir::Model) for training.
//
// - create() checks every node has a row in the training op table (grad_ops.def) and that graph inputs
//   are float; errors (Unsupported) name the node.
// - Trainable parameters are the float32 initializers consumed as a Conv/Gemm weight or bias (inputs 1
//   and 2 of Conv and Gemm). Other float initializers are constants; non-float ones (Reshape shapes) are
//   read from the graph.
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

  // Writes the current parameter values (as float32) into `model`'s initializers of the same names.
  Status store_params(ir::Model& model) const;

 private:
  Network() = default;
  ir::Graph graph_;
  Options options_;
  std::vector<ir::ValueId> params_;
  std::vector<bool> requires_grad_;
  std::vector<Buf<T>> values_, grads_;
  std::vector<std::vector<int64_t>> saved_;  // per node
};

extern template class Network<float>;
extern template class Network<double>;

}  // namespace verge::train
