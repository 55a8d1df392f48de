// ONNX TensorProto <-> Tensor. Every field is validated: element counts must match dims, external data
// must stay inside the model's directory and inside its file.
#pragma once

#include <onnx/onnx_pb.h>

#include <string>
#include <string_view>

#include "verge/tensor.h"

namespace verge::onnx_io {

// `base_dir` resolves external-data locations ("" = current directory); `what` names the tensor in
// errors ("initializer 'W'").
Result<Tensor> tensor_from_proto(const onnx::TensorProto& p, std::string_view base_dir, std::string_view what);
// Writes the tensor as raw_data (little-endian, like every ONNX producer).
void tensor_to_proto(const Tensor& t, const std::string& name, onnx::TensorProto* p);
// Reads a serialized TensorProto file (.pb, as in the ONNX backend test data).
Result<Tensor> read_tensor_pb(const std::string& path);
Status write_tensor_pb(const Tensor& t, const std::string& name, const std::string& path);

}  // namespace verge::onnx_io
