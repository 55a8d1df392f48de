// Datasets for every command that feeds a model from files: `verge train`/`distill`/`qat` (training data),
// `verge eval` and `verge quantize --eval` (labeled data), `verge quantize --calib` (calibration data).
// One loader, one image pipeline, one preprocessing description (docs/quantization.md, "Data").
//
// Sources (`path`), recognised in this order:
// - IDX (MNIST layout): a directory with {train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]; the images of
//   `split`, pixels / 255, [N, 1, H, W] ([N, H, W] for a rank-3 model input); labels.
// - .npy pair: inputs.npy [N, ...] (any numeric dtype, converted to float32 as stored) and labels.npy: an
//   integer array [N] (class labels) or a float array [N, ...] (regression targets). DIR/<split>/inputs.npy
//   when it exists, else DIR/inputs.npy.
// - .npy samples (no labels): one .npy file, or a directory of .npy files read in file-name order; a file
//   with the model input's rank is a batch, one rank lower is one sample.
// - image folder: one subfolder per class (label = index of the subfolder's name in sorted order), files
//   sorted by name (png, jpg/jpeg, bmp, pgm/ppm/pnm, tif/tiff, webp; others skipped), decoded with OpenCV
//   and turned into tensors by `Preprocess`. DIR/<split>/ when it exists, else DIR.
// Sampling is deterministic: the first `limit` samples in that order (limit <= 0: all).
// Errors (InvalidArgument / NotFound) name the file or folder and the problem; an undecodable image, an
// empty folder, a sample shape or channel count the model cannot take are errors, never crashes.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "io/idx.h"
#include "verge/session.h"

namespace verge {

// How an image file becomes a sample (torchvision's Resize -> CenterCrop -> ToTensor -> Normalize):
// decode as `color`, resize, center-crop, multiply by `scale`, (x - mean[c]) / std[c], lay out.
// Unset fields (0 / empty) follow from the model input (`resolve` in dataset.cpp; docs/quantization.md).
struct Preprocess {
  int64_t resize = 0;                    // resize=S: the shorter side becomes S, aspect ratio kept
  int64_t resize_h = 0, resize_w = 0;    // resize=HxW: exactly H x W
  int64_t crop_h = 0, crop_w = 0;        // crop=S or crop=HxW: the centered window
  std::vector<float> mean, std;          // one value, or one per channel
  std::string layout;                    // "nchw" | "nhwc"
  std::string color;                     // "rgb" | "bgr" | "gray"
  float scale_num = 1, scale_den = 255;  // scale=A[/B]: pixel * A / B (default 1/255, as IDX)
};

// Parses "resize=S|HxW,crop=S|HxW,mean=M[/M/M],std=S[/S/S],layout=nchw|nhwc,color=rgb|bgr|gray,scale=A[/B]"
// (every key optional, in any order, each at most once). InvalidArgument names the bad key or value.
Result<Preprocess> parse_preprocess(const std::string& spec);

struct DataOptions {
  std::string split = "train";    // "train" | "test": which IDX files / DIR/<split>/ subfolder
  int64_t limit = 0;              // > 0: the first `limit` samples
  Preprocess preprocess;          // image folders only
  const IoInfo* input = nullptr;  // the model input the samples are for (shape, defaults); null: none
  // Image folders: called after each decoded image with (images done, images to decode). Optional.
  std::function<void(int64_t, int64_t)> on_image;
};

// "idx", "npy-pair", "npy" or "images" for the source at `path`; NotFound naming what was looked for.
Result<std::string> detect_layout(const std::string& path, const std::string& split);

// Loads `path` as described above. `description` of the result says what was read, e.g.
// "image folder, 300 images in 10 classes (gray 28x28, nchw)".
Result<LabeledImages> load_dataset(const std::string& path, const DataOptions& options);

}  // namespace verge
