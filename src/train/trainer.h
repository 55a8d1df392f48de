// Training loop for image classifiers on labeled images (io/idx.h): shuffle, batch, forward, cross-entropy,
// backward, optimizer step; and evaluation with the same engine.
//
// Shuffling is a Fisher-Yates pass driven by a SplitMix64 stream seeded from (seed, epoch), so a given
// seed gives the same batches on every machine and standard library. The last batch of an epoch may be
// smaller. Images are fed as [B, 1, H, W] (or [B, H, W] when the model's input has rank 3).
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "io/idx.h"
#include "ir/graph.h"
#include "train/optimizer.h"

namespace verge::train {

// Permutation of [0, n) for `epoch` under `seed`.
std::vector<int64_t> shuffled_order(int64_t n, uint64_t seed, int64_t epoch);

struct TrainOptions {
  int64_t epochs = 1;
  int64_t batch_size = 64;
  uint64_t seed = 0;
  int threads = 1;
  OptimizerOptions optimizer;
};

struct EpochStats {
  double loss = 0;      // mean training loss over the epoch's samples (as seen during the epoch)
  double accuracy = 0;  // training top-1 over the epoch (argmax of the logits before each step)
  int64_t samples = 0;
  double seconds = 0;  // wall time
};

// Called after every step: epoch (0-based), samples done in this epoch, running mean loss and accuracy.
using StepCallback = std::function<void(int64_t epoch, int64_t done, double loss, double accuracy)>;

template <class T>
class Network;

// Optional customizations of a training step; empty members keep the default behaviour.
struct TrainHooks {
  // Replaces cross-entropy (distillation): `samples` are the dataset indices of the batch's rows, `labels`
  // their labels. Returns the batch loss, writes d(loss)/d(logits) into `dlogits` (resized by the hook)
  // and adds the rows it counts as correct to `correct` (shown as training accuracy).
  std::function<Result<double>(const Buf<float>& logits, std::span<const int64_t> samples,
                               std::span<const int64_t> labels, Buf<float>& dlogits, int64_t& correct)>
      loss;
  // Before each forward pass, and after backward before the optimizer step (QAT swaps fake-quantized and
  // master weights here). Errors stop training.
  std::function<Status(Network<float>&)> before_forward, before_step;
};

// Trains `model`'s parameters (see network.h) in place and returns per-epoch statistics. The model must
// have one float image input and a logits output [B, classes]. Errors: InvalidArgument for bad options or
// data that does not fit the model, Unsupported for ops training cannot differentiate yet.
Result<std::vector<EpochStats>> train_classifier(ir::Model& model, const LabeledImages& data,
                                                 const TrainOptions& options,
                                                 const StepCallback& on_step = {},
                                                 const TrainHooks& hooks = {});

struct EvalStats {
  double loss = 0, accuracy = 0;
  int64_t samples = 0;
};
// Mean cross-entropy and top-1 of `model` on `data`, computed with the training engine's forward.
Result<EvalStats> evaluate_classifier(const ir::Model& model, const LabeledImages& data,
                                      int64_t batch_size = 256, int threads = 1);

}  // namespace verge::train
