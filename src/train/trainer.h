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
#include "train/buffer.h"
#include "train/optimizer.h"
#include "train/schedule.h"

namespace verge::train {

template <class T>
class Network;

// Optional customizations of every training step; empty members keep the default behaviour. An error from
// any of them stops training and is returned by train_classifier.
struct StepHooks {
  // `step` counts optimizer steps over the whole run, from 0 for the first batch of the first epoch.
  // before_step runs before that step's forward pass (pruning applies its masks, QAT fake-quantizes the
  // weights), after_step after its parameter update; both may change the parameters and the optimizer's
  // state.
  std::function<Status(int64_t step, Network<float>&net, Optimizer&optimizer)> before_step, after_step;
  // After backward, right before the parameter update (QAT restores the float master weights here).
  std::function<Status(Network<float>& net)> before_update;
  // Replaces the loss (distillation): `samples` are the dataset indices of the batch's rows, `labels`
  // their labels. Returns the batch loss, writes d(loss)/d(output 0) into `dout` (resized by the hook)
  // and adds the rows it counts as correct to `correct` (shown as training accuracy).
  using LossHook =
      std::function<Result<double>(const Buf<float>& output, std::span<const int64_t> samples,
                                   std::span<const int64_t> labels, Buf<float>& dout, int64_t& correct)>;
  LossHook loss;
};

// Permutation of [0, n) for `epoch` under `seed`.
std::vector<int64_t> shuffled_order(int64_t n, uint64_t seed, int64_t epoch);

// Training-time augmentation of image batches ([B, ..., H, W], the last two dims), drawn per sample from
// a SplitMix64 stream seeded by (seed, epoch, position in the epoch): the same seed gives the same
// augmented batches. crop_pad > 0: zero-pad by crop_pad on every side and take a random H x W window (a
// shift by up to crop_pad pixels, zeros shifted in); flip: mirror W with probability 1/2.
struct Augment {
  int64_t crop_pad = 0;
  bool flip = false;
};
// Parses "crop:PAD,flip" (either part optional, comma-separated). InvalidArgument names a bad part.
Result<Augment> parse_augment(const std::string& spec);
// Augments batch `x` in place; sample i is at position first_position + i of `epoch`.
void augment_batch(const Augment& a, Buf<float>& x, uint64_t seed, int64_t epoch, int64_t first_position);

struct TrainOptions {
  int64_t epochs = 1;
  int64_t batch_size = 64;
  uint64_t seed = 0;
  int threads = 1;
  OptimizerOptions optimizer;
  // "ce": softmax cross-entropy of output 0 [N, classes] against the labels. "mse": mean squared error of
  // output 0 against data.targets, or against one-hot labels when the data has no targets.
  std::string loss = "ce";
  // Applied at the start of every epoch (torch.optim.lr_scheduler stepped per epoch), or before every
  // optimizer step with schedule.per_step (schedule.h).
  LrSchedule schedule;
  Augment augment;
  StepHooks hooks;
};

struct EpochStats {
  double loss = 0;      // mean training loss over the epoch's samples (as seen during the epoch)
  double accuracy = 0;  // training top-1 over the epoch (argmax of the logits before each step)
  int64_t samples = 0;
  double seconds = 0;      // wall time
  double cpu_seconds = 0;  // CPU time (user + system) of the whole process, all threads, during the epoch
  double lr = 0;           // learning rate of this epoch's first step (after the schedule)
};

// Called after every step: epoch (0-based), samples done in this epoch, running mean loss and accuracy.
using StepCallback = std::function<void(int64_t epoch, int64_t done, double loss, double accuracy)>;

// Trains `model`'s parameters (see network.h) in place and returns per-epoch statistics; the model is left
// in its inference form (inference_form.h: running statistics, no dropping). The model must
// have one float input fed [B, ...] from data.images [N, ...] (IDX images [N, 1, H, W] feed a rank-3
// input as [B, H, W]) and, for cross-entropy, a logits output [B, classes]. Accuracy counts argmax ==
// label when the data has labels (0 otherwise). Errors: InvalidArgument for bad options or
// data that does not fit the model, Unsupported for ops training cannot differentiate yet.
Result<std::vector<EpochStats>> train_classifier(ir::Model& model, const LabeledImages& data,
                                                 const TrainOptions& options,
                                                 const StepCallback& on_step = {});

struct EvalStats {
  double loss = 0, accuracy = 0;
  int64_t samples = 0;
};
// Mean cross-entropy and top-1 of `model` on `data`, computed with the training engine's forward.
Result<EvalStats> evaluate_classifier(const ir::Model& model, const LabeledImages& data,
                                      int64_t batch_size = 256, int threads = 1);

}  // namespace verge::train
