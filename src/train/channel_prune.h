// Structured channel pruning: removes whole output channels of Conv layers and rewrites every consumer,
// so the model is physically smaller and faster with ordinary dense kernels.
//
// A Conv (group 1, constant weight) is prunable when every path from its output reaches only:
//   - channel-wise ops that keep the channel axis: BatchNormalization (constant 1-D parameters, which are
//     sliced), Relu, LeakyRelu, Sigmoid, Tanh, HardSigmoid, HardSwish, Clip, Identity, Dropout, MaxPool,
//     AveragePool, GlobalAveragePool, GlobalMaxPool;
//   - then a consumer that reads the channels as input features: a group-1 Conv (its weight loses the
//     matching input channels), or Flatten(axis 1) feeding Gemm (transA 0, constant B), whose B loses the
//     rows (transB 0) or columns (transB 1) of each removed channel's block of H*W features.
// Anything else on the way — Add (residual connections), Concat, Mul, Reshape, a graph output, a weight
// shared with another node — leaves that Conv alone (reported with the reason): channels that meet in an
// Add must stay aligned across all its inputs, and Verge does not prune them jointly yet.
//
// Criterion (score per output channel; the lowest-scoring floor(ratio * C) channels go, at least one
// channel is kept): kL1 = sum |W[c]|, kL2 = ||W[c]||_2 over the channel's filter, kBnGamma = |gamma[c]|
// of the first BatchNormalization after the Conv (Convs without one are left alone).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "ir/graph.h"

namespace verge::train {

enum class ChannelCriterion { kL1, kL2, kBnGamma };

struct ChannelPruneOptions {
  double ratio = 0.5;  // fraction of each prunable Conv's output channels removed, in [0, 1)
  ChannelCriterion criterion = ChannelCriterion::kL1;
};

struct ConvPruneResult {
  std::string node;  // Node::label of the Conv
  int64_t channels_before = 0, channels_after = 0;
  std::string skipped;  // why the Conv was left alone; empty when it was considered
};

// Prunes every prunable Conv of `model` in place (see the header comment) and returns one entry per Conv
// in graph order. InvalidArgument for a ratio outside [0, 1). The model stays valid when some Convs are
// skipped.
Result<std::vector<ConvPruneResult>> prune_channels(ir::Model& model, const ChannelPruneOptions& options);

// Scores of `conv`'s output channels under `criterion`; an error (naming the reason) when the Conv is
// not prunable.
Result<std::vector<double>> channel_scores(const ir::Model& model, ir::NodeId conv,
                                           ChannelCriterion criterion);

// Removes the listed output channels (any order, no duplicates, at least one channel must stay) of
// `conv` and rewrites its consumers. An error (naming the reason) leaves the model unchanged.
Status remove_output_channels(ir::Model& model, ir::NodeId conv, std::span<const int64_t> channels);

}  // namespace verge::train
