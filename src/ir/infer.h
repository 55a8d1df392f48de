// Shape inference for concrete shapes, one function per op-table row (ops.def, InferFn).
//
// The planner calls InferFn with the dtype and concrete shape of every present input and, where known at
// that point, the input's value (initializers, folded constants; at run time for dynamic nodes: every
// input). An InferFn must:
//   - validate everything output shapes depend on (ranks, broadcast compatibility, attribute ranges,
//     dtype agreement) and return a clear error otherwise (kInvalidModel / kUnsupported) — kernels do
//     not re-check;
//   - set dtype and shape of every present output;
//   - return needs_value(i) (via require_value) when the output shape depends on the value of an input
//     that is not known yet; the planner then runs the node in dynamic mode.
// Messages need not name the node; the planner prefixes "node 'x' (Op)".
#pragma once

#include <fmt/format.h>

#include <span>
#include <string>

#include "ir/graph.h"
#include "verge/tensor.h"

namespace verge {

struct TensorType {
  DType dtype = DType::kUndefined;
  Shape shape;
  bool operator==(const TensorType&) const = default;
  std::string to_string() const;  // "float32[1x3x224x224]"
};

class InferContext {
 public:
  InferContext(const ir::Graph& graph, const ir::Node& node, std::span<const TensorType* const> inputs,
               std::span<const Tensor* const> values, std::span<TensorType> outputs)
      : graph_(graph), node_(node), inputs_(inputs), values_(values), outputs_(outputs) {}

  const ir::Node& node() const { return node_; }
  const ir::Graph& graph() const { return graph_; }

  size_t num_inputs() const { return node_.inputs.size(); }
  bool has_input(size_t i) const { return i < inputs_.size() && inputs_[i] != nullptr; }
  const TensorType& input(size_t i) const { return *inputs_[i]; }
  DType dtype(size_t i) const { return inputs_[i]->dtype; }
  const Shape& shape(size_t i) const { return inputs_[i]->shape; }
  int rank(size_t i) const { return static_cast<int>(inputs_[i]->shape.size()); }
  std::string input_name(size_t i) const;
  // Value of input i if known now, else nullptr.
  const Tensor* value(size_t i) const { return i < values_.size() ? values_[i] : nullptr; }
  // Value of input i; a kNeedsValue status when not known yet (the planner defers the node to run time).
  Result<const Tensor*> require_value(size_t i) const;

  size_t num_outputs() const { return node_.outputs.size(); }
  bool has_output(size_t i) const { return i < node_.outputs.size() && node_.outputs[i] != ir::kNoValue; }
  void set_output(size_t i, DType dtype, Shape shape) {
    if (i < outputs_.size()) outputs_[i] = TensorType{dtype, std::move(shape)};
  }
  void set_output(size_t i, const TensorType& t) {
    if (i < outputs_.size()) outputs_[i] = t;
  }
  // For ops whose output types are only known after computing (If): the node always runs in dynamic
  // mode and its kernel allocates outputs with RunContext::allocate_output.
  void outputs_known_after_run() { outputs_after_run_ = true; }
  bool outputs_after_run() const { return outputs_after_run_; }

  template <class... Args>
  Status invalid(fmt::format_string<Args...> f, Args&&... args) const {
    return Status::invalid_model(fmt::format(f, std::forward<Args>(args)...));
  }
  template <class... Args>
  Status unsupported(fmt::format_string<Args...> f, Args&&... args) const {
    return Status::unsupported(fmt::format(f, std::forward<Args>(args)...));
  }
  // Error unless input i has one of the listed dtypes.
  Status expect_dtype(size_t i, std::initializer_list<DType> allowed) const;
  // Error unless inputs i and j have the same dtype.
  Status expect_same_dtype(size_t i, size_t j) const;

 private:
  const ir::Graph& graph_;
  const ir::Node& node_;
  std::span<const TensorType* const> inputs_;
  std::span<const Tensor* const> values_;
  std::span<TensorType> outputs_;
  bool outputs_after_run_ = false;
};

// Shared helpers for InferFns and kernels.
// Numpy multidirectional broadcast of a and b; error names both shapes.
Result<Shape> broadcast_shapes(const Shape& a, const Shape& b);
// Normalizes axis in [-rank, rank) to [0, rank); error message names `what`.
Result<int> normalize_axis(int64_t axis, int rank, std::string_view what = "axis");

}  // namespace verge
