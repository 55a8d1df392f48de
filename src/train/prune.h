// Magnitude pruning during fine-tuning: tfmot's PolynomialDecay schedule, magnitude masks (per layer or
// one global threshold) and a pruner that plugs into the training loop's step hooks (trainer.h).
//
// Schedule (tfmot.sparsity.keras.PolynomialDecay, step = optimizer steps done before this one, from 0):
//   p(step)        = clamp((step - begin) / (end - begin), 0, 1)
//   sparsity(step) = final + (initial - final) * (1 - p)^power
//   masks are recomputed only when begin <= step <= end and (step - begin) % frequency == 0, before the
//   forward pass of that step; between updates the last masks are held (and after `end`, forever).
// Masks: a mask keeps the max(round(n * (1 - sparsity)), 1) weights of largest |w| (n = weights in the
// layer for kUniform, in all prunable layers together for kGlobal) and zeroes the rest. Ties in |w| are
// broken by position, so exactly that many weights are kept (tfmot keeps every tie of the threshold).
// Masked weights are set to exact zeros before every forward pass and after every optimizer step, and
// the optimizer's per-weight state (momentum, Adam moments) is zeroed at masked positions.
// Prunable weights: the constant weight of every Conv (input 1), Gemm (input 1) and MatMul (a constant
// input of rank >= 2). Biases, BatchNormalization parameters and other constants are never pruned.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "ir/graph.h"
#include "train/trainer.h"

namespace verge::train {

struct PolynomialDecay {
  double initial_sparsity = 0.5, final_sparsity = 0.9;
  int64_t begin_step = 0, end_step = 1000;
  double power = 3;
  int64_t frequency = 100;

  // InvalidArgument (naming the field) unless 0 <= sparsities < 1, 0 <= begin <= end, frequency > 0,
  // power > 0 — tfmot's checks.
  Status validate() const;
  bool should_prune(int64_t step) const;
  double sparsity(int64_t step) const;
};

enum class Allocation { kUniform, kGlobal };

// keep[t][i] = 1 for the weights of tensor t that survive pruning to `sparsity` (see the header comment).
std::vector<std::vector<uint8_t>> magnitude_masks(std::span<const std::span<const float>> weights,
                                                  double sparsity, Allocation allocation);

struct PrunableWeight {
  std::string node;    // Node::label of the consumer, e.g. "'conv1' (Conv)"
  std::string weight;  // initializer name
};
// Float32 weight initializers of Conv/Gemm/MatMul nodes in graph order, each listed once.
std::vector<PrunableWeight> prunable_weights(const ir::Graph& g);

// Holds the masks of one training run. Install with `hooks()` into TrainOptions::hooks; the pruner must
// outlive the train_classifier call. Not thread-safe (the training loop calls it from one thread).
class MagnitudePruner {
 public:
  // InvalidArgument for a bad schedule or a model without prunable weights.
  static Result<MagnitudePruner> create(const ir::Model& model, const PolynomialDecay& schedule,
                                        Allocation allocation);
  StepHooks hooks();
  int64_t mask_updates() const { return updates_; }
  double last_sparsity() const { return last_sparsity_; }

 private:
  MagnitudePruner() = default;
  Status bind(Network<float>& net);
  void apply(Network<float>& net, Optimizer* optimizer) const;

  PolynomialDecay schedule_;
  Allocation allocation_ = Allocation::kGlobal;
  std::vector<PrunableWeight> weights_;
  std::vector<size_t> param_index_;  // network parameter of weights_[i]
  std::vector<std::vector<uint8_t>> keep_;
  int64_t updates_ = 0;
  double last_sparsity_ = 0;
};

struct LayerSparsity {
  std::string node, weight;
  Shape shape;
  int64_t params = 0, zeros = 0;
  double sparsity() const { return params ? static_cast<double>(zeros) / static_cast<double>(params) : 0; }
};
// Exact zeros of every prunable weight of `model` (the per-layer report of `verge prune`).
std::vector<LayerSparsity> sparsity_report(const ir::Model& model);

}  // namespace verge::train
