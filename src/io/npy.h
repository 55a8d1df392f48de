// NumPy .npy files (format versions 1.0-3.0, C order, little-endian) <-> Tensor.
#pragma once

#include <string>
#include <string_view>

#include "verge/tensor.h"

namespace verge {

Result<Tensor> read_npy(const std::string& path);
Result<Tensor> parse_npy(std::string_view bytes, std::string_view label);
std::string serialize_npy(const Tensor& t);  // bfloat16 is written as float32 (numpy has no bfloat16)
Status write_npy(const Tensor& t, const std::string& path);

// Reads `.npy` or ONNX TensorProto `.pb` (by extension; otherwise by content).
Result<Tensor> read_tensor_file(const std::string& path);

}  // namespace verge
