// Regression loss of the training engine (cross-entropy is in optimizer.h).
#pragma once

#include <span>

#include "train/buffer.h"

namespace verge::train {

// Mean squared error over every element, as torch.nn.MSELoss(reduction='mean'):
// sum((output - target)^2) / numel. When `doutput` is non-null it receives 2 * (output - target) / numel.
// Shapes must be equal (InvalidArgument naming both otherwise).
template <class T>
Result<double> mse_loss(const Buf<T>& output, const Buf<T>& target, Buf<T>* doutput);

// One-hot rows [N, classes] of `labels` (the MSE target of a classifier trained on class labels).
// InvalidArgument for a label outside [0, classes).
template <class T>
Result<Buf<T>> one_hot(std::span<const int64_t> labels, int64_t classes);

}  // namespace verge::train
