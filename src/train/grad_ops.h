// Forward and backward functions of the ops the training engine differentiates; the table is
// grad_ops.def.
//
// Contract of a row (T = float or double):
// - forward(ctx): reads ctx.in (nullptr for omitted optional inputs and for non-float inputs, which are
//   read from the graph's constants instead), resizes and writes ctx.out, and may keep per-node state
//   for backward in ctx.saved (e.g. MaxPool's argmax). Validates attributes and shapes it relies on and
//   returns Unsupported/InvalidModel naming the problem.
// - backward(ctx): given ctx.dout (gradients of the outputs, same shapes) ADDS the gradient of every
//   input whose ctx.din[i] is non-null (already sized like the input). Inputs, outputs and saved state
//   are those of the matching forward call.
// Both may split work over ctx.pool (nullptr = inline).
// - ctx.training: the network's mode (BatchNormalization uses batch statistics and Dropout drops only in
//   training). ctx.state[i] (when non-null) is input i as mutable state the forward may update in
//   training, never a gradient target (BatchNormalization running mean/var). ctx.seed seeds per-call
//   randomness (Dropout); it differs for every node and forward call.
#pragma once

#include <span>
#include <vector>

#include "ir/graph.h"
#include "train/buffer.h"

namespace verge::train {

template <class T>
struct OpCtx {
  const ir::Graph& graph;
  const ir::Node& node;
  std::span<const Buf<T>* const> in;
  std::span<Buf<T>* const> out;
  std::vector<int64_t>& saved;
  ThreadPool* pool = nullptr;
  std::span<const Buf<T>* const> dout = {};
  std::span<Buf<T>* const> din = {};
  bool training = true;
  std::span<Buf<T>* const> state = {};
  uint64_t seed = 0;
};

template <class T>
struct GradRule {
  Status (*forward)(OpCtx<T>&);
  void (*backward)(OpCtx<T>&);
};

// The row for `op`, or nullptr when the engine cannot differentiate it.
template <class T>
const GradRule<T>* grad_rule(OpId op);

}  // namespace verge::train
