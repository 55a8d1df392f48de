// Labeled Fashion-MNIST images for training tests: the bundled 1,000-image sample and slices of it.
#pragma once

#include <gtest/gtest.h>

#include <cstring>

#include "io/idx.h"
#include "op_test.h"

namespace verge::test {

// Samples [begin, end) of `d` (images [N, C, H, W]) as a new dataset.
inline LabeledImages slice(const LabeledImages& d, int64_t begin, int64_t end) {
  const Shape& s = d.images.shape();
  const int64_t per = s[1] * s[2] * s[3];
  LabeledImages out;
  out.images = Tensor::allocate(DType::kFloat32, {end - begin, s[1], s[2], s[3]}).value();
  std::memcpy(out.images.data<float>(), d.images.data<float>() + begin * per,
              static_cast<size_t>((end - begin) * per) * sizeof(float));
  out.labels.assign(d.labels.begin() + begin, d.labels.begin() + end);
  return out;
}

// tests/data/fmnist-sample (its test split: 1,000 images [N, 1, 28, 28] in [0, 1] with labels).
inline LabeledImages sample_images() {
  auto ds = load_idx_dataset(test_data("fmnist-sample"), "test");
  EXPECT_TRUE(ds.is_ok()) << ds.status().to_string();
  return std::move(ds).value();
}

}  // namespace verge::test
