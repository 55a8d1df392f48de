// Calibration / evaluation inputs for the quantizer, loaded into one float32 tensor [N, ...sample dims].
//
// Accepted sources (`path`):
//   - an IDX dataset directory (MNIST layout: {train,t10k}-images-idx3-ubyte[.gz] + labels): the images of
//     `split`, pixels scaled to [0, 1], shape [N, 1, H, W] ([N, H, W] when the model input has rank 3);
//   - a directory of `.npy` files (or one `.npy` file), read in file-name order: a file whose rank equals
//     the model input's is a batch of samples, one rank lower is a single sample. Any numeric dtype is
//     converted to float32.
// An image folder (one subfolder per class) is rejected with Unsupported: Verge has no image decoder
// dependency yet.
// Sampling is deterministic: the first `limit` samples in that order (limit <= 0: all).
// Errors name the path and the problem (missing files, shape mismatches, non-numeric data).
#pragma once

#include <string>
#include <vector>

#include "verge/session.h"
#include "verge/tensor.h"

namespace verge::quant {

struct CalibrationData {
  Tensor samples;               // float32 [N, ...]
  std::vector<int64_t> labels;  // per sample when the source has labels (IDX), else empty
  std::string description;      // "IDX train split, 512 samples"
};

Result<CalibrationData> load_calibration_data(const std::string& path, const IoInfo& input, int64_t limit,
                                              const std::string& split = "train");

}  // namespace verge::quant
