// IDX files (the MNIST / Fashion-MNIST format), raw or gzip-compressed, and labeled image datasets in the
// MNIST directory layout: <dir>/{train,t10k}-images-idx3-ubyte[.gz] + matching -labels-idx1-ubyte[.gz].
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "verge/tensor.h"

namespace verge {

struct IdxArray {
  std::vector<int64_t> dims;
  std::vector<uint8_t> data;  // unsigned byte payload (type code 0x08)
};

// Reads an unsigned-byte IDX file (gzip detected by content). Validates magic, dims and payload size.
Result<IdxArray> read_idx(const std::string& path);

struct LabeledImages {
  Tensor images;                // float32 [N, 1, H, W], pixels scaled to [0, 1]
  std::vector<int64_t> labels;  // N
  Tensor targets;               // optional float32 [N, ...]: regression targets instead of labels (training)
  std::string description;      // what was read, for messages ("IDX test split, 1000 samples")
};

// split: "train" or "test" (files named t10k-*). `limit` > 0 keeps the first `limit` samples.
Result<LabeledImages> load_idx_dataset(const std::string& dir, const std::string& split, int64_t limit = 0);

}  // namespace verge
