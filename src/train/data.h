// Training data from a directory, in one of three layouts (docs/training.md):
// - IDX (MNIST layout): {train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]; pixels / 255.
// - .npy pairs: inputs.npy [N, ...] (any numeric dtype, converted to float32) and labels.npy: an integer
//   array [N] (class labels) or a float array [N, ...] (regression targets for --loss mse). When
//   DIR/<split>/inputs.npy exists that pair is used, else DIR/inputs.npy.
// - image folder: one subfolder per class (label = index of the subfolder's name in sorted order), images
//   decoded with OpenCV (png, jpg/jpeg, bmp, pgm/ppm/pnm, tif/tiff, webp), RGB (or grayscale with
//   Preprocess::gray), scaled to [0, 1], resized, normalized per channel, as [N, C, H, W]. When DIR/<split>/
//   exists it is the folder used (DIR/train, DIR/test), else DIR.
// Errors (InvalidArgument / NotFound) name the file or folder and the problem; corrupt files never crash.
#pragma once

#include <string>
#include <vector>

#include "io/idx.h"

namespace verge::train {

struct Preprocess {
  int64_t height = 0, width = 0;  // 0: keep the decoded size (every image must have the same)
  bool gray = false;              // decode as one channel instead of RGB
  std::vector<float> mean, std;  // per channel or one value for all; (x - mean) / std after scaling to [0, 1]
};

// Parses "size=HxW,gray,mean=M[:M:M],std=S[:S:S]" (every part optional). InvalidArgument names a bad part.
Result<Preprocess> parse_preprocess(const std::string& spec);

// "idx", "npy" or "images" for the layout found in `dir`; NotFound naming what was looked for otherwise.
Result<std::string> detect_layout(const std::string& dir, const std::string& split);

// Loads `dir` (split "train" or "test"; `limit` > 0 keeps the first `limit` samples after sorting).
// `preprocess` applies to image folders only.
Result<LabeledImages> load_training_data(const std::string& dir, const std::string& split, int64_t limit,
                                         const Preprocess& preprocess);

}  // namespace verge::train
