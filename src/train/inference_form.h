// The inference form of a trained model: models exported for training (PyTorch's TrainingMode.PRESERVE
// at opset >= 14) mark BatchNormalization with training_mode=1 and feed Dropout a constant
// training_mode=true, which would make every runtime normalize with batch statistics and drop at
// inference. to_inference_form() rewrites them so the saved model uses the running statistics training
// left and Dropout is the identity:
// - BatchNormalization training_mode=1 -> 0, its optional running_mean/running_var outputs removed (left
//   unchanged, and reported, when another node or the graph output reads them);
// - Dropout's constant training_mode input removed (omitted = false).
// Returns the labels of the nodes it changed.
#pragma once

#include <string>
#include <vector>

#include "ir/graph.h"

namespace verge::train {

std::vector<std::string> to_inference_form(ir::Model& model);

}  // namespace verge::train
